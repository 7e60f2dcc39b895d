"""Training: BPR sampling, the trainer loop and its callbacks."""

"""Training: BPR sampling, the trainer loop and its callbacks, the mechanism monitor, the memory
allocator setting, and `runner`, which trains one run from a config into a run folder."""

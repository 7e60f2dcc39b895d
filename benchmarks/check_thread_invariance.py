"""Are a run's metrics the same at 1 and 2 torch threads? Per backbone, baseline and +MRdIB.

Usage: python benchmarks/check_thread_invariance.py [--data synthetic] [--backbones ...] [--epochs 6]
Trains each (backbone, variant) once per thread count from the same seed and prints the test
Recall@5 at each and whether they are bit-identical. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import tempfile

import torch

from mrdib.core.config import resolve_config
from mrdib.data import load_dataset
from mrdib.training.runner import train_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--backbones", nargs="+", default=["vbpr", "freedom", "dualgnn", "mgcn", "soil", "mmgcn"])
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as artifacts:
        data = load_dataset(args.data, artifacts)
        print(f"torch {torch.__version__}, {args.data}, {args.epochs} epochs, seed 0; test Recall@5")
        print(f"{'backbone':9} {'variant':8} {'1 thread':>12} {'2 threads':>12} identical")
        for backbone in args.backbones:
            for variant, enabled in (("baseline", False), ("+MRdIB", True)):
                scores = {}
                for threads in (1, 2):
                    cfg = resolve_config(backbone, cli_values={
                        "artifacts": artifacts, "mrdib": {"enabled": enabled},
                        "train": {"epochs": args.epochs, "patience": args.epochs, "num_threads": threads}})
                    scores[threads] = train_run(cfg, progress=False, data=data)[1].test
                same = scores[1] == scores[2]
                print(f"{backbone:9} {variant:8} {scores[1]['recall@5']:12.6f} {scores[2]['recall@5']:12.6f} "
                      f"{'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
    main()

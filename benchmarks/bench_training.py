"""Seconds per training epoch with and without MRdIB, and seconds per full evaluation.

Usage: python benchmarks/bench_training.py [--data baby synthetic-baby] [--backbones vbpr ...]
Prints a table and the MRdIB/baseline ratio. Not a test: timings are for reading, not asserting.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from mrdib.config import resolve_config
from mrdib.data import load_mmrec
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic
from mrdib.runner import build_trainer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def dataset(name: str):
    if name == "synthetic-baby":  # same users, items and feature width as Baby's stand-ins
        return generate_synthetic(SyntheticConfig(n_users=19445, n_items=7050, mean_interactions=8.3, seed=0))
    if name == "synthetic":
        return generate_synthetic(SyntheticConfig())
    return load_mmrec(SHARED / name if not Path(name).exists() else Path(name))


def time_epochs(trainer, epochs: int) -> list[float]:
    times = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        trainer.train_epoch(epoch)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", nargs="+", default=["baby", "synthetic-baby"])
    parser.add_argument("--backbones", nargs="+", default=["vbpr"])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    print(f"{'data':16} {'backbone':9} {'base s/ep':>10} {'mrdib s/ep':>11} {'ratio':>7} {'eval s':>7}")
    for data_name in args.data:
        data = dataset(data_name)
        for backbone in args.backbones:
            seconds = {}
            eval_seconds = []
            for enabled in (False, True):
                cfg = resolve_config(backbone, cli_values={"mrdib": {"enabled": enabled}})
                trainer = build_trainer(cfg, data)
                time_epochs(trainer, 1)
                seconds[enabled] = statistics.median(time_epochs(trainer, args.epochs))
                for _ in range(2):
                    started = time.perf_counter()
                    trainer.evaluate("valid")
                    eval_seconds.append(time.perf_counter() - started)
            print(f"{data_name:16} {backbone:9} {seconds[False]:10.3f} {seconds[True]:11.3f} "
                  f"{seconds[True] / seconds[False]:7.3f} {statistics.median(eval_seconds):7.3f}")


if __name__ == "__main__":
    main()

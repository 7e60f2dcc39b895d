"""Seconds per training epoch with and without MRdIB, and seconds per full evaluation.

Usage: python benchmarks/bench_training.py [--data baby synthetic-baby] [--backbones vbpr ...]
                                          [--variant aux_batch_size=256 ...] [--device cuda]
Prints a table and the MRdIB/baseline ratios: one column for MRdIB at its defaults and one per
--variant (MRdIB settings, e.g. the sub-batched regularisers). Not a test: timings are for
reading, not asserting.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from mrdib.core.config import resolve_config
from mrdib.core.errors import ConfigError
from mrdib.data import load_mmrec
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic
from mrdib.core.device import resolve_device
from mrdib.training.runner import build_trainer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def dataset(name: str):
    if name == "synthetic-baby":  # same users, items and feature width as Baby's stand-ins
        return generate_synthetic(SyntheticConfig(n_users=19445, n_items=7050, mean_interactions=8.3, seed=0))
    if name == "synthetic":
        return generate_synthetic(SyntheticConfig())
    return load_mmrec(SHARED / name if not Path(name).exists() else Path(name))


def synchronize(device: torch.device) -> None:
    """Wait for a GPU's queued work, so that a timer read afterwards counts it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def setting_value(text: str) -> int | float | str:
    """A --variant value: an integer, a float, or a word (e.g. mean_head=linear)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", nargs="+", default=["baby", "synthetic-baby"])
    parser.add_argument("--backbones", nargs="+", default=["vbpr"])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (as for train)")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help="an extra +MRdIB column with these MRdIB settings (repeatable)")
    args = parser.parse_args()
    variants = {"mrdib": {}}
    for text in args.variant:
        variants[text] = {k: setting_value(v) for k, v in (item.split("=", 1) for item in text.split(","))}
    torch.set_num_threads(args.threads)
    resolve_device(args.device)  # a missing GPU is one line before any table
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}")
    header = f"{'data':16} {'backbone':9} {'base s/ep':>10}"
    for name in variants:
        header += f" {name + ' s/ep':>22} {'ratio':>6}"
    print(header + f" {'eval s':>7}")
    for data_name in args.data:
        data = dataset(data_name)
        for backbone in args.backbones:
            # Every variant's trainer lives at once and their epochs alternate, so a machine
            # whose speed drifts (shared or throttled cores) slows all columns alike.
            trainers = {}
            for name, settings in [("base", {"enabled": False})] + [(n, {"enabled": True, **v})
                                                                    for n, v in variants.items()]:
                cli_values = {"mrdib": settings, "train": {"device": args.device}}
                trainers[name] = build_trainer(resolve_config(backbone, cli_values=cli_values), data)
                trainers[name].train_epoch(1)  # warm-up, untimed
            times: dict[str, list[float]] = {name: [] for name in trainers}
            for epoch in range(2, args.epochs + 2):
                for name, trainer in trainers.items():
                    started = time.perf_counter()
                    trainer.train_epoch(epoch)
                    synchronize(trainer.device)
                    times[name].append(time.perf_counter() - started)
            seconds = {name: statistics.median(t) for name, t in times.items()}
            eval_seconds = []
            for name in ("base", "mrdib"):
                for _ in range(2):
                    started = time.perf_counter()
                    trainers[name].evaluate("valid")
                    synchronize(trainers[name].device)
                    eval_seconds.append(time.perf_counter() - started)
            del trainers
            line = f"{data_name:16} {backbone:9} {seconds['base']:10.3f}"
            for name in variants:
                line += f" {seconds[name]:22.3f} {seconds[name] / seconds['base']:6.2f}"
            print(line + f" {statistics.median(eval_seconds):7.3f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except ConfigError as error:  # a bad --device or data set: one line, as the CLI prints it
        raise SystemExit(f"error: {error}")

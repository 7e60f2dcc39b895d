"""Peak resident memory of a training run, per backbone, with and without MRdIB.

Usage: python benchmarks/bench_memory.py [--data baby] [--backbones vbpr freedom ...] [--epochs 1]
                                         [--threads 2]

Each (backbone, variant) runs in a fresh process that loads the data, builds the trainer,
trains `--epochs` epochs and runs one full-ranking validation pass, then reports its peak
resident set size (ru_maxrss) and the peak just after import and data loading, so the
figure compares with a whole reference run (MMRec on Baby: 0.8-1.2 GB on the reference VM).
Not a test.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(args: argparse.Namespace) -> None:
    import torch

    from mrdib.core.config import resolve_config
    from mrdib.training.runner import build_trainer

    from bench_training import dataset

    torch.set_num_threads(args.threads)
    data = dataset(args.data)
    loaded = peak_mb()
    trainer = build_trainer(resolve_config(args.backbones[0], cli_values={"mrdib": {"enabled": args.mrdib}}), data)
    for epoch in range(1, args.epochs + 1):
        trainer.train_epoch(epoch)
    trainer.evaluate("valid")
    print(loaded, peak_mb(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="baby")
    parser.add_argument("--backbones", nargs="+", default=["vbpr", "freedom", "dualgnn", "mmgcn", "mgcn", "soil"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mrdib", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(f"{args.data}, {args.epochs} epoch(s) + one validation pass, {args.threads} threads; peak resident MB")
    print(f"{'backbone':9} {'after loading':>14} {'baseline':>9} {'+MRdIB':>8} {'MRdIB adds':>11}")
    for backbone in args.backbones:
        peaks = {}
        for variant in ("baseline", "mrdib"):
            command = [sys.executable, __file__, "--worker", "--data", args.data, "--backbones", backbone,
                       "--epochs", str(args.epochs), "--threads", str(args.threads)]
            result = subprocess.run(command + (["--mrdib"] if variant == "mrdib" else []),
                                    capture_output=True, text=True)
            if result.returncode != 0:
                last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise SystemExit(f"error: {backbone} {variant} failed: {last_line}")
            peaks["loaded"], peaks[variant] = (float(v) for v in result.stdout.split()[-2:])
        print(f"{backbone:9} {peaks['loaded']:14.0f} {peaks['baseline']:9.0f} {peaks['mrdib']:8.0f} "
              f"{peaks['mrdib'] - peaks['baseline']:11.0f}", flush=True)


if __name__ == "__main__":
    main()

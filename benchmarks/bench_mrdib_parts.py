"""Where MRdIB's extra time per training step goes, one part at a time.

Usage: python benchmarks/bench_mrdib_parts.py [--data baby] [--backbone vbpr] [--epochs 3] [--device cuda]

Five trainers on the same data see the same batches, taking turns batch by batch, and the
script prints each one's mean milliseconds per step and the difference to the one above it:

  baseline                      the backbone alone
  bottleneck means              + the bottleneck heads, z = mean (no draws), KL and unique terms on 1 triple, no MINE
  + Gaussian draws              z = mean + sigma * eps, as in training
  + KL and unique terms         on the whole batch
  + MINE (= MRdIB)              the critic pass, its moving average and its optimizer: the full objective

Taking turns every batch keeps a drifting machine from favouring one row, but each step then
starts with caches the other trainers have filled, so absolute times are higher than in
`bench_training.py`'s epochs; read the differences, not the ratios. Not a test.
"""

from __future__ import annotations

import argparse
import time

import torch

from mrdib.core.config import resolve_config
from mrdib.core.errors import ConfigError
from mrdib.training.runner import build_trainer

from bench_training import dataset, synchronize

PARTS = [
    ("baseline", None),
    ("bottleneck means", {"aux_batch_size": 1, "means": True, "mine": False}),
    ("+ Gaussian draws", {"aux_batch_size": 1, "means": False, "mine": False}),
    ("+ KL and unique terms", {"aux_batch_size": 0, "means": False, "mine": False}),
    ("+ MINE (= MRdIB)", {"aux_batch_size": 0, "means": False, "mine": True}),
]


def build(backbone: str, data, part: dict | None, device: str):
    settings = {"enabled": False} if part is None else {"enabled": True, "aux_batch_size": part["aux_batch_size"]}
    trainer = build_trainer(resolve_config(backbone, cli_values={"mrdib": settings, "train": {"device": device}}), data)
    if part is not None and not part["mine"]:
        trainer.model.pairs = []  # no critic pass (the critic then gets no gradient and its Adam skips it)
    return trainer


def prepare(trainer, part: dict | None, epoch: int) -> None:
    trainer.model.train()
    trainer.model.backbone.pre_epoch(epoch)
    if part is not None and part["means"]:
        for bottleneck in trainer.model.bottlenecks.values():
            bottleneck.eval()  # the bottleneck returns its mean: no Gaussian draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="baby")
    parser.add_argument("--backbone", default="vbpr")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (as for train)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = dataset(args.data)
    trainers = {name: build(args.backbone, data, part, args.device) for name, part in PARTS}
    seconds = dict.fromkeys(trainers, 0.0)
    steps = 0
    for epoch in range(1, args.epochs + 2):
        for name, part in PARTS:
            prepare(trainers[name], part, epoch)
        for batch in trainers["baseline"].sampler.epoch():
            for name, trainer in trainers.items():
                started = time.perf_counter()
                trainer.train_step(batch)
                synchronize(trainer.device)
                if epoch > 1:  # the first epoch warms up
                    seconds[name] += time.perf_counter() - started
            steps += epoch > 1
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}, {args.data}, {args.backbone}, "
          f"{steps} steps per row, batches taken in turn")
    previous = None
    for name, total in seconds.items():
        ms = 1000 * total / steps
        added = "" if previous is None else f"{ms - previous:+8.2f}"
        print(f"{name:24} {ms:8.2f} ms/step {added}")
        previous = ms
    base = 1000 * seconds["baseline"] / steps
    print(f"{'MRdIB adds':24} {1000 * seconds['+ MINE (= MRdIB)'] / steps - base:8.2f} ms/step")


if __name__ == "__main__":
    try:
        main()
    except ConfigError as error:  # a bad --device or data set: one line, as the CLI prints it
        raise SystemExit(f"error: {error}")

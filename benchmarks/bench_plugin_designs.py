"""Milliseconds per training step: the baseline, the plug-in (posterior mean = the backbone's own
representation) and the earlier design (a linear mean head, the unit prior), taking turns step by
step on the same batches, so a busy or drifting machine slows all three alike.

Usage: python benchmarks/bench_plugin_designs.py [--data baby] [--backbones vbpr freedom ...] [--steps 30]
Prints the medians and the ratios to the baseline. Not a test: timings are for reading.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mrdib.core.config import resolve_config
from mrdib.training.runner import build_trainer

from bench_training import dataset, synchronize

DESIGNS = {"baseline": {"enabled": False}, "plug-in": {"enabled": True},
           "earlier": {"enabled": True, "mean_head": "linear", "prior_scale": "unit"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="baby")
    parser.add_argument("--backbones", nargs="+", default=["vbpr", "freedom", "dualgnn", "mgcn", "soil", "mmgcn"])
    parser.add_argument("--steps", type=int, default=30, help="timed steps after 3 warm-up steps")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = dataset(args.data)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.data}, "
          f"median ms per step over {args.steps} steps")
    print(f"{'backbone':9} " + " ".join(f"{name:>10}" for name in DESIGNS) + f" {'plug-in/base':>13} {'earlier/base':>13}")
    for backbone in args.backbones:
        trainers = {name: build_trainer(resolve_config(backbone, cli_values={"mrdib": settings}), data)
                    for name, settings in DESIGNS.items()}
        for trainer in trainers.values():
            trainer.model.train()
            trainer.model.backbone.pre_epoch(1)
        seconds: dict[str, list[float]] = {name: [] for name in trainers}
        for index, batch in enumerate(trainers["baseline"].sampler.epoch()):
            if index >= 3 + args.steps:
                break
            for name, trainer in trainers.items():
                started = time.perf_counter()
                trainer.train_step(batch)
                synchronize(trainer.device)
                if index >= 3:
                    seconds[name].append(time.perf_counter() - started)
        ms = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
        print(f"{backbone:9} " + " ".join(f"{ms[name]:10.1f}" for name in DESIGNS)
              + f" {ms['plug-in'] / ms['baseline']:13.2f} {ms['earlier'] / ms['baseline']:13.2f}", flush=True)


if __name__ == "__main__":
    main()

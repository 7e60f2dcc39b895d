"""How far MRdIB's overhead per step can fall: the cost of the bottleneck alone, against the budget.

Usage: python benchmarks/bench_overhead_floor.py [--data baby] [--backbones vbpr mgcn ...] [--steps 40]

Whatever else is optimised, every training step with MRdIB must pass each modality's item
representations through the mean and log-variance heads and draw a Gaussian sample for every
entry of z the fused loss reads (the rows of the batch's items for row-wise backbones, every
item for graph ones). This script measures, at each backbone's own shapes and on its own batches:

  base, +MRdIB     ms per training step of the baseline and of the full objective, taking turns
  bottleneck       the model's own VariationalBottleneck, forward in training mode and backward,
                   on the rows the step needs, every modality (no KL, MINE or unique terms);
                   the fastest of three back-to-back runs, so warm caches make it err low
  of which mm+rng  the part no implementation can skip: the heads' three matrix multiplies
                   (forward, input gradient, weight gradient) and torch.randn for z's entries

and prints them as a share of the baseline step beside the 5% and 3% budgets. Where mm+rng alone
exceeds a budget, that budget cannot be met on this machine by any faithful implementation.
All parts take turns step by step, so a drifting machine slows them alike. Not a test.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from mrdib.config import resolve_config
from mrdib.errors import ConfigError
from mrdib.objective.plugin import distinct_rows
from mrdib.runner import build_trainer

from bench_training import dataset, synchronize


def bottleneck_rows(trainer, batch) -> int:
    """Rows of z one training step computes: every item, or the batch's distinct items."""
    backbone = trainer.model.backbone
    if backbone.loss_reads_all_items:
        return backbone.n_items
    rows, _ = distinct_rows(torch.cat([batch.pos_items, batch.neg_items]), backbone.n_items)
    return len(rows)


def time_bottleneck(bottlenecks: dict, rows: int, device: torch.device) -> tuple[float, float]:
    """(bottleneck, matmuls + draws) seconds for one step's worth of rows, every modality."""
    inputs = {m: torch.randn(rows, b.dim, device=device, requires_grad=True) for m, b in bottlenecks.items()}
    upstream = {m: torch.randn(rows, b.dim, device=device) for m, b in bottlenecks.items()}
    synchronize(device)
    started = time.perf_counter()
    for m, bottleneck in bottlenecks.items():
        z, _, _ = bottleneck(inputs[m])
        z.backward(upstream[m])
    synchronize(device)
    full = time.perf_counter() - started
    with torch.no_grad():
        grads = {m: torch.randn(rows, 2 * b.dim, device=device) for m, b in bottlenecks.items()}
        synchronize(device)
        started = time.perf_counter()
        for m, bottleneck in bottlenecks.items():
            x, weight = inputs[m], bottleneck.heads.weight
            torch.addmm(bottleneck.heads.bias, x, weight.T)  # forward
            grads[m] @ weight  # input gradient
            grads[m].T @ x  # weight gradient
            torch.randn(rows, bottleneck.dim, device=device)  # eps
        synchronize(device)
        core = time.perf_counter() - started
    for bottleneck in bottlenecks.values():
        bottleneck.zero_grad(set_to_none=True)
    return full, core


def measure(backbone: str, data, steps: int, device: str) -> dict[str, float]:
    trainers = {}
    for name, enabled in (("base", False), ("mrdib", True)):
        cli_values = {"mrdib": {"enabled": enabled}, "train": {"device": device}}
        trainers[name] = build_trainer(resolve_config(backbone, cli_values=cli_values), data)
        trainers[name].model.train()
        trainers[name].model.backbone.pre_epoch(1)
    # Copies of the model's own bottlenecks (same class, weights and settings), in training mode.
    bottlenecks = {m: copy.deepcopy(b).train() for m, b in trainers["mrdib"].model.bottlenecks.items()}
    seconds: dict[str, list[float]] = {"base": [], "mrdib": [], "bottleneck": [], "core": []}
    rows_seen: list[int] = []
    warm_up = 5
    for index, batch in enumerate(trainers["base"].sampler.epoch()):
        if index >= warm_up + steps:
            break
        for name, trainer in trainers.items():
            started = time.perf_counter()
            trainer.train_step(batch)
            synchronize(trainer.device)
            if index >= warm_up:
                seconds[name].append(time.perf_counter() - started)
        rows = bottleneck_rows(trainers["mrdib"], batch)
        # The fastest of three back-to-back runs: warm caches, so the floor errs on the low side.
        full, core = (min(t) for t in zip(*(time_bottleneck(bottlenecks, rows, trainers["mrdib"].device)
                                            for _ in range(3))))
        if index >= warm_up:
            seconds["bottleneck"].append(full)
            seconds["core"].append(core)
            rows_seen.append(rows)
    out = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
    out["rows"] = statistics.mean(rows_seen)
    out["steps"] = len(rows_seen)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="baby")
    parser.add_argument("--backbones", nargs="+", default=["vbpr", "freedom", "dualgnn", "mmgcn", "mgcn", "soil"])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per backbone, after 5 warm-up steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (as for train)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = dataset(args.data)
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}, {args.data}, "
          f"medians of {args.steps} steps taken in turn; ms per training step")
    print(f"{'backbone':9} {'z rows':>7} {'base':>8} {'+MRdIB':>8} {'overhead':>9} {'%':>6} "
          f"{'bottleneck':>10} {'%':>6} {'mm+rng':>7} {'%':>6} {'5% budget':>9} {'3% budget':>9}  verdict")
    for backbone in args.backbones:
        m = measure(backbone, data, args.steps, args.device)
        overhead = m["mrdib"] - m["base"]

        def share(ms: float) -> float:
            return 100 * ms / m["base"]

        budget5, budget3 = 0.05 * m["base"], 0.03 * m["base"]
        if m["core"] > budget5:
            verdict = "5% below the floor"
        elif m["core"] > budget3:
            verdict = "3% below the floor"
        else:
            verdict = "floor within 3%"
        print(f"{backbone:9} {m['rows']:7.0f} {m['base']:8.2f} {m['mrdib']:8.2f} {overhead:9.2f} {share(overhead):6.1f} "
              f"{m['bottleneck']:10.2f} {share(m['bottleneck']):6.1f} {m['core']:7.2f} {share(m['core']):6.1f} "
              f"{budget5:9.2f} {budget3:9.2f}  {verdict}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except ConfigError as error:
        raise SystemExit(f"error: {error}")

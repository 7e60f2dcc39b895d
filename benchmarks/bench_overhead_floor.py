"""How far MRdIB's overhead per step can fall: the work no implementation can skip, against the budget.

Usage: python benchmarks/bench_overhead_floor.py [--data baby] [--backbones vbpr mgcn ...] [--steps 40]

Whatever else is optimised, every training step with MRdIB must pass each modality's item
representations through the log-variance head (and, in the earlier `mean_head: linear` design,
the mean head too) and draw a Gaussian sample for every
entry of z the fused loss reads (the rows of the batch's items for row-wise backbones, every
item for graph ones), decode the batch's users for the unique terms and run the MINE critic on
its pairs. This script measures, at each backbone's own shapes and on its own batches:

  base, +MRdIB  ms per training step of the baseline and of the full objective, taking turns
  bottleneck    the model's own VariationalBottleneck, forward in training mode and backward,
                on the rows the step needs, every modality (no KL, MINE or unique terms)
  floor         the matrix multiplies and draws alone: the head's three products (forward,
                input and weight gradients) and torch.randn for z's entries, plus (terms) the
                unique decoders' and the MINE critics' products; no elementwise work, no optimizer

and prints them as a share of the baseline step beside the 5% and 3% budgets. Where the floor
exceeds a budget, no faithful implementation meets that budget on this machine. The floor parts
run five times back to back and the fastest counts (warm caches: it errs low). All parts take
turns step by step, so a drifting machine slows them alike. Not a test.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from mrdib.core.config import resolve_config
from mrdib.core.device import resolve_device
from mrdib.core.errors import ConfigError
from mrdib.objective.plugin import distinct_rows, pair_name
from mrdib.training.runner import build_trainer

from bench_training import dataset, synchronize


def bottleneck_rows(trainer, batch) -> int:
    """Rows of z one training step computes: every item, or the batch's distinct items."""
    backbone = trainer.model.backbone
    if backbone.loss_reads_all_items:
        return backbone.n_items
    rows, _ = distinct_rows(torch.cat([batch.pos_items, batch.neg_items]), backbone.n_items)
    return len(rows)


def time_bottleneck(bottlenecks: dict, rows: int, device: torch.device) -> tuple[float, float]:
    """(bottleneck, its products and draws alone) seconds for one step's rows, every modality."""
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
        heads = {m: b.heads if b.mean_head == "linear" else b.log_var_head for m, b in bottlenecks.items()}
        grads = {m: torch.randn(rows, heads[m].weight.shape[0], device=device) for m in bottlenecks}
        synchronize(device)
        started = time.perf_counter()
        for m, bottleneck in bottlenecks.items():
            x, weight = inputs[m], heads[m].weight
            torch.addmm(heads[m].bias, x, weight.T)  # forward
            grads[m] @ weight  # input gradient
            grads[m].T @ x  # weight gradient
            torch.randn(rows, bottleneck.dim, device=device)  # eps
        synchronize(device)
        products_and_draws = time.perf_counter() - started
    for bottleneck in bottlenecks.values():
        bottleneck.zero_grad(set_to_none=True)
    return full, products_and_draws


def linear_passes(x: torch.Tensor, weight: torch.Tensor, input_gradient: bool = True) -> None:
    """A linear layer's matrix multiplies: forward, weight gradient and (optionally) input gradient."""
    out = x @ weight.T
    out.T @ x  # weight gradient: the upstream gradient has the output's shape; its values do not matter
    if input_gradient:
        out @ weight


def time_regularisers(model, batch_size: int, device: torch.device) -> float:
    """Seconds of the matrix multiplies the KL, unique and MINE terms cannot avoid (KL has none).

    Unique terms: each decoder maps the batch's (detached) users to modality width, forward and
    weight gradient. MINE: each critic's three layers on the joint and shuffled pairs (the first
    layer projects the pairs' two halves once), forward, weight and input gradients.
    """
    user_dim = next(iter(model.unique_decoders.values())).weight.shape[1]
    with torch.no_grad():
        users = torch.randn(batch_size, user_dim, device=device)
        pairs = min(model.cfg.mine_batch_size, batch_size)
        halves = {m: torch.randn(pairs, b.dim, device=device) for m, b in model.bottlenecks.items()}
        hidden_rows = torch.randn(2 * pairs, model.cfg.critic_hidden, device=device)  # joint and shuffled pairs
        synchronize(device)
        started = time.perf_counter()
        for decoder in model.unique_decoders.values():
            linear_passes(users, decoder.weight, input_gradient=False)
        for a, b in model.pairs:
            first, hidden, last = (model.estimators[pair_name(a, b)].critic.net[i] for i in (0, 2, 4))
            dim_a = halves[a].shape[1]
            linear_passes(halves[a], first.weight[:, :dim_a])
            linear_passes(halves[b], first.weight[:, dim_a:])
            linear_passes(hidden_rows, hidden.weight)
            linear_passes(hidden_rows, last.weight)
        synchronize(device)
        return time.perf_counter() - started


def measure(backbone: str, data, steps: int, device: str) -> dict[str, float]:
    trainers = {}
    for name, enabled in (("base", False), ("mrdib", True)):
        cli_values = {"mrdib": {"enabled": enabled}, "train": {"device": device}}
        trainers[name] = build_trainer(resolve_config(backbone, cli_values=cli_values), data)
        trainers[name].model.train()
        trainers[name].model.backbone.pre_epoch(1)
    # Copies of the model's own bottlenecks (same class, weights and settings), in training mode.
    bottlenecks = {m: copy.deepcopy(b).train() for m, b in trainers["mrdib"].model.bottlenecks.items()}
    seconds: dict[str, list[float]] = {"base": [], "mrdib": [], "bottleneck": [], "floor": [], "terms": []}
    rows_seen: list[int] = []
    warm_up = 5
    for index, batch in enumerate(trainers["base"].sampler.epoch()):
        if index >= warm_up + steps:
            break
        step_seconds = {}
        for name, trainer in trainers.items():
            started = time.perf_counter()
            trainer.train_step(batch)
            synchronize(trainer.device)
            step_seconds[name] = time.perf_counter() - started
        rows = bottleneck_rows(trainers["mrdib"], batch)
        device = trainers["mrdib"].device
        full, heads = (min(t) for t in zip(*(time_bottleneck(bottlenecks, rows, device) for _ in range(5))))
        terms = min(time_regularisers(trainers["mrdib"].model, len(batch.users), device) for _ in range(5))
        if index < warm_up:
            continue
        for name, value in {**step_seconds, "bottleneck": full, "floor": heads + terms, "terms": terms}.items():
            seconds[name].append(value)
        rows_seen.append(rows)
    out = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
    out["rows"] = statistics.mean(rows_seen)
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
    resolve_device(args.device)  # a missing GPU is one line before any table
    data = dataset(args.data)
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}, {args.data}, "
          f"medians of {args.steps} steps taken in turn; ms per training step")
    print(f"{'backbone':9} {'z rows':>7} {'base':>8} {'+MRdIB':>8} {'overhead':>9} {'%':>6} "
          f"{'bottleneck':>10} {'%':>6} {'floor':>7} {'%':>6} {'terms':>6} {'5% budget':>9} {'3% budget':>9}  verdict")
    for backbone in args.backbones:
        m = measure(backbone, data, args.steps, args.device)
        overhead = m["mrdib"] - m["base"]

        def share(ms: float) -> float:
            return 100 * ms / m["base"]

        budget5, budget3 = 0.05 * m["base"], 0.03 * m["base"]
        if m["floor"] > budget5:
            verdict = "5% below the floor"
        elif m["floor"] > budget3:
            verdict = "3% below the floor"
        else:
            verdict = "floor within 3%"
        print(f"{backbone:9} {m['rows']:7.0f} {m['base']:8.2f} {m['mrdib']:8.2f} {overhead:9.2f} "
              f"{share(overhead):6.1f} {m['bottleneck']:10.2f} {share(m['bottleneck']):6.1f} {m['floor']:7.2f} "
              f"{share(m['floor']):6.1f} {m['terms']:6.2f} {budget5:9.2f} {budget3:9.2f}  {verdict}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except ConfigError as error:
        raise SystemExit(f"error: {error}")

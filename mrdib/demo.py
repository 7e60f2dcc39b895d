"""`python -m mrdib demo`: the demo runs that fill every dashboard page on the synthetic data."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mrdib.cli import command
from mrdib.config import resolve_config
from mrdib.runs.reader import list_runs


@dataclass(frozen=True)
class DemoRun:
    backbone: str
    mrdib: bool
    alphas: tuple[float, float, float] = (0.001, 0.01, 0.01)
    seed: int = 0


# The paper's sensitivity study uses MGCN and FREEDOM; VBPR is the fastest. Those available run.
DEMO_BACKBONES = ("vbpr", "freedom", "mgcn")
# Enough for baseline and +MRdIB to separate on the synthetic data, few enough for minutes on 2 cores.
DEMO_EPOCHS = 20
# Table 2's variants: which alphas are switched off.
ABLATED = ((0,), (1,), (2,), (1, 2))


def demo_backbones() -> tuple[str, ...]:
    """The demo's backbones whose modules exist (VBPR at least)."""
    from mrdib.backbones import available_backbones

    present = set(available_backbones())
    return tuple(b for b in DEMO_BACKBONES if b in present) or ("vbpr",)


def demo_plan(backbones: tuple[str, ...] | None = None, seeds: tuple[int, ...] = (0, 1),
              alpha_grid: tuple[float, ...] = (0.0001, 0.001, 0.01, 0.05),
              ablations: bool = True) -> list[DemoRun]:
    """Baseline and +MRdIB per backbone and seed, then on the first backbone a one-alpha-at-a-time
    sweep and (with `ablations`) each alpha switched off, so every dashboard page has data."""
    backbones = backbones or demo_backbones()
    plan = [DemoRun(b, m, seed=s) for b in backbones for s in seeds for m in (False, True)]
    base = DemoRun(backbones[0], True).alphas
    for position in range(3):
        for value in alpha_grid:
            alphas = list(base)
            alphas[position] = value
            run = DemoRun(backbones[0], True, tuple(alphas))
            if run not in plan:
                plan.append(run)
    for switched_off in ABLATED if ablations else ():
        alphas = tuple(0.0 if position in switched_off else value for position, value in enumerate(base))
        plan.append(DemoRun(backbones[0], True, alphas))
    return plan


def build_demo(artifacts: str | Path, plan: list[DemoRun] | None = None, epochs: int = DEMO_EPOCHS,
               on_progress: Callable[[int, int, DemoRun], None] | None = None) -> list[Path]:
    """Train every run of the plan on the synthetic data; returns the run folders."""
    from mrdib.runner import train_run

    plan = plan or demo_plan()
    folders = []
    for index, run in enumerate(plan):
        if on_progress:
            on_progress(index, len(plan), run)
        a1, a2, a3 = run.alphas
        cfg = resolve_config(run.backbone, cli_values={
            "artifacts": str(artifacts), "data": "synthetic",
            "mrdib": {"enabled": run.mrdib, "a1": a1, "a2": a2, "a3": a3},
            "train": {"seed": run.seed, "epochs": epochs, "patience": 10, "batch_size": 512},
        })
        folders.append(train_run(cfg, progress=False)[0])
    if on_progress:
        on_progress(len(plan), len(plan), plan[-1])
    return folders


@command("demo", "train the demo runs on synthetic data (what the dashboard shows first)")
def _demo_command(parser: argparse.ArgumentParser):
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--epochs", type=int, default=DEMO_EPOCHS)
    parser.add_argument("--if-empty", action="store_true", help="do nothing when runs already exist")

    def handle(args: argparse.Namespace) -> int:
        if args.if_empty and list_runs(args.artifacts):
            print(f"{args.artifacts}: runs exist, demo skipped")
            return 0
        from tqdm.auto import tqdm

        plan = demo_plan()
        bar = tqdm(total=len(plan), desc="demo runs", unit="run")

        def progress(done: int, total: int, run: DemoRun) -> None:
            bar.n = done
            bar.set_postfix_str(f"{run.backbone} {'+MRdIB' if run.mrdib else 'base'} seed {run.seed}")
            bar.refresh()

        folders = build_demo(args.artifacts, plan, args.epochs, progress)
        bar.close()
        print(f"{len(folders)} demo runs in {Path(args.artifacts) / 'runs'}")
        return 0

    return handle

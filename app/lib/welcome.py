"""The welcome page's demo builder: what the demo trains and a progress-reporting wrapper around it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mrdib import demo

# Fewer epochs than `python -m mrdib demo`: a new user should see every page filled in minutes.
DASHBOARD_DEMO_EPOCHS = 20


@dataclass
class DemoSummary:
    runs: int
    backbones: list[str]
    description: str


def demo_summary() -> DemoSummary:
    plan = demo.demo_plan()
    backbones = list(dict.fromkeys(run.backbone for run in plan))
    variants = Counter("+MRdIB" if run.mrdib else "baseline" for run in plan)
    text = (f"**{len(plan)} runs** on the synthetic data set ({DASHBOARD_DEMO_EPOCHS} epochs each): "
            f"{', '.join(backbones)}, baseline and +MRdIB over seeds, one alpha at a time on a small grid and "
            f"each alpha switched off ({variants['baseline']} baseline, {variants['+MRdIB']} +MRdIB). "
            "About three to five minutes on two idle cores; keep this page open while it runs (leaving it "
            "stops the demo after the run in progress).")
    return DemoSummary(len(plan), backbones, text)


def run_demo(root: str | Path, on_progress: Callable[[int, int, str], None]) -> list[Path]:
    """Train the demo plan into `root`, reporting (runs done, runs in total, what runs now)."""
    plan = demo.demo_plan()

    def report(done: int, total: int, run: demo.DemoRun) -> None:
        variant = "+MRdIB " + ", ".join(f"{v:g}" for v in run.alphas) if run.mrdib else "baseline"
        text = "finishing" if done >= total else f"run {done + 1}/{total}: {run.backbone} {variant}, seed {run.seed}"
        on_progress(done, total, text)

    return demo.build_demo(root, plan, epochs=DASHBOARD_DEMO_EPOCHS, on_progress=report)

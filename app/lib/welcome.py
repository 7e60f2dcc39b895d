"""The welcome page's demo: what it trains, starting it in the background, and how far it has come."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrdib.commands import demo

# Epochs per demo run and how many runs of the plan the button builds (None: all of it).
DASHBOARD_DEMO_EPOCHS = demo.DEMO_EPOCHS
DASHBOARD_DEMO_LIMIT: int | None = None

# The pages the welcome page links to: (page file, label, icon).
PAGE_LINKS = (
    ("app_pages/runs.py", "Runs: every run, filterable", ":material/list:"),
    ("app_pages/metrics.py", "Metrics table: baseline vs +MRdIB (and the paper, where it reports the data set)",
     ":material/table:"),
    ("app_pages/disentanglement.py", "Disentanglement: PCA, t-SNE, UMAP of z per modality", ":material/scatter_plot:"),
    ("app_pages/sensitivity.py", "Sensitivity: a metric against each alpha", ":material/tune:"),
    ("app_pages/traces.py", "Training traces: losses, MINE bound, KL per epoch", ":material/show_chart:"),
    ("app_pages/ablations.py", "Ablations and cost: Tables 2 and 3", ":material/science:"),
    ("app_pages/dose_response.py", "Dose-response: does each term move what it targets", ":material/trending_down:"),
    ("app_pages/pid.py", "Information decomposition: unique, redundant and synergistic information per run",
     ":material/stacked_bar_chart:"),
)


@dataclass
class DemoSummary:
    runs: int
    backbones: list[str]
    description: str


def demo_summary() -> DemoSummary:
    plan = demo.demo_plan()[:DASHBOARD_DEMO_LIMIT] if DASHBOARD_DEMO_LIMIT else demo.demo_plan()
    backbones = list(dict.fromkeys(run.backbone for run in plan))
    variants = Counter("+MRdIB" if run.mrdib else "baseline" for run in plan)
    first = min(demo.first_batch_size(), len(plan))
    text = (f"**{len(plan)} runs** on the synthetic data set ({DASHBOARD_DEMO_EPOCHS} epochs each): "
            f"{', '.join(backbones)}, baseline and +MRdIB over seeds, one alpha at a time on a small grid and "
            f"each alpha switched off ({variants['baseline']} baseline, {variants['+MRdIB']} +MRdIB). "
            f"They train in the background and appear as they finish: the first {first} (VBPR) and the PID of "
            "its first pair fill every page but Dose-response, which the demo's last step fills with a "
            "dose-response check of each alpha. You can leave this page.")
    return DemoSummary(len(plan), backbones, text)


def start_demo(root: str | Path) -> None:
    demo.start_in_background(root, epochs=DASHBOARD_DEMO_EPOCHS, limit=DASHBOARD_DEMO_LIMIT)


def demo_progress(root: str | Path) -> dict[str, Any] | None:
    """The background demo's status when one is building now (else None), with a `text` line."""
    status = demo.read_status(root)
    if not demo.is_building(status):
        return None
    done, total = int(status.get("done", 0)), max(int(status.get("total", 1)), 1)
    current = status.get("current") or "starting (loading torch and the data)"
    return {**status, "fraction": min(done / total, 1.0),
            "text": f"Demo: {done} of {total} steps done · now {current}"}


def demo_stopped(root: str | Path) -> str | None:
    """Why the last demo stopped before its end (an error, or its process was stopped), when it did
    and is not building again; None otherwise."""
    status = demo.read_status(root)
    if not status or demo.is_building(status) or status.get("state") not in ("starting", "running", "failed"):
        return None
    where = f"after {status.get('done', 0)} of {status.get('total', '?')} steps"
    if status.get("state") == "failed":
        return f"The demo stopped {where}: {status.get('error') or 'unknown error'}"
    return f"The demo was stopped {where} (its process ended)."

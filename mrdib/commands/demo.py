"""`python -m mrdib demo`: the demo that fills every dashboard page on the synthetic data.

The plan starts with a small VBPR batch that gives most pages something to show (a baseline,
+MRdIB on two seeds, one step of each alpha), then measures the PID of its first pair (the PID
page), then trains the second baseline seed, the ablations, the rest of the grid and the slower
backbones, and ends with a dose-response check of each alpha (the Dose-response page). Run ids
are fixed, so a demo that was stopped continues where it stopped, and a status file beside the
runs (`demo_status.json`) tells the dashboard how far a demo building in the background has come.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mrdib.commands.main import command
from mrdib.core.config import resolve_config
from mrdib.core.device import WALKTHROUGH_THREADS
from mrdib.core.errors import ConfigError, MrdibError
from mrdib.core.io import atomic_write_json
from mrdib.runs.layout import dose_response_root, runs_dir
from mrdib.runs.reader import list_runs, read_run
from mrdib.runs.writer import CONFIG_FILE, RESUME_FILE, utc_now


@dataclass(frozen=True)
class DemoRun:
    backbone: str
    mrdib: bool
    alphas: tuple[float, float, float] = (0.001, 0.01, 0.01)
    seed: int = 0

    @property
    def run_id(self) -> str:
        """Fixed per run, so a rerun of the demo skips or resumes what exists."""
        variant = "mrdib-" + "-".join(f"{a:g}" for a in self.alphas) if self.mrdib else "base"
        return f"demo-{self.backbone}-{variant}-s{self.seed}"

    @property
    def label(self) -> str:
        variant = "+MRdIB " + ", ".join(f"{a:g}" for a in self.alphas) if self.mrdib else "baseline"
        return f"{self.backbone} {variant}, seed {self.seed}"

    @property
    def doing(self) -> str:
        return f"training {self.label}"

    def run(self, artifacts: Path, epochs: int, threads: int) -> Path:
        return _train_or_resume(artifacts, self, epochs, threads)


@dataclass(frozen=True)
class DemoAnalysis:
    """The PID page's data: `mrdib analyze` (no MINE, for speed) on a baseline and its +MRdIB run."""

    runs: tuple[DemoRun, ...]

    @property
    def doing(self) -> str:
        return f"measuring the PID of {' and '.join(run.label for run in self.runs)}"

    def run(self, artifacts: Path, epochs: int, threads: int) -> Path:
        from mrdib.analysis.analyze import AnalysisSettings, analyze_run
        from mrdib.runs.writer import ANALYSIS_FILE

        for demo_run in self.runs:
            run_dir = runs_dir(artifacts) / demo_run.run_id
            if not (run_dir / ANALYSIS_FILE).is_file():  # a rerun of the demo keeps what was measured
                analyze_run(run_dir, AnalysisSettings(use_mine=False), progress=False)
        return runs_dir(artifacts)


@dataclass(frozen=True)
class DemoDoseResponse:
    """The Dose-response page's data: each alpha at 0 and 0.05 around the centre, with the demo's
    training settings (a check of its own: `mrdib dose-response` reuses its runs on a rerun)."""

    backbone: str
    values: tuple[float, ...] = (0.0, 0.05)

    @property
    def name(self) -> str:
        return f"demo-{self.backbone}-all"

    @property
    def doing(self) -> str:
        return f"checking each alpha's dose-response on {self.backbone} ({len(self.values)} values, seed 0)"

    def run(self, artifacts: Path, epochs: int, threads: int) -> Path:
        from mrdib.dose_response.core import DoseResponseSpec, run_dose_response

        spec = DoseResponseSpec(data="synthetic", backbone=self.backbone, terms=["all"], values=list(self.values),
                                base=list(DemoRun(self.backbone, True).alphas), seeds=[0],
                                train=_demo_train(0, epochs, threads), artifacts=str(artifacts), name=self.name)
        run_dose_response(spec, progress=False)
        return spec.out_dir


DemoStep = DemoRun | DemoAnalysis | DemoDoseResponse


# The paper's sensitivity study uses MGCN and FREEDOM; VBPR is the fastest. Those available run.
DEMO_BACKBONES = ("vbpr", "freedom", "mgcn")
# Enough for baseline and +MRdIB to separate on the synthetic data, few enough for minutes on 2 cores.
DEMO_EPOCHS = 20
# Table 2's variants: which alphas are switched off.
ABLATED = ((1, 2), (0,), (1,), (2,))
STATUS_FILE = "demo_status.json"
LOG_FILE = "demo.log"


def demo_backbones() -> tuple[str, ...]:
    """The demo's backbones whose modules exist (VBPR at least)."""
    from mrdib.backbones import available_backbones

    present = set(available_backbones())
    return tuple(b for b in DEMO_BACKBONES if b in present) or ("vbpr",)


def _with_alpha(base: tuple[float, ...], position: int, value: float) -> tuple[float, float, float]:
    alphas = list(base)
    alphas[position] = value
    return tuple(alphas)


def demo_plan(backbones: tuple[str, ...] | None = None, seeds: tuple[int, ...] = (0, 1),
              alpha_grid: tuple[float, ...] = (0.0001, 0.001, 0.01, 0.05),
              ablations: bool = True) -> list[DemoRun]:
    """Baseline and +MRdIB per backbone and seed, a one-alpha-at-a-time sweep and (with `ablations`)
    each alpha switched off on the first backbone, so every dashboard page has data.

    Ordered so the first `first_batch_size()` runs (first backbone only) already fill every page:
    a baseline, +MRdIB at the centre on two seeds and one other value of each alpha."""
    backbones = backbones or demo_backbones()
    first, base = backbones[0], DemoRun(backbones[0], True).alphas
    grid = [DemoRun(first, True, _with_alpha(base, position, value))
            for position in range(3) for value in alpha_grid if value != base[position]]
    off = [DemoRun(first, True, tuple(0.0 if i in switched else a for i, a in enumerate(base)))
           for switched in (ABLATED if ablations else ())]
    pairs = [DemoRun(first, m, seed=s) for s in seeds for m in (False, True)]
    # +MRdIB at the centre on two seeds first (the sensitivity page holds the other alphas at the
    # grid's centre, and a paired comparison needs two seeds); a second baseline seed can wait.
    centre = [pairs[0], pairs[1]] + [run for run in pairs[2:] if run.mrdib][:1]
    one_step = [next(run for run in grid if run.alphas[position] != base[position]) for position in range(3)]
    plan = centre + one_step
    plan += [run for run in pairs if run not in plan] + off + [run for run in grid if run not in plan]
    plan += [DemoRun(b, m, seed=s) for b in backbones[1:] for s in seeds for m in (False, True)]
    return list(dict.fromkeys(plan))


def first_batch_size() -> int:
    """How many runs at the start of `demo_plan()` fill every page (see its docstring)."""
    return 3 + 3


def demo_steps(plan: list[DemoRun], dose_response: bool = True) -> list[DemoStep]:
    """The plan's runs, with the PID of its first pair (baseline and +MRdIB at the centre, seed 0)
    measured right after the first batch, and (with `dose_response`) a dose-response check last:
    then every page has data."""
    steps: list[DemoStep] = list(plan)
    if len(plan) >= 2 and not plan[0].mrdib and plan[1].mrdib:
        steps.insert(min(first_batch_size(), len(plan)), DemoAnalysis((plan[0], plan[1])))
    if dose_response and plan:
        steps.append(DemoDoseResponse(plan[0].backbone))
    return steps


def _demo_train(seed: int, epochs: int, threads: int) -> dict[str, Any]:
    return {"seed": seed, "epochs": epochs, "patience": 10, "batch_size": 512, "num_threads": threads}


def _demo_config(artifacts: Path, run: DemoRun, epochs: int, threads: int):
    a1, a2, a3 = run.alphas
    return resolve_config(run.backbone, cli_values={
        "artifacts": str(artifacts), "data": "synthetic", "run_id": run.run_id,
        "mrdib": {"enabled": run.mrdib, "a1": a1, "a2": a2, "a3": a3},
        "train": _demo_train(run.seed, epochs, threads),
    })


def _train_or_resume(artifacts: Path, run: DemoRun, epochs: int, threads: int) -> Path:
    """Skip a finished run, resume an interrupted one, start over one that never finished an epoch."""
    from mrdib.training.runner import resume_run, train_run

    run_dir = runs_dir(artifacts) / run.run_id
    if (run_dir / CONFIG_FILE).exists():
        try:
            status = read_run(run_dir).status
        except MrdibError:
            status = "corrupt"
        if status == "done":
            return run_dir
        if status != "corrupt" and (run_dir / RESUME_FILE).is_file():
            return resume_run(run_dir, progress=False)[0]
        shutil.rmtree(run_dir)
    return train_run(_demo_config(artifacts, run, epochs, threads), progress=False)[0]


def build_demo(artifacts: str | Path, steps: list[DemoStep] | None = None, epochs: int = DEMO_EPOCHS,
               on_progress: Callable[[int, int, DemoStep], None] | None = None, threads: int = 0) -> list[Path]:
    """Take every step (train a run on the synthetic data, measure a PID, check dose-response),
    skipping finished work; returns the run folders. `on_progress(steps done, steps in total, step
    now)` is called before each step and at the end."""
    artifacts = Path(artifacts)
    steps = steps or demo_steps(demo_plan())
    folders = []
    for index, step in enumerate(steps):
        if on_progress:
            on_progress(index, len(steps), step)
        where = step.run(artifacts, epochs, threads)
        if isinstance(step, DemoRun):
            folders.append(where)
    if on_progress:
        on_progress(len(steps), len(steps), steps[-1])
    return folders


# -- the demo building in the background, as the dashboard starts it --------------------------------

def status_path(artifacts: str | Path) -> Path:
    return Path(artifacts) / STATUS_FILE


def write_status(artifacts: str | Path, **status: Any) -> None:
    atomic_write_json(status_path(artifacts), {**status, "updated": utc_now()})


def read_status(artifacts: str | Path) -> dict[str, Any] | None:
    """The last status a demo process wrote (state: starting, running, done or failed), or None."""
    import json

    try:
        status = json.loads(status_path(artifacts).read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def is_building(status: dict[str, Any] | None) -> bool:
    """A demo process is building runs right now (its process is alive and has not finished)."""
    return bool(status) and status.get("state") in ("starting", "running") and _alive(status.get("pid"))


def needs_demo(artifacts: str | Path) -> bool:
    """No runs at all, or a demo that stopped before it finished (and is not building now)."""
    status = read_status(artifacts)
    if is_building(status):
        return False
    if status and status.get("state") in ("starting", "running", "failed"):
        return True
    return not list_runs(artifacts)


def start_in_background(artifacts: str | Path, epochs: int = DEMO_EPOCHS, limit: int | None = None,
                        threads: int = WALKTHROUGH_THREADS) -> subprocess.Popen:
    """`python -m mrdib demo` in a child process, its output in `<artifacts>/demo.log`; the status
    file says "starting" at once, so a page that reads it right away knows a demo is on its way."""
    artifacts = Path(artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    command_line = [sys.executable, "-m", "mrdib", "demo", "--artifacts", str(artifacts), "--epochs", str(epochs),
                    "--threads", str(threads), "--quiet"] + (["--limit", str(limit)] if limit else [])
    total = len(command_steps(limit))
    with open(artifacts / LOG_FILE, "ab") as log:
        process = subprocess.Popen(command_line, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    write_status(artifacts, state="starting", pid=process.pid, done=0, total=total, current="", error=None)
    return process


def command_steps(limit: int | None) -> list[DemoStep]:
    """What `mrdib demo [--limit N]` does: the first N runs (with the PID once its first pair is
    in them), and the dose-response check only with the whole plan."""
    plan = demo_plan()
    return demo_steps(plan[:limit] if limit else plan, dose_response=not limit or limit >= len(plan))


@command("demo", "train the demo runs on synthetic data (what the dashboard shows first)")
def _demo_command(parser: argparse.ArgumentParser):
    parser.add_argument("--artifacts", default="artifacts")
    parser.add_argument("--epochs", type=int, default=DEMO_EPOCHS)
    parser.add_argument("--limit", type=int, help=f"only the first N runs of the plan ({first_batch_size()}: "
                                                  "the small batch that fills every page but Dose-response, "
                                                  "PID included); no dose-response check")
    parser.add_argument("--threads", type=int, default=WALKTHROUGH_THREADS,
                        help=f"torch threads (default {WALKTHROUGH_THREADS}, as the notebooks; 0: torch's choice)")
    parser.add_argument("--if-empty", action="store_true", help="do nothing when runs already exist")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the status file is still written)")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.training.runner import check_run_config

        # Refused before anything is written (no status file, no data, no run folder).
        if args.limit is not None and args.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {args.limit}")
        if args.threads < 0:
            raise ConfigError(f"--threads must be >= 0 (0: torch's choice), got {args.threads}")
        check_run_config(_demo_config(Path(args.artifacts), demo_plan()[0], args.epochs, args.threads))
        if args.if_empty and list_runs(args.artifacts):
            print(f"{args.artifacts}: runs exist, demo skipped")
            return 0
        steps = command_steps(args.limit)
        bar = None
        if not args.quiet:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(steps), desc="demo", unit="step")

        def progress(done: int, total: int, step: DemoStep) -> None:
            write_status(args.artifacts, state="running" if done < total else "done", pid=os.getpid(), done=done,
                         total=total, current=step.doing if done < total else "", error=None)
            if bar is not None:
                bar.n = done
                bar.set_postfix_str(step.doing)
                bar.refresh()
            else:  # one line per step, so the log (artifacts/demo.log for the dashboard's demo) fills as it goes
                now = f"; {step.doing}" if done < total else ""
                print(f"{utc_now()} demo: {done}/{total} steps done{now}", flush=True)

        try:
            folders = build_demo(args.artifacts, steps, args.epochs, progress, threads=args.threads)
        except BaseException as error:
            status = read_status(args.artifacts) or {}
            message = "interrupted" if isinstance(error, KeyboardInterrupt) else f"{type(error).__name__}: {error}"
            write_status(args.artifacts, **{**status, "state": "failed", "pid": os.getpid(), "error": message})
            raise
        if bar is not None:
            bar.close()
        print(f"{len(folders)} demo runs in {Path(args.artifacts) / 'runs'}")
        for step in steps:
            if isinstance(step, DemoDoseResponse):
                print(f"dose-response check: {dose_response_root(args.artifacts) / step.name}")
        return 0

    return handle

"""Where everything lives in an artifacts folder, and what studies are called: the one place that
builds these paths and names (run folders, sweep plans and databases, run locks, tuning studies,
dose-response results)."""

from __future__ import annotations

from pathlib import Path

RUNS_DIR = "runs"
SWEEPS_DIR = "sweeps"
LOCKS_DIR = "sweeps/.locks"  # one lock file per run id being trained (mrdib.training.lifecycle)
STUDIES_DIR = "studies"
DOSE_RESPONSE_DIR = "dose_response"
SWEEP_PREFIX = "sweep:"  # sweep studies are named sweep:<name>; tuning studies cannot hold ':'


def runs_dir(artifacts: str | Path) -> Path:
    return Path(artifacts) / RUNS_DIR


def locks_dir(artifacts: str | Path) -> Path:
    return Path(artifacts) / LOCKS_DIR


def sweep_plan_path(artifacts: str | Path, name: str) -> Path:
    """The sweep's plan file, `<artifacts>/sweeps/<name>.json`, for people and `mrdib report`."""
    return Path(artifacts) / SWEEPS_DIR / f"{name}.json"


def sweep_database(artifacts: str | Path, name: str) -> Path:
    """The sweep's default SQLite file; it exists once the sweep has run from this folder."""
    return Path(artifacts) / SWEEPS_DIR / f"{name}.db"


def sweep_study_name(sweep_name: str) -> str:
    return f"{SWEEP_PREFIX}{sweep_name}"


def tuning_database(artifacts: str | Path, study: str) -> Path:
    return Path(artifacts) / STUDIES_DIR / f"{study}.db"


def tuning_summary_path(artifacts: str | Path, study: str) -> Path:
    return Path(artifacts) / STUDIES_DIR / f"{study}.json"


def dose_response_root(artifacts: str | Path) -> Path:
    return Path(artifacts) / DOSE_RESPONSE_DIR

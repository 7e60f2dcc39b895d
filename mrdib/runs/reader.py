"""Reads run folders (format: docs/run_format.md) for the dashboard, notebooks, analysis and reports.

Tolerant by design: a run still training, a half-written last metrics line or a corrupt
folder never raises from `list_runs`; the problem is recorded on the returned record.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mrdib.core.errors import RunError
from mrdib.core.variants import variant_of
from mrdib.runs import layout
from mrdib.runs.identity import config_key, setting_key
from mrdib.runs.writer import ANALYSIS_FILE, CHECKPOINT_FILE, CONFIG_FILE, EMBEDDINGS_FILE, METRICS_FILE, SUMMARY_FILE

if TYPE_CHECKING:
    import pandas as pd


def artifacts_root(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("MRDIB_ARTIFACTS", "artifacts"))


@dataclass
class RunRecord:
    """What one run folder holds, or why it could not be read (`problem`)."""

    run_dir: Path
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    # Epochs and train+eval seconds, for a run read from a study's storage (mrdib.runs.storage),
    # whose metrics.jsonl may be on another machine; None: read them from the folder.
    budget: dict[str, float] | None = None
    # Mechanism values of a run restored from a committed runs table (mrdib.experiments.restore),
    # which has no run folder to analyse; None: read them from its analysis.json.
    mechanism: dict[str, float] | None = None

    @property
    def run_id(self) -> str:
        return self.config.get("run_id", self.run_dir.name)

    @property
    def status(self) -> str:
        if self.problem:
            return "corrupt"
        return self.summary.get("status", "unknown")

    @property
    def dataset(self) -> str:
        return self.config.get("dataset", {}).get("name", "?")

    @property
    def backbone(self) -> str:
        return self.config.get("backbone", "?")

    @property
    def mrdib(self) -> dict[str, Any]:
        return self.config.get("mrdib", {})

    @property
    def mrdib_enabled(self) -> bool:
        return bool(self.mrdib.get("enabled", False))

    @property
    def seed(self) -> int | None:
        return self.config.get("train", {}).get("seed")

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """What went wrong without stopping the run (summary.json `warnings`, e.g. a beaten critic)."""
        found = self.summary.get("warnings") or []
        return [w for w in found if isinstance(w, dict)]

    @property
    def modalities(self) -> list[str]:
        return list(self.config.get("dataset", {}).get("modalities", {}))

    def modified(self) -> float:
        """Latest modification time of the files that change while training (a cache key)."""
        times = [(self.run_dir / name).stat().st_mtime for name in (SUMMARY_FILE, METRICS_FILE, CONFIG_FILE)
                 if (self.run_dir / name).exists()]
        return max(times, default=0.0)


def read_json_object(path: Path, missing_hint: str = "", what: str = "a JSON object") -> dict[str, Any]:
    """A JSON object from `path`; a missing, unreadable or non-object file is a one-line RunError
    naming it (`missing_hint`, e.g. the command that makes the file, follows 'missing'; `what` the
    file should have been, e.g. 'a dose-response result')."""
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path}: missing{f' ({missing_hint})' if missing_hint else ''}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc.__class__.__name__})")
    if not isinstance(value, dict):
        raise RunError(f"{path}: not {what}")
    return value


def read_run(run_dir: str | Path) -> RunRecord:
    """Config and summary of one run; raises RunError naming the file when unreadable."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: run folder not found")
    config = read_json_object(run_dir / CONFIG_FILE)
    summary_path = run_dir / SUMMARY_FILE
    summary = read_json_object(summary_path) if summary_path.exists() else {"status": "running"}
    return RunRecord(run_dir, config, summary)


def list_runs(root: str | Path | None = None) -> list[RunRecord]:
    """Every folder under <root>/runs, newest first; unreadable ones carry `problem`."""
    runs_dir = layout.runs_dir(artifacts_root(root))
    if not runs_dir.is_dir():
        return []
    records = []
    for run_dir in sorted((p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                          key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            records.append(read_run(run_dir))
        except RunError as error:
            records.append(RunRecord(run_dir, problem=str(error)))
    return records


def runs_signature(root: str | Path | None = None) -> tuple[tuple[str, float], ...]:
    """(folder name, modification time) of every run folder under <root>/runs, without parsing any
    file: a cheap cache key that changes whenever a run appears, disappears or writes an epoch."""
    runs_dir = layout.runs_dir(artifacts_root(root))
    if not runs_dir.is_dir():
        return ()
    return tuple(sorted((p.name, RunRecord(p).modified()) for p in runs_dir.iterdir()
                        if p.is_dir() and not p.name.startswith(".")))


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Per-epoch records; a half-written or corrupt line is skipped, not fatal."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "epoch" in record:
            records.append(record)
    return records


def load_embeddings(run_dir: str | Path) -> dict[str, np.ndarray]:
    path = Path(run_dir) / EMBEDDINGS_FILE
    if not path.exists():
        raise RunError(f"{path}: missing (the run has not finished)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({exc})")


def load_checkpoint(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.exists():
        raise RunError(f"{path}: missing")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except (RuntimeError, EOFError, OSError) as exc:
        raise RunError(f"{path}: unreadable checkpoint ({exc})")


def embedded_modalities(embeddings: dict[str, np.ndarray]) -> list[str]:
    return [key.split("/", 1)[1] for key in embeddings if key.startswith("modal/")]


MODAL_LOG_VAR_PREFIX = "modal_log_var/"


def modal_log_vars(embeddings: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """modality -> [n_items, d] posterior log-variance at the best epoch (`modal_log_var/<modality>`
    of a +MRdIB run's embeddings.npz); {} for a baseline or a run saved before they were kept.
    With `modal/<modality>` (the means) they give posterior samples mean + exp(0.5 * log_var) * eps."""
    return {key[len(MODAL_LOG_VAR_PREFIX):]: value for key, value in embeddings.items()
            if key.startswith(MODAL_LOG_VAR_PREFIX)}


def read_analysis(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's analysis.json (written by `mrdib analyze`), or None when it has not been analysed."""
    path = Path(run_dir) / ANALYSIS_FILE
    if not path.exists():
        return None
    return read_json_object(path)


def runs_frame(records: list[RunRecord]) -> pd.DataFrame:
    """The tidy runs frame every result is computed from: one flat row per run (config keys,
    summary, `valid/<metric>`, `test/<metric>` and `mechanism/<quantity>:<where>` columns).

    `config` is the configuration key (`mrdib.runs.identity.config_key`: one configuration across
    seeds) and `variant` the run's variant (`mrdib.core.variants.variant_of`); alphas are NaN for
    baseline runs, where they have no effect; `setting` is `setting_key`; `budget_epochs` and
    `budget_seconds` are set for runs read from a study's storage; a corrupt folder is a row with
    status `corrupt` and its `problem`.
    """
    import pandas as pd

    rows = []
    for record in records:
        enabled = record.mrdib_enabled
        train = record.config.get("train", {})
        row = {
            "run_id": record.run_id, "status": record.status, "dataset": record.dataset,
            "backbone": record.backbone, "mrdib": enabled,
            **{a: (float(record.mrdib.get(a, np.nan)) if enabled else np.nan) for a in ("a1", "a2", "a3")},
            "seed": record.seed, "setting": setting_key(record.config) if record.config else None,
            "config": config_key(record.config) if record.config else None,
            "variant": variant_of(record.mrdib) if record.config else None,
            "epochs": train.get("epochs"),
            "epochs_run": record.summary.get("epochs_run"), "best_epoch": record.summary.get("best_epoch"),
            "seconds_per_epoch": record.summary.get("seconds_per_epoch"),
            "stop_metric": train.get("stop_metric"), "updated": record.summary.get("updated"),
            "error": record.summary.get("error"), "problem": record.problem,
            "run_dir": str(record.run_dir), "modified": record.modified() if not record.problem else 0.0,
            "budget_epochs": (record.budget or {}).get("epochs", np.nan),
            "budget_seconds": (record.budget or {}).get("seconds", np.nan),
        }
        for split in ("valid", "test"):
            values = record.summary.get(split) or {}
            row.update({f"{split}/{name}": value for name, value in values.items()
                        if isinstance(value, (int, float))})
        row.update({f"mechanism/{name}": value for name, value in (record.mechanism or {}).items()})
        rows.append(row)
    columns = ["run_id", "status", "dataset", "backbone", "mrdib", "a1", "a2", "a3", "seed", "setting", "config",
               "variant", "epochs",
               "epochs_run", "best_epoch", "seconds_per_epoch", "stop_metric", "updated", "error",
               "problem", "run_dir", "modified", "budget_epochs", "budget_seconds"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["seed"] = frame["seed"].astype("Int64")
    for name in ("epochs", "epochs_run", "best_epoch"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    return frame

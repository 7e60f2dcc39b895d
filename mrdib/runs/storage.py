"""A run's summary kept with its Optuna trial, so runs trained on other machines can be reported
from the shared study storage without copying their folders.

A finished sweep point or tuning trial carries the user attribute `run`:
`{"config": <config.json without env>, "summary": <summary.json>, "budget": {"epochs", "seconds"},
"host": <machine>}`. `run_attrs` writes it from a run folder; `storage_records` turns it back
into the reader's `RunRecord`s. Large files (checkpoints, embeddings) stay in the artifacts folder.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Iterable

from mrdib.core.errors import MrdibError
from mrdib.runs.database import plain_storage, redact
from mrdib.runs.layout import SWEEP_PREFIX, runs_dir  # noqa: F401  (SWEEP_PREFIX re-exported)
from mrdib.runs.reader import RunRecord, artifacts_root, read_metrics, read_run

RUN_ATTR = "run"


def run_attrs(run_dir: str | Path) -> dict[str, Any]:
    """What the report and the dashboard need of one run, small enough for a trial attribute."""
    record = read_run(run_dir)
    metrics = read_metrics(run_dir)
    seconds = sum(float(r.get("train_seconds", 0.0)) + float(r.get("eval_seconds", 0.0)) for r in metrics)
    return {"config": {k: v for k, v in record.config.items() if k != "env"}, "summary": record.summary,
            "budget": {"epochs": len(metrics), "seconds": seconds}, "host": socket.gethostname()}


def record_from_attrs(attrs: dict[str, Any], artifacts: str | Path | None = None) -> RunRecord:
    """A RunRecord from a trial's `run` attribute; its run_dir is where this machine would keep the
    folder (it may not exist here)."""
    config = dict(attrs.get("config") or {})
    run_dir = runs_dir(artifacts_root(artifacts)) / str(config.get("run_id", "unknown"))
    return RunRecord(run_dir, config, dict(attrs.get("summary") or {}), budget=attrs.get("budget"),
                     mechanism=attrs.get("mechanism"))


def study_names(url: str, storage: Any = None) -> list[str]:
    import optuna

    storage = storage or plain_storage(url)
    return [s.study_name for s in optuna.get_all_study_summaries(storage=storage, include_best_trial=False)]


def storage_records(url: str, studies: Iterable[str] | None = None,
                    artifacts: str | Path | None = None) -> list[RunRecord]:
    """Every finished run recorded in the storage's studies (all of them, or the named ones)."""
    import optuna
    from optuna.trial import TrialState

    storage = plain_storage(url)
    names = list(studies) if studies is not None else study_names(url, storage)
    records: dict[str, RunRecord] = {}
    for name in names:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise MrdibError(f"storage {redact(url)}: no study named '{name}' "
                             f"(it holds: {', '.join(study_names(url, storage)) or 'none'})")
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            attrs = trial.user_attrs.get(RUN_ATTR)
            if attrs:
                record = record_from_attrs(attrs, artifacts)
                records.setdefault(record.run_id, record)  # a run shared by two sweeps counts once
    return list(records.values())

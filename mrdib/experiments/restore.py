"""Continue a sweep on a machine that lost its artifacts, from the runs table a report committed.

A sweep's study and run folders live in the artifacts folder, which is not in git; a fresh
clone (or a new machine) would train every point again. `mrdib report` commits the summaries of
the runs behind its tables as `runs.csv` (see `mrdib.results.report.runs_table`). This module
turns its rows back into finished trials of the sweep's study: a planned point whose
configuration and seed match a row is closed as done with the row's validation and test
metrics, budget and mechanism values, so selection, later stages and the report go on as if the
run had been trained here. Nothing is trained, and no checkpoint or embedding comes back: a
restored run cannot be analysed again or resumed, and the dashboard cannot show its embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrdib.core.errors import MrdibError
from mrdib.runs.identity import config_key
from mrdib.runs.storage import RUN_ATTR
from mrdib.runs.table import read_runs_table, row_values

RESTORED_HOW = "restored"
RESTORE_COLUMNS = ("seconds_per_epoch", "epochs_run", "budget_epochs", "budget_seconds")  # beside the key columns


@dataclass
class RestoreResult:
    """What a restore did: runs closed as done, and table rows no planned point matched."""

    path: str
    restored: int
    unmatched: int

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.path, "runs": self.restored, "unmatched_rows": self.unmatched}


def table_rows(path: str | Path) -> dict[tuple[str, int], dict[str, Any]]:
    """{(configuration key, seed): row} of a runs.csv; the key is `selection.config_key`'s."""
    frame = read_runs_table(path)
    missing = sorted(set(RESTORE_COLUMNS) - set(frame.columns))
    if missing:
        raise MrdibError(f"{path}: cannot restore runs from it (missing column {missing[0]}; a report of an older "
                         "mrdib wrote it)")
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for row in frame.to_dict("records"):
        rows[(str(row["config"]), int(row["seed"]))] = row
    return rows


def point_key(point: Any, dataset_name: str) -> str:
    """The key a report gives the run of `point` (its run folder's config names the data set)."""
    return config_key({**point.config, "dataset": {"name": dataset_name}})


def run_attr_from_row(point: Any, row: dict[str, Any], source: str) -> dict[str, Any]:
    """The trial attribute `run` (see `mrdib.runs.storage`) of a run known only from its row."""
    summary = {"status": "done", "valid": row_values(row, "valid/"), "test": row_values(row, "test/"),
               "seconds_per_epoch": float(row["seconds_per_epoch"]), "epochs_run": int(row["epochs_run"]),
               "restored_from": source}
    attrs = {"config": {**point.config, "dataset": {"name": str(row["dataset"])}}, "summary": summary,
             "budget": {"epochs": int(row["budget_epochs"]), "seconds": float(row["budget_seconds"])},
             "host": f"restored from {source}"}
    mechanism = row_values(row, "mechanism/")
    if mechanism:
        attrs["mechanism"] = mechanism
    return attrs


def restore_from_runs_table(study: Any, path: str | Path) -> RestoreResult:
    """Close every planned point of `study` (a `SweepStudy`) that a row of `path` matches as done.

    Stages open as their grids finish, so this plans, restores and plans again until no new
    point matches. A point already done in the study is left alone (its own run wins).
    """
    import optuna
    from optuna.trial import TrialState

    rows, source = table_rows(path), str(path)
    names = sorted({str(row["dataset"]) for row in rows.values()})  # a data set's name is its loader's
    used: set[tuple[str, int]] = set()
    restored = 0
    while True:
        state = study.state()
        new = 0
        for point in state.points:
            if state.status[point.run_id] in ("done", "running"):
                continue
            match = next((m for m in ((point_key(point, n), point.seed) for n in names) if m in rows), None)
            if match is None or match in used:
                continue
            row = rows[match]
            attrs = run_attr_from_row(point, row, source)
            value = attrs["summary"]["valid"].get(study.sweep.metric, 0.0)
            study.study.add_trial(optuna.trial.create_trial(
                state=TrialState.COMPLETE, value=value, params={}, distributions={},
                user_attrs={"run_id": point.run_id, "point": {**point.to_dict(), "config": point.config},
                            "outcome": "done", "how": RESTORED_HOW, RUN_ATTR: attrs}))
            used.add(match)
            new += 1
        if not new:
            break
        restored += new
    return RestoreResult(source, restored, len(rows) - len(used))

"""Which runs a report reads: every run folder, the runs of named sweeps (their folders, and
what their studies hold for runs trained elsewhere or restored from a runs table), or the trials
of a shared study database. The tables themselves are computed in `mrdib.results.report`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from mrdib.core.errors import MrdibError
from mrdib.core.variants import ABLATIONS
from mrdib.experiments.plan import dataset_label
from mrdib.results.report import Report, attach_mechanism, report_from_groups
from mrdib.results.selection import ConfigResults, group_runs
from mrdib.runs.database import plain_storage, sqlite_url
from mrdib.runs.layout import runs_dir, sweep_database, sweep_plan_path, sweep_study_name
from mrdib.runs.reader import RunRecord, list_runs
from mrdib.runs.storage import storage_records


def read_sweep_plan(artifacts: str | Path, name: str) -> dict[str, Any]:
    path = sweep_plan_path(artifacts, name)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MrdibError(f"{path}: no such sweep plan; run `python -m mrdib sweep CONFIG` first or drop --sweep")
    except ValueError as exc:
        raise MrdibError(f"{path}: unreadable sweep plan ({exc})")


def storage_sweep_plan(url: str, name: str) -> dict[str, Any]:
    """What the report says about a sweep read from its study: settings and every machine's calls."""
    import optuna


    attrs = optuna.load_study(study_name=sweep_study_name(name), storage=plain_storage(url)).user_attrs
    calls = sorted((v for k, v in attrs.items() if k.startswith("call:")), key=lambda c: c.get("started", ""))
    return {"name": name, "config": attrs.get("sweep", {}), "config_path": None, "history": calls}


def build_report(artifacts: str | Path, sweeps: Sequence[str] = (), metric: str = "recall@5",
                 storage: str | None = None, studies: Sequence[str] = ()) -> Report:
    """Read the runs (all finished ones, or only those of the named sweeps) and build every table.

    With `storage` (a study database URL) the runs are read from the trials of its studies (the
    named sweeps and tuning studies, or all), so runs trained on other machines are included.
    """
    if storage:
        names = [sweep_study_name(name) for name in sweeps] + list(studies)
        records = storage_records(storage, names or None, artifacts)
        plans = [storage_sweep_plan(storage, name) for name in sweeps]
        run_ids = None
    else:
        plans = [read_sweep_plan(artifacts, name) for name in sweeps]
        run_ids = {p["run_id"] for plan in plans for p in plan.get("points", [])} if plans else None
        records = list_runs(artifacts) + folderless_sweep_records(artifacts, sweeps)
    groups = group_runs(records, run_ids)
    mark_in_progress(groups, plans)
    if not groups:
        where = f"sweep {', '.join(sweeps)}" if sweeps else (storage and "the storage") or str(runs_dir(artifacts))
        raise MrdibError(f"{where}: no finished runs to report on; train or sweep first")
    attach_mechanism(groups)
    return report_from_groups(groups, metric, plans)


def folderless_sweep_records(artifacts: str | Path, sweeps: Sequence[str]) -> list[RunRecord]:
    """Runs the named sweeps' own studies hold as done but this machine has no folder for: restored
    from a committed runs table (`mrdib sweep --restore-from`), or trained elsewhere on a shared study."""
    records: list[RunRecord] = []
    for name in sweeps:
        database = sweep_database(artifacts, name)
        if database.is_file():
            records += [r for r in storage_records(sqlite_url(database), [sweep_study_name(name)], artifacts)
                        if not r.run_dir.is_dir()]
    return records


def mark_in_progress(groups: list[ConfigResults], plans: list[dict[str, Any]]) -> None:
    """Flag what the report must not compare yet: every group of a (data set, backbone) with an
    open point that chooses or seeds the comparison; only its ablation groups while only ablation
    points are open (they choose nothing: Table 1 stands, Table 2 waits)."""
    unfinished = [p for plan in plans for p in plan.get("points", []) if p.get("status") != "done"]
    open_choice = {(dataset_label(p["dataset"]), p["backbone"]) for p in unfinished if p.get("stage") != "ablation"}
    open_ablations = {(dataset_label(p["dataset"]), p["backbone"]) for p in unfinished if p.get("stage") == "ablation"}
    for group in groups:
        pair = (group.dataset, group.backbone)
        group.in_progress = pair in open_choice or (group.variant in ABLATIONS and pair in open_ablations)

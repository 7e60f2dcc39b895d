"""A sweep continued on a machine without its artifacts, from the runs.csv a report committed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mrdib.experiments.plan import sweep_config_from_dict
from mrdib.results.render import write_report
from mrdib.experiments.sweep_report import build_report
from mrdib.experiments.sweep import SweepRunner, run_sweep
from experiment_helpers import tiny_data_dir  # noqa: F401 (pytest fixtures)

FAST_TRAIN = {"epochs": 2, "batch_size": 512, "embedding_size": 16}


def tiny_sweep(data_dir: str):
    return sweep_config_from_dict({
        "name": "tiny", "datasets": [data_dir], "backbones": ["vbpr"], "seeds": [0, 1], "selection_seeds": [0],
        "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01], [0.05, 0.05, 0.05]]},
        "ablations": ["a2=a3=0"], "baseline_grid": {"vbpr": {"reg_weight": [0.00001, 0.00005]}},  # JSON writes them 1e-05, 5e-05
        "mrdib_uses_baseline_choice": True, "train": dict(FAST_TRAIN)})


@pytest.fixture
def finished_elsewhere(tiny_data_dir, tmp_path):
    """A sweep finished in one artifacts folder and the runs.csv its report wrote (then the folder is gone)."""
    sweep = tiny_sweep(tiny_data_dir)
    first = tmp_path / "first"
    result = run_sweep(sweep, first, progress=False, threads=1)
    assert result.complete
    report = build_report(first, ["tiny"])
    table = tmp_path / "runs.csv"
    report.runs.to_csv(table, index=False)
    plan = json.loads(result.plan_path.read_text())
    shutil.rmtree(first)
    return sweep, table, report, plan


def test_a_fresh_machine_restores_every_finished_run_and_trains_nothing(finished_elsewhere, tmp_path):
    sweep, table, before, plan_before = finished_elsewhere
    result = run_sweep(sweep, tmp_path / "fresh", progress=False, threads=1, restore_from=table)
    assert result.complete and result.counts == {}  # nothing trained
    assert (result.restored.restored, result.restored.unmatched) == (len(before.runs), 0)
    plan = json.loads(result.plan_path.read_text())
    assert plan["selections"] == plan_before["selections"]  # the same choices, made from the restored scores
    assert all(p["status"] == "done" for p in plan["points"])
    assert plan["history"][-1]["restored"] == {"from": str(table), "runs": len(before.runs), "unmatched_rows": 0}

    after = build_report(tmp_path / "fresh", ["tiny"])  # no run folders here: from the study's records
    pd.testing.assert_frame_equal(after.table1, before.table1)
    assert after.budget == pytest.approx(before.budget)
    again = run_sweep(sweep, tmp_path / "fresh", progress=False, threads=1, restore_from=table)
    assert again.counts == {} and again.restored.restored == 0  # already done: nothing twice


def test_a_partial_table_trains_only_what_it_lacks_and_carries_the_mechanism(finished_elsewhere, tmp_path):
    sweep, table, before, _ = finished_elsewhere
    rows = pd.read_csv(table)
    later = rows.variant.eq("full") & rows.seed.eq(1)  # the chosen +MRdIB config's second seed
    assert later.sum() == 1
    rows = rows[~later].copy()
    chosen = rows[(rows.variant == "full") & (rows.seed == 0)].index
    rows["mechanism/sample_mi:image~text"] = float("nan")
    rows.loc[chosen, "mechanism/sample_mi:image~text"] = 0.125
    rows.to_csv(table, index=False)

    result = run_sweep(sweep, tmp_path / "fresh", progress=False, threads=1, restore_from=table)
    assert result.complete and result.counts == {"trained": 1}
    assert result.restored.restored == len(rows)
    report = build_report(tmp_path / "fresh", ["tiny"])
    mine = report.mechanism[(report.mechanism.side == "mrdib") & (report.mechanism.quantity == "sample_mi")]
    assert mine["mean"].tolist() == [0.125] and mine["n"].tolist() == [1]  # seed 0 restored, seed 1 unanalysed
    trials = SweepRunner(sweep, tmp_path / "fresh", progress=False).study.study.get_trials(deepcopy=False)
    assert sorted(t.user_attrs.get("how") for t in trials if t.user_attrs.get("how")) == \
        ["restored"] * len(rows) + ["trained"]


def test_an_unreadable_table_is_refused_before_anything_is_written(tiny_data_dir, tmp_path):
    from mrdib.core.errors import MrdibError

    table = tmp_path / "runs.csv"
    table.write_text("dataset,seed\ntiktok,0\n")
    with pytest.raises(MrdibError, match=r"runs.csv: not a runs table .*missing column backbone"):
        run_sweep(tiny_sweep(tiny_data_dir), tmp_path / "fresh", progress=False, threads=1, restore_from=table)
    assert not (tmp_path / "fresh" / "runs").exists() and not (tmp_path / "fresh" / "sweeps" / "tiny.json").exists()
    older = pd.DataFrame([{"config": "{}", "dataset": "tiktok", "backbone": "vbpr", "variant": "baseline", "seed": 0}])
    older.to_csv(table, index=False)
    with pytest.raises(MrdibError, match=r"runs.csv: cannot restore runs from it \(missing column budget_epochs"):
        run_sweep(tiny_sweep(tiny_data_dir), tmp_path / "fresh", progress=False, threads=1, restore_from=table)


@pytest.mark.slow
def test_analyze_chosen_trains_restored_chosen_runs_again_and_then_analyses_them(finished_elsewhere, tmp_path):
    """A restored chosen run has no folder to analyse: the script the report writes makes it again
    (same config and seed: the same metrics), then analyses it, and the next report is complete."""
    sweep, table, before, _ = finished_elsewhere
    fresh = tmp_path / "fresh"
    run_sweep(sweep, fresh, progress=False, threads=1, restore_from=table)
    report = build_report(fresh, ["tiny"])
    assert len(report.unanalysed) == 4 and not any(run.has_folder for run in report.unanalysed)
    write_report(report, tmp_path / "docs", png=False)
    script = tmp_path / "docs" / "analyze_chosen.sh"
    assert script.read_text().count("python -m mrdib train --config") == 4
    assert "e-05" in script.read_text()  # exponent floats: once read back as strings by the YAML reader

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               OMP_NUM_THREADS="1")
    done = subprocess.run(["sh", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    after = build_report(fresh, ["tiny"])
    assert after.unanalysed == []
    pd.testing.assert_frame_equal(after.table1, before.table1)  # retrained runs: the restored metrics exactly
    counts = after.mechanism[after.mechanism.quantity == "sample_mi"].set_index("side")["n"]
    assert counts.to_dict() == {"baseline": 2, "mrdib": 2}

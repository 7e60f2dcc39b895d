"""The reader's flat runs frame and cheap signature (additions for the dashboard) on the fixture runs."""

from __future__ import annotations

import numpy as np

from dashboard_fixture import EPOCHS
from mrdib.runs.reader import list_runs, runs_frame, runs_signature


def test_runs_frame_one_row_per_folder(fixture_artifacts):
    frame = runs_frame(list_runs(fixture_artifacts)).set_index("run_id")
    assert len(frame) == 17
    corrupt = frame.loc["zz-corrupt-run"]
    assert corrupt["status"] == "corrupt" and "not valid JSON" in corrupt["problem"]
    base = frame.loc["vbpr-base-s1"]
    assert not base["mrdib"] and np.isnan(base["a1"]) and base["seed"] == 1 and base["epochs_run"] == EPOCHS
    ours = frame.loc["vbpr-mrdib-0.0001-0.01-0.01-s0"]
    assert (ours["a1"], ours["a2"], ours["a3"]) == (0.0001, 0.01, 0.01)
    assert 0 <= ours["test/recall@5"] <= 1 and "valid/ndcg@20" in frame.columns
    failed = frame.loc["vbpr-mrdib-0.002-0.01-0.01-s0"]
    assert failed["status"] == "failed" and "simulated crash" in failed["error"]


def test_runs_frame_of_nothing_has_the_columns():
    frame = runs_frame([])
    assert frame.empty and {"run_id", "status", "a1", "run_dir"} <= set(frame.columns)


def test_signature_changes_when_a_run_writes(fixture_artifacts, tmp_path):
    import shutil

    from mrdib.runs.writer import RunWriter

    root = tmp_path / "copy"
    shutil.copytree(fixture_artifacts / "runs" / "vbpr-base-s0", root / "runs" / "vbpr-base-s0")
    before = runs_signature(root)
    assert [name for name, _ in before] == ["vbpr-base-s0"]
    RunWriter(root / "runs" / "vbpr-base-s0").append_metrics({"epoch": 99})
    assert runs_signature(root) != before
    assert runs_signature(tmp_path / "nothing") == ()


def test_setting_key_ignores_seed_and_alphas_but_not_epochs(fixture_artifacts):
    from mrdib.runs.identity import setting_key

    frame = runs_frame(list_runs(fixture_artifacts))
    assert frame.loc[frame["status"] != "corrupt", "setting"].nunique() == 1  # baseline, +MRdIB, every alpha
    # by run id: list_runs orders by modification time, which ties within one fixture build
    config = next(r for r in list_runs(fixture_artifacts) if r.run_id == "vbpr-mrdib-0.0001-0.01-0.01-s0").config
    same = {**config, "train": {**config["train"], "seed": 7}, "run_id": "other", "created": "later",
            "mrdib": {**config["mrdib"], "a1": 0.5, "enabled": False}}
    longer = {**config, "train": {**config["train"], "epochs": 60}}
    assert setting_key(same) == setting_key(config) != setting_key(longer)

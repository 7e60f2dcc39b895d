"""`mrdib sweep`, `mrdib tune` and `mrdib report` from the command line, end to end on tiny data."""

from __future__ import annotations

import json
import re

import yaml

from mrdib.commands.main import main
from experiment_helpers import one_thread, tiny_data_dir  # noqa: F401 (pytest fixtures)


def test_sweep_tune_and_report_commands(tiny_data_dir, tmp_path, capsys):
    config = tmp_path / "grid.yaml"
    config.write_text(yaml.safe_dump({
        "datasets": [tiny_data_dir], "backbones": ["vbpr"], "seeds": [0, 1], "selection_seeds": [0],
        "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01], [0.01, 0.001, 0.001]]}, "ablations": [],
        "train": {"epochs": 2, "batch_size": 512, "embedding_size": 16}}))
    artifacts = str(tmp_path / "art")
    assert main(["sweep", str(config), "--artifacts", artifacts, "--dry-run"]) == 0
    assert "stage 1 4 runs (0 done), later stages up to 1 runs" in capsys.readouterr().out
    assert not (tmp_path / "art" / "sweeps").exists()  # a dry run writes nothing
    assert main(["sweep", str(config), "--artifacts", artifacts, "--quiet", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "sweep grid: 5 trained" in out and "chosen on valid recall@5" in out
    assert main(["sweep", str(config), "--artifacts", artifacts, "--dry-run"]) == 0  # now read from the study
    assert f"{tiny_data_dir} / vbpr: 5 of up to 5 runs done; finished" in capsys.readouterr().out
    wider = tmp_path / "wider.yaml"  # one more seed: the pair's finished runs give the pace of the one left
    wider.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), "name": "grid", "seeds": [0, 1, 2]}))
    assert main(["sweep", str(wider), "--artifacts", artifacts, "--dry-run"]) == 0
    out = capsys.readouterr().out
    left = re.search(r"of up to \d+ runs done; open: .*; up to (\d+) runs left, about [\d.]+ h at \d+ min a run so far", out)
    assert left and int(left.group(1)) >= 1
    assert f"training left on one worker for the {left.group(1)} runs whose pair has a finished run here" in out

    assert main(["tune", "--data", tiny_data_dir, "--trials", "2", "--study", "t", "--sampler-seed", "1",
                 "--epochs", "2", "--batch-size", "512", "--embedding-size", "16", "--threads", "1", "--artifacts", artifacts,
                 "--match-sweep", "grid", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "study t" in out and "'complete': 2" in out and "trials to match the grid's best" in out

    docs = tmp_path / "docs"
    assert main(["report", "--sweep", "grid", "--artifacts", artifacts, "--out", str(docs), "--no-png"]) == 0
    markdown = (docs / "results.md").read_text()
    assert f"python -m mrdib sweep" in markdown and "python -m mrdib report --sweep grid" in markdown
    table = (docs / "table1.csv").read_text().splitlines()
    assert table[0].startswith("dataset,backbone,metric,baseline_mean")
    assert len(table) == 1 + 4  # one data set x one backbone x four metrics; tuning runs are not in the sweep
    plan = json.loads((tmp_path / "art" / "sweeps" / "grid.json").read_text())
    assert plan["config_path"] == str(config)

    rebuilt = tmp_path / "rebuilt"  # the committed runs.csv is enough to remake the tables
    assert main(["report", "--runs-csv", str(docs / "runs.csv"), "--out", str(rebuilt), "--no-png"]) == 0
    assert (rebuilt / "table1.csv").read_text() == (docs / "table1.csv").read_text()


def test_a_bad_sweep_config_is_one_line_and_exit_code_2(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("backbones: [vbpr]\nalphas: {mode: spiral}\n")
    assert main(["sweep", str(config), "--artifacts", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("mrdib: error:") and str(config) in error and "\n" not in error

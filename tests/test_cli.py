"""The command line: a run end to end, and errors as one line with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mrdib.commands.main import main
from mrdib.runs.reader import list_runs


def test_train_writes_a_run_and_prints_where(tmp_path, capsys):
    code = main(["train", "--data", "synthetic", "--epochs", "2", "--embedding-size", "16", "--mrdib",
                 "--a1", "0.01", "--aux-batch-size", "128", "--artifacts", str(tmp_path), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    runs = list_runs(tmp_path)
    assert len(runs) == 1 and str(runs[0].run_dir) in out
    assert runs[0].mrdib == {**runs[0].mrdib, "enabled": True, "a1": 0.01, "aux_batch_size": 128}
    assert runs[0].config["train"]["device"] == "cpu"


def test_config_file_is_layered_under_the_command_line(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("train:\n  epochs: 1\n  seed: 7\n  embedding_size: 8\nmrdib:\n  enabled: true\n  a2: 0.2\n")
    assert main(["train", "--config", str(config), "--seed", "3", "--artifacts", str(tmp_path), "--quiet"]) == 0
    saved = list_runs(tmp_path)[0].config
    assert saved["train"]["seed"] == 3 and saved["train"]["epochs"] == 1 and saved["mrdib"]["a2"] == 0.2
    assert saved["backbone_params"]["reg_weight"] == 0.0001  # from mrdib/configs/vbpr.yaml


def test_exponent_numbers_in_a_yaml_config_are_floats(tmp_path):
    """PyYAML alone reads `1e-5` as a string, which reached MMGCN's loss and failed in its first step."""
    config = tmp_path / "run.yaml"
    config.write_text("backbone: mmgcn\nbackbone_params:\n  reg_weight: 1e-5\n  dim_latent: 16\n"
                      "train:\n  epochs: 1\n  embedding_size: 8\n  learning_rate: 5E-3\n")
    assert main(["train", "--config", str(config), "--artifacts", str(tmp_path), "--quiet"]) == 0
    saved = list_runs(tmp_path)[0]
    assert saved.config["backbone_params"]["reg_weight"] == 1e-5
    assert saved.config["train"]["learning_rate"] == 5e-3
    assert saved.summary["status"] == "done"


@pytest.mark.parametrize("args, message", [
    (["--data", "/no/such/folder"], "/no/such/folder"),
    (["--backbone", "nope"], "unknown backbone"),
    (["--config", "/no/such.yaml"], "/no/such.yaml"),
    (["--resume", "/no/such/run"], "/no/such/run"),
])
def test_errors_are_one_line_and_exit_non_zero(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "mrdib", "train", *args, "--artifacts", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mrdib: error:") and message in lines[0]


def test_bad_feature_file_names_the_file(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    pd.DataFrame({"userID": [0, 0, 1, 1], "itemID": [0, 1, 1, 2], "x_label": [0, 0, 0, 0]}).to_csv(
        folder / "toy.inter", sep="\t", index=False)
    np.save(folder / "image_feat.npy", np.ones((2, 4), dtype=np.float32))  # 3 items, 2 rows
    result = subprocess.run([sys.executable, "-m", "mrdib", "train", "--data", str(folder), "--artifacts",
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "image_feat.npy" in result.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_refused_train_writes_no_run_folder(tmp_path, capsys):
    """A mistyped backbone or an unknown MRdIB choice is refused in one line and leaves no run folder."""
    for args in (["--backbone", "vbrp"], ["--mrdib", "--config", str(_mean_head_config(tmp_path))]):
        assert main(["train", "--artifacts", str(tmp_path / "art"), "--epochs", "1", "--quiet", *args]) == 2
        assert not (tmp_path / "art" / "runs").exists() or not any((tmp_path / "art" / "runs").iterdir()), args
    err = capsys.readouterr().err
    assert "unknown backbone 'vbrp'" in err and "mrdib.mean_head" in err


def _mean_head_config(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("mrdib:\n  mean_head: mlp\n")
    return path

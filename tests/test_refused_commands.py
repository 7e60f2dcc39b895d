"""A refused command writes nothing: for every command that can refuse its input, a bad input gives
one line naming the file or option and exit code 2, and the working folder (inputs, an existing
artifacts folder with a finished run) is byte for byte what it was before."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrdib.commands.main import main

SWEEP_TAIL = "variants: [baseline, mrdib]\nseeds: [0]\nalphas: {mode: points, points: [[0.001, 0.01, 0.01]]}\n"


def _toy_data(folder: Path, *, features: np.ndarray | None = None, inter: str | None = None) -> None:
    folder.mkdir()
    if inter is None:
        pd.DataFrame({"userID": [0, 0, 1, 1, 2, 2], "itemID": [0, 1, 1, 2, 0, 2],
                      "x_label": [0, 1, 0, 2, 0, 0]}).to_csv(folder / f"{folder.name}.inter", sep="\t", index=False)
    else:
        (folder / f"{folder.name}.inter").write_text(inter)
    np.save(folder / "image_feat.npy", np.ones((3, 4), dtype=np.float32) if features is None else features)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Bad inputs of every kind, beside an artifacts folder that already holds a finished run."""
    root = tmp_path_factory.mktemp("refusals")
    nan = np.ones((3, 4), dtype=np.float32)
    nan[1, 2] = np.nan
    _toy_data(root / "nanfeat", features=nan)
    _toy_data(root / "shortfeat", features=np.ones((2, 4), dtype=np.float32))
    _toy_data(root / "badinter", inter="userID\titemID\nfoo\tbar\n")
    (root / "corruptrun").mkdir()
    (root / "corruptrun" / "config.json").write_text("{not json")
    (root / "bad.csv").write_text("garbage,,\n1,2\n")
    for name, head in {"sweep_backbone": "datasets: [synthetic]\nbackbones: [vbrp]\n",
                       "sweep_data": "datasets: [no/such/folder]\nbackbones: [vbpr]\n",
                       "sweep_epochs": "datasets: [synthetic]\nbackbones: [vbpr]\ntrain: {epochs: 0}\n",
                       "sweep_key": "datasets: [synthetic]\nbackbones: [vbpr]\nseedz: [0]\n",
                       "sweep_ok": "datasets: [synthetic]\nbackbones: [vbpr]\n"}.items():
        (root / f"{name}.yaml").write_text(head + SWEEP_TAIL)
    artifacts = root / "artifacts"
    assert main(["train", "--epochs", "1", "--embedding-size", "8", "--run-id", "done-run", "--quiet",
                 "--artifacts", str(artifacts)]) == 0
    return root


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under `root`, with a hash of each file's bytes."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            for path in sorted(root.rglob("*"))}


CASES = [
    # train
    (["train", "--backbone", "vbrp"], "unknown backbone 'vbrp'"),
    (["train", "--data", "no/such/folder"], "no/such/folder"),
    (["train", "--data", "nanfeat"], "nanfeat/image_feat.npy"),
    (["train", "--data", "shortfeat"], "shortfeat/image_feat.npy"),
    (["train", "--data", "badinter"], "badinter/badinter.inter"),
    (["train", "--mrdib", "--a1", "-1"], "mrdib.a1"),
    (["train", "--epochs", "0"], "train.epochs"),
    (["train", "--lr", "0"], "train.learning_rate"),
    (["train", "--resume", "corruptrun"], "corruptrun"),
    (["train", "--config", "no/such.yaml"], "no/such.yaml"),
    # sweep
    (["sweep", "sweep_backbone.yaml"], "unknown backbone 'vbrp'"),
    (["sweep", "sweep_data.yaml"], "no/such/folder"),
    (["sweep", "sweep_epochs.yaml"], "train.epochs"),
    (["sweep", "sweep_epochs.yaml", "--dry-run"], "train.epochs"),
    (["sweep", "sweep_key.yaml"], "unknown setting 'seedz'"),
    (["sweep", "no/such.yaml"], "no/such.yaml"),
    (["sweep", "sweep_backbone.yaml", "--workers", "0"], "--workers"),
    (["sweep", "sweep_ok.yaml", "--device", "cuda:7"], "cuda"),
    (["sweep", "sweep_ok.yaml", "--device", "cuda:7", "--dry-run"], "cuda"),
    # tune
    (["tune", "--backbone", "nope", "--trials", "1"], "unknown backbone 'nope'"),
    (["tune", "--data", "no/such/folder", "--trials", "1"], "no/such/folder"),
    (["tune", "--trials", "0"], "--trials"),
    (["tune", "--low", "1", "--high", "0.1"], "0 < low < high"),
    (["tune", "--epochs", "0", "--trials", "1"], "train.epochs"),
    # report
    (["report", "--sweep", "nosuch", "--out", "report"], "nosuch"),
    (["report", "--runs-csv", "bad.csv", "--out", "report"], "bad.csv"),
    (["report", "--runs-csv", "no/such.csv", "--out", "report"], "no/such.csv"),
    (["report", "--metric", "recal@5", "--out", "report"], "--metric 'recal@5'"),
    # analyze
    (["analyze", "no-such-run"], "no-such-run"),
    (["analyze", "corruptrun"], "corruptrun/config.json"),
    (["analyze", "done-run", "--pid-bins", "1"], "--pid-bins"),
    (["analyze", "done-run", "--steps", "0"], "--steps"),
    (["analyze", "done-run", "--threads", "-1"], "--threads"),
    # dose-response
    (["dose-response", "--values", "-1", "--out", "dose"], "values must be finite and >= 0"),
    (["dose-response", "--backbone", "nope", "--out", "dose"], "unknown backbone 'nope'"),
    (["dose-response", "--data", "no/such/folder", "--out", "dose"], "no/such/folder"),
    (["dose-response", "--epochs", "0", "--out", "dose"], "train.epochs"),
    # demo
    (["demo", "--epochs", "0"], "train.epochs"),
    (["demo", "--limit", "0"], "--limit"),
    (["demo", "--threads", "-2"], "--threads"),
    # dashboard
    (["dashboard", "--artifacts", "no/such/artifacts", "--no-demo"], "no/such/artifacts"),
]


@pytest.mark.parametrize("args, fragment", CASES, ids=[" ".join(args) for args, _ in CASES])
def test_a_refused_command_writes_nothing(workspace, monkeypatch, capsys, args, fragment):
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("MRDIB_ARTIFACTS", raising=False)
    before = _snapshot(workspace)
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mrdib: error:") and fragment in lines[0], lines
    assert _snapshot(workspace) == before

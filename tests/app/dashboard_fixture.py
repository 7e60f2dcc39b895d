"""The dashboard tests' artifacts folder, built by really training tiny runs with the project's own code.

Baseline and +MRdIB over two seeds, a one-alpha-at-a-time sweep, each alpha switched off, a
run that crashed after its first epoch, a run interrupted mid-training (status running, with a
half-written last metrics line) and a folder whose config is not JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # so tests can import app.lib like the app does
    sys.path.insert(0, str(REPO_ROOT))

REFERENCE = (0.001, 0.01, 0.01)
SWEEP = [(0.0001, 0.01, 0.01), (0.01, 0.01, 0.01), (0.001, 0.001, 0.01), (0.001, 0.05, 0.01),
         (0.001, 0.01, 0.001), (0.001, 0.01, 0.05)]
ABLATIONS = [(0.0, 0.01, 0.01), (0.001, 0.0, 0.01), (0.001, 0.01, 0.0), (0.001, 0.0, 0.0)]
EPOCHS = 2
N_ITEMS = 120


class _CrashAfterFirstEpoch:
    """A training callback that fails the way a crashing run does, after one written epoch."""

    def on_train_start(self, trainer) -> None: ...

    def on_batch_end(self, trainer) -> None: ...

    def on_epoch_end(self, trainer, record) -> None:
        raise RuntimeError("simulated crash after epoch 1")

    def on_train_end(self, trainer, result) -> None: ...


def _train(root: Path, data, data_folder: Path, mrdib: bool, alphas=REFERENCE, seed: int = 0, callbacks=None,
           **train):
    from mrdib.training.runner import train_run

    from mrdib.core.config import RunConfig, apply_overrides

    # The settings of tests/conftest.py::fast_config, with fewer epochs.
    cfg = RunConfig(artifacts=str(root), data=str(data_folder), backbone="vbpr", backbone_params={"reg_weight": 1e-4})
    apply_overrides(cfg, {"train": {"epochs": EPOCHS, "patience": 10, "batch_size": 512, "embedding_size": 16,
                                    "seed": seed, **train}})
    cfg.mrdib.enabled = mrdib
    cfg.mrdib.a1, cfg.mrdib.a2, cfg.mrdib.a3 = alphas
    cfg.mrdib.mine_batch_size = 64
    variant = 'mrdib-' + '-'.join(f'{a:g}' for a in alphas) if mrdib else 'base'
    cfg.run_id = f"vbpr-{variant}-s{seed}"
    return train_run(cfg, progress=False, data=data, callbacks=callbacks)[0]


def build_fixture_artifacts(root: Path) -> dict[str, Path]:
    """Train the fixture runs into `root`; returns the special folders by role."""
    from mrdib.data import load_mmrec
    from mrdib.data.synthetic import SyntheticConfig, materialize_synthetic
    from mrdib.training.callbacks import RunFolderCallback

    torch.set_num_threads(1)
    data_folder = materialize_synthetic(SyntheticConfig(n_users=150, n_items=N_ITEMS, seed=0), root)
    data = load_mmrec(data_folder)
    for seed in (0, 1):
        _train(root, data, data_folder, False, seed=seed)
        _train(root, data, data_folder, True, seed=seed)
    for alphas in SWEEP + ABLATIONS:
        _train(root, data, data_folder, True, alphas)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(root, data, data_folder, True, (0.002, 0.01, 0.01), callbacks=[_CrashAfterFirstEpoch()])
    # A run whose process stopped after its second epoch: the end-of-training hook never ran.
    with mock.patch.object(RunFolderCallback, "on_train_end", lambda self, trainer, result: None):
        running = _train(root, data, data_folder, True, (0.003, 0.01, 0.01), seed=2)
    with open(running / "metrics.jsonl", "a") as handle:
        handle.write('{"epoch": 3, "train_seconds": 0.1, "losses": {"tot')
    corrupt = root / "runs" / "zz-corrupt-run"
    corrupt.mkdir(parents=True)
    (corrupt / "config.json").write_text("{not json")
    return {"running": running, "corrupt": corrupt}


def _decode(value):
    """Plotly's JSON stores numeric arrays as {"dtype", "bdata"(base64)[, "shape"]}; turn them into lists."""
    import base64

    import numpy as np

    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            if "shape" in value:
                array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
            return array.tolist()
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def chart_specs(app) -> list[dict]:
    """Every plotly chart an AppTest page drew, as its figure dict with arrays decoded."""
    import json

    return [_decode(json.loads(element.proto.spec)) for element in app.get("plotly_chart")]

"""Helpers shared by the tests: paths and a fast run configuration.

A plain module rather than conftest.py, so `from testing_support import ...` is unambiguous
even when a test folder has a conftest.py of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from mrdib.core.config import MRdIBConfig, RunConfig, resolve_config

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("MRDIB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_data_folder(name: str) -> Path:
    """`../shared/data/<name>`, or skip the calling test when this machine has no such folder."""
    import pytest

    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (set MRDIB_SHARED_DATA)")
    return folder


def fast_config(tmp_path: Path, **overrides) -> RunConfig:
    """A run config that trains in a second or two on `small_data`."""
    cfg = RunConfig(artifacts=str(tmp_path))
    cfg.backbone_params = {"reg_weight": 1e-4}
    cfg.train.epochs = 4
    cfg.train.patience = 10
    cfg.train.batch_size = 512
    cfg.train.embedding_size = 16
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            setattr(getattr(cfg, section), name, value)
        else:
            setattr(cfg, key, value)
    return cfg


def backbone_config(name: str, tmp_path: Path, **mrdib) -> RunConfig:
    """The backbone's published defaults, shrunk to test size (two epochs on `small_data`)."""
    cfg = resolve_config(name, cli_values={"artifacts": str(tmp_path)})
    small = fast_config(tmp_path)
    cfg.train = small.train
    cfg.train.epochs = 2
    cfg.mrdib = MRdIBConfig(**mrdib)
    return cfg


def identity_columns(backbone: str, dataset: str, mrdib: bool, alphas=(0.0, 0.0, 0.0), setting: object = "s1"
                     ) -> dict[str, str]:
    """The `config` and `variant` columns `mrdib.runs.reader.runs_frame` gives a run, for hand-made
    runs frames: one configuration key per (backbone, data set, alphas, training setting)."""
    import json

    from mrdib.core.variants import variant_of

    settings = ({"enabled": True, **{name: float(v) for name, v in zip(("a1", "a2", "a3"), alphas)}}
                if mrdib else {"enabled": False})
    key = json.dumps({"backbone": backbone, "dataset_name": dataset, "mrdib": settings, "train": {"setting": setting}},
                     sort_keys=True)
    return {"config": key, "variant": variant_of(settings)}

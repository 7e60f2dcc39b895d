"""Shared fixtures: a small synthetic data set and a fast run configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mrdib.config import RunConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("MRDIB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# Two threads at most: CI has two cores, and fixed threading keeps timings comparable.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def small_data():
    from mrdib.data.synthetic import SyntheticConfig, generate_synthetic

    return generate_synthetic(SyntheticConfig(n_users=300, n_items=200, seed=0))


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

"""Fixtures for the experiment tools: a tiny data folder and fake run folders.

A helper module, not a conftest.py: other test folders do `from testing_support import fast_config`,
which a second conftest module on sys.path would shadow. Test files import the fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from mrdib.core.config import RunConfig
from mrdib.runs.writer import RunWriter


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread for every test of a module that imports this fixture (autouse there only)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_data_dir(small_data, tmp_path_factory) -> str:
    """The session's small synthetic data set (300 users, 200 items) as an MMRec folder."""
    from mrdib.data import save_mmrec

    return str(save_mmrec(small_data, tmp_path_factory.mktemp("data") / "tiny"))


def write_fake_run(artifacts: Path, run_id: str, *, backbone: str = "vbpr", dataset: str = "toy",
                   mrdib: tuple[float, float, float] | None = None, seed: int = 0,
                   valid: dict[str, float] | None = None, test: dict[str, float] | None = None,
                   seconds_per_epoch: float = 1.0, epochs: int = 3, status: str = "done",
                   train: dict[str, Any] | None = None) -> Path:
    """A run folder written through the run writer, with chosen numbers (no training)."""
    cfg = RunConfig(data=f"/data/{dataset}", backbone=backbone, artifacts=str(artifacts))
    cfg.train.seed = seed
    for key, value in (train or {}).items():
        setattr(cfg.train, key, value)
    if mrdib is not None:
        cfg.mrdib.enabled = True
        cfg.mrdib.a1, cfg.mrdib.a2, cfg.mrdib.a3 = mrdib
    writer = RunWriter(Path(artifacts) / "runs" / run_id)
    writer.write_config({"run_id": run_id, "created": "2026-01-01T00:00:00+00:00", **cfg.to_dict(),
                         "dataset": {"name": dataset, "modalities": {"image": 8, "text": 8}}})
    for epoch in range(1, epochs + 1):
        writer.append_metrics({"epoch": epoch, "train_seconds": seconds_per_epoch, "eval_seconds": 0.5,
                               "losses": {"total": 1.0}, "valid": valid or {}, "improved": True})
    writer.write_summary({"status": status, "epochs_run": epochs, "best_epoch": epochs, "valid": valid or {},
                          "test": test or {}, "seconds_per_epoch": seconds_per_epoch, "stopped_early": False,
                          "error": None})
    return writer.run_dir


@pytest.fixture
def fake_run() -> Callable[..., Path]:
    return write_fake_run

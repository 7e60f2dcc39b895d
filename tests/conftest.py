"""Shared fixtures: a small synthetic data set (helpers live in testing_support.py)."""

from __future__ import annotations

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one pytest-xdist worker per core: each takes one thread (its children too),
    # as more threads than cores spin against each other.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
else:
    # Two threads at most: CI has two cores, and fixed threading keeps timings comparable.
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def small_data():
    from mrdib.data.synthetic import SyntheticConfig, generate_synthetic

    return generate_synthetic(SyntheticConfig(n_users=300, n_items=200, seed=0))

"""Redundancy between modality representations: I(z_a; z_b) by held-out Gaussian (CCA) MI and by
a freshly trained, early-stopped MINE critic beside its shuffled-pair control, and linear CKA as a
cheap third opinion (estimators: mrdib/objective/estimators.py).

The critic is not the one from training (that one was trained against a moving target); it is
fitted afresh on the saved representations, stopped where its bound on validation items peaks
and scored on test items, because on a few thousand items a critic memorises its training
pairs. Restarts (new critic and new split) give the estimate's spread.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

from mrdib.objective.estimators import (CalibratedMineSettings, GaussianMiSettings, calibrated_mine,
                                       gaussian_cca_mi)
from mrdib.objective.plugin import pair_name

# The analysis's MINE settings are the calibrated estimator's (steps, restarts, batch size, ...).
MineSettings = CalibratedMineSettings


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread, then restore. The critic is a small MLP on 512-row batches: a
    second thread does not speed it up, and on a busy 2-core machine it slowed a fit 5-50x."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column; constant columns become zeros instead of NaN."""
    x = np.asarray(x, dtype=np.float64)
    std = x.std(axis=0)
    return ((x - x.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)).astype(np.float32)


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019) between [n, d_a] and [n, d_b]; in [0, 1]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    cross = np.linalg.norm(b.T @ a) ** 2
    norms = np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)
    return float(cross / norms) if norms > 0 else 0.0


def mine_redundancy(a: np.ndarray, b: np.ndarray, settings: MineSettings | None = None,
                    on_fit: Callable[[], None] | None = None) -> dict:
    """Calibrated MINE estimate of I(a; b) in nats over restarts: {mean, std, estimates, steps_kept,
    shuffled}; `shuffled` is the same procedure on b's rows permuted (the estimator's zero)."""
    with one_thread():
        return calibrated_mine(standardise(a), standardise(b), settings or MineSettings(), on_fit)


def redundancy_between_modalities(modal_reps: dict[str, np.ndarray], settings: MineSettings | None = None,
                                  use_mine: bool = True, on_fit: Callable[[], None] | None = None,
                                  gaussian: GaussianMiSettings | None = None) -> dict[str, dict]:
    """For every modality pair `a~b`: {"cka": float, "gaussian_mi": {mean, std, estimates, dims},
    "mine": {mean, std, estimates, steps_kept, shuffled} or None}."""
    result = {}
    for a, b in itertools.combinations(modal_reps, 2):
        entry: dict = {"cka": linear_cka(modal_reps[a], modal_reps[b]),
                       "gaussian_mi": gaussian_cca_mi(modal_reps[a], modal_reps[b], gaussian), "mine": None}
        if use_mine:
            entry["mine"] = mine_redundancy(modal_reps[a], modal_reps[b], settings, on_fit)
        result[pair_name(a, b)] = entry
    return result

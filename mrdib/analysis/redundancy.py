"""Redundancy between modality representations: I(z_a; z_b) by a freshly trained MINE critic,
and linear CKA as a cheap second opinion.

The critic is not the one from training (that one was trained against a moving target);
it is fitted afresh on the saved embeddings and evaluated on held-out items, because on a
few thousand items a critic memorises its training pairs and the in-sample bound then
reads high even for independent representations. Restarts (new critic and new split)
give the estimate's spread.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from mrdib.objective.mine import fit_mine
from mrdib.objective.plugin import pair_name


@dataclass
class MineSettings:
    """Effort of one MINE estimate: each restart trains a new critic on a new item split."""

    steps: int = 300
    restarts: int = 3
    batch_size: int = 512
    lr: float = 1e-3
    hidden: int = 64
    held_out_fraction: float = 0.2
    seed: int = 0


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
                    on_restart: Callable[[], None] | None = None) -> dict[str, float | list[float]]:
    """MINE estimate of I(a; b) in nats over `settings.restarts` critics and held-out splits.

    Returns mean, standard deviation and each restart's estimate. A held-out estimate
    below zero means no dependence the critic could find beyond its own overfitting.
    """
    settings = settings or MineSettings()
    a_t, b_t = torch.from_numpy(standardise(a)), torch.from_numpy(standardise(b))
    n = a_t.shape[0]
    n_held_out = max(1, int(round(settings.held_out_fraction * n)))
    if n - n_held_out < 2:
        raise ValueError(f"MINE needs at least 3 items, got {n}")
    estimates = []
    for restart in range(settings.restarts):
        seed = settings.seed + restart
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        train, held_out = order[n_held_out:], order[:n_held_out]
        with one_thread():
            estimates.append(fit_mine(a_t[train], b_t[train], steps=settings.steps, batch_size=settings.batch_size,
                                      lr=settings.lr, hidden=settings.hidden, seed=seed,
                                      held_out=(a_t[held_out], b_t[held_out])))
        if on_restart:
            on_restart()
    return {"mean": float(np.mean(estimates)), "std": float(np.std(estimates)),
            "estimates": [float(e) for e in estimates]}


def redundancy_between_modalities(modal_reps: dict[str, np.ndarray], settings: MineSettings | None = None,
                                  use_mine: bool = True, on_restart: Callable[[], None] | None = None
                                  ) -> dict[str, dict]:
    """For every modality pair `a~b`: {"cka": float, "mine": {mean, std, estimates} or None}."""
    result = {}
    for a, b in itertools.combinations(modal_reps, 2):
        entry: dict = {"cka": linear_cka(modal_reps[a], modal_reps[b]), "mine": None}
        if use_mine:
            entry["mine"] = mine_redundancy(modal_reps[a], modal_reps[b], settings, on_restart)
        result[pair_name(a, b)] = entry
    return result

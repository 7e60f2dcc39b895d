"""Mutual-information estimators for the analysis, both scored on held-out items.

`gaussian_cca_mi`: the MI of the Gaussian with the same covariance, from canonical correlations,
    I = -0.5 * sum_k log(1 - rho_k^2). The canonical directions are fitted (ridge-regularised)
    on training items and the correlations measured on held-out ones, so directions that only
    fit noise read about zero instead of piling up spurious correlation when d is large
    relative to n. Exact for jointly Gaussian inputs; a lower bound on the MI that linear
    structure carries otherwise.
`calibrated_mine`: a fresh MINE critic (`mrdib.objective.mine.MineEstimator`) with early
    stopping on validation pairs (the critic state with the best validation bound is kept) and
    scored on separate test pairs, beside the same procedure on shuffled pairs (b's rows
    permuted: true MI 0), which shows where the estimator's zero sits.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from mrdib.objective.mine import MineEstimator

# Canonical correlations at or above this are clipped: -0.5 log(1 - rho^2) would be infinite.
MAX_CORRELATION = 1.0 - 1e-6


def _split(n: int, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """A seeded permutation of range(n) cut into consecutive parts of the given fractions (the rest last)."""
    order = np.random.default_rng(seed).permutation(n)
    parts, start = [], 0
    for fraction in fractions:
        size = max(1, int(round(fraction * n)))
        parts.append(order[start:start + size])
        start += size
    parts.append(order[start:])
    return parts


def _whitener(x: np.ndarray, ridge: float, max_dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(centre, W) with x_c @ W of identity covariance: the top `max_dims` principal directions of
    the centred x, each scaled by 1/sqrt(variance + ridge * mean variance)."""
    centre = x.mean(0)
    covariance = np.cov(x - centre, rowvar=False).reshape(x.shape[1], x.shape[1])  # [d, d]
    variances, vectors = np.linalg.eigh(covariance)
    order = np.argsort(variances)[::-1][:max_dims]
    variances, vectors = np.clip(variances[order], 0.0, None), vectors[:, order]
    shrink = ridge * max(float(variances.mean()), 1e-12)
    return centre, vectors / np.sqrt(variances + shrink)


def canonical_directions(a: np.ndarray, b: np.ndarray, ridge: float = 0.05,
                         max_dims: int | None = None) -> tuple[tuple[np.ndarray, np.ndarray],
                                                                 tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Regularised CCA on paired rows: ((centre_a, W_a), (centre_b, W_b), rho) with the k-th
    canonical variates (a - centre_a) @ W_a[:, k] and (b - centre_b) @ W_b[:, k], and their
    in-sample correlations rho (descending). Each side is first reduced to at most `max_dims`
    principal directions (default: a quarter of the rows), so the fit stays determined."""
    n = a.shape[0]
    max_dims = max_dims or max(1, n // 4)
    centre_a, whiten_a = _whitener(a, ridge, max_dims)
    centre_b, whiten_b = _whitener(b, ridge, max_dims)
    white_a, white_b = (a - centre_a) @ whiten_a, (b - centre_b) @ whiten_b  # [n, k_a], [n, k_b]
    cross = white_a.T @ white_b / max(n - 1, 1)  # [k_a, k_b]
    left, rho, right_t = np.linalg.svd(cross, full_matrices=False)
    return (centre_a, whiten_a @ left), (centre_b, whiten_b @ right_t.T), rho


def gaussian_mi_from_correlations(rho: np.ndarray) -> float:
    """-0.5 * sum log(1 - rho^2) in nats, with rho clipped to [0, 1)."""
    rho = np.clip(np.asarray(rho, dtype=np.float64), 0.0, MAX_CORRELATION)
    return float(-0.5 * np.log1p(-rho ** 2).sum())


def held_out_correlations(a: np.ndarray, b: np.ndarray, directions_a: tuple[np.ndarray, np.ndarray],
                          directions_b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Correlation of each pair of canonical variates on new rows (negative when a direction failed)."""
    u = (a - directions_a[0]) @ directions_a[1]  # [n, k]
    v = (b - directions_b[0]) @ directions_b[1]
    u, v = u - u.mean(0), v - v.mean(0)
    norms = np.sqrt((u ** 2).sum(0) * (v ** 2).sum(0))
    return (u * v).sum(0) / np.where(norms > 0, norms, 1.0)


@dataclass
class GaussianMiSettings:
    """Held-out CCA MI: `folds` random splits, each fitting on 1 - held_out_fraction of the items."""

    folds: int = 3
    held_out_fraction: float = 0.3
    ridge: float = 0.05  # relative to the mean variance of each side's principal directions
    max_dims: int = 0  # principal directions kept per side; 0: a quarter of the training rows
    seed: int = 0


def gaussian_cca_mi(a: np.ndarray, b: np.ndarray, settings: GaussianMiSettings | None = None) -> dict:
    """Held-out Gaussian MI between [n, d_a] and [n, d_b] in nats: {mean, std, estimates, dims}.

    `dims` counts canonical pairs whose held-out correlation is positive, averaged over folds.
    """
    settings = settings or GaussianMiSettings()
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape[0] != b.shape[0] or a.shape[0] < 8:
        raise ValueError(f"Gaussian MI needs paired rows (at least 8), got {a.shape[0]} and {b.shape[0]}")
    estimates, positive = [], []
    for fold in range(settings.folds):
        held_out, train = _split(a.shape[0], (settings.held_out_fraction,), settings.seed + fold)
        directions_a, directions_b, _ = canonical_directions(a[train], b[train], settings.ridge,
                                                             settings.max_dims or None)
        rho = held_out_correlations(a[held_out], b[held_out], directions_a, directions_b)
        estimates.append(gaussian_mi_from_correlations(rho))
        positive.append(int((rho > 0).sum()))
    return {"mean": float(np.mean(estimates)), "std": float(np.std(estimates)),
            "estimates": [float(e) for e in estimates], "dims": float(np.mean(positive))}


# -- MINE with early stopping and a shuffled control --------------------------------------------

@dataclass
class CalibratedMineSettings:
    """Effort of one calibrated MINE estimate. Each restart draws a new train/validation/test split
    of the items and a new critic; the critic trains at most `steps` steps (fewer when `patience`
    evaluations in a row find no better validation bound) and the state with the best validation
    bound (checked every `eval_every` steps, and at step 0) is scored on test."""

    steps: int = 600
    restarts: int = 2
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 0.5  # AdamW's decoupled decay on the critic: it overfits 64-d inputs otherwise
    hidden: int = 128
    eval_every: int = 20
    patience: int = 10  # stop after this many evaluations without a better validation bound (0: never)
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    marginal_permutations: int = 16  # shuffles that estimate E_marginal[e^T] on validation and test
    shuffled_control: bool = True
    seed: int = 0


def _standardise_on(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Standardise every row with the mean and std of `rows` (the training items)."""
    mean, std = x[rows].mean(0), x[rows].std(0)
    return (x - mean) / torch.where(std > 1e-12, std, torch.ones_like(std))


def _fixed_bound(estimator: MineEstimator, a: torch.Tensor, b: torch.Tensor,
                 permutations: torch.Tensor) -> float:
    """DV bound on all of (a, b): joint pairs once, marginal pairs from fixed shuffles [k, n]."""
    with torch.no_grad():
        t_joint, t_marginal = [], []
        for permutation in permutations:
            joint, marginal = estimator.scores(a, b, permutation)
            t_joint.append(joint)
            t_marginal.append(marginal)
        t_marginal_all = torch.cat(t_marginal)
        log_mean_exp = torch.logsumexp(t_marginal_all, 0) - math.log(t_marginal_all.numel())
        return float(t_joint[0].mean() - log_mean_exp)


def _one_calibrated_fit(a: torch.Tensor, b: torch.Tensor, settings: CalibratedMineSettings,
                        seed: int) -> dict[str, float]:
    """Train one critic on a seeded split; {"estimate": test bound at the best validation step,
    "validation": that validation bound, "step": the step kept}."""
    n = a.shape[0]
    validation, test, train = (torch.from_numpy(part) for part in
                               _split(n, (settings.validation_fraction, settings.test_fraction), seed))
    if len(train) < 2 or len(validation) < 2 or len(test) < 2:
        raise ValueError(f"calibrated MINE needs more items, got {n}")
    a, b = _standardise_on(a, train), _standardise_on(b, train)
    generator = torch.Generator().manual_seed(seed)

    def shuffles(size: int) -> torch.Tensor:
        return torch.stack([torch.randperm(size, generator=generator)
                            for _ in range(settings.marginal_permutations)])  # [k, size]

    val_a, val_b, val_perm = a[validation], b[validation], shuffles(len(validation))
    test_a, test_b, test_perm = a[test], b[test], shuffles(len(test))
    train_a, train_b = a[train], b[train]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        estimator = MineEstimator(a.shape[1], b.shape[1], settings.hidden)
    optimizer = torch.optim.AdamW(estimator.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    batch_size = min(settings.batch_size, len(train))
    best = (_fixed_bound(estimator, val_a, val_b, val_perm), 0, copy.deepcopy(estimator.state_dict()))
    for step in range(1, settings.steps + 1):
        index = torch.randint(len(train), (batch_size,), generator=generator)
        permutation = torch.randperm(batch_size, generator=generator)
        surrogate, _ = estimator.corrected_bound(*estimator.scores(train_a[index], train_b[index], permutation),
                                                 update_average=True)
        optimizer.zero_grad(set_to_none=True)
        (-surrogate).backward()
        optimizer.step()
        if step % settings.eval_every == 0 or step == settings.steps:
            bound = _fixed_bound(estimator, val_a, val_b, val_perm)
            if bound > best[0]:
                best = (bound, step, copy.deepcopy(estimator.state_dict()))
            elif settings.patience and step - best[1] >= settings.patience * settings.eval_every:
                break
    estimator.load_state_dict(best[2])
    return {"estimate": _fixed_bound(estimator, test_a, test_b, test_perm), "validation": best[0],
            "step": float(best[1])}


def _summary(fits: list[dict[str, float]]) -> dict:
    estimates = [fit["estimate"] for fit in fits]
    return {"mean": float(np.mean(estimates)), "std": float(np.std(estimates)),
            "estimates": [float(e) for e in estimates], "steps_kept": [int(fit["step"]) for fit in fits]}


def calibrated_mine(a: np.ndarray, b: np.ndarray, settings: CalibratedMineSettings | None = None,
                    on_fit: Callable[[], None] | None = None) -> dict:
    """Early-stopped MINE estimate of I(a; b) in nats on test items, over restarts:
    {mean, std, estimates, steps_kept, shuffled: the same for (a, b with rows permuted) or None}.

    A critic that finds nothing keeps its initial, nearly constant state, whose bound is about
    0; the shuffled control is that zero as this estimator measures it on these items.
    """
    settings = settings or CalibratedMineSettings()
    a_t = torch.as_tensor(np.asarray(a, dtype=np.float32))
    b_t = torch.as_tensor(np.asarray(b, dtype=np.float32))
    if a_t.shape[0] != b_t.shape[0]:
        raise ValueError(f"MINE needs paired rows, got {a_t.shape[0]} and {b_t.shape[0]}")
    fits, controls = [], []
    for restart in range(settings.restarts):
        seed = settings.seed + restart
        fits.append(_one_calibrated_fit(a_t, b_t, settings, seed))
        if on_fit:
            on_fit()
        if settings.shuffled_control:
            permutation = torch.randperm(b_t.shape[0], generator=torch.Generator().manual_seed(10_000 + seed))
            controls.append(_one_calibrated_fit(a_t, b_t[permutation], settings, seed))
            if on_fit:
                on_fit()
    return {**_summary(fits), "shuffled": _summary(controls) if controls else None}


def fits_per_estimate(settings: CalibratedMineSettings) -> int:
    """Critic fits one `calibrated_mine` call makes (for a progress bar's total)."""
    return settings.restarts * (2 if settings.shuffled_control else 1)

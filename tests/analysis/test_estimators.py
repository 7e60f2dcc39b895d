"""The analysis's MI estimators against Gaussians of known MI: 64-d inputs, 4 correlated dimensions.

With correlation rho in each of the 4 dimensions, I = -2 log(1 - rho^2): 0, 0.58, 2.04 and 7.83
nats for rho = 0, 0.5, 0.8, 0.99.
"""

import numpy as np
import pytest

from mrdib.objective.estimators import (CalibratedMineSettings, GaussianMiSettings, calibrated_mine,
                                       canonical_directions, fits_per_estimate, gaussian_cca_mi,
                                       gaussian_mi_from_correlations)
from mrdib.analysis.redundancy import one_thread

RHOS = (0.0, 0.5, 0.8, 0.99)


def true_mi(rho: float, shared: int = 4) -> float:
    return float(-0.5 * shared * np.log(1 - rho ** 2))


def correlated_pair(n: int, rho: float, dims: int = 64, shared: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, dims)), rng.standard_normal((n, dims))
    b[:, :shared] = rho * a[:, :shared] + np.sqrt(1 - rho ** 2) * b[:, :shared]
    return a, b


def test_true_mi_of_the_test_pairs():
    assert [round(true_mi(r), 2) for r in RHOS] == [0.0, 0.58, 2.04, 7.83]


def test_gaussian_mi_from_correlations_by_hand_and_clipped():
    assert gaussian_mi_from_correlations([0.6, 0.0]) == pytest.approx(-0.5 * np.log(1 - 0.36))
    assert gaussian_mi_from_correlations([-0.4, -0.1]) == 0.0  # a direction that failed on held-out items
    assert np.isfinite(gaussian_mi_from_correlations([1.0]))


def test_canonical_directions_find_the_planted_correlation():
    a, b = correlated_pair(3000, 0.8, dims=8, shared=2)
    _, _, rho = canonical_directions(a, b, ridge=0.0)
    assert rho[:2] == pytest.approx([0.8, 0.8], abs=0.03)
    assert rho[2] < 0.1


def test_gaussian_cca_mi_tracks_known_mi_and_reads_zero_for_independent_inputs():
    estimates = [gaussian_cca_mi(*correlated_pair(2000, rho), GaussianMiSettings())["mean"] for rho in RHOS]
    assert estimates[0] < 0.1, estimates
    assert all(later > earlier for earlier, later in zip(estimates, estimates[1:])), estimates
    for rho, estimate in zip(RHOS[1:], estimates[1:]):
        assert 0.6 * true_mi(rho) <= estimate <= 1.1 * true_mi(rho), (rho, estimates)


def test_gaussian_cca_mi_reports_folds_and_rejects_unpaired_rows():
    result = gaussian_cca_mi(*correlated_pair(400, 0.8), GaussianMiSettings(folds=2))
    assert len(result["estimates"]) == 2 and result["std"] >= 0 and result["dims"] > 0
    with pytest.raises(ValueError, match="paired rows"):
        gaussian_cca_mi(np.zeros((10, 2)), np.zeros((9, 2)))


def test_calibrated_mine_is_monotone_in_true_mi_and_near_zero_without_dependence():
    settings = CalibratedMineSettings(restarts=1)
    with one_thread():
        results = [calibrated_mine(*correlated_pair(2000, rho), settings) for rho in RHOS]
    estimates = [r["mean"] for r in results]
    assert abs(estimates[0]) < 0.1, estimates
    assert all(later >= earlier - 0.02 for earlier, later in zip(estimates, estimates[1:])), estimates
    assert estimates[3] > estimates[2] + 0.5 and estimates[2] > estimates[0] + 0.2, estimates
    assert estimates[3] <= true_mi(0.99), estimates  # a lower bound, scored on unseen pairs
    # The shuffled control is the estimator's zero: near 0 whatever the planted dependence.
    assert all(abs(r["shuffled"]["mean"]) < 0.1 for r in results), [r["shuffled"] for r in results]


def test_calibrated_mine_keeps_the_initial_critic_when_nothing_is_learnable():
    settings = CalibratedMineSettings(steps=60, eval_every=20, restarts=2, shuffled_control=False)
    calls = []
    with one_thread():
        result = calibrated_mine(*correlated_pair(600, 0.0), settings, on_fit=lambda: calls.append(1))
    assert result["shuffled"] is None and len(result["estimates"]) == 2 and len(calls) == 2
    assert all(step % 20 == 0 for step in result["steps_kept"])
    assert fits_per_estimate(settings) == 2 and fits_per_estimate(CalibratedMineSettings(restarts=3)) == 6

"""Redundancy estimates: linear CKA's defining properties, and MINE telling shared from unshared."""

import numpy as np
import pytest

from mrdib.analysis.redundancy import MineSettings, linear_cka, mine_redundancy, redundancy_between_modalities, standardise


def test_linear_cka_is_one_for_rotations_and_scalings_and_small_for_independent():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 8))
    rotation, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    assert linear_cka(a, 3.0 * a @ rotation + 1.0) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(a, rng.standard_normal((500, 8))) < 0.05


def test_linear_cka_by_hand_on_a_tiny_example():
    a = np.array([[1.0], [2.0], [3.0], [4.0]])
    b = np.array([[1.0], [0.0], [1.0], [0.0]])
    # Centred: a = [-1.5,-.5,.5,1.5], b = [.5,-.5,.5,-.5]; <a,b> = -1; |a|^2 = 5, |b|^2 = 1.
    # For one column CKA is the squared correlation: (-1)^2 / (5 * 1).
    assert linear_cka(a, b) == pytest.approx(1.0 / 5.0)


def test_standardise_leaves_constant_columns_at_zero():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    np.testing.assert_allclose(standardise(x), [[-1.0, 0.0], [1.0, 0.0]])


def planted_pair(n: int, share: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two 12-d representations; with `share`, 4 of their dimensions hold the same factor (plus noise)."""
    rng = np.random.default_rng(seed)
    own_a, own_b = rng.standard_normal((n, 8)), rng.standard_normal((n, 8))
    factor_a = rng.standard_normal((n, 4))
    factor_b = factor_a if share else rng.standard_normal((n, 4))
    a = np.concatenate([factor_a + 0.2 * rng.standard_normal((n, 4)), own_a], 1)
    b = np.concatenate([factor_b + 0.2 * rng.standard_normal((n, 4)), own_b], 1)
    return a, b


def test_mine_redundancy_detects_a_planted_shared_factor():
    settings = MineSettings(steps=200, restarts=2, batch_size=256)
    shared = mine_redundancy(*planted_pair(1200, share=True), settings)
    separate = mine_redundancy(*planted_pair(1200, share=False), settings)
    assert len(shared["estimates"]) == 2 and shared["std"] >= 0
    assert shared["mean"] > 1.0, shared
    assert abs(separate["mean"]) < 0.1, separate
    assert shared["mean"] - 2 * shared["std"] > separate["mean"] + 2 * separate["std"]
    # The shuffled control reads the estimator's zero even where the pairs share a factor.
    assert abs(shared["shuffled"]["mean"]) < 0.1, shared["shuffled"]


def test_redundancy_between_modalities_names_pairs_and_skips_mine_on_request():
    a, b = planted_pair(300, share=True)
    c = np.random.default_rng(3).standard_normal((300, 5))
    result = redundancy_between_modalities({"image": a, "text": b, "audio": c}, use_mine=False)
    assert list(result) == ["image~text", "image~audio", "text~audio"]
    assert all(entry["mine"] is None for entry in result.values())
    assert result["image~text"]["cka"] > result["image~audio"]["cka"]
    assert result["image~text"]["gaussian_mi"]["mean"] > 2.0 > 0.2 > result["image~audio"]["gaussian_mi"]["mean"]

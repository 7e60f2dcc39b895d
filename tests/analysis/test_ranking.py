"""Unique information as ranking quality: the ridge user vectors and the per-modality evaluation."""

import numpy as np
import pytest
import scipy.sparse as sp

from mrdib.analysis.ranking import modality_ranking, ridge_user_vectors


def test_ridge_user_vectors_solve_the_regularised_least_squares_problem():
    rng = np.random.default_rng(0)
    items = rng.standard_normal((6, 3))
    train = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 0]], dtype=np.float32))
    vectors = ridge_user_vectors(train, items, ridge=0.5)
    penalty = 0.5 * np.trace(items.T @ items) / 3
    for user in range(2):
        target = train.toarray()[user]
        expected = np.linalg.solve(items.T @ items + penalty * np.eye(3), items.T @ target)
        np.testing.assert_allclose(vectors[user], expected, rtol=1e-6)


def test_a_representation_holding_the_preferences_outranks_noise(small_data):
    planted = small_data.planted
    informative = np.concatenate([planted["unique/image"], planted["redundant"]], 1)
    noise = np.random.default_rng(0).standard_normal(informative.shape)
    users = np.random.default_rng(1).standard_normal((small_data.n_users, 4))
    items = np.random.default_rng(2).standard_normal((small_data.n_items, 4))
    result = modality_ranking(small_data, {"image": informative, "text": noise}, users, items, k=5)
    assert set(result["modalities"]) == {"image", "text"}
    assert result["modalities"]["image"]["recall@5"] > 2 * result["modalities"]["text"]["recall@5"]
    assert result["best_single"]["recall@5"] == "image"
    for key in ("recall@5", "ndcg@5"):
        assert result["synergy_gain"][key] == pytest.approx(result["fused"][key] - result["modalities"]["image"][key])
        assert result["synergy_gain_probe"][key] == pytest.approx(
            result["fused_probe"][key] - max(v[key] for v in result["modalities"].values()))

"""Unique information as ranking quality: how well each modality's representation alone ranks
the validation items, next to the fused representation, and the synergy gain between them.

A modality's item representation is frozen and each user gets a vector by ridge regression
of their training row onto it, all users at once in closed form:
    U = R E (E^T E + lambda I)^-1,   scores = U E^T
(R the binary user x item training matrix, E [n_items, d]). That is deterministic and one
sparse product, so it costs a fraction of a BPR fit and needs no tuning beyond lambda.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch

from mrdib.data.dataset import InteractionData
from mrdib.evaluation.ranking import EvalConfig, RankingEvaluator


def ridge_user_vectors(train_csr: sp.csr_matrix, item_reps: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """User vectors [n_users, d] that best reproduce each user's training row from `item_reps`.

    `ridge` is relative: lambda = ridge * trace(E^T E) / d, so it means the same whatever
    the representation's scale.
    """
    item_reps = np.asarray(item_reps, dtype=np.float64)  # [n_items, d]
    gram = item_reps.T @ item_reps  # [d, d]
    dims = gram.shape[0]
    penalty = ridge * max(np.trace(gram) / dims, 1e-12)
    projected = np.asarray(train_csr @ item_reps)  # [n_users, d]
    return np.linalg.solve(gram + penalty * np.eye(dims), projected.T).T


def _score_with(user_vectors: np.ndarray, item_reps: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    users_t = torch.from_numpy(np.ascontiguousarray(user_vectors, dtype=np.float32))
    items_t = torch.from_numpy(np.ascontiguousarray(item_reps, dtype=np.float32))
    return lambda users: users_t.index_select(0, users) @ items_t.T


def _selected(metrics: dict[str, float], k: int) -> dict[str, float]:
    return {f"recall@{k}": metrics[f"recall@{k}"], f"ndcg@{k}": metrics[f"ndcg@{k}"]}


def standalone_ranking(data: InteractionData, modal_reps: dict[str, np.ndarray], k: int = 5, ridge: float = 1.0,
                       on_step: Callable[[], None] | None = None,
                       evaluator: RankingEvaluator | None = None) -> dict[str, dict[str, float]]:
    """Valid recall@k and NDCG@k of each modality's representation alone (ridge user vectors)."""
    evaluator = evaluator or RankingEvaluator(data, "valid", EvalConfig(topk=(k,)))
    per_modality = {}
    for modality, reps in modal_reps.items():
        user_vectors = ridge_user_vectors(data.train_csr, reps, ridge)
        per_modality[modality] = _selected(evaluator.evaluate(_score_with(user_vectors, reps)), k)
        if on_step:
            on_step()
    return per_modality


def modality_ranking(data: InteractionData, modal_reps: dict[str, np.ndarray], fused_users: np.ndarray,
                     fused_items: np.ndarray, k: int = 5, ridge: float = 1.0,
                     on_step: Callable[[], None] | None = None) -> dict:
    """Valid recall@k and NDCG@k from each modality alone, from the run's fused score, and the gains.

    `synergy_gain` is fused (the run's own users . items) minus the best single modality (per
    metric, named in `best_single`);
    `synergy_gain_probe` compares like with like: the same ridge probe on the fused items.
    """
    evaluator = RankingEvaluator(data, "valid", EvalConfig(topk=(k,)))
    per_modality = standalone_ranking(data, modal_reps, k, ridge, on_step, evaluator)
    fused = _selected(evaluator.evaluate(_score_with(fused_users, fused_items)), k)
    fused_probe = _selected(evaluator.evaluate(
        _score_with(ridge_user_vectors(data.train_csr, fused_items, ridge), fused_items)), k)
    if on_step:
        on_step()
    best_single = {key: max(per_modality, key=lambda m: per_modality[m][key]) for key in fused}
    return {
        "k": k,
        "ridge": ridge,
        "modalities": per_modality,
        "fused": fused,
        "fused_probe": fused_probe,
        "best_single": best_single,
        "synergy_gain": {key: fused[key] - per_modality[best_single[key]][key] for key in fused},
        "synergy_gain_probe": {key: fused_probe[key] - per_modality[best_single[key]][key] for key in fused},
    }

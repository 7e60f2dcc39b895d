"""Top-k ranking metrics as pure, vectorised torch functions.

Every function returns one value per user so callers can sum over batches and divide
once by the number of evaluated users. Definitions (binary relevance, ranks 1-based):

- Recall@k    = hits in the top k / |targets|
- Precision@k = hits in the top k / k
- NDCG@k      = DCG@k / IDCG@k, DCG@k = sum_{j<=k} rel_j / log2(j + 1), IDCG@k the DCG of
                min(|targets|, k) hits at the top
- MAP@k       = sum_{j<=k} Precision@j * rel_j / min(|targets|, k)

Users with no targets have undefined recall, NDCG and MAP: the caller must leave them out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mrdib.core.names import METRIC_NAMES, metric_keys  # noqa: F401  (metric_keys: part of this module's API)


def topk_metrics(
    hits: torch.Tensor, n_targets: torch.Tensor, ks: Sequence[int] = (5, 10, 20)
) -> dict[str, torch.Tensor]:
    """Per-user recall, precision, MAP and NDCG at each k, keyed as in `metric_keys(ks)`.

    `hits` is bool or float [n_users, max_k]: whether the item at rank j of the user's
    top-k list is a target; `max_k` must be >= max(ks). `n_targets` [n_users] is the size
    of each user's target set and must be >= 1 (leave users without targets out).
    Returns float32 vectors [n_users].
    """
    if hits.dim() != 2:
        raise ValueError(f"hits must be [n_users, max_k], got shape {tuple(hits.shape)}")
    n_users, max_k = hits.shape
    if n_targets.shape != (n_users,):
        raise ValueError(
            f"n_targets must be [{n_users}] to match hits, got shape {tuple(n_targets.shape)}"
        )
    if not ks or min(ks) < 1 or max(ks) > max_k:
        raise ValueError(f"every k must lie in 1..{max_k} (the width of hits), got {list(ks)}")

    device = hits.device
    rel = hits.to(torch.float32)  # [n_users, max_k]
    n_targets = n_targets.to(device=device, dtype=torch.float32)
    ranks = torch.arange(1, max_k + 1, device=device, dtype=torch.float32)  # [max_k]
    discount = 1.0 / torch.log2(ranks + 1.0)  # [max_k]

    hits_cum = rel.cumsum(dim=1)  # hits within the top j, [n_users, max_k]
    dcg_cum = (rel * discount).cumsum(dim=1)
    ap_cum = (hits_cum / ranks * rel).cumsum(dim=1)  # sum of Precision@j * rel_j
    ideal_dcg_cum = discount.cumsum(dim=0)  # IDCG with j hits at the top, [max_k]

    out: dict[str, dict[int, torch.Tensor]] = {name: {} for name in METRIC_NAMES}
    for k in sorted(ks):
        n_hit = hits_cum[:, k - 1]
        n_ideal = n_targets.clamp(max=k)  # min(|targets|, k)
        out["recall"][k] = n_hit / n_targets
        out["precision"][k] = n_hit / k
        out["map"][k] = ap_cum[:, k - 1] / n_ideal
        ideal_dcg = ideal_dcg_cum[n_ideal.long().clamp(min=1) - 1]
        out["ndcg"][k] = dcg_cum[:, k - 1] / ideal_dcg
    return {f"{name}@{k}": out[name][k] for name in METRIC_NAMES for k in sorted(ks)}

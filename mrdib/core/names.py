"""Names every layer spells the same way: the three alphas, the ranking metrics and their result
keys, and the labels tables and figures give the two sides of a comparison."""

from __future__ import annotations

from collections.abc import Sequence

ALPHA_NAMES: tuple[str, str, str] = ("a1", "a2", "a3")
METRIC_NAMES: tuple[str, ...] = ("recall", "precision", "map", "ndcg")
BASELINE, MRDIB, IMPROVEMENT = "baseline", "+MRdIB", "improvement %"


def metric_keys(ks: Sequence[int] = (5, 10, 20)) -> list[str]:
    """Result keys in a stable order: metric by metric, each at increasing k ("recall@5", ...)."""
    return [f"{name}@{k}" for name in METRIC_NAMES for k in sorted(ks)]

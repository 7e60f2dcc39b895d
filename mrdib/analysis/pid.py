"""Partial information decomposition (PID) of what two discrete sources say about a target.

I(Y; A, B) splits into four non-negative parts (Williams and Beer 2010):
    unique to A + unique to B + redundant (in either) + synergistic (only in both together).
Each source's own information is I(Y; A) = unique A + redundant, and likewise for B, so one
measure of any single part fixes the other three. Three established measures:

- `broja` (Bertschinger, Rauh, Olbrich, Jost and Ay 2014), the default: the unique information
  of A is the smallest I(Y; A | B) over all joint distributions Q that keep P's two marginals
  (A, Y) and (B, Y). Minimising I_Q(Y; A | B) is minimising -H_Q(Y | A, B) (H_Q(Y | B) is fixed by
  the marginals), a convex problem, solved here with cvxpy's exponential-cone solver.
- `mmi` (minimum mutual information, Barrett 2015): redundancy = min(I(Y; A), I(Y; B)).
- `imin` (Williams and Beer 2010): redundancy = sum_y p(y) min over sources of the specific
  information I(Y = y; source).

Values are in bits. The joint distribution is an array p[a, b, y] of probabilities.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MEASURES = ("broja", "mmi", "imin")
PARTS = ("unique_a", "unique_b", "redundant", "synergistic")


@dataclass(frozen=True)
class Decomposition:
    """The four parts of I(Y; A, B), in bits, and the measure that split them."""

    unique_a: float
    unique_b: float
    redundant: float
    synergistic: float
    total: float  # I(Y; A, B)
    measure: str

    def shares(self) -> dict[str, float]:
        """Each part as a fraction of the total (NaN when the sources say nothing about Y)."""
        if self.total <= 1e-12:
            return {part: float("nan") for part in PARTS}
        return {part: getattr(self, part) / self.total for part in PARTS}

    def largest(self) -> str:
        return max(PARTS, key=lambda part: getattr(self, part))

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def mutual_information(p_xy: np.ndarray) -> float:
    """I(X; Y) in bits of a joint p[x, y]."""
    return _entropy(p_xy.sum(1)) + _entropy(p_xy.sum(0)) - _entropy(p_xy.ravel())


def conditional_mutual_information(p: np.ndarray) -> float:
    """I(Y; A | B) = H(A, B) + H(B, Y) - H(A, B, Y) - H(B), in bits, of a joint p[a, b, y]."""
    return (_entropy(p.sum(2).ravel()) + _entropy(p.sum(0).ravel()) - _entropy(p.ravel())
            - _entropy(p.sum((0, 2))))


def check_distribution(p: np.ndarray) -> np.ndarray:
    """A float64 copy of p[a, b, y], checked: three axes, non-negative, summing to one."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 3:
        raise ValueError(f"a joint distribution p[a, b, y] needs three axes, got shape {p.shape}")
    if (p < 0).any() or not np.isclose(p.sum(), 1.0, atol=1e-9):
        raise ValueError("a joint distribution must be non-negative and sum to 1")
    return p


def _from_redundancy(p: np.ndarray, redundant: float, measure: str) -> Decomposition:
    info_a = mutual_information(p.sum(1))  # I(Y; A) from p[a, y]
    info_b = mutual_information(p.sum(0))  # I(Y; B) from p[b, y]
    total = mutual_information(p.reshape(-1, p.shape[2]))
    unique_a, unique_b = info_a - redundant, info_b - redundant
    return Decomposition(unique_a, unique_b, redundant, total - unique_a - unique_b - redundant, total, measure)


def mmi(p: np.ndarray) -> Decomposition:
    p = check_distribution(p)
    return _from_redundancy(p, min(mutual_information(p.sum(1)), mutual_information(p.sum(0))), "mmi")


def _specific_information(p_sy: np.ndarray) -> np.ndarray:
    """I(Y = y; S) per y in bits: sum_s p(s | y) log p(y | s) / p(y)."""
    p_y, p_s = p_sy.sum(0), p_sy.sum(1)
    out = np.zeros(p_sy.shape[1])
    for y in range(p_sy.shape[1]):
        if p_y[y] <= 0:
            continue
        mask = p_sy[:, y] > 0
        s_given_y = p_sy[mask, y] / p_y[y]
        y_given_s = p_sy[mask, y] / p_s[mask]
        out[y] = float((s_given_y * np.log2(y_given_s / p_y[y])).sum())
    return out


def imin(p: np.ndarray) -> Decomposition:
    p = check_distribution(p)
    p_y = p.sum((0, 1))
    specific = np.minimum(_specific_information(p.sum(1)), _specific_information(p.sum(0)))
    return _from_redundancy(p, float((p_y * specific).sum()), "imin")


def broja(p: np.ndarray, solver: str | None = None) -> Decomposition:
    """BROJA's decomposition by convex optimisation over the distributions with P's (A, Y) and (B, Y)
    marginals. Cells outside the support of those marginals are fixed at zero, which keeps the
    problem small and the solver's tolerances on the cells that matter."""
    import cvxpy as cp

    p = check_distribution(p)
    p_ay, p_by = p.sum(1), p.sum(0)  # [a, y], [b, y]
    n_a, n_b, n_y = p.shape
    support = (p_ay[:, None, :] > 0) & (p_by[None, :, :] > 0)  # [a, b, y] cells any Q may use
    index = -np.ones(p.shape, dtype=int)
    index[support] = np.arange(int(support.sum()))
    q = cp.Variable(int(support.sum()), nonneg=True)
    cells = np.argwhere(support)
    # Linear maps from q to Q's (a, y) and (b, y) marginals and to Q(a, b).
    rows_ay = cells[:, 0] * n_y + cells[:, 2]
    rows_by = cells[:, 1] * n_y + cells[:, 2]
    rows_ab = cells[:, 0] * n_b + cells[:, 1]
    columns = np.arange(len(cells))

    def summing(rows: np.ndarray, size: int) -> np.ndarray:
        matrix = np.zeros((size, len(cells)))
        matrix[rows, columns] = 1.0
        return matrix

    to_ay, to_by, to_ab = summing(rows_ay, n_a * n_y), summing(rows_by, n_b * n_y), summing(rows_ab, n_a * n_b)
    q_ab = to_ab @ q  # Q(a, b) per cell's (a, b)
    # -H_Q(Y | A, B) = sum q(a,b,y) log(q(a,b,y) / q(a,b)): relative entropy terms, jointly convex.
    objective = cp.Minimize(cp.sum(cp.rel_entr(q, to_ab.T @ q_ab)))
    constraints = [to_ay @ q == p_ay.ravel(), to_by @ q == p_by.ravel()]
    problem = cp.Problem(objective, constraints)
    problem.solve(solver=solver or "CLARABEL")
    if problem.status not in ("optimal", "optimal_inaccurate") or q.value is None:
        raise RuntimeError(f"BROJA optimisation did not converge ({problem.status})")
    optimum = np.zeros(p.shape)
    optimum[support] = np.clip(q.value, 0.0, None)
    optimum /= optimum.sum()
    unique_a = max(conditional_mutual_information(optimum), 0.0)
    swapped = optimum.transpose(1, 0, 2)
    unique_b = max(conditional_mutual_information(swapped), 0.0)
    redundant = max(mutual_information(p_ay) - unique_a, 0.0)
    total = mutual_information(p.reshape(-1, n_y))
    synergistic = max(total - unique_a - unique_b - redundant, 0.0)
    return Decomposition(unique_a, unique_b, redundant, synergistic, total, "broja")


def decompose(p: np.ndarray, measure: str = "broja") -> Decomposition:
    """The PID of p[a, b, y] by `measure` (one of MEASURES)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown PID measure '{measure}' (known: {', '.join(MEASURES)})")
    return {"broja": broja, "mmi": mmi, "imin": imin}[measure](p)


# -- the PID of recommender representations ------------------------------------------------------

@dataclass(frozen=True)
class PidSettings:
    """How the sources and the target are built: `bins` equal-frequency bins per source score,
    `pairs` positive validation pairs (each with one sampled non-interaction), `bootstrap`
    resamples of the pairs for the intervals."""

    bins: int = 8
    pairs: int = 20_000
    bootstrap: int = 100
    measure: str = "broja"
    ridge: float = 1.0
    split: str = "valid"
    seed: int = 0


def labelled_pairs(data: Any, split: str, n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, y): up to `n_pairs` interactions of `split` (y = 1), each beside the same user
    with an item drawn uniformly from those the user never interacted with (y = 0)."""
    rng = np.random.default_rng(seed)
    positives = getattr(data, split)
    if len(positives) > n_pairs:
        positives = positives[rng.choice(len(positives), n_pairs, replace=False)]
    seen = (data.train_csr + data.valid_csr + data.test_csr).tocsr()
    users = positives[:, 0]
    negatives = rng.integers(0, data.n_items, len(users))
    for _ in range(100):  # redraw the few that hit an item the user has (vectorised per round)
        clash = np.asarray(seen[users, negatives]).ravel() > 0
        if not clash.any():
            break
        negatives[clash] = rng.integers(0, data.n_items, int(clash.sum()))
    all_users = np.concatenate([users, users])
    all_items = np.concatenate([positives[:, 1], negatives])
    labels = np.concatenate([np.ones(len(users), dtype=int), np.zeros(len(users), dtype=int)])
    return all_users, all_items, labels


def modality_scores(data: Any, modal_reps: dict[str, np.ndarray], users: np.ndarray, items: np.ndarray,
                    ridge: float = 1.0) -> dict[str, np.ndarray]:
    """Each modality's own score for each (user, item) pair: the user's ridge fit of their training
    row onto that modality's item representations (the standalone probe of `ranking.py`), dotted
    with the item's representation. Fitted on training pairs only."""
    from mrdib.analysis.ranking import ridge_user_vectors

    scores = {}
    for modality, reps in modal_reps.items():
        reps = np.asarray(reps, dtype=np.float64)  # [n_items, d]
        user_vectors = ridge_user_vectors(data.train_csr, reps, ridge)  # [n_users, d]
        scores[modality] = np.einsum("nd,nd->n", user_vectors[users], reps[items])
    return scores


def equal_frequency_bins(values: np.ndarray, bins: int) -> np.ndarray:
    """Bin indices 0..bins-1 with (about) as many values in each; ties share a bin."""
    edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


def joint_distribution(a: np.ndarray, b: np.ndarray, y: np.ndarray, bins: int) -> np.ndarray:
    """The empirical p[a, b, y] of discrete sources a, b in 0..bins-1 and a binary target."""
    counts = np.zeros((bins, bins, 2))
    np.add.at(counts, (a, b, y), 1.0)
    return counts / counts.sum()


def pair_decomposition(a_scores: np.ndarray, b_scores: np.ndarray, y: np.ndarray, settings: PidSettings
                       ) -> dict[str, Any]:
    """The PID of two per-pair scores about y, with basic bootstrap intervals (95%) over pairs."""
    a, b = equal_frequency_bins(a_scores, settings.bins), equal_frequency_bins(b_scores, settings.bins)
    point = decompose(joint_distribution(a, b, y, settings.bins), settings.measure)
    rng = np.random.default_rng(settings.seed + 1)
    draws = []
    for _ in range(settings.bootstrap):
        pick = rng.integers(0, len(y), len(y))
        draws.append(decompose(joint_distribution(a[pick], b[pick], y[pick], settings.bins), settings.measure))
    result: dict[str, Any] = {"measure": settings.measure, "bins": settings.bins, "n": int(len(y)),
                              "total": point.total, **{f"share/{k}": v for k, v in point.shares().items()}}
    for part in (*PARTS, "total"):
        result[part] = getattr(point, part)
        # The basic bootstrap interval (2 x estimate - the draws' upper and lower percentiles): a
        # resample repeats pairs, which inflates a plug-in information estimate, and this interval
        # undoes that shift where the plain percentile interval would sit above the estimate.
        estimate = result[part]
        upper, lower = np.percentile([getattr(d, part) for d in draws], [97.5, 2.5]) if draws else (np.nan, np.nan)
        result[f"{part}_low"] = float(max(2 * estimate - upper, 0.0))
        result[f"{part}_high"] = float(max(2 * estimate - lower, 0.0))
    return result


def representation_pid(data: Any, modal_reps: dict[str, np.ndarray], settings: PidSettings = PidSettings()
                       ) -> list[dict[str, Any]]:
    """The PID, for every pair of modalities, of what their representations say about interaction
    (a held-out interaction against a sampled non-interaction), in bits with bootstrap intervals."""
    users, items, y = labelled_pairs(data, settings.split, settings.pairs, settings.seed)
    scores = modality_scores(data, modal_reps, users, items, settings.ridge)
    rows = []
    for first, second in itertools.combinations(list(modal_reps), 2):
        rows.append({"modality_a": first, "modality_b": second,
                     **pair_decomposition(scores[first], scores[second], y, settings)})
    return rows

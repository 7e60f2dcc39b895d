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

from dataclasses import asdict, dataclass

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

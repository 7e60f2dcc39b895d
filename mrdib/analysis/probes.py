"""Linear probes against the synthetic data's planted truth: how much of each planted factor
(unique to a modality, redundant, synergistic, noise) a representation holds, as held-out R^2.

The picture MRdIB aims for, next to a baseline: noise less recoverable (the bottleneck
filtered it), the redundant factor not held by every modality at once, unique factors kept.
"""

from __future__ import annotations

import numpy as np

from mrdib.analysis.redundancy import standardise

# Planted item factors the probes target; other planted arrays (user preferences,
# projections, popularity) are not item representations' business.
FACTOR_PREFIXES = ("unique/", "synergy/", "noise/")
REDUNDANT = "redundant"


def planted_item_factors(planted: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The planted item factors, [n_items, k] each, keyed as in the data (`unique/image`, ...)."""
    return {key: value for key, value in planted.items()
            if (key == REDUNDANT or key.startswith(FACTOR_PREFIXES)) and value.ndim == 2 and value.shape[1] > 0}


def probe_r2(reps: np.ndarray, targets: np.ndarray, train: np.ndarray, test: np.ndarray,
             alpha: float = 1.0) -> float:
    """R^2 on the test items of a ridge regression from standardised `reps` to `targets`,
    averaged over the target's dimensions."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    x = standardise(reps)
    probe = Ridge(alpha=alpha).fit(x[train], targets[train])
    return float(r2_score(targets[test], probe.predict(x[test]), multioutput="uniform_average"))


def probe_planted_factors(reps_by_name: dict[str, np.ndarray], planted: dict[str, np.ndarray],
                          test_fraction: float = 0.3, alpha: float = 1.0, seed: int = 0) -> dict:
    """R^2 of every planted factor from every representation, on one fixed held-out item split.

    Returns {"r2": {representation: {factor: R^2}}, "summary": {...}} where the summary holds,
    per modality m, R^2 of its own unique factor, its own noise and the redundant factor
    from z_m, and across modalities the redundant factor's smallest R^2 (high only when
    every modality duplicates it).
    """
    factors = planted_item_factors(planted)
    n_items = next(iter(reps_by_name.values())).shape[0]
    order = np.random.default_rng(seed).permutation(n_items)
    n_test = max(1, int(round(test_fraction * n_items)))
    test, train = order[:n_test], order[n_test:]
    r2 = {name: {factor: probe_r2(reps, target, train, test, alpha) for factor, target in factors.items()}
          for name, reps in reps_by_name.items()}
    return {"r2": r2, "summary": summarise_probes(r2), "test_fraction": test_fraction, "alpha": alpha}


def summarise_probes(r2: dict[str, dict[str, float]]) -> dict:
    """Own-unique, own-noise and redundant R^2 per modality representation, and their means."""
    modalities = [name for name in r2 if f"unique/{name}" in r2[name]]
    per_modality = {m: {"unique": r2[m][f"unique/{m}"],
                        "noise": r2[m].get(f"noise/{m}", float("nan")),
                        "redundant": r2[m].get(REDUNDANT, float("nan"))} for m in modalities}
    if not per_modality:
        return {"modalities": {}}
    return {
        "modalities": per_modality,
        "unique_kept": float(np.mean([v["unique"] for v in per_modality.values()])),
        "noise_recoverable": float(np.nanmean([v["noise"] for v in per_modality.values()])),
        "redundant_duplication": float(np.min([v["redundant"] for v in per_modality.values()])),
    }

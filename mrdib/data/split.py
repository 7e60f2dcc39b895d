"""Per-user random train/valid/test split, for interaction files that carry no x_label.

Every user is split on their own, so each user with any interaction keeps at least one
training item and evaluation never meets a user the model has not seen.
"""

from __future__ import annotations

import numpy as np

from mrdib.core.errors import ConfigError

# floor(count * ratio) must not lose a whole item to float error (e.g. 0.7 * 10 = 6.999...).
_FLOOR_EPS = 1e-9


def split_counts(counts: np.ndarray, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How many of each user's `counts` interactions go to train, valid and test.

    The rounding, exactly (c = a user's count, r = ratios):
      1. n_valid = floor(c * r_valid), n_test = floor(c * r_test), n_train = the rest,
         so n_train >= ceil(c * r_train) >= 1 for every c >= 1 when r_train > 0.
      2. A part whose share c * r lies strictly between 0 and 1 still gets one item,
         taken from train, as long as train keeps at least one: test first, then valid.
    Examples with 8:1:1: c=1 -> 1/0/0, c=2 -> 1/0/1, c=3 -> 1/1/1, c=5 -> 3/1/1,
    c=10 -> 8/1/1, c=12 -> 10/1/1, c=25 -> 21/2/2.
    """
    r_train, r_valid, r_test = _check_ratios(ratios)
    counts = np.asarray(counts, dtype=np.int64)
    n_valid = np.floor(counts * r_valid + _FLOOR_EPS).astype(np.int64)
    n_test = np.floor(counts * r_test + _FLOOR_EPS).astype(np.int64)
    n_train = counts - n_valid - n_test
    for n_part, ratio in ((n_test, r_test), (n_valid, r_valid)):
        share = counts * ratio
        bump = (n_part == 0) & (share > 0) & (share < 1) & (n_train > 1)
        n_part += bump
        n_train -= bump
    return n_train, n_valid, n_test


def split_per_user(pairs: np.ndarray, n_users: int, seed: int,
                   ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle each user's (user, item) pairs and cut them into train, valid and test.

    Vectorised: a random key per pair and a lexsort on (user, key) shuffle within users,
    then each pair's rank inside its user decides its part (counts from `split_counts`).
    Each returned array is int64 [n, 2], sorted by user then item; same seed, same split.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    users = pairs[:, 0]
    if len(pairs) and (users.min() < 0 or users.max() >= n_users):
        raise ConfigError(f"split_per_user: user ids must lie in 0..{n_users - 1}")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(pairs)), users))
    shuffled = pairs[order]
    counts = np.bincount(users, minlength=n_users)
    first_of_user = np.cumsum(counts) - counts
    rank_in_user = np.arange(len(shuffled)) - first_of_user[shuffled[:, 0]]
    n_train, n_valid, _ = split_counts(counts, ratios)
    train_end = n_train[shuffled[:, 0]]
    valid_end = train_end + n_valid[shuffled[:, 0]]
    parts = (rank_in_user < train_end,
             (rank_in_user >= train_end) & (rank_in_user < valid_end),
             rank_in_user >= valid_end)
    return tuple(_sorted_pairs(shuffled[mask]) for mask in parts)  # type: ignore[return-value]


def _sorted_pairs(pairs: np.ndarray) -> np.ndarray:
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def _check_ratios(ratios: tuple[float, float, float]) -> tuple[float, float, float]:
    if len(ratios) != 3 or min(ratios) < 0 or ratios[0] <= 0 or abs(sum(ratios) - 1) > 1e-6:
        raise ConfigError(f"split ratios {tuple(ratios)} must be three non-negative numbers "
                          "summing to 1 with a positive train share, e.g. (0.8, 0.1, 0.1)")
    return float(ratios[0]), float(ratios[1]), float(ratios[2])

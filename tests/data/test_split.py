"""Per-user split: exact counts, at least one training item per user, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from mrdib.data.split import split_counts, split_per_user
from mrdib.core.errors import ConfigError


def _pairs_with_counts(counts: list[int]) -> np.ndarray:
    """User u gets counts[u] distinct items 0..counts[u]-1."""
    return np.array([(user, item) for user, count in enumerate(counts)
                     for item in range(count)], dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("count, expected", [
    (0, (0, 0, 0)), (1, (1, 0, 0)), (2, (1, 0, 1)), (3, (1, 1, 1)), (4, (2, 1, 1)),
    (5, (3, 1, 1)), (10, (8, 1, 1)), (12, (10, 1, 1)), (20, (16, 2, 2)), (25, (21, 2, 2)),
    (30, (24, 3, 3)), (100, (80, 10, 10)),
])
def test_split_counts_follow_the_documented_rounding(count, expected):
    n_train, n_valid, n_test = split_counts(np.array([count]))
    assert (int(n_train[0]), int(n_valid[0]), int(n_test[0])) == expected


def test_split_counts_other_ratios():
    n_train, n_valid, n_test = split_counts(np.array([10, 7]), ratios=(0.6, 0.2, 0.2))
    assert n_train.tolist() == [6, 5] and n_valid.tolist() == [2, 1]
    assert n_test.tolist() == [2, 1]


def test_every_user_keeps_a_training_item_and_nothing_is_lost():
    rng = np.random.default_rng(1)
    counts = rng.integers(1, 40, size=300).tolist()
    pairs = _pairs_with_counts(counts)
    train, valid, test = split_per_user(pairs, n_users=300, seed=0)
    assert np.bincount(train[:, 0], minlength=300).min() >= 1
    merged = np.concatenate([train, valid, test])
    assert len(merged) == len(pairs)
    assert len(np.unique(merged[:, 0] * 100 + merged[:, 1])) == len(pairs)
    expected_train, expected_valid, _ = split_counts(np.array(counts))
    assert np.array_equal(np.bincount(train[:, 0], minlength=300), expected_train)
    assert np.array_equal(np.bincount(valid[:, 0], minlength=300), expected_valid)


def test_large_users_split_eight_one_one():
    pairs = _pairs_with_counts([100] * 50)
    train, valid, test = split_per_user(pairs, n_users=50, seed=3)
    assert (len(train), len(valid), len(test)) == (4000, 500, 500)


def test_users_without_interactions_are_allowed():
    pairs = np.array([[0, 0], [0, 1], [2, 0]], dtype=np.int64)
    train, valid, test = split_per_user(pairs, n_users=4, seed=0)
    assert set(train[:, 0].tolist()) == {0, 2}
    assert len(train) + len(valid) + len(test) == 3


def test_same_seed_same_split_other_seed_other_split():
    pairs = _pairs_with_counts([20] * 100)
    first = split_per_user(pairs, n_users=100, seed=7)
    again = split_per_user(pairs, n_users=100, seed=7)
    other = split_per_user(pairs, n_users=100, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], other[1])


def test_split_is_random_within_user_and_output_sorted():
    pairs = _pairs_with_counts([50] * 40)
    train, valid, _ = split_per_user(pairs, n_users=40, seed=0)
    # Valid items differ between users: the shuffle is per user, not one global order.
    assert len({tuple(valid[valid[:, 0] == u, 1]) for u in range(40)}) > 30
    order = np.lexsort((train[:, 1], train[:, 0]))
    assert np.array_equal(order, np.arange(len(train)))
    assert train.dtype == np.int64 and train.shape[1] == 2


def test_bad_ratios_are_rejected():
    with pytest.raises(ConfigError):
        split_per_user(_pairs_with_counts([3]), 1, 0, ratios=(0.5, 0.5, 0.5))
    with pytest.raises(ConfigError):
        split_per_user(_pairs_with_counts([3]), 1, 0, ratios=(0.0, 0.5, 0.5))


def test_user_id_out_of_range_is_rejected():
    with pytest.raises(ConfigError):
        split_per_user(np.array([[5, 0]]), n_users=2, seed=0)

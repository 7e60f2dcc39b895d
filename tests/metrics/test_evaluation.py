"""The full-ranking evaluator: masking per split, target users, agreement with a reference."""

import math

import numpy as np
import pytest
import torch

from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError, DataError
from mrdib.evaluation.ranking import EvalConfig, RankingEvaluator


def pairs(items_by_user: dict[int, list[int]]) -> np.ndarray:
    rows = [(user, item) for user, items in items_by_user.items() for item in items]
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def make_data(n_users, n_items, train, valid, test) -> InteractionData:
    return InteractionData(
        name="tiny",
        n_users=n_users,
        n_items=n_items,
        train=pairs(train),
        valid=pairs(valid),
        test=pairs(test),
        features={},
    )


# 4 users x 6 items. User 2 has nothing in valid, user 3 nothing in test.
TRAIN = {0: [0, 1], 1: [2], 2: [0], 3: [5]}
VALID = {0: [2], 1: [3], 3: [4]}
TEST = {0: [3], 1: [4], 2: [1]}


@pytest.fixture
def tiny() -> InteractionData:
    return make_data(4, 6, TRAIN, VALID, TEST)


def seen_first_scores(user_groups: list[dict[int, list[int]]], n_users=4, n_items=6):
    """Scores that rank each user's items of user_groups[0] highest, then [1], ..., then the rest.

    The rest are ordered by item id (a small decreasing offset) so no two scores tie.
    """
    scores = -0.01 * torch.arange(n_items, dtype=torch.float32).repeat(n_users, 1)
    for level, group in enumerate(user_groups):
        for user, items in group.items():
            scores[user, items] = float(len(user_groups) - level)
    return scores  # [n_users, n_items]


def from_matrix(scores: torch.Tensor):
    return lambda users: scores[users].clone()


def test_valid_masks_training_items(tiny):
    # Train items score highest, then valid: only masking train puts the valid item first.
    # User 0, valid: train {0, 1} masked, ranking 2 (target), 3, 4 -> P@3 = 1/3.
    scores = seen_first_scores([TRAIN, VALID, TEST])
    evaluator = RankingEvaluator(tiny, "valid", EvalConfig(topk=(1, 3)))
    result = evaluator.evaluate(from_matrix(scores))
    assert result["recall@1"] == pytest.approx(1.0)
    assert result["precision@1"] == pytest.approx(1.0)
    assert result["precision@3"] == pytest.approx(1 / 3)
    assert result["ndcg@3"] == pytest.approx(1.0)
    assert result["map@3"] == pytest.approx(1.0)


def test_test_masks_training_and_validation_items(tiny):
    # Train > valid > test in score. With train + valid masked every test item is first.
    # MMRec (train only) would put users 0 and 1's valid item first: recall@1 = 1/3.
    scores = seen_first_scores([TRAIN, VALID, TEST])
    evaluator = RankingEvaluator(tiny, "test", EvalConfig(topk=(1, 3)))
    result = evaluator.evaluate(from_matrix(scores))
    assert result["recall@1"] == pytest.approx(1.0)
    assert result["ndcg@1"] == pytest.approx(1.0)


def test_masked_items_are_not_ranked_even_when_they_score_highest(tiny):
    # At test time every user's masked items score highest and its target is third among
    # the unmasked ones. Masked: u0 {0, 1, 2}, u1 {2, 3}, u2 {0}; targets u0 3, u1 4, u2 1.
    scores = torch.tensor(
        [
            [9.0, 8.0, 7.0, -3.0, -1.0, -2.0],  # unmasked order 4, 5, 3
            [-1.0, -2.0, 9.0, 8.0, -3.0, -4.0],  # unmasked order 0, 1, 4, 5
            [9.0, -3.0, -1.0, -2.0, -4.0, -5.0],  # unmasked order 2, 3, 1, 4, 5
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # no test items: never scored
        ]
    )
    evaluator = RankingEvaluator(tiny, "test", EvalConfig(topk=(2, 3)))
    result = evaluator.evaluate(from_matrix(scores))
    # Target at rank 3 for all: recall@2 = 0, recall@3 = 1, P@3 = 1/3,
    # NDCG@3 = (1/log2(4)) / 1 = 0.5, MAP@3 = P@3 / min(1, 3) = 1/3.
    assert result["recall@2"] == pytest.approx(0.0)
    assert result["recall@3"] == pytest.approx(1.0)
    assert result["precision@3"] == pytest.approx(1 / 3)
    assert result["ndcg@3"] == pytest.approx(0.5)
    assert result["map@3"] == pytest.approx(1 / 3)


def test_users_without_targets_are_excluded_from_the_mean(tiny):
    # Valid targets: users 0, 1, 3 (user 2 has none). Only user 0 ranks its target first,
    # so the mean recall@1 is 1/3, not 1/4.
    scores = seen_first_scores([TEST])  # test items first for everyone
    scores[0, 2] = 5.0  # user 0's valid item on top
    calls = []

    def score_fn(users):
        calls.append(users.clone())
        return scores[users].clone()

    evaluator = RankingEvaluator(tiny, "valid", EvalConfig(topk=(1,)))
    result = evaluator.evaluate(score_fn)
    assert evaluator.n_users == 3
    assert torch.cat(calls).tolist() == [0, 1, 3]
    assert result["recall@1"] == pytest.approx(1 / 3)

    assert RankingEvaluator(tiny, "test", EvalConfig(topk=(1,))).users.tolist() == [0, 1, 2]


# ---- agreement with a plain reference on random data ----------------------------------


def _reference_user_metrics(scores_row, targets, seen, ks):
    """Metrics of one user by their definitions, with Python loops."""
    candidates = [item for item in range(len(scores_row)) if item not in seen]
    ranking = sorted(candidates, key=lambda item: -scores_row[item])
    out = {}
    for k in ks:
        rel = [1.0 if item in targets else 0.0 for item in ranking[:k]]
        n_hit = sum(rel)
        n_ideal = min(len(targets), k)
        dcg = sum(r / math.log2(j + 1) for j, r in enumerate(rel, start=1))
        idcg = sum(1 / math.log2(j + 1) for j in range(1, n_ideal + 1))
        ap = sum(sum(rel[:j]) / j * rel[j - 1] for j in range(1, k + 1))
        out[f"recall@{k}"] = n_hit / len(targets)
        out[f"precision@{k}"] = n_hit / k
        out[f"ndcg@{k}"] = dcg / idcg
        out[f"map@{k}"] = ap / n_ideal
    return out


def reference_evaluate(data, split, scores, ks):
    items = {name: {} for name in ("train", "valid", "test")}
    for name in items:
        for user, item in getattr(data, name).tolist():
            items[name].setdefault(user, set()).add(item)
    totals, n_users = {}, 0
    for user in range(data.n_users):
        targets = items[split].get(user, set())
        if not targets:
            continue
        seen = set(items["train"].get(user, set()))
        if split == "test":
            seen |= items["valid"].get(user, set())
        n_users += 1
        row = scores[user].double().tolist()
        for key, value in _reference_user_metrics(row, targets, seen, ks).items():
            totals[key] = totals.get(key, 0.0) + value
    return {key: value / n_users for key, value in totals.items()}


@pytest.fixture
def random_data():
    """50 users x 40 items; some users have no valid or no test items."""
    rng = np.random.default_rng(7)
    n_users, n_items = 50, 40
    train, valid, test = {}, {}, {}
    for user in range(n_users):
        items = rng.permutation(n_items)
        n_train, n_valid, n_test = rng.integers(1, 12), rng.integers(0, 4), rng.integers(0, 4)
        train[user] = items[:n_train].tolist()
        valid[user] = items[n_train : n_train + n_valid].tolist()
        test[user] = items[n_train + n_valid : n_train + n_valid + n_test].tolist()
    data = make_data(n_users, n_items, train, valid, test)
    scores = torch.randn(n_users, n_items, generator=torch.Generator().manual_seed(3))
    return data, scores


@pytest.mark.parametrize("split", ["valid", "test"])
def test_agrees_with_reference_on_random_data(random_data, split):
    data, scores = random_data
    ks = (1, 5, 10, 20)
    evaluator = RankingEvaluator(data, split, EvalConfig(topk=ks, batch_size=16))
    assert 0 < evaluator.n_users < data.n_users  # some users are left out
    result = evaluator.evaluate(from_matrix(scores))
    expected = reference_evaluate(data, split, scores, ks)
    assert set(result) == set(expected)
    for key in expected:
        assert result[key] == pytest.approx(expected[key], abs=1e-6), key
    assert expected["recall@20"] > 0  # the example is not degenerate


@pytest.mark.parametrize("split", ["valid", "test"])
def test_batch_size_does_not_change_results(random_data, split):
    data, scores = random_data
    results = [
        RankingEvaluator(data, split, EvalConfig(batch_size=size)).evaluate(from_matrix(scores))
        for size in (1, 3, 16, 50, 4096)
    ]
    for result in results[1:]:
        assert result == pytest.approx(results[0], rel=1e-12, abs=1e-12)


def test_score_memory_cap_shrinks_batches_without_changing_results(random_data):
    data, scores = random_data
    three_users = 3 * 4 * data.n_items / 2**20  # MB of float32 scores for three users
    capped = RankingEvaluator(data, "valid", EvalConfig(batch_size=4096, max_score_mb=three_users))
    assert capped.batch_size == 3
    widths = []

    def score(users):
        widths.append(len(users))
        return scores[users].clone()

    result = capped.evaluate(score)
    assert max(widths) == 3 and sum(widths) == capped.n_users
    assert result == pytest.approx(RankingEvaluator(data, "valid").evaluate(from_matrix(scores)), rel=1e-12, abs=1e-12)
    assert RankingEvaluator(data, "valid", EvalConfig(batch_size=2, max_score_mb=1e-9)).batch_size == 1
    with pytest.raises(ConfigError, match="max_score_mb"):
        RankingEvaluator(data, "valid", EvalConfig(max_score_mb=0))


def test_non_contiguous_scores_are_accepted(random_data):
    data, scores = random_data
    evaluator = RankingEvaluator(data, "valid")
    transposed = scores.T.contiguous()  # [n_items, n_users]
    direct = evaluator.evaluate(from_matrix(scores))
    assert evaluator.evaluate(lambda users: transposed[:, users].T) == direct


def test_evaluation_is_repeatable_and_keeps_no_state(random_data):
    data, scores = random_data
    evaluator = RankingEvaluator(data, "test")
    first = evaluator.evaluate(from_matrix(scores))
    assert evaluator.evaluate(from_matrix(scores)) == first
    assert list(first) == evaluator.keys


def test_runs_without_grad(random_data):
    data, scores = random_data
    weights = scores.clone().requires_grad_(True)
    grads_enabled = []

    def score_fn(users):
        grads_enabled.append(torch.is_grad_enabled())
        return weights[users] * 1.0

    RankingEvaluator(data, "valid").evaluate(score_fn)
    assert grads_enabled and not any(grads_enabled)
    assert weights.grad is None


# ---- errors ----------------------------------------------------------------------------


def test_unknown_split_is_a_config_error(tiny):
    with pytest.raises(ConfigError, match="split"):
        RankingEvaluator(tiny, "train")


def test_k_larger_than_item_count_is_a_config_error(tiny):
    with pytest.raises(ConfigError, match="topk"):
        RankingEvaluator(tiny, "valid", EvalConfig(topk=(5, 10)))


def test_split_without_interactions_is_a_data_error():
    data = make_data(2, 6, {0: [0], 1: [1]}, {}, {0: [2]})
    with pytest.raises(DataError, match="no valid interactions"):
        RankingEvaluator(data, "valid", EvalConfig(topk=(1,)))


def test_wrong_score_shape_is_rejected(tiny):
    evaluator = RankingEvaluator(tiny, "valid", EvalConfig(topk=(1,)))
    with pytest.raises(ValueError, match=r"\[3, 6\]"):
        evaluator.evaluate(lambda users: torch.zeros(len(users), 5))

"""Top-k metrics against values worked out by hand on a 5-user, 4-rank example."""

import math

import pytest
import torch

from mrdib.evaluation.metrics import METRIC_NAMES, metric_keys, topk_metrics

# Rows: whether the item at rank 1..4 is a target. ks = (2, 4).
HITS = torch.tensor(
    [
        [1, 0, 1, 0],  # A: 2 targets (= k at 2, fewer than k at 4)
        [0, 1, 1, 1],  # B: 5 targets (more than k at both)
        [0, 0, 0, 0],  # C: 1 target, never hit
        [1, 1, 1, 1],  # D: 4 targets, all hit
        [1, 0, 0, 0],  # E: 1 target, hit at rank 1
    ],
    dtype=torch.bool,
)
N_TARGETS = torch.tensor([2, 5, 1, 4, 1])

LOG2 = math.log2
IDCG_1 = 1.0  # one hit at rank 1
IDCG_2 = 1 + 1 / LOG2(3)  # = 1.6309
IDCG_4 = 1 + 1 / LOG2(3) + 1 / LOG2(4) + 1 / LOG2(5)  # = 2.5616

EXPECTED = {
    # recall = hits in top k / |targets|
    "recall@2": [1 / 2, 1 / 5, 0, 2 / 4, 1],
    "recall@4": [2 / 2, 3 / 5, 0, 4 / 4, 1],
    # precision = hits in top k / k
    "precision@2": [1 / 2, 1 / 2, 0, 1, 1 / 2],
    "precision@4": [2 / 4, 3 / 4, 0, 1, 1 / 4],
    # map = sum over hit ranks j of Precision@j, / min(|targets|, k)
    "map@2": [
        (1 / 1) / 2,  # A: hit at 1 (P@1 = 1); min(2, 2) = 2 -> 0.5
        (1 / 2) / 2,  # B: hit at 2 (P@2 = 1/2); min(5, 2) = 2 -> 0.25
        0,
        (1 + 1) / 2,  # D: P@1 = P@2 = 1 -> 1
        (1 / 1) / 1,  # E: min(1, 2) = 1 -> 1
    ],
    "map@4": [
        (1 + 2 / 3) / 2,  # A: hits at 1 and 3 (P@3 = 2/3); min(2, 4) = 2 -> 0.8333
        (1 / 2 + 2 / 3 + 3 / 4) / 4,  # B: hits at 2, 3, 4; min(5, 4) = 4 -> 0.4792
        0,
        (1 + 1 + 1 + 1) / 4,  # D -> 1
        (1 / 1) / 1,  # E -> 1
    ],
    # ndcg = sum over hit ranks j of 1/log2(j+1), / IDCG over min(|targets|, k) ranks
    "ndcg@2": [
        1 / IDCG_2,  # A: 1 / 1.6309 = 0.6131
        (1 / LOG2(3)) / IDCG_2,  # B: 0.6309 / 1.6309 = 0.3869
        0,
        IDCG_2 / IDCG_2,  # D -> 1
        1 / IDCG_1,  # E: a single target at rank 1 -> 1
    ],
    "ndcg@4": [
        (1 + 1 / LOG2(4)) / IDCG_2,  # A: 1.5 / 1.6309 = 0.9197 (ideal has only 2 hits)
        (1 / LOG2(3) + 1 / LOG2(4) + 1 / LOG2(5)) / IDCG_4,  # B: 1.5616 / 2.5616 = 0.6096
        0,
        IDCG_4 / IDCG_4,  # D -> 1
        1 / IDCG_1,  # E -> 1
    ],
}


def test_hand_computed_values():
    result = topk_metrics(HITS, N_TARGETS, ks=(2, 4))
    assert list(result) == metric_keys((2, 4))
    for key, expected in EXPECTED.items():
        assert result[key].dtype == torch.float32
        assert result[key].tolist() == pytest.approx(expected, abs=1e-6), key


def test_spot_values_written_out():
    result = topk_metrics(HITS, N_TARGETS, ks=(2, 4))
    assert result["ndcg@2"][0].item() == pytest.approx(0.6131, abs=1e-4)
    assert result["ndcg@4"][0].item() == pytest.approx(0.9197, abs=1e-4)
    assert result["ndcg@4"][1].item() == pytest.approx(0.6096, abs=1e-4)
    assert result["map@4"][0].item() == pytest.approx(0.8333, abs=1e-4)
    assert result["map@4"][1].item() == pytest.approx(0.4792, abs=1e-4)


def test_float_hits_equal_bool_hits():
    as_bool = topk_metrics(HITS, N_TARGETS, ks=(2, 4))
    as_float = topk_metrics(HITS.float(), N_TARGETS.float(), ks=(2, 4))
    for key in as_bool:
        assert torch.equal(as_bool[key], as_float[key])


def test_no_hits_gives_zero_everywhere():
    hits = torch.zeros(3, 5, dtype=torch.bool)
    result = topk_metrics(hits, torch.tensor([1, 3, 9]), ks=(1, 5))
    for key, values in result.items():
        assert values.tolist() == [0.0, 0.0, 0.0], key


@pytest.mark.parametrize("n_targets", [1, 2, 3])
def test_all_targets_on_top_gives_one(n_targets):
    # The user's n_targets targets fill ranks 1..n_targets; k = 3 >= n_targets.
    hits = torch.zeros(1, 3, dtype=torch.bool)
    hits[0, :n_targets] = True
    result = topk_metrics(hits, torch.tensor([n_targets]), ks=(3,))
    assert result["ndcg@3"].item() == pytest.approx(1.0)
    assert result["map@3"].item() == pytest.approx(1.0)
    assert result["recall@3"].item() == pytest.approx(1.0)
    assert result["precision@3"].item() == pytest.approx(n_targets / 3)


def test_full_top_k_with_more_targets_than_k_gives_one_except_recall():
    hits = torch.ones(1, 4, dtype=torch.bool)
    result = topk_metrics(hits, torch.tensor([10]), ks=(4,))
    assert result["ndcg@4"].item() == pytest.approx(1.0)
    assert result["map@4"].item() == pytest.approx(1.0)
    assert result["precision@4"].item() == pytest.approx(1.0)
    assert result["recall@4"].item() == pytest.approx(0.4)


def test_k_smaller_than_hits_width_uses_only_the_first_k_ranks():
    hits = torch.tensor([[0, 0, 1, 1, 1]], dtype=torch.bool)
    result = topk_metrics(hits, torch.tensor([3]), ks=(2,))
    assert all(values.item() == 0.0 for values in result.values())


def test_metric_keys_are_stable_and_sorted_by_k():
    assert metric_keys((20, 5, 10)) == [
        f"{name}@{k}" for name in METRIC_NAMES for k in (5, 10, 20)
    ]
    assert METRIC_NAMES == ("recall", "precision", "map", "ndcg")


@pytest.mark.parametrize("ks", [(), (0,), (5,)])
def test_invalid_ks_are_rejected(ks):
    with pytest.raises(ValueError, match="k must lie in"):
        topk_metrics(torch.zeros(2, 4, dtype=torch.bool), torch.tensor([1, 1]), ks=ks)


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="n_targets"):
        topk_metrics(torch.zeros(2, 4, dtype=torch.bool), torch.tensor([1, 1, 1]), ks=(2,))
    with pytest.raises(ValueError, match="hits must be"):
        topk_metrics(torch.zeros(4, dtype=torch.bool), torch.tensor([1]), ks=(2,))

"""DualGNN specifics: the user co-occurrence graph, its per-epoch padding, propagation, fusion, loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from testing_support import shared_data_folder
from mrdib.backbones import get_backbone
from mrdib.backbones.base import BPRBatch, bpr_loss
from mrdib.backbones.dualgnn import pad_by_resampling, user_cooccurrence_topk, user_graph_weights
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError

# 5 users x 4 items: u0 {0, 1, 3}, u1 {0, 1}, u2 {1, 2}, u3 {3}, u4 {2}. Shared items:
# u0-u1 2, u0-u2 1, u0-u3 1, u1-u2 1, u2-u4 1, every other pair 0.
TINY_PAIRS = np.array([[0, 0], [0, 1], [0, 3], [1, 0], [1, 1], [2, 1], [2, 2], [3, 3], [4, 2]])


def tiny_data(feature_dims: dict[str, int] | None = None) -> InteractionData:
    rng = np.random.default_rng(0)
    dims = feature_dims or {"image": 6, "text": 5}
    features = {m: rng.normal(size=(4, d)).astype(np.float32) for m, d in dims.items()}
    empty = np.zeros((0, 2), dtype=np.int64)
    return InteractionData("tiny", 5, 4, TINY_PAIRS, empty, empty, features)


def build(data: InteractionData, **params):
    torch.manual_seed(0)
    return get_backbone("dualgnn")(data, embedding_size=8, **params)


def csr(pairs: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_users, n_items))


def brute_force_topk(matrix: sp.csr_matrix, k: int):
    """The same table from a dense co-occurrence matrix and a per-user sort (the definition)."""
    binary = (matrix.toarray() > 0).astype(np.int64)
    shared = binary @ binary.T
    np.fill_diagonal(shared, 0)
    table = []
    for u in range(len(shared)):
        others = [(-shared[u, v], v) for v in range(len(shared)) if shared[u, v] > 0]
        table.append([(v, -c) for c, v in sorted(others)[:k]])
    return table


def test_cooccurrence_topk_on_a_hand_made_example():
    neighbours, counts, candidates = user_cooccurrence_topk(csr(TINY_PAIRS, 5, 4), k=2)
    assert candidates.tolist() == [2, 2, 2, 1, 1]
    assert neighbours[0].tolist() == [1, 2] and counts[0].tolist() == [2.0, 1.0]  # u0: u1 (2), then u2 < u3
    assert neighbours[1].tolist() == [0, 2] and counts[1].tolist() == [2.0, 1.0]
    assert neighbours[2].tolist() == [0, 1] and counts[2].tolist() == [1.0, 1.0]  # ties: smaller index first
    assert neighbours[3, 0] == 0 and counts[3].tolist() == [1.0, 0.0]  # one real slot, one padding slot
    assert neighbours[4, 0] == 2 and counts[4, 0] == 1.0


@pytest.mark.parametrize("max_block_entries", [1, 50, 10_000_000])
def test_cooccurrence_topk_matches_brute_force_whatever_the_block_size(max_block_entries):
    rng = np.random.default_rng(1)
    pairs = np.stack([rng.integers(0, 60, 400), rng.integers(0, 25, 400)], axis=1)  # repeats included
    matrix = csr(pairs, 61, 25)  # user 60 has no interactions
    neighbours, counts, candidates = user_cooccurrence_topk(matrix, k=7, max_block_entries=max_block_entries)
    for u, expected in enumerate(brute_force_topk(matrix, 7)):
        n = len(expected)
        assert candidates[u] == n
        assert list(zip(neighbours[u, :n].tolist(), counts[u, :n].long().tolist())) == expected
        assert (counts[u, n:] == 0).all()
    assert candidates[60] == 0


def test_user_graph_weights_softmax_mean_and_empty_rows():
    counts = torch.tensor([[3.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    valid = torch.tensor([[True, True, False], [True, False, False], [False, False, False]])
    soft = user_graph_weights(counts, valid, "softmax")
    assert torch.allclose(soft[0], torch.tensor([math.e ** 2 / (math.e ** 2 + 1), 1 / (math.e ** 2 + 1), 0.0]))
    assert soft[1].tolist() == [1.0, 0.0, 0.0] and soft[2].tolist() == [0.0, 0.0, 0.0]
    mean = user_graph_weights(counts, valid, "mean")
    assert mean[0].tolist() == [0.5, 0.5, 0.0] and mean[2].tolist() == [0.0, 0.0, 0.0]


def test_padding_keeps_real_slots_and_draws_the_rest_from_them():
    torch.manual_seed(0)
    candidates = torch.tensor([4, 2, 1, 0])
    slots = pad_by_resampling(candidates, 4)
    assert slots[0].tolist() == [0, 1, 2, 3]
    assert slots[1, :2].tolist() == [0, 1] and ((slots[1, 2:] >= 0) & (slots[1, 2:] < 2)).all()
    assert slots[2].tolist() == [0, 0, 0, 0] and slots[3].tolist() == [0, 0, 0, 0]


def test_pre_epoch_resamples_the_training_graph_and_leaves_evaluation_alone():
    model = build(tiny_data(), k=3)
    eval_graph = model.eval_user_graph.to_dense()
    # Evaluation: softmax over the real co-occurring users only; u0's are u1 (2), u2 (1), u3 (1).
    z = math.e ** 2 + 2 * math.e
    assert torch.allclose(eval_graph[0], torch.tensor([0, math.e ** 2 / z, math.e / z, math.e / z, 0]))
    assert torch.allclose(eval_graph.sum(1), torch.ones(5))
    graphs = []
    for epoch in range(1, 30):
        model.pre_epoch(epoch)
        graphs.append(model.train_user_graph.to_dense())
    assert all(torch.allclose(g.sum(1), torch.ones(5)) for g in graphs)
    assert all(torch.equal(g[0], eval_graph[0]) for g in graphs)  # u0 has k candidates: no padding
    assert any(not torch.equal(g[1], graphs[0][1]) for g in graphs)  # u1 has 2 of 3: its padding is redrawn
    assert all((g[3] > 0).tolist() == [True, False, False, False, False] for g in graphs)  # u3's only one: u0
    assert torch.equal(model.eval_user_graph.to_dense(), eval_graph)


def test_propagation_sums_the_hops_over_the_normalised_graph():
    model = build(tiny_data(), n_layers=2)
    dense = model.adjacency.to_dense()
    degree = torch.tensor([3.0, 2, 2, 1, 1, 2, 3, 2, 2])  # users 0..4, items 0..3
    assert torch.allclose(dense[0, 5], 1 / torch.sqrt(degree[0] * degree[5]))
    assert torch.allclose(dense, dense.T)
    x = torch.randn(9, 8)
    assert torch.allclose(model.propagate(x), x + dense @ x + dense @ dense @ x, atol=1e-6)
    mean_model = build(tiny_data(), aggr_mode="mean")
    assert torch.allclose(mean_model.adjacency.to_dense().sum(1), torch.ones(9))


def test_fusion_uses_per_user_softmax_weights_and_the_user_graph():
    data = tiny_data({"video": 6, "audio": 5, "words": 3})
    model = build(data)
    model.eval()
    with torch.no_grad():
        model.user_modal_logits.zero_()
        model.user_modal_logits[:, 1] = 50.0  # every user: all weight on the second modality
        encoded = model.encode()
        fused = model.fuse(encoded)
    audio_users = encoded.extras["modal_users"]["audio"]
    expected_users = audio_users + model.eval_user_graph.to_dense() @ audio_users
    assert torch.allclose(fused.users, expected_users, atol=1e-5)
    assert torch.allclose(fused.items, sum(encoded.modal_items.values()), atol=1e-6)
    assert all(encoded.modal_items[m].shape == (4, 8) for m in data.modalities)


def test_loss_is_log2_bpr_plus_penalty_and_reaches_every_parameter():
    batch = BPRBatch(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([3, 2, 0]))
    plain = build(tiny_data(), reg_weight=0.0)
    fused = plain.forward_fused()
    users = fused.users[batch.users]
    ranking = bpr_loss((users * fused.items[batch.pos_items]).sum(-1), (users * fused.items[batch.neg_items]).sum(-1))
    assert torch.allclose(plain.loss(fused, batch), ranking / math.log(2))

    model = build(tiny_data(), reg_weight=0.1)
    model.pre_epoch(1)
    loss = model.loss(model.forward_fused(), batch)
    penalty = sum((e.preference.detach()[batch.users] ** 2).mean() for e in model.encoders.values())
    penalty = penalty + (model.user_modal_logits.detach() ** 2).mean()
    fused = model.forward_fused()
    users = fused.users[batch.users]
    ranking = bpr_loss((users * fused.items[batch.pos_items]).sum(-1), (users * fused.items[batch.neg_items]).sum(-1))
    assert penalty > 0 and torch.allclose(loss, ranking / math.log(2) + 0.1 * penalty, atol=1e-6)
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_unknown_settings_are_config_errors():
    for params in ({"aggr_mode": "max"}, {"construction": "cat_mlp"}, {"user_aggr_mode": "sum"}, {"k": 0}):
        with pytest.raises(ConfigError):
            build(tiny_data(), **params)


@pytest.mark.real_data
def test_cooccurrence_on_baby_matches_per_user_counts():
    from mrdib.data import load_mmrec

    data = load_mmrec(shared_data_folder("baby"))
    neighbours, counts, candidates = user_cooccurrence_topk(data.train_csr, 40)
    binary = (data.train_csr > 0).astype(np.float32).tocsr()
    for u in np.random.default_rng(0).choice(data.n_users, 25, replace=False):
        shared = np.asarray((binary[u] @ binary.T).todense()).ravel()
        shared[u] = 0
        n = int(candidates[u])
        assert n == min(40, int((shared > 0).sum()))
        assert np.array_equal(counts[u, :n].numpy(), shared[neighbours[u, :n].numpy()])
        assert counts[u, n - 1] >= np.sort(shared)[::-1][n - 1]  # nothing larger was left out

"""FREEDOM: modality weights, the frozen item graph, degree-sensitive pruning and the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from testing_support import shared_data_folder
from mrdib.backbones.base import BPRBatch
from mrdib.backbones.freedom import FREEDOM, frozen_item_graph, resolve_modality_weights
from mrdib.core.errors import ConfigError


def test_modality_weights_by_name_with_equal_share_fallback():
    assert resolve_modality_weights(["image", "text"], None) == pytest.approx({"image": 0.1, "text": 0.9})
    assert resolve_modality_weights(["text", "image"], None) == pytest.approx({"text": 0.9, "image": 0.1})
    # audio is unnamed: equal share 1/2, then normalised with image's 0.1
    assert resolve_modality_weights(["image", "audio"], None) == pytest.approx({"image": 1 / 6, "audio": 5 / 6})
    assert resolve_modality_weights(["a", "b", "c"], None) == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    assert resolve_modality_weights(["text"], None) == pytest.approx({"text": 1.0})
    assert resolve_modality_weights(["image", "audio"], {"image": 1, "audio": 3}) == pytest.approx(
        {"image": 0.25, "audio": 0.75})
    with pytest.raises(ConfigError):
        resolve_modality_weights(["image", "text"], {"image": -1.0})


def test_frozen_item_graph_mixes_the_modality_knn_graphs():
    # image: items 0, 1 alike, 2 apart; text: items 1, 2 alike, 0 apart (k = 2 with self)
    image = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    text = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.1]])
    graph = frozen_item_graph({"image": image, "text": text}, {"image": 0.25, "text": 0.75}, knn_k=2).to_dense()
    image_knn = torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 1, 1]]) / 2  # item 2's 2nd neighbour: 1 (cos .1) over 0 (0)
    text_knn = torch.tensor([[1.0, 0, 1], [0, 1, 1], [0, 1, 1]]) / 2
    torch.testing.assert_close(graph, 0.25 * image_knn + 0.75 * text_knn)
    torch.testing.assert_close(graph.sum(1), torch.ones(3))


def build(data, **params) -> FREEDOM:
    torch.manual_seed(0)
    return FREEDOM(data, embedding_size=8, **params)


def dense_reference_fuse(model: FREEDOM, data, knn_k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """FREEDOM's evaluation forward written densely, straight from the paper's equations."""
    n_u, n_i = data.n_users, data.n_items
    interactions = torch.zeros(n_u, n_i)
    interactions[data.train[:, 0], data.train[:, 1]] = 1.0
    adjacency = torch.zeros(n_u + n_i, n_u + n_i)
    adjacency[:n_u, n_u:], adjacency[n_u:, :n_u] = interactions, interactions.T
    degree = adjacency.sum(1)
    inv_sqrt = torch.where(degree > 0, degree.clamp_min(1).rsqrt(), torch.zeros_like(degree))
    norm_adj = inv_sqrt[:, None] * adjacency * inv_sqrt[None, :]
    item_graph = torch.zeros(n_i, n_i)
    for m, weight in model.modality_weights.items():
        unit = torch.nn.functional.normalize(torch.as_tensor(data.features[m]), dim=1)
        neighbours = (unit @ unit.T).topk(knn_k, dim=1).indices
        item_graph += weight * torch.zeros(n_i, n_i).scatter_(1, neighbours, 1.0 / knn_k)
    ego = torch.cat([model.user_embedding, model.item_id_embedding])
    layers = [ego, norm_adj @ ego, norm_adj @ norm_adj @ ego]
    mean = torch.stack(layers).mean(0)
    return mean[:n_u], mean[n_u:] + item_graph @ model.item_id_embedding


def test_evaluation_forward_matches_a_dense_reference(small_data):
    model = build(small_data).eval()
    with torch.no_grad():
        fused = model.forward_fused()
        users, items = dense_reference_fuse(model, small_data)
    assert fused.users.shape == (small_data.n_users, 8) and fused.items.shape == (small_data.n_items, 8)
    torch.testing.assert_close(fused.users, users, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(fused.items, items, atol=1e-5, rtol=1e-4)


def test_encode_returns_one_projection_per_modality(small_data):
    encoded = build(small_data).encode()
    assert list(encoded.modal_items) == small_data.modalities
    assert all(z.shape == (small_data.n_items, 8) for z in encoded.modal_items.values())


def test_pre_epoch_prunes_and_renormalises_the_user_item_graph(small_data):
    model = build(small_data, dropout=0.8)
    n_edges = len(np.unique(small_data.train, axis=0))
    model.pre_epoch(1)
    pruned = model.pruned_adj.to_sparse_coo().coalesce()
    first = pruned.indices().clone()
    assert pruned._nnz() == 2 * int(n_edges * 0.2)
    dense = pruned.to_dense()
    torch.testing.assert_close(dense, dense.T)
    # every kept edge is a training edge, weighted 1/sqrt(deg_u deg_i) in the pruned graph
    rows, cols = pruned.indices()
    user_side = rows < small_data.n_users
    users, items = rows[user_side], cols[user_side] - small_data.n_users
    train_edges = set(map(tuple, small_data.train.tolist()))
    assert all((u, i) in train_edges for u, i in zip(users.tolist(), items.tolist()))
    degree = (dense > 0).sum(1).float()
    expected = (degree[rows] * degree[cols]).rsqrt()
    torch.testing.assert_close(pruned.values(), expected)
    model.pre_epoch(2)
    assert not torch.equal(model.pruned_adj.to_sparse_coo().coalesce().indices(), first)


def test_training_uses_the_pruned_graph_and_evaluation_the_full_one(small_data):
    model = build(small_data)
    model.pre_epoch(1)
    with torch.no_grad():
        train_items = model.forward_fused().items
        model.eval()
        eval_items = model.forward_fused().items
        assert torch.equal(eval_items, model.forward_fused().items)
    assert not torch.allclose(train_items, eval_items)
    model.train()
    model.dropout = 0.0
    model.pre_epoch(2)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_fused().items, eval_items)


def batch_of(data, size: int = 64) -> BPRBatch:
    generator = torch.Generator().manual_seed(1)
    rows = torch.randint(len(data.train), (size,), generator=generator)
    pairs = torch.as_tensor(data.train)[rows]
    return BPRBatch(pairs[:, 0], pairs[:, 1], torch.randint(data.n_items, (size,), generator=generator))


def test_auxiliary_modality_bpr_terms_are_added_with_reg_weight(small_data):
    batch = batch_of(small_data)
    with_aux = build(small_data, reg_weight=0.5)
    without = build(small_data, reg_weight=0.0)
    with_aux.eval(), without.eval()  # the full graph: no sampling, so both see the same one
    fused = with_aux.forward_fused()
    users = fused.users[batch.users]
    expected_aux = sum(
        torch.nn.functional.softplus(((users * z[batch.neg_items]).sum(-1) - (users * z[batch.pos_items]).sum(-1))).mean()
        for z in fused.extras["modal_items"].values())
    base = without.loss(without.forward_fused(), batch)
    loss = with_aux.loss(fused, batch)
    assert expected_aux > 0
    torch.testing.assert_close(loss, base + 0.5 * expected_aux)
    loss.backward()
    for m in small_data.modalities:
        assert with_aux.projections[m].weight.grad.abs().sum() > 0
        assert with_aux.raw_features[m].grad.abs().sum() > 0  # features fine-tuned, as in the reference
    without.loss(without.forward_fused(), batch).backward()
    assert all(without.projections[m].weight.grad is None for m in small_data.modalities)


def test_item_id_embeddings_get_gradient_through_the_frozen_item_graph(small_data):
    model = build(small_data, n_ui_layers=0)  # items = item ID + S @ item ID
    model.eval()
    items = model.forward_fused().items
    items[0].sum().backward()
    # item 0's row of S reaches its k nearest neighbours: all get gradient
    neighbours = model.item_graph.to_sparse_coo().coalesce().indices()
    touched = set(neighbours[1, neighbours[0] == 0].tolist()) | {0}
    grads = model.item_id_embedding.grad.abs().sum(1)
    assert set(torch.nonzero(grads).flatten().tolist()) == touched and len(touched) > 1


def test_settings_are_validated(small_data):
    with pytest.raises(ConfigError):
        FREEDOM(small_data, embedding_size=16, feat_embed_dim=64)
    with pytest.raises(ConfigError):
        FREEDOM(small_data, embedding_size=16, dropout=1.0)
    FREEDOM(small_data, embedding_size=16, feat_embed_dim=16)


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["tiktok"])
def test_freedom_builds_and_steps_on_real_data(name):
    from mrdib.data import load_mmrec

    data = load_mmrec(shared_data_folder(name))
    model = FREEDOM(data, embedding_size=16)
    assert set(model.modality_weights) == set(data.modalities)
    assert math.isclose(sum(model.modality_weights.values()), 1.0)
    assert model.item_graph.shape == (data.n_items, data.n_items)
    assert model.item_graph.values().numel() <= 10 * data.n_items * len(data.modalities)
    model.pre_epoch(1)
    loss = model.loss(model.forward_fused(), batch_of(data, 256))
    loss.backward()
    assert torch.isfinite(loss) and loss > 0

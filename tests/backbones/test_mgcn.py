"""MGCN-specific parts: its weighted kNN graph, the normalised user-item block, the fuser and the loss."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from testing_support import shared_data_folder
from mrdib.backbones.base import BPRBatch
from mrdib.backbones.graphs import normalize_sparse
from mrdib.backbones.mgcn import (MGCN, SparseOperator, _FuseViews, info_nce, normalized_interactions,
                                  weighted_knn_graph)
from mrdib.data.dataset import InteractionData
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic


def batch_of(data: InteractionData, size: int, seed: int = 0) -> BPRBatch:
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(len(data.train), (size,), generator=generator)
    pairs = torch.from_numpy(data.train).long().index_select(0, rows)
    return BPRBatch(pairs[:, 0], pairs[:, 1], torch.randint(data.n_items, (size,), generator=generator))


def build(data: InteractionData, **params) -> MGCN:
    torch.manual_seed(0)
    return MGCN(data, embedding_size=16, **params)


def test_weighted_knn_graph_keeps_cosine_weights_and_normalises_by_row_sums():
    features = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    graph = weighted_knn_graph(features, k=2, chunk_size=3).to_dense()
    # each row: itself (cosine 1) and its most similar other row
    expected = torch.tensor([[1.0, 0.8, 0.0, 0.0],
                             [0.8, 1.0, 0.0, 0.0],
                             [0.0, 0.0, 1.0, 0.8],
                             [0.0, 0.0, 0.8, 1.0]])
    assert torch.allclose(graph, expected)
    assert torch.allclose(graph, weighted_knn_graph(features, k=2, chunk_size=4096).to_dense())
    normalised = normalize_sparse(weighted_knn_graph(features, k=2), "sym").to_dense()
    row_sums = expected.sum(1)
    assert torch.allclose(normalised, expected / torch.sqrt(row_sums[:, None] * row_sums[None, :]))


def test_normalized_interactions_block_is_the_user_item_part_of_the_full_graph():
    users, items = torch.tensor([0, 0, 1]), torch.tensor([0, 2, 2])  # user 0: items 0, 2; user 1: item 2
    adjacency, block = normalized_interactions(users, items, torch.ones(3), n_users=2, n_items=3)
    expected_block = torch.tensor([[1 / math.sqrt(2 * 1), 0.0, 1 / math.sqrt(2 * 2)],
                                   [0.0, 0.0, 1 / math.sqrt(1 * 2)]])
    assert torch.allclose(block.to_dense(), expected_block)
    dense = adjacency.to_dense()
    assert torch.allclose(dense, dense.T) and torch.allclose(dense[:2, 2:], expected_block)
    assert torch.count_nonzero(dense[:2, :2]) == 0 and torch.count_nonzero(dense[2:, 2:]) == 0


def test_sparse_operator_matches_dense_product_and_gradient():
    matrix = torch.tensor([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]]).to_sparse()
    operator = SparseOperator(matrix)
    dense = torch.randn(3, 4, requires_grad=True)
    reference = dense.detach().clone().requires_grad_(True)
    weights = torch.randn(2, 4)
    (operator(dense) * weights).sum().backward()
    (matrix.to_dense() @ reference * weights).sum().backward()
    assert torch.allclose(dense.grad, reference.grad)


def test_info_nce_equals_the_published_formula():
    a, b = torch.randn(5, 8), torch.randn(5, 8)
    na, nb = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(b, dim=1)
    published = -torch.log(torch.exp((na * nb).sum(1) / 0.2) / torch.exp(na @ nb.T / 0.2).sum(1)).mean()
    assert torch.allclose(info_nce(a, b, 0.2), published, atol=1e-5)
    assert info_nce(a, a, 0.2) < info_nce(a, b, 0.2)


@pytest.mark.parametrize("temperature", [0.2, 0.005])  # without and with the row-maximum shift
def test_info_nce_gradients_equal_autograd_through_cross_entropy(temperature):
    """The hand-written backward gives cross_entropy's gradients, for both views and any upstream scale."""
    torch.manual_seed(0)
    a, b = torch.randn(40, 8, requires_grad=True), torch.randn(40, 8, requires_grad=True)
    weight = 0.37  # the loss enters the total with a weight
    (weight * info_nce(a, b, temperature)).backward()
    ra, rb = a.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    na, nb = torch.nn.functional.normalize(ra, dim=1), torch.nn.functional.normalize(rb, dim=1)
    reference = torch.nn.functional.cross_entropy(na @ nb.T / temperature, torch.arange(40))
    (weight * reference).backward()
    assert torch.allclose(info_nce(a, b, temperature), reference, rtol=1e-5, atol=1e-5)
    assert torch.allclose(a.grad, ra.grad, atol=1e-5) and torch.allclose(b.grad, rb.grad, atol=1e-5)
    # large logits (a low temperature) stay finite: the row maximum is subtracted before exp
    assert torch.isfinite(info_nce(a * 100, b, 0.001))


def test_shapes_and_the_views_the_fuser_combines(small_data):
    model = build(small_data)
    encoded = model.encode()
    assert set(encoded.modal_items) == set(small_data.modalities)
    assert all(z.shape == (small_data.n_items, 16) for z in encoded.modal_items.values())
    fused = model.fuse(encoded)
    assert fused.users.shape == (small_data.n_users, 16) and fused.items.shape == (small_data.n_items, 16)
    n_nodes = small_data.n_users + small_data.n_items
    assert fused.extras["side"].shape == fused.extras["content"].shape == (n_nodes, 16)
    assert torch.allclose(torch.cat([fused.users, fused.items]), fused.extras["content"] + fused.extras["side"])
    # the user parts of the modality views are the normalised user-item block times z
    users_of_first = model.ui_block.matrix.to_dense() @ encoded.modal_items[small_data.modalities[0]]
    assert users_of_first.abs().sum() > 0


def test_side_view_is_the_published_common_plus_gated_specific_parts(small_data):
    """side = (common + sum_m sigmoid(W_m content + b_m) * (x_m - common)) / (M + 1), x_m the
    modality's user+item view and common their attention-weighted mean, written as in MGCN."""
    model = build(small_data)
    encoded = model.encode()
    fused = model.fuse(encoded)
    with torch.no_grad():
        content = fused.extras["content"]
        views = [torch.cat([model.ui_block(encoded.modal_items[m]), encoded.modal_items[m]]) for m in model.modalities]
        scores = torch.cat([model.query_common(v) for v in views], dim=1)  # [n_nodes, M]
        attention = torch.softmax(scores, dim=1)
        common = sum(attention[:, i:i + 1] * v for i, v in enumerate(views))
        specific = sum(model.preference_gates[m](content) * (v - common) for m, v in zip(model.modalities, views))
        expected = (common + specific) / (len(views) + 1)
    assert torch.allclose(fused.extras["side"], expected, atol=1e-6)


def test_the_fuser_reads_z_through_the_item_graph_and_user_block(small_data):
    model = build(small_data)
    model.eval()
    encoded = model.encode()
    first = small_data.modalities[0]
    z = encoded.modal_items[first].detach().requires_grad_(True)
    encoded.modal_items[first] = z
    fused = model.fuse(encoded)
    fused.users[0].sum().backward()
    user_items = set(small_data.train[small_data.train[:, 0] == 0, 1].tolist())
    assert set(torch.nonzero(z.grad.abs().sum(1)).flatten().tolist()) == user_items


def test_one_modality_gives_common_equal_to_the_modality_and_no_specific_part(small_data):
    first = small_data.modalities[0]
    data = dataclasses.replace(small_data, features={first: small_data.features[first]})
    model = build(data)
    encoded = model.encode()
    z = encoded.modal_items[data.modalities[0]]
    fused = model.fuse(encoded)
    modal_nodes = torch.cat([model.ui_block(z), z])
    assert torch.allclose(fused.extras["side"], modal_nodes / 2, atol=1e-6)


def test_three_modalities_train_a_step():
    data = generate_synthetic(SyntheticConfig(n_users=80, n_items=50, n_modalities=3, seed=2))
    model = build(data)
    loss = model.loss(model.forward_fused(), batch_of(data, 64))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(model.projections[m].weight.grad.abs().sum() > 0 for m in data.modalities)


def test_loss_terms_are_active_and_weighted(small_data):
    batch = batch_of(small_data, 128)
    model = build(small_data)
    fused = model.forward_fused()
    contrastive = model.contrastive_loss(fused, batch)
    assert contrastive > 0
    full = model.loss(fused, batch)
    model.cl_weight, model.reg_weight = 0.0, 0.0
    bare = model.loss(fused, batch)
    model.cl_weight = 0.01
    assert torch.allclose(model.loss(fused, batch) - bare, 0.01 * contrastive)
    assert full > model.loss(fused, batch)  # the L2 term adds a positive amount


def test_features_are_fine_tuned_without_touching_the_data(small_data):
    before = {m: f.copy() for m, f in small_data.features.items()}
    model = build(small_data)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model.loss(model.forward_fused(), batch_of(small_data, 128)).backward()
    optimizer.step()
    for m in small_data.modalities:
        assert not torch.equal(model.raw_features[m].detach(), torch.from_numpy(before[m]))
        assert np.array_equal(small_data.features[m], before[m])
    frozen = build(small_data, finetune_features=False)
    assert not any(name.startswith("raw_features") for name, _ in frozen.named_parameters())


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["tiktok"])
def test_mgcn_builds_and_steps_on_real_data(name):
    from mrdib.data import load_mmrec

    data = load_mmrec(shared_data_folder(name))
    model = MGCN(data, embedding_size=16)
    for m in data.modalities:
        graph = model.item_graphs[m].matrix
        assert graph.shape == (data.n_items, data.n_items) and graph.values().numel() <= 10 * data.n_items
    loss = model.loss(model.forward_fused(), batch_of(data, 256))
    loss.backward()
    assert torch.isfinite(loss) and loss > 0


@pytest.mark.parametrize("n_modalities", [1, 2, 3])
def test_the_fused_side_view_has_autograds_values_and_gradients(n_modalities):
    generator = torch.Generator().manual_seed(n_modalities)
    views = torch.randn(7, n_modalities, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    attention = torch.softmax(torch.randn(7, n_modalities, generator=generator, dtype=torch.float64), 1)
    gates = torch.rand(7, n_modalities, 5, generator=generator, dtype=torch.float64)
    attention.requires_grad_(True)
    gates.requires_grad_(True)

    def published(x, a, g):
        common = (a.unsqueeze(-1) * x).sum(1)
        return (common + (g * (x - common.unsqueeze(1))).sum(1)) / (x.shape[1] + 1)

    upstream = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    expected = torch.autograd.grad((published(views, attention, gates) * upstream).sum(), (views, attention, gates))
    fused = _FuseViews.apply(views, attention, gates)
    assert torch.allclose(fused, published(views, attention, gates), atol=1e-12)
    got = torch.autograd.grad((fused * upstream).sum(), (views, attention, gates))
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, atol=1e-12)
    assert torch.autograd.gradcheck(_FuseViews.apply, (views, attention, gates))

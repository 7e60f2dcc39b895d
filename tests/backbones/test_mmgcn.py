"""MMGCN specifics: the aggregation graph, layer structure, trained ID embeddings, fusion, loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mrdib.backbones import get_backbone
from mrdib.backbones.base import BPRBatch, bpr_loss
from mrdib.backbones.mmgcn import GCNLayer, aggregation_adjacency
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError


def tiny_data(feature_dims: dict[str, int] | None = None) -> InteractionData:
    """3 users, 3 items; item 2 has no training interaction."""
    train = np.array([[0, 0], [0, 1], [1, 0], [2, 1], [2, 1]])  # (2, 1) twice: counts once
    rng = np.random.default_rng(0)
    dims = feature_dims or {"image": 5, "text": 4}
    features = {m: rng.normal(size=(3, d)).astype(np.float32) for m, d in dims.items()}
    empty = np.zeros((0, 2), dtype=np.int64)
    return InteractionData("tiny", 3, 3, train, empty, empty, features)


def build(data: InteractionData, **params):
    torch.manual_seed(0)
    return get_backbone("mmgcn")(data, embedding_size=8, **params)


def batch() -> BPRBatch:
    return BPRBatch(torch.tensor([0, 1, 2]), torch.tensor([1, 0, 1]), torch.tensor([2, 2, 0]))


def test_mean_aggregation_averages_each_nodes_neighbours():
    dense = aggregation_adjacency(tiny_data(), "mean").to_dense()
    # nodes: users 0..2, items 3..5; user 0 - items 0, 1; user 1 - item 0; user 2 - item 1
    expected = torch.zeros(6, 6)
    expected[0, [3, 4]] = 0.5
    expected[1, 3] = 1.0
    expected[2, 4] = 1.0
    expected[3, [0, 1]] = 0.5
    expected[4, [0, 2]] = 0.5
    assert torch.allclose(dense, expected)
    binary = aggregation_adjacency(tiny_data(), "add").to_dense()
    assert torch.equal(binary, (expected > 0).float())
    with pytest.raises(ConfigError):
        aggregation_adjacency(tiny_data(), "max")


def test_concatenation_layer_equals_the_concatenated_formula():
    torch.manual_seed(0)
    layer = GCNLayer(5, 4, concat=True)
    adjacency = aggregation_adjacency(tiny_data(), "mean")
    x, ids = torch.randn(6, 5), torch.randn(6, 4)
    h = F.leaky_relu(adjacency.to_dense() @ x @ layer.conv_weight)
    x_hat = F.leaky_relu(layer.self_linear(x)) + ids
    w_g = torch.cat([layer.combine_neighbours.weight, layer.combine_itself.weight], dim=1)  # [4, 5 + 4]
    expected = F.leaky_relu(torch.cat([h, x_hat], dim=1) @ w_g.T + layer.combine_neighbours.bias)
    assert torch.allclose(layer(x, adjacency, adjacency.t(), ids), expected, atol=1e-6)
    additive = GCNLayer(5, 4, concat=False)
    assert additive.combine_itself is None and additive.combine_neighbours.weight.shape == (4, 5)


def test_layer_count_follows_the_setting_and_changes_the_output():
    data = tiny_data()
    one, three = build(data, n_layers=1), build(data, n_layers=3)
    assert all(len(gcn.layers) == 1 for gcn in one.gcns.values())
    assert all(len(gcn.layers) == 3 for gcn in three.gcns.values())
    assert not torch.allclose(one.encode().modal_items["image"], three.encode().modal_items["image"])
    with pytest.raises(ConfigError):
        build(data, n_layers=0)


def test_encode_shapes_and_fusion_is_the_mean_over_modalities():
    data = tiny_data()
    model = build(data)
    encoded = model.encode()
    assert set(encoded.modal_items) == {"image", "text"}
    for m in data.modalities:
        assert encoded.modal_items[m].shape == (3, 8)
        assert encoded.extras["modal_users"][m].shape == (3, 8)
    fused = model.fuse(encoded)
    assert torch.allclose(fused.items, (encoded.modal_items["image"] + encoded.modal_items["text"]) / 2)
    users = encoded.extras["modal_users"]
    assert torch.allclose(fused.users, (users["image"] + users["text"]) / 2)
    summed = build(data, modal_fusion="sum").forward_fused()
    assert torch.allclose(summed.items, 2 * fused.items, atol=1e-6)


def test_id_embeddings_and_preferences_are_trained():
    """The public versions create both as plain tensors that never get a gradient."""
    model = build(tiny_data())
    model.loss(model.forward_fused(), batch()).backward()
    assert model.id_embedding.grad is not None and model.id_embedding.grad.abs().sum() > 0
    for gcn in model.gcns.values():
        assert gcn.preference.grad is not None and gcn.preference.grad.abs().sum() > 0
    names = {name for name, _ in model.named_parameters()}
    assert "id_embedding" in names and "gcns.image.preference" in names


def test_only_named_modalities_wider_than_dim_latent_are_projected():
    data = tiny_data({"video": 12, "audio": 3, "words": 20})
    model = build(data, dim_latent=6, project_modalities=["video", "audio"])
    assert model.projected == {"video"}  # audio is narrower than dim_latent, words is not named
    assert model.gcns["video"].preference.shape == (3, 6)
    assert model.gcns["audio"].preference.shape == (3, 3)
    assert model.gcns["words"].preference.shape == (3, 20)
    assert set(model.encode().modal_items) == {"video", "audio", "words"}


def test_loss_is_bpr_plus_the_published_penalty():
    model = build(tiny_data(), reg_weight=0.5)
    fused = model.forward_fused()
    b = batch()
    users = fused.users[b.users]
    ranking = bpr_loss((users * fused.items[b.pos_items]).sum(-1), (users * fused.items[b.neg_items]).sum(-1))
    ids = model.id_embedding.detach()
    user_part = ids[b.users].repeat_interleave(2, dim=0)
    item_part = ids[torch.stack([b.pos_items, b.neg_items], dim=1).reshape(-1) + 3]
    penalty = (user_part ** 2 + item_part ** 2).mean()
    penalty = penalty + sum((gcn.preference.detach() ** 2).mean() for gcn in model.gcns.values())
    assert penalty > 0
    assert torch.allclose(model.loss(fused, b), ranking + 0.5 * penalty, atol=1e-6)
    no_id = build(tiny_data(), has_id=False, reg_weight=0.0)
    assert no_id.id_embedding is None
    assert torch.isfinite(no_id.loss(no_id.forward_fused(), b))


def test_items_without_interactions_get_finite_representations():
    model = build(tiny_data())
    model.eval()
    with torch.no_grad():
        fused = model.forward_fused()
    assert torch.isfinite(fused.items).all() and torch.isfinite(fused.users).all()

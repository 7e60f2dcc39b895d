"""Sparse graph helpers against hand-computed values on tiny graphs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mrdib.backbones.graphs import (
    bipartite_edge_weights,
    degree_sensitive_edge_sample,
    knn_item_graph,
    lightgcn_propagate,
    normalize_sparse,
    normalized_bipartite_adjacency,
    sparse_matmul,
    to_csr,
    transpose_sparse,
    unique_edges,
)

R2 = 1 / math.sqrt(2)


def test_bipartite_adjacency_is_symmetric_normalised_by_hand():
    # users 0, 1; items 0, 1, 2 (item 2 has no edge); (0, 1) appears twice and counts once.
    pairs = np.array([[0, 0], [0, 1], [1, 1], [0, 1]])
    adj = normalized_bipartite_adjacency(pairs, n_users=2, n_items=3).to_dense()
    # deg u0 = 2, u1 = 1, i0 = 1, i1 = 2: weights 1/sqrt(2*1), 1/sqrt(2*2), 1/sqrt(1*2)
    expected = torch.zeros(5, 5)
    expected[0, 2], expected[0, 3], expected[1, 3] = R2, 0.5, R2
    expected = expected + expected.T
    torch.testing.assert_close(adj, expected)


def test_edge_weights_and_unique_edges():
    users, items = unique_edges(np.array([[1, 0], [0, 0], [1, 0]]))
    assert users.tolist() == [0, 1] and items.tolist() == [0, 0]
    # item 0 has degree 2, each user degree 1
    torch.testing.assert_close(bipartite_edge_weights(users, items, 2, 1), torch.tensor([R2, R2]))


def test_normalize_sparse_modes_by_hand():
    dense = torch.tensor([[1.0, 1.0], [0.0, 2.0]])  # row sums 2, 2; column sums 1, 3
    adj = dense.to_sparse()
    torch.testing.assert_close(normalize_sparse(adj, "sym").to_dense(), torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    torch.testing.assert_close(normalize_sparse(adj, "row").to_dense(), torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    torch.testing.assert_close(normalize_sparse(adj, "rowcol").to_dense(),
                               torch.tensor([[R2, 1 / math.sqrt(6)], [0.0, 2 / math.sqrt(6)]]))


def test_normalize_sparse_gives_zero_not_inf_for_zero_degree():
    adj = torch.tensor([[0.0, 0.0], [1.0, 0.0]]).to_sparse()  # row 0 empty: r_0 = 0
    assert torch.equal(normalize_sparse(adj, "sym").to_dense(), torch.zeros(2, 2))
    with pytest.raises(ValueError):
        normalize_sparse(adj, "nope")


def angle_features(degrees: list[float]) -> torch.Tensor:
    radians = torch.tensor(degrees) * math.pi / 180
    return torch.stack([radians.cos(), radians.sin()], dim=1) * torch.tensor([[1.0], [3.0], [0.5], [2.0]])


def test_knn_graph_picks_top_k_cosine_neighbours_in_any_chunking():
    # angles 0, 10, 25, 90 degrees (norms differ: cosine ignores them); k = 2 with self:
    # 0 -> {0, 1}; 1 -> {1, 0} (10 < 15 degrees); 2 -> {2, 1}; 3 -> {3, 2}
    features = angle_features([0, 10, 25, 90])
    binary = knn_item_graph(features, k=2, normalization=None).to_dense()
    expected = torch.zeros(4, 4)
    for row, neighbours in enumerate([(0, 1), (1, 0), (2, 1), (3, 2)]):
        expected[row, list(neighbours)] = 1.0
    assert torch.equal(binary, expected)
    assert torch.equal(knn_item_graph(features, k=2, chunk_size=1, normalization=None).to_dense(), expected)
    # MMRec's normalisation of a k-NN graph: every entry 1/k
    torch.testing.assert_close(knn_item_graph(features, k=2, chunk_size=3).to_dense(), expected / 2)


def test_knn_graph_survives_zero_rows_and_large_k():
    features = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    adj = knn_item_graph(features, k=10)
    assert adj._nnz() == 9 and torch.isfinite(adj.values()).all()


def test_lightgcn_propagation_is_the_mean_of_layers():
    adj = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).to_sparse()
    ego = torch.tensor([[1.0], [2.0]])
    # layers [1, 2], [2, 1], [1, 2] -> mean [4/3, 5/3]
    torch.testing.assert_close(lightgcn_propagate(adj, ego, 2), torch.tensor([[4 / 3], [5 / 3]]))
    torch.testing.assert_close(lightgcn_propagate(to_csr(adj), ego, 0), ego)


def test_sparse_matmul_gradient_uses_the_transpose():
    generator = torch.Generator().manual_seed(0)
    dense = torch.rand(5, 4, generator=generator) * (torch.rand(5, 4, generator=generator) > 0.5)
    adj = dense.to_sparse()
    x = torch.randn(4, 3, generator=generator, requires_grad=True)
    weights = torch.randn(5, 3, generator=generator)
    (sparse_matmul(to_csr(adj), x, to_csr(transpose_sparse(adj))) * weights).sum().backward()
    fast = x.grad.clone()
    x.grad = None
    ((dense @ x) * weights).sum().backward()
    torch.testing.assert_close(fast, x.grad)


def test_degree_sensitive_sample_is_distinct_and_follows_the_weights():
    weights = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    kept = degree_sensitive_edge_sample(weights, keep_fraction=0.6)
    assert sorted(kept.tolist()) == [0, 2, 3]  # 3 distinct edges, never a zero-weight one
    generator = torch.Generator().manual_seed(0)
    first = torch.stack([degree_sensitive_edge_sample(torch.tensor([0.9, 0.1]), 0.5, generator)
                         for _ in range(2000)])
    assert 0.87 < (first == 0).float().mean().item() < 0.93
    assert degree_sensitive_edge_sample(weights, 0.0).numel() == 0

"""Sparse graph helpers shared by the graph backbones (FREEDOM, MGCN, SOIL).

Everything here is pure torch and sparse: no dense n x n matrix is ever formed, so the
largest data sets (Sports, Clothing: 20k+ items, 35k+ users) fit in memory. Builders return
coalesced COO matrices (easy to inspect, add and re-normalise); convert a matrix used on the
hot path once with `to_csr`, which makes `sparse_matmul` about twice as fast on CPU.

Conventions: a bipartite graph stacks users first, then items: node u is user u, node
n_users + i is item i. Edge lists are int64 index tensors.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

NORMALIZATIONS = ("sym", "rowcol", "row")


# -- products -----------------------------------------------------------------------------
class _SparseMatmul(torch.autograd.Function):
    """adj @ dense whose backward multiplies by a precomputed transpose.

    torch.sparse.mm transposes the sparse matrix in every backward pass; for a matrix that
    is fixed for many steps (or symmetric) that transpose is wasted work.
    """

    @staticmethod
    def forward(ctx, adj: torch.Tensor, adj_transposed: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.adj_transposed = adj_transposed
        return torch.sparse.mm(adj, dense)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return None, None, torch.sparse.mm(ctx.adj_transposed, grad_output)


def sparse_matmul(adj: torch.Tensor, dense: torch.Tensor,
                  adj_transposed: torch.Tensor | None = None) -> torch.Tensor:
    """adj @ dense for a constant sparse `adj` (no gradient flows into adj).

    `adj_transposed` is adj.T in any sparse layout, used for the backward pass; pass `adj`
    itself when adj is symmetric. With None, torch.sparse.mm's own (slower) backward runs.
    """
    if adj_transposed is None or not dense.requires_grad:
        return torch.sparse.mm(adj, dense)
    return _SparseMatmul.apply(adj, adj_transposed, dense)


def lightgcn_propagate(adj: torch.Tensor, ego: torch.Tensor, n_layers: int) -> torch.Tensor:
    """LightGCN: the mean of [ego, A ego, A^2 ego, ..., A^L ego] for a SYMMETRIC sparse A.

    A running sum rather than stack().mean(): a quarter less time forward and backward on CPU.
    """
    layer, total = ego, ego
    for _ in range(n_layers):
        layer = sparse_matmul(adj, layer, adj)
        total = total + layer
    return total / (n_layers + 1)


# -- normalisation ------------------------------------------------------------------------
def _inverse_power(degree: torch.Tensor, power: float) -> torch.Tensor:
    """degree ** -power, with 0 where the degree is 0 (such rows hold no entries anyway)."""
    safe = torch.where(degree > 0, degree, torch.ones_like(degree))
    return torch.where(degree > 0, safe.pow(-power), torch.zeros_like(degree))


def normalize_sparse(adj: torch.Tensor, mode: str = "sym") -> torch.Tensor:
    """Re-weight the entries of a sparse [n, m] matrix by its degrees; returns coalesced COO.

    mode "sym":    a_ij / sqrt(r_i * r_j), r = row sums. The usual D^-1/2 A D^-1/2 for a
                   symmetric A; for a kNN graph it is what MMRec's compute_normalized_laplacian
                   does (LATTICE, FREEDOM, MGCN): every entry of a binary k-NN graph becomes 1/k.
    mode "rowcol": a_ij / sqrt(r_i * c_j), c = column sums: a rectangular user x item matrix
                   normalised as in LightGCN (and FREEDOM's edge weights).
    mode "row":    a_ij / r_i, the random-walk normalisation (rows sum to 1).
    """
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalize_sparse: unknown mode '{mode}' (use one of {', '.join(NORMALIZATIONS)})")
    adj = adj.coalesce()
    rows, cols = adj.indices()
    values = adj.values()
    row_sums = torch.zeros(adj.shape[0], dtype=values.dtype, device=values.device).index_add_(0, rows, values)
    if mode == "row":
        scale = _inverse_power(row_sums, 1.0).index_select(0, rows)
    elif mode == "sym":
        if adj.shape[0] != adj.shape[1]:
            raise ValueError("normalize_sparse: mode 'sym' needs a square matrix (use 'rowcol')")
        inv_sqrt = _inverse_power(row_sums, 0.5)
        scale = inv_sqrt.index_select(0, rows) * inv_sqrt.index_select(0, cols)
    else:
        col_sums = torch.zeros(adj.shape[1], dtype=values.dtype, device=values.device).index_add_(0, cols, values)
        scale = _inverse_power(row_sums, 0.5).index_select(0, rows) * _inverse_power(col_sums, 0.5).index_select(0, cols)
    return torch.sparse_coo_tensor(adj.indices(), values * scale, adj.shape, is_coalesced=True,
                                   check_invariants=False)


# -- user-item graphs ---------------------------------------------------------------------
def unique_edges(pairs: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(users, items) int64 tensors of the distinct (user, item) rows of a [n, 2] pair array."""
    pairs = torch.as_tensor(np.asarray(pairs), dtype=torch.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return pairs[:, 0].clone(), pairs[:, 1].clone()
    width = int(pairs[:, 1].max()) + 1
    keys = torch.unique(pairs[:, 0] * width + pairs[:, 1])  # sorted by (user, item); far faster than dim=0
    return keys // width, keys % width


def bipartite_edge_weights(users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int) -> torch.Tensor:
    """1 / sqrt(deg_u * deg_i) for every edge, degrees counted over these (distinct) edges."""
    user_degree = torch.bincount(users, minlength=n_users).to(torch.float32)
    item_degree = torch.bincount(items, minlength=n_items).to(torch.float32)
    return (_inverse_power(user_degree, 0.5).index_select(0, users)
            * _inverse_power(item_degree, 0.5).index_select(0, items))


def bipartite_adjacency(users: torch.Tensor, items: torch.Tensor, values: torch.Tensor,
                        n_users: int, n_items: int) -> torch.Tensor:
    """The symmetric [(n_u + n_i)]^2 block matrix [[0, R], [R^T, 0]] with R[u, i] = value; COO."""
    item_nodes = items + n_users
    indices = torch.cat([torch.stack([users, item_nodes]), torch.stack([item_nodes, users])], dim=1)
    n_nodes = n_users + n_items
    return torch.sparse_coo_tensor(indices, torch.cat([values, values]), (n_nodes, n_nodes),
                                   check_invariants=False).coalesce()


def normalized_bipartite_adjacency(pairs: np.ndarray | torch.Tensor, n_users: int, n_items: int) -> torch.Tensor:
    """LightGCN's D^-1/2 A D^-1/2 of the user-item graph of `pairs` ([n, 2] (user, item)); COO.

    Duplicate pairs count once; users or items without edges get empty rows.
    """
    users, items = unique_edges(pairs)
    weights = bipartite_edge_weights(users, items, n_users, n_items)
    return bipartite_adjacency(users, items, weights, n_users, n_items)


def degree_sensitive_edge_sample(edge_weights: torch.Tensor, keep_fraction: float,
                                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices of int(E * keep_fraction) distinct edges drawn with probability proportional to
    `edge_weights` (FREEDOM's degree-sensitive pruning uses 1/sqrt(deg_u deg_i), so edges
    between popular nodes are dropped first). Sampling without replacement, vectorised.
    """
    n_keep = int(edge_weights.numel() * keep_fraction)
    if n_keep <= 0:
        return torch.zeros(0, dtype=torch.int64, device=edge_weights.device)
    return torch.multinomial(edge_weights, n_keep, replacement=False, generator=generator)


# -- item-item graphs ---------------------------------------------------------------------
def knn_item_graph(features: torch.Tensor, k: int, chunk_size: int = 2048,
                   normalization: str | None = "sym") -> torch.Tensor:
    """Top-k cosine-similarity neighbours of every row of `features` [n, d], as sparse [n, n].

    Each row i links to its k most similar rows (itself included, as in MMRec); entries are 1
    before normalisation (`normalize_sparse` mode, or None to keep them binary). Similarities
    are computed `chunk_size` rows at a time, so memory stays O(chunk_size * n), never n x n.
    Rows of zeros have similarity 0 to everything (no division by zero).
    """
    n = features.shape[0]
    k = min(k, n)
    with torch.no_grad():
        unit = torch.nn.functional.normalize(features.detach().to(torch.float32), dim=1)  # [n, d]
        neighbours = torch.empty(n, k, dtype=torch.int64)
        for start in range(0, n, chunk_size):
            block = unit[start:start + chunk_size] @ unit.T  # [chunk, n]
            neighbours[start:start + block.shape[0]] = block.topk(k, dim=1).indices
    rows = torch.arange(n).repeat_interleave(k)
    indices = torch.stack([rows, neighbours.reshape(-1)])
    adj = torch.sparse_coo_tensor(indices, torch.ones(n * k), (n, n), check_invariants=False).coalesce()
    return adj if normalization is None else normalize_sparse(adj, normalization)


def to_csr(adj: torch.Tensor) -> torch.Tensor:
    """The CSR form of a sparse matrix (faster products on CPU), without torch's beta warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return adj.to_sparse_csr()


def transpose_sparse(adj: torch.Tensor) -> torch.Tensor:
    """adj.T as a coalesced COO matrix (for `sparse_matmul`'s backward of a non-symmetric graph)."""
    return adj.coalesce().t().coalesce()

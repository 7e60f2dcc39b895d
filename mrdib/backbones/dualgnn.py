"""DualGNN (Wang et al. 2021): per-modality graphs, a per-user fusion, and a user co-occurrence graph.

For each modality m, an MLP maps the item features to d dimensions; together with the user
preference vectors of that modality they are row-normalised and propagated over the user-item
graph, keeping the sum of every hop: x + A x + A^2 x (A = D^-1/2 R D^-1/2, "add" aggregation).
A user's representation is a weighted sum of its per-modality vectors, with per-user weights
(softmax over modalities) learned end to end; it is then smoothed over the user co-occurrence
graph (top-k users who share the most items, weights softmax of the shared-item counts):
u <- u + sum_v w_uv u_v. Items are the sum over modalities. Score: dot product.

MRdIB's z_m are the item rows of modality m after the MLP and the propagation, before fusion.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from mrdib.backbones import register
from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused, bpr_loss, pos_neg_rows
from mrdib.backbones.graphs import (bipartite_adjacency, normalize_sparse, normalized_bipartite_adjacency,
                                    sparse_matmul, to_csr, transpose_sparse, unique_edges)
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError

AGGREGATIONS = ("add", "mean")
CONSTRUCTIONS = ("weighted_sum", "mean")
USER_AGGREGATIONS = ("softmax", "mean")


# -- the user co-occurrence graph -------------------------------------------------------------
def user_cooccurrence_topk(interactions: sp.spmatrix, k: int, max_block_entries: int = 5_000_000
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each user's k users with the most items in common (never itself), by sparse R R^T in row blocks.

    `interactions` is the user x item matrix (any value counts as one interaction). Returns
    neighbours [n_users, k] int64 and their shared-item counts [n_users, k] float32, both sorted
    by count (ties: smaller user index first), and candidates [n_users] int64, the number of
    valid slots per row (users sharing items with fewer than k others have trailing padding
    slots holding index 0 and count 0). Blocks of rows are sized so that a block's co-occurrence
    product holds at most about `max_block_entries` entries; no users x users matrix is formed.
    """
    binary = sp.csr_matrix(interactions, dtype=np.float32, copy=True)
    binary.sum_duplicates()
    binary.data[:] = 1.0
    n_users = binary.shape[0]
    by_item = binary.T.tocsr()
    # An upper bound on each row's entries in R R^T: the sum of its items' degrees.
    item_degree = np.diff(by_item.indptr)
    row_bound = binary @ item_degree.astype(np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(row_bound)])
    neighbours = np.zeros((n_users, k), dtype=np.int64)
    counts = np.zeros((n_users, k), dtype=np.float32)
    candidates = np.zeros(n_users, dtype=np.int64)
    start = 0
    while start < n_users:
        stop = int(np.searchsorted(cumulative, cumulative[start] + max_block_entries, side="right")) - 1
        stop = min(max(stop, start + 1), n_users)
        block = (binary[start:stop] @ by_item).tocoo()  # [stop - start, n_users], shared-item counts
        rows, cols, values = block.row.astype(np.int64), block.col.astype(np.int64), block.data
        not_self = cols != rows + start
        rows, cols, values = rows[not_self], cols[not_self], values[not_self]
        order = np.lexsort((cols, -values, rows))  # by row, then count descending, then user index
        rows, cols, values = rows[order], cols[order], values[order]
        row_starts = np.searchsorted(rows, np.arange(stop - start))
        rank = np.arange(len(rows)) - row_starts[rows]
        keep = rank < k
        neighbours[rows[keep] + start, rank[keep]] = cols[keep]
        counts[rows[keep] + start, rank[keep]] = values[keep]
        candidates[start:stop] = np.minimum(np.bincount(rows, minlength=stop - start), k)
        start = stop
    return torch.from_numpy(neighbours), torch.from_numpy(counts), torch.from_numpy(candidates)


def user_graph_weights(counts: torch.Tensor, valid: torch.Tensor, user_aggr_mode: str) -> torch.Tensor:
    """Aggregation weights over each row's valid slots: softmax of the counts, or uniform; [n, k]."""
    if user_aggr_mode == "softmax":
        weights = torch.softmax(counts.masked_fill(~valid, float("-inf")), dim=1)
    else:
        weights = valid.float() / valid.sum(1, keepdim=True).clamp_min(1)
    return torch.nan_to_num(weights) * valid  # rows without any valid slot (softmax of -inf) -> 0


def user_graph_matrix(neighbours: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The sparse [n_users, n_users] aggregation matrix of a neighbour table (repeats add up); COO."""
    n_users, k = neighbours.shape
    rows = torch.arange(n_users, device=neighbours.device).repeat_interleave(k)
    keep = weights.reshape(-1) > 0
    indices = torch.stack([rows[keep], neighbours.reshape(-1)[keep]])
    return torch.sparse_coo_tensor(indices, weights.reshape(-1)[keep], (n_users, n_users),
                                   check_invariants=False).coalesce()


def pad_by_resampling(candidates: torch.Tensor, k: int) -> torch.Tensor:
    """Slot indices [n_users, k]: slot j itself where j < candidates, else a random valid slot.

    DualGNN fills the k slots of a user with fewer than k co-occurring users by drawing from
    those it has, afresh every epoch. Rows with no candidate get slot 0 (masked out later).
    """
    slots = torch.arange(k, device=candidates.device).expand(len(candidates), k)
    drawn = (torch.rand(len(candidates), k, device=candidates.device) * candidates.clamp_min(1).unsqueeze(1)).long()
    return torch.where(slots < candidates.unsqueeze(1), slots, drawn)


# -- the backbone ------------------------------------------------------------------------------
class ModalityEncoder(nn.Module):
    """A modality's item MLP (features -> 4d -> d) and its user preference vectors."""

    def __init__(self, n_users: int, feature_dim: int, embedding_size: int):
        super().__init__()
        self.preference = nn.Parameter(torch.empty(n_users, embedding_size))
        self.hidden = nn.Linear(feature_dim, 4 * embedding_size)
        self.output = nn.Linear(4 * embedding_size, embedding_size)
        for weight in (self.preference, self.hidden.weight, self.output.weight):
            nn.init.xavier_normal_(weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Row-normalised [users; items] node inputs, [n_users + n_items, d]."""
        items = self.output(F.leaky_relu(self.hidden(features)))
        return F.normalize(torch.cat([self.preference, items]), dim=1)


@register("dualgnn")
class DualGNN(Backbone):
    loss_reads_all_items = False  # items fuse row-wise (sum over modalities); users never read z

    def __init__(self, data: InteractionData, embedding_size: int = 64, reg_weight: float = 0.1,
                 n_layers: int = 2, k: int = 40, aggr_mode: str = "add", construction: str = "weighted_sum",
                 user_aggr_mode: str = "softmax"):
        super().__init__(data, embedding_size)
        for name, value, allowed in (("aggr_mode", aggr_mode, AGGREGATIONS),
                                     ("construction", construction, CONSTRUCTIONS),
                                     ("user_aggr_mode", user_aggr_mode, USER_AGGREGATIONS)):
            if value not in allowed:
                raise ConfigError(f"mrdib/configs/dualgnn.yaml: unknown {name} '{value}' "
                                  f"(use one of {', '.join(allowed)})")
        if k < 1 or n_layers < 0:
            raise ConfigError(f"mrdib/configs/dualgnn.yaml: need k >= 1 and n_layers >= 0, got {k}, {n_layers}")
        self.reg_weight = reg_weight
        self.n_layers = n_layers
        self.k = k
        self.construction = construction
        self.user_aggr_mode = user_aggr_mode

        # The user-item graph, normalised once: symmetric for "add", rows for "mean".
        if aggr_mode == "add":
            adjacency = normalized_bipartite_adjacency(data.train, data.n_users, data.n_items)
            adjacency_t = adjacency
        else:
            users, items = unique_edges(data.train)
            binary = bipartite_adjacency(users, items, torch.ones(len(users)), data.n_users, data.n_items)
            adjacency = normalize_sparse(binary, "row")
            adjacency_t = transpose_sparse(adjacency)
        self.register_buffer("adjacency", to_csr(adjacency), persistent=False)
        self.register_buffer("adjacency_t", to_csr(adjacency_t), persistent=False)

        self.encoders = nn.ModuleDict()
        for name, features in data.feature_tensors().items():
            self.encoders[name] = ModalityEncoder(data.n_users, features.shape[1], embedding_size)
            self.register_buffer(f"feat_{name}", features, persistent=False)
        # Per-user fusion logits; softmax over modalities gives the weights (uniform at the start).
        self.user_modal_logits = nn.Parameter(torch.empty(data.n_users, len(self.modalities)))
        nn.init.xavier_normal_(self.user_modal_logits)

        neighbours, counts, candidates = user_cooccurrence_topk(data.train_csr, k)
        self.register_buffer("neighbours", neighbours, persistent=False)
        self.register_buffer("neighbour_counts", counts, persistent=False)
        self.register_buffer("candidates", candidates, persistent=False)
        # Evaluation reads the co-occurring users themselves (no random padding), so it is
        # deterministic and needs no pre_epoch; training resamples the padding every epoch.
        valid = torch.arange(k).unsqueeze(0) < candidates.unsqueeze(1)
        eval_graph = user_graph_matrix(neighbours, user_graph_weights(counts, valid, user_aggr_mode))
        self.register_buffer("eval_user_graph", to_csr(eval_graph), persistent=False)
        self.register_buffer("eval_user_graph_t", to_csr(transpose_sparse(eval_graph)), persistent=False)
        self.register_buffer("train_user_graph", None, persistent=False)
        self.register_buffer("train_user_graph_t", None, persistent=False)

    def pre_epoch(self, epoch: int) -> None:
        """DualGNN's per-epoch sampling: pad users with fewer than k co-occurring users by redrawing."""
        slots = pad_by_resampling(self.candidates, self.k)
        neighbours = self.neighbours.gather(1, slots)
        counts = self.neighbour_counts.gather(1, slots)
        valid = (self.candidates > 0).unsqueeze(1).expand_as(slots)
        graph = user_graph_matrix(neighbours, user_graph_weights(counts, valid, self.user_aggr_mode))
        self.train_user_graph = to_csr(graph)
        self.train_user_graph_t = to_csr(transpose_sparse(graph))

    def propagate(self, nodes: torch.Tensor) -> torch.Tensor:
        """x + A x + ... + A^L x over the user-item graph."""
        total, hop = nodes, nodes
        for _ in range(self.n_layers):
            hop = sparse_matmul(self.adjacency, hop, self.adjacency_t)
            total = total + hop
        return total

    def encode(self) -> Encoded:
        modal_items, modal_users = {}, {}
        for m in self.modalities:
            nodes = self.propagate(self.encoders[m](getattr(self, f"feat_{m}")))  # [n_users + n_items, d]
            modal_users[m], modal_items[m] = torch.split(nodes, [self.n_users, self.n_items])
        return Encoded(modal_items, {"modal_users": modal_users})

    def fuse(self, encoded: Encoded) -> Fused:
        modal_users = [encoded.extras["modal_users"][m] for m in self.modalities]  # each [n_users, d]
        if self.construction == "weighted_sum":
            weights = torch.softmax(self.user_modal_logits, dim=1)  # [n_users, M]
            weighted = [weights[:, j:j + 1] * u for j, u in enumerate(modal_users)]
            users = sum(weighted[1:], weighted[0])
        else:
            users = sum(modal_users[1:], modal_users[0]) / len(modal_users)
        if self.training and self.train_user_graph is not None:
            users = users + sparse_matmul(self.train_user_graph, users, self.train_user_graph_t)
        else:
            users = users + sparse_matmul(self.eval_user_graph, users, self.eval_user_graph_t)
        modal_items = [encoded.modal_items[m] for m in self.modalities]
        items = sum(modal_items[1:], modal_items[0])
        return Fused(users=users, items=items, extras=encoded.extras)

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        users = fused.users.index_select(0, batch.users)
        pos, neg = pos_neg_rows(fused.items, batch)
        pos_scores, neg_scores = (users * pos).sum(-1), (users * neg).sum(-1)
        ranking = bpr_loss(pos_scores, neg_scores) / math.log(2)  # DualGNN: -mean log2 sigmoid(pos - neg)
        if self.reg_weight == 0:
            return ranking
        penalty = sum(enc.preference.index_select(0, batch.users).pow(2).mean() for enc in self.encoders.values())
        if self.construction == "weighted_sum":
            penalty = penalty + self.user_modal_logits.pow(2).mean()
        return ranking + self.reg_weight * penalty

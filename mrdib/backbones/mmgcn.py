"""MMGCN (Wei et al. 2019): one graph convolution network per modality over the user-item graph.

Each modality m has its own user preference vectors (the user side of that modality's graph)
and item features; L layers of "aggregate the neighbours, then combine with the node itself
and its ID embedding" turn them into per-modality user and item representations, which are
averaged over modalities and scored by a dot product. Per layer l (concatenation variant):

    h     = LeakyReLU(Aggregate_{j in N(i)} x_j W_conv)              # aggregation layer
    x_hat = LeakyReLU(x W_lin + b) + id_embedding                   # the node itself, with its ID
    x     = LeakyReLU([h ; x_hat] W_g + b)     (or LeakyReLU(h W_g + b + x_hat) element-wise)

MRdIB's z_m are the item rows of modality m's GCN output; fusion is the mean over modalities.
Unlike the public versions (original and MMRec), the ID embeddings and user preferences are
trained parameters and `n_layers` layers are built (those versions run 3 whatever it says).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mrdib.backbones import register
from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused, bpr_loss, pos_neg_rows
from mrdib.backbones.graphs import (bipartite_adjacency, normalize_sparse, sparse_matmul, to_csr, transpose_sparse,
                                   unique_edges)
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError

AGGREGATIONS = ("mean", "add")
MODAL_FUSIONS = ("mean", "sum")


def aggregation_adjacency(data: InteractionData, aggr_mode: str) -> torch.Tensor:
    """The [(n_users + n_items)]^2 user-item graph that aggregates neighbours, as coalesced COO.

    "mean": each row divided by the node's degree (the mean of the neighbours' messages);
    "add": binary, the plain sum. Users come first, item i is node n_users + i.
    """
    if aggr_mode not in AGGREGATIONS:
        raise ConfigError(f"mrdib/configs/mmgcn.yaml: unknown aggr_mode '{aggr_mode}' "
                          f"(use one of {', '.join(AGGREGATIONS)})")
    users, items = unique_edges(data.train)
    adjacency = bipartite_adjacency(users, items, torch.ones(len(users)), data.n_users, data.n_items)
    return normalize_sparse(adjacency, "row") if aggr_mode == "mean" else adjacency


class GCNLayer(nn.Module):
    """One MMGCN layer: aggregation of neighbours plus combination with the node and its ID.

    The concatenation variant's [h ; x_hat] W_g is computed as h W_h + x_hat W_x (the same
    function, initialised as one Xavier matrix), which saves copying both halves every step.
    """

    def __init__(self, in_dim: int, out_dim: int, concat: bool):
        super().__init__()
        self.conv_weight = nn.Parameter(torch.empty(in_dim, in_dim))
        self.self_linear = nn.Linear(in_dim, out_dim)
        self.combine_neighbours = nn.Linear(in_dim, out_dim)
        self.combine_itself = nn.Linear(out_dim, out_dim, bias=False) if concat else None
        nn.init.xavier_normal_(self.conv_weight)
        nn.init.xavier_normal_(self.self_linear.weight)
        combine = torch.empty(out_dim, in_dim + out_dim if concat else in_dim)
        nn.init.xavier_normal_(combine)
        with torch.no_grad():
            self.combine_neighbours.weight.copy_(combine[:, :in_dim])
            if self.combine_itself is not None:
                self.combine_itself.weight.copy_(combine[:, in_dim:])

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, adjacency_t: torch.Tensor,
                id_embedding: torch.Tensor | None) -> torch.Tensor:
        neighbours = F.leaky_relu(sparse_matmul(adjacency, x @ self.conv_weight, adjacency_t))  # [n_nodes, in]
        itself = F.leaky_relu(self.self_linear(x))  # [n_nodes, out]
        if id_embedding is not None:
            itself = itself + id_embedding
        if self.combine_itself is not None:
            return F.leaky_relu(self.combine_neighbours(neighbours) + self.combine_itself(itself))
        return F.leaky_relu(self.combine_neighbours(neighbours) + itself)


class ModalityGCN(nn.Module):
    """A modality's graph network: user preferences and item features in, node representations out."""

    def __init__(self, n_users: int, feature_dim: int, latent_dim: int | None, embedding_size: int,
                 n_layers: int, concat: bool):
        super().__init__()
        # MMGCN projects wide features (its visual ones) to a latent width first; others stay raw.
        self.projection = nn.Linear(feature_dim, latent_dim) if latent_dim else None
        if self.projection is not None:
            nn.init.xavier_normal_(self.projection.weight)
        input_dim = latent_dim or feature_dim
        self.preference = nn.Parameter(torch.empty(n_users, input_dim))
        nn.init.xavier_normal_(self.preference)
        dims = [input_dim] + [embedding_size] * n_layers
        self.layers = nn.ModuleList(GCNLayer(dims[i], dims[i + 1], concat) for i in range(n_layers))

    def forward(self, item_input: torch.Tensor, adjacency: torch.Tensor, adjacency_t: torch.Tensor,
                id_embedding: torch.Tensor | None) -> torch.Tensor:
        """`item_input` is the raw features, or already row-normalised when there is no projection."""
        if self.projection is not None:
            item_input = F.normalize(self.projection(item_input), dim=1)
        x = torch.cat([F.normalize(self.preference, dim=1), item_input])  # [n_users + n_items, in]
        for layer in self.layers:
            x = layer(x, adjacency, adjacency_t, id_embedding)
        return x  # [n_users + n_items, embedding_size]


@register("mmgcn")
class MMGCN(Backbone):
    loss_reads_all_items = False  # items fuse row-wise (sum over modalities); users never read z

    def __init__(self, data: InteractionData, embedding_size: int = 64, reg_weight: float = 1e-5,
                 n_layers: int = 2, concat: bool = True, aggr_mode: str = "mean", has_id: bool = True,
                 dim_latent: int = 256, project_modalities: Sequence[str] = ("image",),
                 modal_fusion: str = "mean"):
        super().__init__(data, embedding_size)
        if n_layers < 1:
            raise ConfigError(f"mrdib/configs/mmgcn.yaml: n_layers must be at least 1, got {n_layers}")
        if modal_fusion not in MODAL_FUSIONS:
            raise ConfigError(f"mrdib/configs/mmgcn.yaml: unknown modal_fusion '{modal_fusion}' "
                              f"(use one of {', '.join(MODAL_FUSIONS)})")
        self.reg_weight = reg_weight
        self.modal_fusion = modal_fusion
        adjacency = aggregation_adjacency(data, aggr_mode)
        self.register_buffer("adjacency", to_csr(adjacency), persistent=False)
        self.register_buffer("adjacency_t", to_csr(transpose_sparse(adjacency)), persistent=False)

        self.id_embedding = nn.Parameter(torch.empty(data.n_users + data.n_items, embedding_size)) if has_id else None
        if self.id_embedding is not None:
            nn.init.xavier_normal_(self.id_embedding)
        if isinstance(project_modalities, str):  # `--param project_modalities=image`
            project_modalities = [project_modalities]
        features_by_name = data.feature_tensors()
        # MMGCN reduces its wide visual features to dim_latent; a narrower input is used raw,
        # since widening it would add parameters and work but no information.
        self.projected = {m for m in project_modalities
                          if m in features_by_name and features_by_name[m].shape[1] > dim_latent}
        self.gcns = nn.ModuleDict()
        for name, features in features_by_name.items():
            latent = dim_latent if name in self.projected else None
            self.gcns[name] = ModalityGCN(data.n_users, features.shape[1], latent, embedding_size, n_layers, concat)
            # Raw inputs are normalised once here; projected ones after their (trained) projection.
            item_input = features if name in self.projected else F.normalize(features, dim=1)
            self.register_buffer(f"item_input_{name}", item_input, persistent=False)

    def encode(self) -> Encoded:
        modal_items, modal_users = {}, {}
        for m in self.modalities:
            nodes = self.gcns[m](getattr(self, f"item_input_{m}"), self.adjacency, self.adjacency_t, self.id_embedding)
            # split, not two slices: its backward is one concatenation instead of two zero-filled copies
            modal_users[m], modal_items[m] = torch.split(nodes, [self.n_users, self.n_items])
        return Encoded(modal_items, {"modal_users": modal_users})

    def _combine(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        total = sum(tensors[1:], tensors[0])
        return total / len(tensors) if self.modal_fusion == "mean" else total

    def fuse(self, encoded: Encoded) -> Fused:
        users = self._combine([encoded.extras["modal_users"][m] for m in encoded.modal_items])
        items = self._combine(list(encoded.modal_items.values()))
        return Fused(users=users, items=items, extras=encoded.extras)

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        users = fused.users.index_select(0, batch.users)
        pos, neg = pos_neg_rows(fused.items, batch)
        pos_scores, neg_scores = (users * pos).sum(-1), (users * neg).sum(-1)
        ranking = bpr_loss(pos_scores, neg_scores)
        if self.reg_weight == 0:
            return ranking
        return ranking + self.reg_weight * self.regularizer(batch)

    def regularizer(self, batch: BPRBatch) -> torch.Tensor:
        """MMGCN's penalty: mean squared ID embedding of the batch's (user, item) pairs, each user
        counted with its positive and its negative item, plus the mean squared user preferences."""
        penalty = sum(gcn.preference.pow(2).mean() for gcn in self.gcns.values())
        if self.id_embedding is None:
            return penalty
        user_rows = self.id_embedding.index_select(0, batch.users)  # [b, d]
        item_rows = self.id_embedding.index_select(0, torch.cat([batch.pos_items, batch.neg_items]) + self.n_users)
        n_values = 2 * user_rows.numel()
        return penalty + (2 * user_rows.pow(2).sum() + item_rows.pow(2).sum()) / n_values

"""FREEDOM (Zhou and Shen 2023): freeze the item-item graph, denoise the user-item graph.

    item graph   S = sum_m w_m * kNN_m      built ONCE from the raw features (frozen)
    each epoch   prune the user-item graph: keep (1 - dropout) of its edges, drawn with
                 probability proportional to 1/sqrt(deg_u * deg_i), then re-normalise
    users, items = LightGCN(pruned graph; [user ID; item ID])      (full graph to evaluate)
    items       += S^L_mm @ item ID embeddings
    loss         = BPR(users, items) + reg_weight * sum_m BPR(users, P_m x_m)

P_m x_m (a linear projection of modality m's features) appears only in the auxiliary BPR
terms; it is what `encode` returns and what MRdIB turns into z_m (see docs/backbones/freedom.md).
Defaults follow MMRec's FREEDOM.yaml (mrdib/configs/freedom.yaml).
"""

from __future__ import annotations

import torch
from torch import nn

from mrdib.backbones import register
from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused, bpr_loss, pos_neg_rows
from mrdib.backbones.graphs import (
    bipartite_adjacency,
    bipartite_edge_weights,
    degree_sensitive_edge_sample,
    knn_item_graph,
    lightgcn_propagate,
    sparse_matmul,
    to_csr,
    transpose_sparse,
    unique_edges,
)
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError

# FREEDOM's published mix of the two item graphs (MMRec's mm_image_weight = 0.1).
PUBLISHED_MODALITY_WEIGHTS = {"image": 0.1, "text": 0.9}


def resolve_modality_weights(modalities: list[str], configured: dict[str, float] | None) -> dict[str, float]:
    """Weight of each modality's kNN graph in the frozen item graph, summing to 1.

    A modality named in `configured` takes that weight; any other name takes the equal share
    1/len(modalities); the weights are then divided by their sum. So {image: 0.1, text: 0.9}
    gives FREEDOM's 0.1/0.9 on image+text data, equal weights on data with none of those
    names, and on image+audio data image 0.1 and audio 0.5 before normalising (1/6, 5/6).
    """
    configured = PUBLISHED_MODALITY_WEIGHTS if configured is None else configured
    equal_share = 1.0 / len(modalities)
    raw = {m: float(configured.get(m, equal_share)) for m in modalities}
    if any(w < 0 for w in raw.values()) or sum(raw.values()) <= 0:
        raise ConfigError(f"freedom: modality_weights must be non-negative with a positive sum, got {raw} "
                          "(set e.g. --param modality_weights='{\"image\": 0.1, \"text\": 0.9}')")
    total = sum(raw.values())
    return {m: w / total for m, w in raw.items()}


def frozen_item_graph(features: dict[str, torch.Tensor], weights: dict[str, float], knn_k: int,
                      chunk_size: int = 2048) -> torch.Tensor:
    """sum_m w_m * kNN_m, each kNN graph top-k cosine with entries 1/k (MMRec's normalisation); COO."""
    n_items = next(iter(features.values())).shape[0]
    combined = torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.int64), torch.zeros(0), (n_items, n_items),
                                       check_invariants=False)
    for name, feat in features.items():
        if weights[name] > 0:
            combined = combined + weights[name] * knn_item_graph(feat, knn_k, chunk_size)
    return combined.coalesce()


@register("freedom")
class FREEDOM(Backbone):
    # The projected modality features never enter the propagated item vectors: the loss reads
    # them only at the batch's rows, so MRdIB may run its bottleneck on those rows alone.
    loss_reads_all_items = False

    def __init__(self, data: InteractionData, embedding_size: int = 64, feat_embed_dim: int | None = None,
                 n_mm_layers: int = 1, n_ui_layers: int = 2, knn_k: int = 10,
                 modality_weights: dict[str, float] | None = None, dropout: float = 0.8,
                 reg_weight: float = 1e-4, train_features: bool = True, knn_chunk_size: int = 2048):
        super().__init__(data, embedding_size)
        if feat_embed_dim is not None and feat_embed_dim != embedding_size:
            raise ConfigError(f"freedom: feat_embed_dim ({feat_embed_dim}) must equal embedding_size "
                              f"({embedding_size}): the auxiliary BPR dots users with projected features")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"freedom: dropout (the edge pruning ratio) must be in [0, 1), got {dropout}")
        self.n_mm_layers, self.n_ui_layers = n_mm_layers, n_ui_layers
        self.dropout, self.reg_weight = dropout, reg_weight
        self.modality_weights = resolve_modality_weights(self.modalities, modality_weights)

        self.user_embedding = nn.Parameter(torch.empty(data.n_users, embedding_size))
        self.item_id_embedding = nn.Parameter(torch.empty(data.n_items, embedding_size))
        nn.init.xavier_uniform_(self.user_embedding)
        nn.init.xavier_uniform_(self.item_id_embedding)
        # The reference fine-tunes the raw features (nn.Embedding.from_pretrained(freeze=False)).
        features = data.feature_tensors()
        self.raw_features = nn.ParameterDict(
            {m: nn.Parameter(feat.clone(), requires_grad=train_features) for m, feat in features.items()})
        self.projections = nn.ModuleDict({m: nn.Linear(feat.shape[1], embedding_size) for m, feat in features.items()})
        for layer in self.projections.values():
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

        # Static graphs, built once. Non-persistent buffers: they move with .to() but stay
        # out of checkpoints (they are a function of the data and the settings).
        item_graph = frozen_item_graph(features, self.modality_weights, knn_k, knn_chunk_size)
        self.register_buffer("item_graph", to_csr(item_graph), persistent=False)  # [n_items, n_items]
        self.register_buffer("item_graph_t", to_csr(transpose_sparse(item_graph)), persistent=False)
        users, items = unique_edges(data.train)
        edge_weights = bipartite_edge_weights(users, items, data.n_users, data.n_items)  # 1/sqrt(deg_u deg_i)
        self.register_buffer("edge_users", users, persistent=False)
        self.register_buffer("edge_items", items, persistent=False)
        self.register_buffer("edge_weights", edge_weights, persistent=False)
        self.register_buffer("norm_adj", to_csr(bipartite_adjacency(users, items, edge_weights, data.n_users,
                                                                    data.n_items)),
                             persistent=False)  # [n_users + n_items]^2, LightGCN-normalised
        self.pruned_adj: torch.Tensor | None = None  # resampled by pre_epoch

    # -- graphs ---------------------------------------------------------------------------
    def pre_epoch(self, epoch: int) -> None:
        """Degree-sensitive edge pruning: a fresh denoised user-item graph for this epoch."""
        if self.dropout <= 0:
            self.pruned_adj = self.norm_adj
            return
        kept = degree_sensitive_edge_sample(self.edge_weights, 1.0 - self.dropout)
        users, items = self.edge_users.index_select(0, kept), self.edge_items.index_select(0, kept)
        weights = bipartite_edge_weights(users, items, self.n_users, self.n_items)  # re-normalised
        self.pruned_adj = to_csr(bipartite_adjacency(users, items, weights, self.n_users, self.n_items))

    def _adjacency(self) -> torch.Tensor:
        """The pruned graph while training (sampled on first use if no epoch began), else the full one."""
        if not self.training:
            return self.norm_adj
        if self.pruned_adj is None:
            self.pre_epoch(0)
        return self.pruned_adj

    # -- the contract ---------------------------------------------------------------------
    def encode(self) -> Encoded:
        """Each modality's projected features P_m x_m: what the auxiliary BPR terms read (MRdIB's z_m)."""
        modal_items = {m: self.projections[m](self.raw_features[m]) for m in self.modalities}  # [n_items, d]
        return Encoded(modal_items)

    def fuse(self, encoded: Encoded) -> Fused:
        """LightGCN over the (pruned) user-item graph plus the frozen item graph's item term."""
        item_semantic = self.item_id_embedding
        for _ in range(self.n_mm_layers):
            item_semantic = sparse_matmul(self.item_graph, item_semantic, self.item_graph_t)  # [n_items, d]
        ego = torch.cat([self.user_embedding, self.item_id_embedding])  # [n_users + n_items, d]
        propagated = lightgcn_propagate(self._adjacency(), ego, self.n_ui_layers)
        users, items = propagated.split([self.n_users, self.n_items])
        return Fused(users=users, items=items + item_semantic, extras={"modal_items": encoded.modal_items})

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        """BPR on the fused representations + reg_weight * the per-modality BPR terms."""
        users = fused.users.index_select(0, batch.users)
        pos, neg = pos_neg_rows(fused.items, batch)
        ranking = bpr_loss((users * pos).sum(-1), (users * neg).sum(-1))
        if self.reg_weight == 0:
            return ranking
        modal = users.new_zeros(())
        for modal_items in fused.extras["modal_items"].values():
            modal_pos, modal_neg = pos_neg_rows(modal_items, batch)
            modal = modal + bpr_loss((users * modal_pos).sum(-1), (users * modal_neg).sum(-1))
        return ranking + self.reg_weight * modal

"""MGCN (Yu et al., ACM MM 2023): Multi-View Graph Convolutional Network for multimedia recommendation.

Three views of the same users and items, as in the official code (demonph10/MGCN, also in MMRec):

1. Behaviour-guided purifier: each modality's features are projected (linear) and gated by
   the item ID embedding, purified_m = e_item * sigmoid(W_m proj_m(x_m) + b_m).
2. Item-item view: purified_m is convolved on that modality's item kNN graph (cosine top-k,
   weighted, symmetrically normalised, built once from the raw features); users aggregate
   the result through the normalised user-item matrix.
3. User-item view ("content"): LightGCN on the ID embeddings over the user-item graph.

A behaviour-aware fuser splits the modality views into a common part (softmax attention over
modalities) and gated modality-specific parts; side = (common + sum of specific) / (M + 1)
and the final representation is content + side. The loss is BPR + L2 on the batch rows +
an InfoNCE term between the side and content views of the batch's users and positive items.

MRdIB's z_m are the per-modality item embeddings after the item-graph convolution, before
the fuser: `encode` returns them and `fuse` does everything after (user aggregation, content
view, fuser). SOIL (soil.py) reuses this class on interest-augmented graphs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mrdib.backbones import register
from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused, bpr_loss, pos_neg_rows
from mrdib.backbones.graphs import (
    bipartite_adjacency,
    lightgcn_propagate,
    normalize_sparse,
    sparse_matmul,
    to_csr,
    transpose_sparse,
    unique_edges,
)
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError


# -- graph construction (once, in __init__) ------------------------------------------------
def weighted_knn_graph(features: torch.Tensor, k: int, chunk_size: int = 2048) -> torch.Tensor:
    """Top-k cosine neighbours of every row (itself included), weighted by the cosine; COO [n, n].

    MGCN keeps the similarity values as edge weights (LATTICE's build_knn_normalized_graph),
    unlike FREEDOM's binary graph. Similarities are computed `chunk_size` rows at a time.
    """
    n = features.shape[0]
    k = min(k, n)
    with torch.no_grad():
        unit = F.normalize(features.detach().to(torch.float32), dim=1)  # [n, d]
        neighbours = torch.empty(n, k, dtype=torch.int64)
        similarities = torch.empty(n, k)
        for start in range(0, n, chunk_size):
            top = (unit[start:start + chunk_size] @ unit.T).topk(k, dim=1)  # [chunk, k]
            neighbours[start:start + top.indices.shape[0]] = top.indices
            similarities[start:start + top.indices.shape[0]] = top.values
    rows = torch.arange(n).repeat_interleave(k)
    indices = torch.stack([rows, neighbours.reshape(-1)])
    return torch.sparse_coo_tensor(indices, similarities.reshape(-1), (n, n), check_invariants=False).coalesce()


def normalized_interactions(users: torch.Tensor, items: torch.Tensor, values: torch.Tensor,
                            n_users: int, n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The symmetric-normalised bipartite adjacency [(U+I)^2] and its user-item block [U, I].

    The block is what MGCN aggregates modality item embeddings into users with: the same
    D^-1/2 A D^-1/2 weights as the full graph, restricted to user rows and item columns.
    Edge `values` may be non-binary (SOIL weights its second-order edges).
    """
    adjacency = normalize_sparse(bipartite_adjacency(users, items, values, n_users, n_items), "sym")
    rows, cols = adjacency.indices()
    user_rows = (rows < n_users).nonzero().squeeze(1)
    block = torch.sparse_coo_tensor(
        torch.stack([rows.index_select(0, user_rows), cols.index_select(0, user_rows) - n_users]),
        adjacency.values().index_select(0, user_rows), (n_users, n_items), check_invariants=False).coalesce()
    return adjacency, block


class SparseOperator(nn.Module):
    """A constant sparse matrix kept in CSR with its transpose, for fast products and backward."""

    def __init__(self, matrix: torch.Tensor, symmetric: bool = False):
        super().__init__()
        self.symmetric = symmetric
        self.register_buffer("matrix", to_csr(matrix.coalesce()), persistent=False)
        if not symmetric:
            self.register_buffer("matrix_t", to_csr(transpose_sparse(matrix)), persistent=False)

    def forward(self, dense: torch.Tensor) -> torch.Tensor:
        return sparse_matmul(self.matrix, dense, self.matrix if self.symmetric else self.matrix_t)


# -- losses ---------------------------------------------------------------------------------
class _RowSoftmaxCrossEntropy(torch.autograd.Function):
    """mean_i [log sum_j exp(a_i . b_j) - a_i . b_i]: cross-entropy of the n x n logits a b^T
    with the diagonal as the targets, holding a single n x n buffer.

    cross_entropy on the same logits allocates four n x n tensors per step (logits, their
    log-softmax, and two in the backward); here the logits become their exponentials in place
    and that buffer becomes the logits' gradient in place: less than half the time at n = 2048
    on a CPU (17 vs 40 ms, forward and backward), where MGCN and SOIL spend much of a step.
    `max_logit` bounds |a_i . b_j| (1 / temperature for unit rows): below 80, exp cannot
    overflow or underflow in float32, so no pass for row maxima is needed.
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, max_logit: float) -> torch.Tensor:
        logits = a @ b.T  # [n, n]
        targets = logits.diagonal().clone()
        if max_logit < 80.0:
            shift = None
            exp_logits = logits.exp_()  # in place: the logits are not needed again
        else:
            shift = logits.amax(1, keepdim=True)
            exp_logits = logits.sub_(shift).exp_()
        row_sums = exp_logits.sum(1, keepdim=True)
        ctx.save_for_backward(a, b, exp_logits, row_sums)
        log_sums = row_sums.log() if shift is None else row_sums.log().add_(shift)
        return (log_sums.squeeze(1) - targets).mean()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        a, b, exp_logits, row_sums = ctx.saved_tensors
        # d loss / d logits = (softmax - I) * grad / n, built in the saved buffer in two passes
        scale = grad / a.shape[0]
        grad_logits = exp_logits.mul_(scale / row_sums)
        grad_logits.diagonal().sub_(scale)
        return grad_logits @ b, grad_logits.T @ a, None


def info_nce(view_a: torch.Tensor, view_b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean InfoNCE of row i of view_a against all rows of view_b (row i is the positive).

    Equal to MGCN's -log(exp(s_ii/t) / sum_j exp(s_ij/t)) on cosine similarities. Cosines
    bound the logits by 1/t, so exp cannot overflow for t > 1/80; below, each row's maximum
    is subtracted first.
    """
    a, b = F.normalize(view_a, dim=1), F.normalize(view_b, dim=1)
    # scaling a is n times cheaper than scaling the logits
    return _RowSoftmaxCrossEntropy.apply(a / temperature, b, 1.0 / temperature)


class _FuseViews(torch.autograd.Function):
    """MGCN's side view from the modality views x [n, M, d], their attention a [n, M] and the
    preference gates g [n, M, d]:

        common = sum_m a_m x_m,  side = (common + sum_m g_m * (x_m - common)) / (M + 1)
                                      = (sum_m g_m * x_m + (1 - sum_m g_m) * common) / (M + 1)

    The second form, with a hand-written backward, makes fewer passes over the [n, M, d]
    tensors than autograd through the first: at n = 26,495 (Baby's users and items), M = 2,
    d = 64, forward and backward take 21 ms instead of 35 on 2 cores.
    """

    @staticmethod
    def forward(ctx, views: torch.Tensor, attention: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        n_modalities = views.shape[1]
        common = views[:, 0] * attention[:, 0:1]  # [n, d]
        gated = views[:, 0] * gates[:, 0]  # sum_m g_m * x_m, [n, d]
        for m in range(1, n_modalities):
            common.addcmul_(views[:, m], attention[:, m:m + 1])
            gated.addcmul_(views[:, m], gates[:, m])
        one_minus_gates = gates.sum(1).neg_().add_(1.0)  # [n, d]
        ctx.save_for_backward(views, attention, gates, common, one_minus_gates)
        return gated.addcmul_(one_minus_gates, common).div_(n_modalities + 1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        views, attention, gates, common, one_minus_gates = ctx.saved_tensors
        grad = (grad / (views.shape[1] + 1)).unsqueeze(1)  # [n, 1, d]
        grad_common = one_minus_gates.unsqueeze(1) * grad  # [n, 1, d]
        grad_gates = (views - common.unsqueeze(1)).mul_(grad)
        grad_views = (gates * grad).addcmul_(attention.unsqueeze(-1), grad_common)
        grad_attention = torch.bmm(views, grad_common.transpose(1, 2)).squeeze(-1)  # [n, M]
        return grad_views, grad_attention, grad_gates


def half_squared_norm_penalty(*tensors: torch.Tensor) -> torch.Tensor:
    """MGCN's regulariser: 0.5 * sum of squared entries over the batch size."""
    return 0.5 * sum(t.pow(2).sum() for t in tensors) / tensors[0].shape[0]


def _gate(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, width), nn.Sigmoid())


@register("mgcn")
class MGCN(Backbone):
    loss_reads_all_items = True

    def __init__(self, data: InteractionData, embedding_size: int = 64, n_ui_layers: int = 2,
                 n_mm_layers: int = 1, knn_k: int = 10, cl_weight: float = 0.01,
                 cl_temperature: float = 0.2, reg_weight: float = 1e-4, finetune_features: bool = True,
                 knn_chunk_size: int = 2048):
        super().__init__(data, embedding_size)
        if not self.modalities:
            raise ConfigError(f"{data.source or data.name}: MGCN needs at least one modality feature file")
        self.n_ui_layers, self.n_mm_layers = n_ui_layers, n_mm_layers
        self.cl_weight, self.cl_temperature, self.reg_weight = cl_weight, cl_temperature, reg_weight
        self.user_embedding = nn.Parameter(torch.empty(data.n_users, embedding_size))
        self.item_id_embedding = nn.Parameter(torch.empty(data.n_items, embedding_size))
        nn.init.xavier_uniform_(self.user_embedding)
        nn.init.xavier_uniform_(self.item_id_embedding)

        features = data.feature_tensors()
        # MGCN fine-tunes the raw features (nn.Embedding.from_pretrained(..., freeze=False)); the
        # copy keeps the optimizer from writing into the data set's arrays, which the tensors share.
        if finetune_features:
            self.raw_features = nn.ParameterDict({m: nn.Parameter(f.clone()) for m, f in features.items()})
        else:
            for m, f in features.items():
                self.register_buffer(f"raw_feature_{m}", f, persistent=False)
        self.finetune_features = finetune_features
        # The linear layers keep PyTorch's default initialisation, as in the official code.
        self.projections = nn.ModuleDict({m: nn.Linear(f.shape[1], embedding_size) for m, f in features.items()})
        self.purifier_gates = nn.ModuleDict({m: _gate(embedding_size) for m in self.modalities})
        self.preference_gates = nn.ModuleDict({m: _gate(embedding_size) for m in self.modalities})
        self.query_common = nn.Sequential(nn.Linear(embedding_size, embedding_size), nn.Tanh(),
                                          nn.Linear(embedding_size, 1, bias=False))

        self._build_graphs(data, features, knn_k, knn_chunk_size)

    def _build_graphs(self, data: InteractionData, features: dict[str, torch.Tensor], knn_k: int,
                      knn_chunk_size: int) -> None:
        """The normalised user-item graph (full, and its user-item block) and one item graph per modality."""
        users, items = unique_edges(data.train)
        users, items, values = self._user_item_edges(users, items)
        adjacency, block = normalized_interactions(users, items, values, data.n_users, data.n_items)
        self.ui_graph = SparseOperator(adjacency, symmetric=True)
        self.ui_block = SparseOperator(block)
        self.item_graphs = nn.ModuleDict({
            m: SparseOperator(normalize_sparse(self._item_graph(f, knn_k, knn_chunk_size), "sym"))
            for m, f in features.items()})

    def _user_item_edges(self, users: torch.Tensor, items: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(users, items, weights) of the user-item graph: the training interactions, weight 1.

        A hook: SOIL adds its second-order interest edges here.
        """
        return users, items, torch.ones(len(users))

    def _item_graph(self, features: torch.Tensor, knn_k: int, knn_chunk_size: int) -> torch.Tensor:
        """One modality's item graph before normalisation: the weighted cosine kNN graph (a SOIL hook)."""
        return weighted_knn_graph(features, knn_k, knn_chunk_size)

    def raw_feature(self, modality: str) -> torch.Tensor:
        return self.raw_features[modality] if self.finetune_features else getattr(self, f"raw_feature_{modality}")

    # -- the contract -----------------------------------------------------------------------
    def encode(self) -> Encoded:
        """Purified, item-graph-convolved item embeddings per modality: MRdIB's z_m [n_items, d]."""
        modal_items = {}
        for m in self.modalities:
            projected = self.projections[m](self.raw_feature(m))  # [n_items, d]
            purified = self.item_id_embedding * self.purifier_gates[m](projected)
            for _ in range(self.n_mm_layers):
                purified = self.item_graphs[m](purified)
            modal_items[m] = purified
        return Encoded(modal_items)

    def content_view(self) -> torch.Tensor:
        """LightGCN on the ID embeddings over the user-item graph: [n_users + n_items, d]."""
        ego = torch.cat([self.user_embedding, self.item_id_embedding])
        return lightgcn_propagate(self.ui_graph.matrix, ego, self.n_ui_layers)

    def fuse(self, encoded: Encoded) -> Fused:
        content = self.content_view()  # [n_nodes, d]
        modal_nodes = torch.stack([torch.cat([self.ui_block(encoded.modal_items[m]), encoded.modal_items[m]])
                                   for m in self.modalities], dim=1)  # [n_nodes, M, d]
        attention = torch.softmax(self.query_common(modal_nodes).squeeze(-1), dim=1)  # [n_nodes, M]
        # Every modality's preference gate in one matrix multiply: [n_nodes, M, d]
        gates = [self.preference_gates[m][0] for m in self.modalities]
        preferences = torch.sigmoid(F.linear(content, torch.cat([g.weight for g in gates]),
                                             torch.cat([g.bias for g in gates]))).view_as(modal_nodes)
        side = _FuseViews.apply(modal_nodes, attention, preferences)  # (common + gated specific parts) / (M + 1)
        users, items = torch.split(content + side, [self.n_users, self.n_items])
        return Fused(users, items, {"side": side, "content": content})

    def batch_info_nce(self, view_a: torch.Tensor, view_b: torch.Tensor, batch: BPRBatch) -> torch.Tensor:
        """InfoNCE of two [n_users + n_items, d] node views over the batch's users plus its positive items."""
        users_a, items_a = torch.split(view_a, [self.n_users, self.n_items])
        users_b, items_b = torch.split(view_b, [self.n_users, self.n_items])
        return (info_nce(items_a.index_select(0, batch.pos_items), items_b.index_select(0, batch.pos_items),
                         self.cl_temperature)
                + info_nce(users_a.index_select(0, batch.users), users_b.index_select(0, batch.users),
                           self.cl_temperature))

    def contrastive_loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        """InfoNCE between the side (multimodal) and content (ID) views of batch users and items."""
        return self.batch_info_nce(fused.extras["side"], fused.extras["content"], batch)

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        users = fused.users.index_select(0, batch.users)
        pos, neg = pos_neg_rows(fused.items, batch)
        total = bpr_loss((users * pos).sum(-1), (users * neg).sum(-1))
        if self.reg_weight:
            total = total + self.reg_weight * half_squared_norm_penalty(users, pos, neg)
        if self.cl_weight:
            total = total + self.cl_weight * self.contrastive_loss(fused, batch)
        return total


__all__ = ["MGCN", "SparseOperator", "info_nce", "normalized_interactions", "weighted_knn_graph"]

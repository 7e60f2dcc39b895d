"""SOIL (Su et al., ACM MM 2024): MGCN's multi-view network on graphs augmented with second-order interests.

A user's interactions record only the items that best matched their interest (first order);
SOIL mines the "second-order" interests that are absent from the records and adds them as
edges before any convolution:

- user-item graph: user u gains edges to the items most often reached by u -> item -> other
  user -> item paths (the items u's co-interacting users engage with), top-k by path count,
  never an item u already has;
- item-item graphs: each modality's weighted kNN graph gains edges to the items most often
  co-interacted with item i through a second-order edge (co-interaction counted in the
  augmented user-item graph minus the first-order co-interactions), top-k per item.

The network is MGCN's (purifier, item-graph view, LightGCN content view, behaviour-aware
fuser) run on those interest-aware graphs, trained with BPR + L2 and two contrastive terms:
the MGCN cross-view InfoNCE (item-item-graph side view vs user-item content view) and an
interest InfoNCE between the content view on the first-order graph and on the
interest-augmented graph (users and items). The official code was not available; every
reading of the paper made here is listed in docs/backbones/soil.md. Graph mining uses
sparse products in row blocks plus top-k per row: no dense users x users or items x items
matrix is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch

from mrdib.backbones import register
from mrdib.backbones.base import BPRBatch, Fused
from mrdib.backbones.graphs import lightgcn_propagate
from mrdib.backbones.mgcn import MGCN, SparseOperator, normalized_interactions
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError

# Dense cells per row block while ranking second-order edges (int64: 8M cells = 64 MB).
_BLOCK_CELLS = 8_000_000


def top_k_per_row(count_rows: Callable[[int, int], sp.spmatrix], n_rows: int, n_cols: int, k: int,
                  exclude: sp.csr_matrix | None = None, block_cells: int = _BLOCK_CELLS
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, cols) of the k largest positive counts in each row of a matrix given by row blocks.

    `count_rows(start, stop)` returns rows start..stop of the sparse count matrix (path counts
    are often 20%+ dense, so each block is ranked densely); entries where `exclude` is non-zero
    are skipped. Equal counts go to the lower column index, so the result does not depend on
    the platform's top-k.
    """
    k = min(k, n_cols)
    if k <= 0:
        return torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)
    block_rows = max(1, block_cells // max(n_cols, 1))
    # integer keys: count first, then the lower column; counts of 0 rank below every positive one
    column_rank = torch.arange(n_cols - 1, -1, -1, dtype=torch.int64)  # [n_cols]
    rows, cols = [], []
    for start in range(0, n_rows, block_rows):
        stop = min(start + block_rows, n_rows)
        counts = torch.from_numpy(np.rint(count_rows(start, stop).toarray()).astype(np.int64))  # [b, n_cols]
        if exclude is not None:
            skipped = exclude[start:stop].tocoo()
            counts[torch.from_numpy(skipped.row).long(), torch.from_numpy(skipped.col).long()] = 0
        top = (counts.clamp_min(0) * n_cols + column_rank).topk(k, dim=1)  # [b, k]
        keep = top.values >= n_cols  # a positive count
        rows.append(keep.nonzero()[:, 0] + start)
        cols.append(top.indices[keep])
    return torch.cat(rows), torch.cat(cols)


def user_interest_edges(interactions: sp.csr_matrix, k: int, block_cells: int = _BLOCK_CELLS
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(users, items) of each user's k second-order interests: u -> i -> v -> j path counts.

    Counts are R (R^T R) row block by row block (R^T R is the sparse item co-interaction
    matrix), so the users x users matrix R R^T is never formed; own items are excluded.
    """
    co_interactions = (interactions.T @ interactions).tocsr()  # [n_items, n_items], sparse
    return top_k_per_row(lambda a, b: interactions[a:b] @ co_interactions, interactions.shape[0],
                         interactions.shape[1], k, exclude=interactions, block_cells=block_cells)


def item_interest_edges(interactions: sp.csr_matrix, interests: sp.csr_matrix, k: int,
                        block_cells: int = _BLOCK_CELLS) -> tuple[torch.Tensor, torch.Tensor]:
    """(items, items) of each item's k second-order neighbours: items co-interacted with it
    through at least one second-order interest edge, top-k by the number of such paths.

    Counts are A^T A - R^T R with A = R + S the interest-augmented interaction matrix,
    computed in item row blocks; an item is never its own neighbour.
    """
    augmented = (interactions + interests).tocsr()
    augmented_t, interactions_t = augmented.T.tocsr(), interactions.T.tocsr()
    n_items = interactions.shape[1]
    return top_k_per_row(lambda a, b: augmented_t[a:b] @ augmented - interactions_t[a:b] @ interactions,
                         n_items, n_items, k, exclude=sp.identity(n_items, format="csr"),
                         block_cells=block_cells)


@dataclass(frozen=True)
class InterestSettings:
    """How many second-order edges to mine per user and per item, and their edge weight."""

    user_interest_k: int
    item_interest_k: int
    interest_weight: float


@register("soil")
class SOIL(MGCN):
    loss_reads_all_items = True

    def __init__(self, data: InteractionData, embedding_size: int = 64, n_ui_layers: int = 2,
                 n_mm_layers: int = 1, knn_k: int = 10, user_interest_k: int = 5, item_interest_k: int = 5,
                 interest_weight: float = 1.0, cl_weight: float = 0.01, interest_cl_weight: float = 0.01,
                 cl_temperature: float = 0.2, reg_weight: float = 1e-4, finetune_features: bool = True,
                 knn_chunk_size: int = 2048):
        if user_interest_k < 0 or item_interest_k < 0 or interest_weight < 0:
            raise ConfigError("soil: user_interest_k, item_interest_k and interest_weight must be >= 0 "
                              "(set them in mrdib/configs/soil.yaml or with --param)")
        # Read by the graph hooks, which MGCN.__init__ calls; a plain (non-Module) attribute can be
        # set before nn.Module.__init__.
        self.interest = InterestSettings(user_interest_k, item_interest_k, interest_weight)
        super().__init__(data, embedding_size, n_ui_layers=n_ui_layers, n_mm_layers=n_mm_layers, knn_k=knn_k,
                         cl_weight=cl_weight, cl_temperature=cl_temperature, reg_weight=reg_weight,
                         finetune_features=finetune_features, knn_chunk_size=knn_chunk_size)
        self.interest_cl_weight = interest_cl_weight

    # -- interest-aware graphs (hooks called by MGCN._build_graphs) ------------------------
    def _build_graphs(self, data: InteractionData, features: dict[str, torch.Tensor], knn_k: int,
                      knn_chunk_size: int) -> None:
        super()._build_graphs(data, features, knn_k, knn_chunk_size)
        del self._item_interests  # only needed while the item graphs are built

    def _user_item_edges(self, users: torch.Tensor, items: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training interactions (weight 1) plus each user's second-order interests."""
        ones = torch.ones(len(users))
        first_order, _ = normalized_interactions(users, items, ones, self.n_users, self.n_items)
        self.first_order_graph = SparseOperator(first_order, symmetric=True)
        interactions = sp.csr_matrix((ones.numpy(), (users.numpy(), items.numpy())),
                                     shape=(self.n_users, self.n_items))
        interest_users, interest_items = user_interest_edges(interactions, self.interest.user_interest_k)
        interests = sp.csr_matrix((np.ones(len(interest_users)), (interest_users.numpy(), interest_items.numpy())),
                                  shape=(self.n_users, self.n_items))
        # mined once here, added to every modality's graph in _item_graph
        self._item_interests = item_interest_edges(interactions, interests, self.interest.item_interest_k)
        weights = torch.full((len(interest_users),), self.interest.interest_weight)
        return torch.cat([users, interest_users]), torch.cat([items, interest_items]), torch.cat([ones, weights])

    def _item_graph(self, features: torch.Tensor, knn_k: int, knn_chunk_size: int) -> torch.Tensor:
        """The modality's weighted kNN graph plus the item second-order interest edges (summed where both)."""
        knn = super()._item_graph(features, knn_k, knn_chunk_size)
        rows, cols = self._item_interests
        interest = torch.sparse_coo_tensor(torch.stack([rows, cols]),
                                           torch.full((len(rows),), self.interest.interest_weight),
                                           knn.shape, check_invariants=False)
        return (knn + interest).coalesce()

    # -- views and loss ------------------------------------------------------------------------
    def first_order_content_view(self) -> torch.Tensor:
        """LightGCN on the ID embeddings over the first-order (recorded) interactions only."""
        ego = torch.cat([self.user_embedding, self.item_id_embedding])
        return lightgcn_propagate(self.first_order_graph.matrix, ego, self.n_ui_layers)

    def interest_contrastive_loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        """InfoNCE between first-order and interest-augmented content views of batch users and items."""
        return self.batch_info_nce(fused.extras["content"], self.first_order_content_view(), batch)

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        total = super().loss(fused, batch)
        if self.interest_cl_weight:
            total = total + self.interest_cl_weight * self.interest_contrastive_loss(fused, batch)
        return total


__all__ = ["SOIL", "item_interest_edges", "top_k_per_row", "user_interest_edges"]

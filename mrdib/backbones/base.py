"""The contract a backbone fulfils so that MRdIB can wrap it.

A forward pass is split where the MRdIB bottleneck sits:

    encoded = backbone.encode()          # per-modality item representations, before fusion
    encoded.modal_items[m] = z_m         # (the MRdIB plug-in replaces them by z)
    fused = backbone.fuse(encoded)       # fused user and item representations
    loss = backbone.loss(fused, batch)   # the backbone's own loss (the synergy term)
    scores = backbone.score(fused, users)

A backbone that runs on its own simply chains the four calls; the wrapper adds its terms
between them. Nothing in this file knows about MRdIB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mrdib.data.dataset import InteractionData


@dataclass
class BPRBatch:
    """A training batch of (user, positive item, negative item) index triples."""

    users: torch.Tensor  # [b]
    pos_items: torch.Tensor  # [b]
    neg_items: torch.Tensor  # [b]


@dataclass
class Encoded:
    """What `encode` produces: per-modality item tensors plus anything `fuse` needs."""

    modal_items: dict[str, torch.Tensor]  # modality -> [n_items, d_m]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fused:
    """Fused representations that score and loss use."""

    users: torch.Tensor  # [n_users, d]
    items: torch.Tensor  # [n_items, d]
    extras: dict[str, Any] = field(default_factory=dict)


class Backbone(nn.Module):
    """Base class: subclasses implement encode, fuse and loss; score defaults to a dot product."""

    name: str = ""
    # False when fusion is row-wise (item i's fused vector depends on item i's modal vectors
    # only) and the loss reads only the batch's item rows, as in VBPR. MRdIB then runs its
    # bottleneck on the batch's rows alone: the same loss and gradients, far less work.
    loss_reads_all_items: bool = True

    def __init__(self, data: InteractionData, embedding_size: int, **params: Any):
        super().__init__()
        self.modalities = data.modalities
        self.n_users = data.n_users
        self.n_items = data.n_items
        self.embedding_size = embedding_size

    # -- the contract -------------------------------------------------------------------
    def encode(self) -> Encoded:
        raise NotImplementedError

    def fuse(self, encoded: Encoded) -> Fused:
        raise NotImplementedError

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        raise NotImplementedError

    def score(self, fused: Fused, users: torch.Tensor) -> torch.Tensor:
        """Scores of `users` against every item: [len(users), n_items]."""
        return fused.users.index_select(0, users) @ fused.items.T

    def user_representation(self, fused: Fused) -> torch.Tensor:
        """The user vectors MRdIB's per-modality decoders read ([n_users, d])."""
        return fused.users

    def pre_epoch(self, epoch: int) -> None:
        """Hook for per-epoch work (graph resampling, edge dropout); default does nothing."""

    # -- conveniences -------------------------------------------------------------------
    def forward_fused(self) -> Fused:
        return self.fuse(self.encode())


def pos_neg_rows(items: torch.Tensor, batch: BPRBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of `items` for the batch's positive and negative items, gathered at once.

    Two separate gathers from one tensor cost two item-sized, zero-filled gradients in the
    backward plus their sum; one gather writes a single one (about 5% of a VBPR step on a CPU).
    """
    both = items.index_select(0, torch.cat([batch.pos_items, batch.neg_items]))
    return both.view(2, len(batch.pos_items), *both.shape[1:]).unbind(0)


def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(pos - neg), computed stably."""
    return nn.functional.softplus(neg_scores - pos_scores).mean()


def embedding_norm_penalty(*tensors: torch.Tensor) -> torch.Tensor:
    """Sum of the tensors' L2 (Frobenius) norms over the batch size: MMRec's EmbLoss."""
    batch = tensors[-1].shape[0]
    return sum(t.norm(p=2) for t in tensors) / batch

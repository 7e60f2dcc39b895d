"""VBPR (He and McAuley 2016), as in MMRec: item = [ID embedding; content], user twice as wide.

MMRec projects the concatenated features with one linear layer; here each modality has its
own projection and the content vector is their sum, which is the same function class
(a linear map of a concatenation is a sum of per-modality linear maps) but exposes
per-modality item representations for MRdIB.
"""

from __future__ import annotations

import torch
from torch import nn

from mrdib.backbones import register
from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused, bpr_loss, embedding_norm_penalty, pos_neg_rows
from mrdib.data.dataset import InteractionData


@register("vbpr")
class VBPR(Backbone):
    loss_reads_all_items = False
    def __init__(self, data: InteractionData, embedding_size: int = 64, reg_weight: float = 1e-4):
        super().__init__(data, embedding_size)
        self.reg_weight = reg_weight
        self.user_embedding = nn.Parameter(torch.empty(data.n_users, 2 * embedding_size))
        self.item_id_embedding = nn.Parameter(torch.empty(data.n_items, embedding_size))
        nn.init.xavier_uniform_(self.user_embedding)
        nn.init.xavier_uniform_(self.item_id_embedding)
        features = data.feature_tensors()
        for name, feat in features.items():
            self.register_buffer(f"feat_{name}", feat, persistent=False)
        self.projections = nn.ModuleDict(
            {name: nn.Linear(feat.shape[1], embedding_size, bias=False) for name, feat in features.items()}
        )
        self.content_bias = nn.Parameter(torch.zeros(embedding_size))
        for layer in self.projections.values():
            nn.init.xavier_normal_(layer.weight)

    def encode(self) -> Encoded:
        modal_items = {m: self.projections[m](getattr(self, f"feat_{m}")) for m in self.modalities}
        return Encoded(modal_items)

    def fuse(self, encoded: Encoded) -> Fused:
        content = torch.stack(list(encoded.modal_items.values())).sum(0) + self.content_bias  # [n_items, d]
        items = torch.cat([self.item_id_embedding, content], dim=1)  # [n_items, 2d]
        return Fused(users=self.user_embedding, items=items)

    def loss(self, fused: Fused, batch: BPRBatch) -> torch.Tensor:
        users = fused.users.index_select(0, batch.users)
        pos, neg = pos_neg_rows(fused.items, batch)
        ranking = bpr_loss((users * pos).sum(-1), (users * neg).sum(-1))
        if self.reg_weight == 0:
            return ranking
        return ranking + self.reg_weight * embedding_norm_penalty(users, pos, neg)

"""Uniform BPR sampling: one negative per training positive, never a training positive of the user."""

from __future__ import annotations

from typing import Iterator

import torch

from mrdib.backbones.base import BPRBatch
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import DataError


class BPRSampler:
    """Shuffles the training pairs each epoch and draws negatives by vectorised rejection."""

    def __init__(self, data: InteractionData, batch_size: int):
        self.batch_size = batch_size
        self.n_items = data.n_items
        pairs = torch.from_numpy(data.train).long()
        self.users, self.items = pairs[:, 0].contiguous(), pairs[:, 1].contiguous()
        self.positive_keys = torch.sort(self.users * self.n_items + self.items).values  # [n_train]
        if (torch.bincount(self.users, minlength=data.n_users) >= self.n_items).any():
            raise DataError(f"{data.source or data.name}: a user has interacted with every item, "
                            "so no negative item can be sampled")

    def __len__(self) -> int:
        return (len(self.users) + self.batch_size - 1) // self.batch_size

    def _is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        keys = users * self.n_items + items
        slot = torch.searchsorted(self.positive_keys, keys).clamp_max(len(self.positive_keys) - 1)
        return self.positive_keys[slot] == keys

    def sample_negatives(self, users: torch.Tensor) -> torch.Tensor:
        negatives = torch.randint(self.n_items, users.shape)
        redraw = self._is_positive(users, negatives)
        while redraw.any():
            index = redraw.nonzero().squeeze(1)
            negatives[index] = torch.randint(self.n_items, index.shape)
            redraw[index] = self._is_positive(users[index], negatives[index])
        return negatives

    def epoch(self) -> Iterator[BPRBatch]:
        order = torch.randperm(len(self.users))
        users, items = self.users[order], self.items[order]
        negatives = self.sample_negatives(users)
        for start in range(0, len(users), self.batch_size):
            stop = start + self.batch_size
            yield BPRBatch(users[start:stop], items[start:stop], negatives[start:stop])

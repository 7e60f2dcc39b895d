"""The in-memory data set every backbone, trainer and analysis reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import torch


@dataclass
class InteractionData:
    """Users, items, a train/valid/test split and one feature matrix per modality.

    Pair arrays are int64 of shape [n, 2] holding (user, item), 0-based and contiguous.
    `features[name]` is float32 [n_items, dim]; names come from the files (`image`, `text`, ...).
    `planted` holds the synthetic generator's ground-truth factors (empty for real data).
    """

    name: str
    n_users: int
    n_items: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    features: dict[str, np.ndarray]
    source: str = ""
    planted: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        return list(self.features)

    def _csr(self, pairs: np.ndarray) -> sp.csr_matrix:
        values = np.ones(len(pairs), dtype=np.float32)
        return sp.csr_matrix(
            (values, (pairs[:, 0], pairs[:, 1])), shape=(self.n_users, self.n_items)
        )

    @cached_property
    def train_csr(self) -> sp.csr_matrix:
        """Binary user x item matrix of training interactions."""
        return self._csr(self.train)

    @cached_property
    def valid_csr(self) -> sp.csr_matrix:
        return self._csr(self.valid)

    @cached_property
    def test_csr(self) -> sp.csr_matrix:
        return self._csr(self.test)

    def feature_tensors(self) -> dict[str, torch.Tensor]:
        """Fresh float32 copies: a backbone that fine-tunes its features must not alter the data."""
        return {name: torch.tensor(f, dtype=torch.float32) for name, f in self.features.items()}

    def describe(self) -> dict:
        """Small JSON-able summary recorded in every run's config."""
        return {
            "name": self.name,
            "source": self.source,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_train": int(len(self.train)),
            "n_valid": int(len(self.valid)),
            "n_test": int(len(self.test)),
            "modalities": {m: int(f.shape[1]) for m, f in self.features.items()},
        }

"""Variational bottleneck q(z|x) = N(mu(x), diag(sigma^2(x))) with a standard normal prior."""

from __future__ import annotations

import torch
from torch import nn


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, summed over dimensions: [n]."""
    return 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1.0).sum(-1)


class VariationalBottleneck(nn.Module):
    """Mean and log-variance heads; samples z in training, returns the mean in evaluation."""

    def __init__(self, dim: int, min_log_var: float = -10.0, max_log_var: float = 4.0):
        super().__init__()
        self.mean_head = nn.Linear(dim, dim)
        self.log_var_head = nn.Linear(dim, dim)
        self.min_log_var, self.max_log_var = min_log_var, max_log_var
        for head in (self.mean_head, self.log_var_head):
            nn.init.xavier_uniform_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (z, mean, log_var), each shaped like x."""
        mean = self.mean_head(x)
        # Clamping keeps exp(log_var) finite when a head drifts early in training.
        log_var = self.log_var_head(x).clamp(self.min_log_var, self.max_log_var)
        if not self.training:
            return mean, mean, log_var
        return mean + torch.randn_like(mean) * (0.5 * log_var).exp(), mean, log_var

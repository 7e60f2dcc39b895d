"""Variational bottleneck q(z|x) = N(mu(x), diag(sigma^2(x))) with a standard normal prior.

The posterior mean is the backbone's own representation (`mean_head="identity"`, the default):
the bottleneck adds only a log-variance head and the noise, so with the MRdIB terms off and the
noise off a +MRdIB run trains exactly the backbone. `mean_head="linear"` is the earlier design,
a trainable linear map on the mean path, kept so that results made with it can be reproduced;
that extra layer alone cost about 19% test Recall@5 on Baby VBPR with every term off
(docs/mechanism.md, "The plug-in").
"""

from __future__ import annotations

import math

import torch
from torch import nn

MEAN_HEADS = ("identity", "linear")
# The prior N(0, s^2 I): "unit" is the paper's s = 1; "relative" sets s^2 to the mean variance of
# the representation at initialisation, so the KL (and the log-variance clamp) reads the same on
# VBPR's 0.012-std projections as on a graph backbone's 0.05-std embeddings.
PRIOR_SCALES = ("unit", "relative")


def gaussian_kl_per_dim(mean: torch.Tensor, log_var: torch.Tensor, log_prior_var: float = 0.0) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, exp(log_prior_var))) per entry: shaped like mean."""
    relative = log_var - log_prior_var
    return 0.5 * (mean.pow(2) * math.exp(-log_prior_var) + relative.exp() - relative - 1.0)


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor, log_prior_var: float = 0.0) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, exp(log_prior_var) I)) per row, summed over dimensions: [n]."""
    return gaussian_kl_per_dim(mean, log_var, log_prior_var).sum(-1)


def sample_posterior(means: dict[str, torch.Tensor], log_vars: dict[str, torch.Tensor],
                     seed: int) -> dict[str, torch.Tensor]:
    """One seeded draw z_m = mean + exp(log_var / 2) * eps per modality (CPU tensors, [n_items, d] each),
    the same draw for the same seed whatever else used the global generator."""
    generator = torch.Generator().manual_seed(seed)
    return {m: mean + (0.5 * log_vars[m]).exp() * torch.randn(mean.shape, generator=generator)
            for m, mean in means.items()}


class VariationalBottleneck(nn.Module):
    """Log-variance head (and, in the earlier design, a mean head); samples z in training and
    returns the mean in evaluation.

    The log-variance head's output is `log_var_scale` times its raw linear output, with the raw
    weights divided by the same factor at initialisation: the same function, but Adam (whose step
    does not depend on the gradient's size) moves the log-variance `log_var_scale` times faster.
    Without it the log-variance drifts about one learning rate per step, so after a few hundred
    steps it still sits near its start whatever a1 asks for, and the KL can only act on the means.
    """

    def __init__(self, dim: int, init_log_var: float = -2.0, min_log_var: float = -10.0, max_log_var: float = 4.0,
                 log_var_scale: float = 10.0, mean_head: str = "identity"):
        super().__init__()
        if log_var_scale <= 0:
            raise ValueError(f"log_var_scale must be > 0, got {log_var_scale}")
        if mean_head not in MEAN_HEADS:
            raise ValueError(f"mean_head must be one of {', '.join(MEAN_HEADS)}, got {mean_head!r}")
        if not min_log_var < max_log_var:
            raise ValueError(f"min_log_var ({min_log_var}) must be below max_log_var ({max_log_var})")
        self.dim = dim
        self.log_var_scale = float(log_var_scale)
        self.mean_head = mean_head
        self.min_log_var, self.max_log_var = min_log_var, max_log_var
        # log s^2 of the prior N(0, s^2 I); the clamp's bounds are relative to it. A buffer, so a
        # checkpoint carries the prior its KL was measured against.
        self.register_buffer("log_prior_var", torch.zeros(()))
        self.register_load_state_dict_post_hook(VariationalBottleneck._read_prior)
        self.prior = 0.0
        if mean_head == "linear":
            # The earlier design: mean and log-variance heads share one matrix multiply, rows
            # [:dim] and [dim:]; initialised as before, so its runs reproduce bit for bit.
            self.heads = nn.Linear(dim, 2 * dim)
            nn.init.xavier_uniform_(self.heads.weight[:dim])
            nn.init.zeros_(self.heads.bias)
            log_var_weight = self.heads.weight[dim:]
        else:
            self.log_var_head = nn.Linear(dim, dim)
            log_var_weight = self.log_var_head.weight
        with torch.no_grad():
            # The log-variance starts the same for every item (its weights small), at init_log_var.
            nn.init.xavier_uniform_(log_var_weight)
            log_var_weight.mul_(0.01 / self.log_var_scale)
        self.set_initial_log_var(init_log_var)

    @staticmethod
    def _read_prior(module: "VariationalBottleneck", incompatible_keys: object) -> None:
        module.prior = float(module.log_prior_var)

    @torch.no_grad()
    def set_prior_relative_to(self, x: torch.Tensor) -> float:
        """Put the prior's log-variance at the log of the mean variance of mu(x) over x's rows."""
        self.prior = math.log(self._spread(x))
        self.log_prior_var.fill_(self.prior)
        return self.prior

    def _spread(self, x: torch.Tensor) -> float:
        """The mean variance of mu(x) over x's rows (1 for a single row), floored above zero."""
        spread = float(self.mean(x).var(0).mean()) if x.shape[0] > 1 else 1.0
        return max(spread, 1e-12)

    def kl(self, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """KL of the posterior to this bottleneck's prior, per row: [n]."""
        return gaussian_kl(mean, log_var, self.prior)

    def _log_var_bias(self) -> torch.Tensor:
        return self.heads.bias[self.dim:] if self.mean_head == "linear" else self.log_var_head.bias

    def set_initial_log_var(self, log_var: float) -> None:
        """Put the log-variance head's bias where the posterior log-variance should start."""
        with torch.no_grad():
            self._log_var_bias().fill_(log_var / self.log_var_scale)

    @torch.no_grad()
    def start_relative_to(self, x: torch.Tensor, relative_log_var: float) -> float:
        """Start log sigma^2 at `relative_log_var` + log of the mean variance of mu(x) over the rows of x.

        Backbone representations differ in scale by orders of magnitude (a graph backbone's
        embeddings have std ~0.05 at initialisation, VBPR's projections of Baby's features ~0.012):
        noise relative to the signal protects small representations early in training and still
        lets the KL trade variance. The start is kept one nat inside the clamp (which is relative to
        the prior). Returns it.
        """
        start = relative_log_var + math.log(self._spread(x))
        start = min(max(start, self.prior + self.min_log_var + 1.0), self.prior + self.max_log_var - 1.0)
        self.set_initial_log_var(start)
        return start

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean alone (what evaluation uses): x itself, or the earlier linear head's map."""
        if self.mean_head == "identity":
            return x
        return nn.functional.linear(x, self.heads.weight[: self.dim], self.heads.bias[: self.dim])

    def mean_and_log_var(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mean_head == "identity":
            mean, raw_log_var = x, self.log_var_head(x)
        else:
            mean, raw_log_var = self.heads(x).split(self.dim, dim=-1)
        # Clamping keeps exp(log_var) finite when a head drifts early in training. hardtanh is
        # the same clamp with a one-kernel backward (clamp's takes four passes): 0.7 vs 2.0 ms
        # per step on 7,050 x 64 values on a CPU. The gradients differ only at exactly a bound.
        if self.log_var_scale != 1.0:
            raw_log_var = raw_log_var * self.log_var_scale
        return mean, nn.functional.hardtanh(raw_log_var, self.prior + self.min_log_var, self.prior + self.max_log_var)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, noise: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (z, mean, log_var), each shaped like x. In training z = mean + sigma * eps, with eps
        from `generator` (None: the global generator, as the earlier design drew it); with
        `noise=False`, or in evaluation, z is the mean."""
        mean, log_var = self.mean_and_log_var(x)
        if not self.training or not noise:
            return mean, mean, log_var
        if generator is None:
            eps = torch.randn_like(mean)
        else:
            eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + eps * (0.5 * log_var).exp(), mean, log_var

"""MINE (Belghazi et al. 2018): a critic network and the Donsker-Varadhan bound on I(A; B).

The critic maximises the bound (its own optimizer); the encoders minimise it (the MRdIB
redundancy term). The gradient of log E[e^T] is biased on mini-batches; MINE replaces its
denominator E[e^T] by a moving average, which `MineEstimator` does in log space for stability.
The NWJ bound (Nguyen, Wainwright and Jordan 2010), E_joint[T] - E_marginal[e^(T-1)], is the
option without a logarithm of an expectation, so its mini-batch gradient needs no correction.

The critic sees each batch standardised per column (no learned scale), so an encoder cannot
lower the bound by shrinking or inflating z; it has to remove the dependence itself.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def donsker_varadhan_bound(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    """E_joint[T] - log E_marginal[e^T], the plain DV lower bound on mutual information."""
    return t_joint.mean() - (torch.logsumexp(t_marginal, 0) - math.log(t_marginal.numel()))


class MineCritic(nn.Module):
    """T(a, b): a two-layer MLP on the concatenated pair."""

    def __init__(self, dim_a: int, dim_b: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim_a + dim_b, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([a, b], dim=-1)).squeeze(-1)


BOUNDS = ("dv", "nwj")


def nwj_bound(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    """E_joint[T] - E_marginal[e^(T - 1)], the NWJ lower bound on mutual information."""
    return t_joint.mean() - (t_marginal - 1.0).exp().mean()


def standardise_batch(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Zero mean and unit variance per column over the batch, differentiable, with no learned scale."""
    mean = x.mean(0, keepdim=True)
    return (x - mean) * torch.rsqrt(x.var(0, unbiased=False, keepdim=True) + eps)


class MineEstimator(nn.Module):
    """A critic plus the moving average of E_marginal[e^T] used to correct its gradient."""

    def __init__(self, dim_a: int, dim_b: int, hidden: int = 64, ema_rate: float = 0.01,
                 standardise_inputs: bool = False, bound: str = "dv"):
        super().__init__()
        if bound not in BOUNDS:
            raise ValueError(f"unknown MINE bound '{bound}' (known: {', '.join(BOUNDS)})")
        self.critic = MineCritic(dim_a, dim_b, hidden)
        self.ema_rate = ema_rate
        self.standardise_inputs = standardise_inputs
        self.bound_kind = bound
        self.register_buffer("log_ema", torch.tensor(float("nan")))

    def objective(self, a: torch.Tensor, b: torch.Tensor, permutation: torch.Tensor,
                  update_average: bool = True, standardised: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(surrogate, bound) on the pairs (a_i, b_i) against (a_i, b_perm(i)), for this estimator's bound.

        The surrogate has the bound's value and the gradient the critic should ascend (MINE's
        corrected one for DV, the plain one for NWJ). `standardised`: a and b already went
        through `self.prepare` (the critic's extra updates reuse one standardisation of fixed z).
        """
        t_joint, t_marginal = self.scores(a, b, permutation, standardised)
        if self.bound_kind == "nwj":
            bound = nwj_bound(t_joint, t_marginal)
            return bound, bound
        return self.corrected_bound(t_joint, t_marginal, update_average)

    def prepare(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The critic's inputs: a and b standardised per column when `standardise_inputs`, else as given."""
        return (standardise_batch(a), standardise_batch(b)) if self.standardise_inputs else (a, b)

    def scores(self, a: torch.Tensor, b: torch.Tensor, permutation: torch.Tensor,
               standardised: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Critic values on joint pairs (a_i, b_i) and marginal pairs (a_i, b_perm(i)).

        The same function as calling the critic twice, computed once: the first layer's
        W [a; b] is W_a a + W_b b, so the shuffled pairs reuse both projections, and the
        other layers run on the joint and marginal rows together.
        """
        first, hidden, last = self.critic.net[0], self.critic.net[2], self.critic.net[4]
        if not standardised:
            a, b = self.prepare(a, b)
        dim_a = a.shape[1]
        projected_a = F.linear(a, first.weight[:, :dim_a], first.bias)  # [n, h]
        projected_b = F.linear(b, first.weight[:, dim_a:])  # [n, h]
        pre = torch.cat([projected_a + projected_b, projected_a + projected_b.index_select(0, permutation)])
        values = last(torch.relu(hidden(torch.relu(pre)))).squeeze(-1)  # [2n]
        return values[: a.shape[0]], values[a.shape[0]:]

    def corrected_bound(self, t_joint: torch.Tensor, t_marginal: torch.Tensor,
                        update_average: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(surrogate, bound): the surrogate has the DV bound's value and MINE's corrected gradient.

        d/dtheta of the surrogate's second term is (d E[e^T]) / ema instead of (d E[e^T]) / E[e^T].
        """
        log_mean_exp = torch.logsumexp(t_marginal, 0) - math.log(t_marginal.numel())
        with torch.no_grad():
            # torch.where instead of `if isnan(...)`: no host-device synchronisation per step.
            fresh = log_mean_exp.detach()
            started = ~torch.isnan(self.log_ema)
            if update_average:
                rate = self.ema_rate
                moved = torch.logaddexp(self.log_ema + math.log1p(-rate), fresh + math.log(rate))
                self.log_ema.copy_(torch.where(started, moved, fresh))
                log_ema = self.log_ema.clone()
            else:
                log_ema = torch.where(started, self.log_ema, fresh)
        ratio = (log_mean_exp - log_ema).exp()  # E[e^T] / ema, gradient flows through the numerator
        corrected_log_term = log_mean_exp.detach() + ratio - ratio.detach()
        bound = t_joint.mean() - log_mean_exp
        surrogate = t_joint.mean() - corrected_log_term
        return surrogate, bound


def fit_mine(a: torch.Tensor, b: torch.Tensor, steps: int = 1500, batch_size: int = 512, lr: float = 1e-3,
             hidden: int = 64, ema_rate: float = 0.01, seed: int = 0, eval_batches: int = 20,
             held_out: tuple[torch.Tensor, torch.Tensor] | None = None) -> float:
    """Train a fresh critic on paired samples (a_i, b_i) and return its DV estimate of I(A; B) in nats.

    The estimate averages the bound over `eval_batches` fresh batches after training, drawn
    from `held_out` pairs when given: on few samples a critic memorises its training pairs,
    and the bound evaluated on them then overstates I(A; B).
    """
    generator = torch.Generator().manual_seed(seed)
    a, b = a.float(), b.float()
    n = a.shape[0]
    batch_size = min(batch_size, n)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        estimator = MineEstimator(a.shape[1], b.shape[1], hidden, ema_rate)
    optimizer = torch.optim.Adam(estimator.parameters(), lr=lr)

    def batch(pool_a: torch.Tensor = a, pool_b: torch.Tensor = b) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        size = min(batch_size, pool_a.shape[0])
        index = torch.randint(pool_a.shape[0], (size,), generator=generator)
        permutation = torch.randperm(size, generator=generator)
        return pool_a[index], pool_b[index], permutation

    for _ in range(steps):
        batch_a, batch_b, permutation = batch()
        surrogate, _ = estimator.corrected_bound(*estimator.scores(batch_a, batch_b, permutation),
                                                 update_average=True)
        optimizer.zero_grad(set_to_none=True)
        (-surrogate).backward()
        optimizer.step()
    eval_a, eval_b = (a, b) if held_out is None else (held_out[0].float(), held_out[1].float())
    with torch.no_grad():
        bounds = [donsker_varadhan_bound(*estimator.scores(*batch(eval_a, eval_b))) for _ in range(eval_batches)]
    return float(torch.stack(bounds).mean())

"""MRdIB as a wrapper around any backbone.

loss = backbone loss (synergy: the fused prediction)
     + a1 * sum_m KL(q(z_m | x_m) || N(0, I))              (compression)
     + a2 * sum_{a<b} DV bound on I(z_a; z_b)              (redundancy, min over encoders)
     + a3 * sum_m BPR loss of a score from z_m alone       (unique information)

The MINE critics maximise the same bound with their own optimizer, so the game is min-max: the
critic's inputs pass through a gradient reversal (identity forward, times -a2 backward), so one
backward pass gives the critic the ascent direction at unit scale and the encoders a2 times the
descent direction. For the first `critic_warmup_steps` steps the reversal scale is 0 (the critic
learns alone; a2 then ramps up over as many steps), and `critic_steps > 1` adds critic-only
updates on each step's detached z, so the critic keeps up with encoders that would otherwise win
by moving faster than it (docs/mechanism.md).
With `enabled=False` the wrapper owns no parameters and runs exactly the backbone's own chain, so a
baseline run is bit-identical to the plain backbone. With it enabled, the posterior mean is the
backbone's own representation (`mean_head: identity`), and everything MRdIB draws (its initial
weights, the posterior noise, its subsets and shuffles) comes from a generator of its own: the
backbone's stream of random numbers (negative sampling, dropout) is the baseline's, so with
a1 = a2 = a3 = 0 and `posterior_noise: false` a +MRdIB run takes the baseline's steps exactly.
`mean_head: linear` is the earlier design, global generator included, for reproducing its results.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused, bpr_loss
from mrdib.core.config import MRdIBConfig
from mrdib.core.errors import ConfigError
from mrdib.core.names import ALPHA_NAMES
from mrdib.objective.bottleneck import MEAN_HEADS, PRIOR_SCALES, VariationalBottleneck
from mrdib.objective.mine import BOUNDS, MineEstimator


@dataclass
class StepOutput:
    """One training step: the loss to back-propagate, an optional separate critic loss, and logs.

    `loss` has the value of the encoders' objective; its backward also gives the critics their
    (reversed) gradients. `critic_loss`, when set, is a second loss for the critics alone, and
    `critic_refresh` builds a further critic-only loss on the step's detached z, once per extra
    critic update (`critic_steps - 1` times).
    """

    loss: torch.Tensor
    critic_loss: torch.Tensor | None = None
    logs: dict[str, torch.Tensor] = field(default_factory=dict)
    critic_refresh: Callable[[], torch.Tensor] | None = None


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by -scale (the min-max's reversal)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * -ctx.scale, None


def reverse_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """x, with backward(-scale * grad): a loss that descends f(x) makes x ascend scale * f."""
    return _ReverseGradient.apply(x, scale)


def distinct_rows(items: torch.Tensor, n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, inverse): the sorted distinct values of `items` and each entry's position among them.

    What torch.unique(return_inverse=True) returns, by marking and counting instead of sorting
    (4x faster for a batch's 4,096 items on a CPU).
    """
    present = torch.zeros(n_items, dtype=torch.bool, device=items.device).index_fill_(0, items, True)
    rows = present.nonzero().squeeze(1)
    return rows, present.cumsum(0).sub_(1).index_select(0, items)


# The a3 term: "standalone" (the paper's: BPR of each z_m's own score, which rewards all the
# information z_m has about Y, redundant included) or "conditional" (BPR of z_m's score added to
# the other modalities' detached scores: only what they miss is rewarded). docs/mechanism.md.
UNIQUE_MODES = ("standalone", "conditional")


def pair_name(a: str, b: str) -> str:
    return f"{a}~{b}"


# Added to the run's seed for MRdIB's own generator, so its draws are not the backbone's.
_GENERATOR_OFFSET = 0x4D52644942


def check_settings(cfg: MRdIBConfig) -> None:
    """Settings that name a choice must name a known one, and weights must be finite and >= 0 (one
    line, naming the option): a negative weight would turn a term's direction round unnoticed."""
    for option in ALPHA_NAMES:
        value = getattr(cfg, option)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ConfigError(f"mrdib.{option} must be a finite number >= 0, got {value}")
    choices = {"mine_bound": BOUNDS, "unique_mode": UNIQUE_MODES, "mean_head": MEAN_HEADS,
               "prior_scale": PRIOR_SCALES}
    for option, known in choices.items():
        value = getattr(cfg, option)
        if value not in known:
            raise ConfigError(f"mrdib.{option}: unknown value '{value}' (known: {', '.join(known)})")
    if cfg.critic_steps < 1:
        raise ConfigError(f"mrdib.critic_steps must be >= 1, got {cfg.critic_steps}")
    if not cfg.min_log_var < 3.0:
        raise ConfigError(f"mrdib.min_log_var must be below 3 (the clamp's top is 4), got {cfg.min_log_var}")


class MRdIB(nn.Module):
    """A backbone plus, when enabled, the MRdIB bottlenecks, critics and per-modality decoders."""

    def __init__(self, backbone: Backbone, cfg: MRdIBConfig):
        super().__init__()
        self.backbone = backbone
        self.cfg = cfg
        self.enabled = cfg.enabled
        if not self.enabled:
            return
        check_settings(cfg)
        # Its own stream of random numbers (docstring above), seeded from the run's seed.
        self.own_generator = cfg.mean_head != "linear"
        self.generator_seed = (torch.initial_seed() + _GENERATOR_OFFSET) % (2 ** 63)
        self._generator: torch.Generator | None = None
        self._saved_generator: dict[str, Any] | None = None  # from a resume state, until first use
        modal_items, user_dim = self._probe_dimensions()
        modal_dims = {m: int(t.shape[1]) for m, t in modal_items.items()}
        self.pairs = list(itertools.combinations(modal_dims, 2))
        with self._own_initialisation():
            self.bottlenecks = nn.ModuleDict({
                m: VariationalBottleneck(d, min_log_var=cfg.min_log_var, log_var_scale=cfg.log_var_scale,
                                         mean_head=cfg.mean_head)
                for m, d in modal_dims.items()})
            self._start_bottlenecks(modal_items)
            self.unique_decoders = nn.ModuleDict({m: nn.Linear(user_dim, d, bias=False)
                                                  for m, d in modal_dims.items()})
            for decoder in self.unique_decoders.values():
                nn.init.xavier_uniform_(decoder.weight)
            self.estimators = nn.ModuleDict({
                pair_name(a, b): MineEstimator(modal_dims[a], modal_dims[b], cfg.critic_hidden, cfg.mine_ema_rate,
                                               standardise_inputs=cfg.critic_standardise, bound=cfg.mine_bound)
                for a, b in self.pairs
            })
        # Training steps so far, for the critic's warm-up: a Python int read every step (no device
        # synchronisation) mirrored in a buffer, so checkpoints and resumed runs keep it.
        self.steps_done = 0
        self.register_buffer("training_steps", torch.zeros((), dtype=torch.long))
        self.register_load_state_dict_post_hook(MRdIB._read_steps_done)

    @contextlib.contextmanager
    def _own_initialisation(self) -> Iterator[None]:
        """MRdIB's parameters drawn from its own seed, leaving the global generator where it was
        (the earlier design drew them from the global generator)."""
        if not self.own_generator:
            yield
            return
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.generator_seed)
            yield

    def generator(self, device: torch.device) -> torch.Generator | None:
        """MRdIB's own generator on `device` (None in the earlier design: the global one)."""
        if not self.own_generator:
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            saved = self._saved_generator
            if saved is not None and torch.device(saved["device"]) == device:
                self._generator.set_state(saved["state"])
            else:  # a fresh run, or a resume on another device: seeded where the run stands
                self._generator.manual_seed(self.generator_seed + self.steps_done)
            self._saved_generator = None
        return self._generator

    def generator_state(self) -> dict[str, Any] | None:
        """For a resume state: the own generator's state and device (None when it has drawn nothing)."""
        if self._generator is None:
            return self._saved_generator
        return {"device": str(self._generator.device), "state": self._generator.get_state()}

    def set_generator_state(self, saved: dict[str, Any] | None) -> None:
        """Continue the own generator where a resume state left it (on its first use)."""
        if self.own_generator:
            self._generator, self._saved_generator = None, saved

    def _randperm(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randperm(n, device=device, generator=self.generator(device))

    @staticmethod
    def _read_steps_done(module: "MRdIB", incompatible_keys: Any) -> None:
        module.steps_done = int(module.training_steps)

    def redundancy_weight(self) -> float:
        """The weight the encoders give the MINE bound now: 0 while the critic warms up alone
        (`critic_warmup_steps`), then rising linearly to a2 over as many steps again. Switching a2
        on at once let the encoders' first answer drive the bound far below zero (-1.3 nats on the
        synthetic data at a2 = 0.05, the fresh estimate still at 1.4) before the critic caught up."""
        warmup = self.cfg.critic_warmup_steps
        if warmup <= 0:
            return self.cfg.a2
        return self.cfg.a2 * min(1.0, max(0.0, (self.steps_done - warmup) / warmup))

    def _start_bottlenecks(self, modal_items: dict[str, torch.Tensor]) -> None:
        """The prior, then the initial log-variances: absolute when configured, else relative to
        each modality's scale."""
        for m, bottleneck in self.bottlenecks.items():
            if self.cfg.prior_scale == "relative":
                bottleneck.set_prior_relative_to(modal_items[m])
            if self.cfg.init_log_var is not None:
                bottleneck.set_initial_log_var(self.cfg.init_log_var)
            else:
                bottleneck.start_relative_to(modal_items[m], self.cfg.init_relative_log_var)

    def _probe_dimensions(self) -> tuple[dict[str, torch.Tensor], int]:
        """Run the backbone once, without gradients or side effects on the RNG: the initial
        per-modality item representations and the user representation's width."""
        rng_state = torch.get_rng_state()
        was_training = self.backbone.training
        self.backbone.eval()
        with torch.no_grad():
            encoded = self.backbone.encode()
            user_dim = int(self.backbone.user_representation(self.backbone.fuse(encoded)).shape[1])
        self.backbone.train(was_training)
        torch.set_rng_state(rng_state)
        return dict(encoded.modal_items), user_dim

    # -- parameters -----------------------------------------------------------------------
    def model_parameters(self) -> list[nn.Parameter]:
        """Everything the main optimizer updates (all but the critics)."""
        critic_ids = {id(p) for p in self.critic_parameters()}
        return [p for p in self.parameters() if id(p) not in critic_ids]

    def critic_parameters(self) -> list[nn.Parameter]:
        return list(self.estimators.parameters()) if self.enabled else []

    # -- forward --------------------------------------------------------------------------
    def _bottleneck(self, modal_items: dict[str, torch.Tensor]
                    ) -> tuple[dict[str, torch.Tensor], dict[str, tuple[torch.Tensor, torch.Tensor]]]:
        """z per modality, and the posterior (mean, log_var) it was drawn from."""
        z_items: dict[str, torch.Tensor] = {}
        posteriors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for m, x in modal_items.items():
            generator = self.generator(x.device) if self.training else None
            z_items[m], mean, log_var = self.bottlenecks[m](x, generator, self.cfg.posterior_noise)
            posteriors[m] = (mean, log_var)
        return z_items, posteriors

    def posterior(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
        """Every item's q(z_m | x_m): means and log-variances per modality ([n_items, d] each) and the
        encoder's extras that fusion needs. Call it in evaluation mode (in training mode the heads
        only the means and log-variances are computed, so no generator is consumed either way)."""
        encoded = self.backbone.encode()
        means, log_vars = {}, {}
        for m, x in encoded.modal_items.items():
            means[m], log_vars[m] = self.bottlenecks[m].mean_and_log_var(x)
        return means, log_vars, encoded.extras

    def representations(self) -> tuple[Encoded, Fused]:
        """Per-modality item representations entering fusion (z when enabled) and the fused ones."""
        encoded = self.backbone.encode()
        if self.enabled:
            encoded = Encoded(self._bottleneck(encoded.modal_items)[0], encoded.extras)
        return encoded, self.backbone.fuse(encoded)

    def score(self, fused: Fused, users: torch.Tensor) -> torch.Tensor:
        return self.backbone.score(fused, users)

    def training_step(self, batch: BPRBatch) -> StepOutput:
        if not self.enabled:
            loss = self.backbone.loss(self.backbone.fuse(self.backbone.encode()), batch)
            return StepOutput(loss, None, {"losses/total": loss.detach(), "losses/backbone": loss.detach()})

        cfg = self.cfg
        encoded = self.backbone.encode()
        if self.backbone.loss_reads_all_items:
            z, posteriors = self._bottleneck(encoded.modal_items)
            pos_index, neg_index = batch.pos_items, batch.neg_items
            fusion_input = z
        else:
            # Row-wise fusion, batch-only loss: the bottleneck runs on the batch's items alone
            # and the other rows of the fusion input are placeholders the loss never reads.
            rows, inverse = distinct_rows(torch.cat([batch.pos_items, batch.neg_items]), self.backbone.n_items)
            pos_index, neg_index = inverse[: len(batch.pos_items)], inverse[len(batch.pos_items):]
            z, posteriors = self._bottleneck({m: x.index_select(0, rows) for m, x in encoded.modal_items.items()})
            fusion_input = {m: z_m.new_zeros(self.backbone.n_items, z_m.shape[1]).index_copy(0, rows, z_m)
                            for m, z_m in z.items()}
        fused = self.backbone.fuse(Encoded(fusion_input, encoded.extras))
        backbone_loss = self.backbone.loss(fused, batch)
        logs: dict[str, torch.Tensor] = {"losses/backbone": backbone_loss.detach()}

        users_index, mine_pool = batch.users, pos_index  # MINE draws its own pairs from every positive
        if 0 < cfg.aux_batch_size < len(users_index):
            # The regularisers on a uniform random subset of the triples: unbiased, cheaper.
            subset = self._randperm(len(users_index), users_index.device)[: cfg.aux_batch_size]
            users_index, pos_index, neg_index = (users_index.index_select(0, subset), pos_index.index_select(0, subset),
                                                 neg_index.index_select(0, subset))

        kl_total = backbone_loss.new_zeros(())
        for m, (mean, log_var) in posteriors.items():
            kl_m = self.bottlenecks[m].kl(mean.index_select(0, pos_index), log_var.index_select(0, pos_index)).mean()
            kl_total = kl_total + kl_m
            logs[f"kl/{m}"] = kl_m.detach()

        # The decoders read the users as given: the unique terms shape z_m (and the decoders),
        # not the backbone's user vectors, which the fused loss trains.
        users = self.backbone.user_representation(fused).detach().index_select(0, users_index)  # [b, d_user]
        scores: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for m, decoder in self.unique_decoders.items():
            user_view = decoder(users)  # [b, d_m]
            scores[m] = ((user_view * z[m].index_select(0, pos_index)).sum(-1),
                         (user_view * z[m].index_select(0, neg_index)).sum(-1))
        unique_total = backbone_loss.new_zeros(())
        for m, (pos, neg) in scores.items():
            if cfg.unique_mode == "conditional":
                # Credit z_m only for what the other modalities' (fixed) scores miss: their sum is
                # an offset, so the gradient reaches z_m where the others rank the pair wrongly.
                others_pos = sum((p.detach() for o, (p, _) in scores.items() if o != m), torch.zeros_like(pos))
                others_neg = sum((n.detach() for o, (_, n) in scores.items() if o != m), torch.zeros_like(neg))
                pos, neg = pos + others_pos, neg + others_neg
            unique_m = bpr_loss(pos, neg)
            unique_total = unique_total + unique_m
            logs[f"unique/{m}"] = unique_m.detach()

        weight = self.redundancy_weight()
        # MINE pairs: a random subset of the batch's positive items (the critic is the costly part).
        mine_index = mine_pool[self._randperm(len(mine_pool), mine_pool.device)[: cfg.mine_batch_size]]
        permutation = self._randperm(len(mine_index), mine_pool.device)
        mine_total = backbone_loss.new_zeros(())
        critic_game = backbone_loss.new_zeros(())  # minus the critics' surrogates, through the reversal
        detached_pairs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for a, b in self.pairs:
            estimator = self.estimators[pair_name(a, b)]
            z_a, z_b = z[a].index_select(0, mine_index), z[b].index_select(0, mine_index)
            detached_pairs[pair_name(a, b)] = (z_a.detach(), z_b.detach())
            if weight > 0:
                z_a, z_b = reverse_gradient(z_a, weight), reverse_gradient(z_b, weight)
            else:  # a2 = 0 or the critic's warm-up: the critic learns on z the encoders do not answer for
                z_a, z_b = z_a.detach(), z_b.detach()
            surrogate, bound = estimator.objective(z_a, z_b, permutation, update_average=True)
            critic_game = critic_game - surrogate
            mine_total = mine_total + bound.detach()
            logs[f"mine_bound/{pair_name(a, b)}"] = bound.detach()

        objective = backbone_loss + cfg.a1 * kl_total + weight * mine_total + cfg.a3 * unique_total
        # Value: the encoders' objective. Gradient: that, plus the critics' ascent and the encoders'
        # share of the bound, both arriving through the reversal in `critic_game` (its value cancels).
        loss = objective + (critic_game - critic_game.detach())
        self.steps_done += 1
        self.training_steps.fill_(self.steps_done)
        logs.update({
            "losses/total": objective.detach(),
            "losses/kl": kl_total.detach(),
            "losses/mine": mine_total,
            "losses/unique": unique_total.detach(),
            "losses/redundancy_weight": backbone_loss.new_tensor(weight),
        })
        extra_critic_updates = cfg.critic_steps > 1 and bool(detached_pairs)
        refresh = self._critic_refresh(detached_pairs, len(mine_index)) if extra_critic_updates else None
        return StepOutput(loss, None, logs, refresh)

    def _critic_refresh(self, pairs: dict[str, tuple[torch.Tensor, torch.Tensor]], n: int
                        ) -> Callable[[], torch.Tensor]:
        """A closure giving the critics' loss on this step's detached z with a new shuffle, per call.

        The z are fixed across the calls, so each pair is standardised for its critic once, here
        (the same values every call would compute; a column variance over the batch costs as much
        as the critic's products on a CPU)."""
        prepared = {name: self.estimators[name].prepare(z_a, z_b) for name, (z_a, z_b) in pairs.items()}

        def critic_loss() -> torch.Tensor:
            device = next(iter(prepared.values()))[0].device
            permutation = self._randperm(n, device)
            total = torch.zeros((), device=device)
            for name, (z_a, z_b) in prepared.items():
                surrogate, _ = self.estimators[name].objective(z_a, z_b, permutation, update_average=True,
                                                               standardised=True)
                total = total - surrogate
            return total

        return critic_loss

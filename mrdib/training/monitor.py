"""Watches the MRdIB mechanism while it trains: what the posterior and the critic are doing.

Every `monitor_every` epochs it draws one sample of every item's posterior z and logs, beside the
training bound, a fresh redundancy estimate on those samples (held-out Gaussian MI from canonical
correlations: milliseconds, and unlike the training critic it has not been played against), and
each modality's mean posterior log-variance. When the training bound stays at or below zero for
`critic_beaten_epochs` epochs while a2 acts on the encoders and the fresh estimate still finds
redundancy, the encoders are beating the critic rather than removing the redundancy: it logs a
warning and records it in the trainer's stop state, which summary.json carries (`warnings`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from mrdib.objective.bottleneck import sample_posterior
from mrdib.objective.plugin import pair_name
from mrdib.training.trainer import Callback, EpochRecord

if TYPE_CHECKING:
    from mrdib.training.trainer import Trainer

log = logging.getLogger("mrdib")

CRITIC_BEATEN = "critic_beaten"
# Redundancy (nats, fresh estimate) below which a bound near zero is the truth, not a beaten critic.
REDUNDANCY_LEFT_NATS = 0.1


@torch.no_grad()
def posterior_samples(model, seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One seeded draw of every item's z per modality, and the posterior log-variances ([n_items, d] each, CPU)."""
    was_training = model.training
    model.eval()
    means, log_vars, _ = model.posterior()
    model.train(was_training)
    means = {m: mean.float().cpu() for m, mean in means.items()}
    log_vars = {m: log_var.float().cpu() for m, log_var in log_vars.items()}
    return sample_posterior(means, log_vars, seed), log_vars


class MechanismMonitor(Callback):
    """Adds `monitor/...` entries to each monitored epoch's logs and warns when the critic is beaten.

    Runs before the run-folder writer, so the entries reach metrics.jsonl.
    """

    def __init__(self, every: int = 1, beaten_epochs: int = 3, seed: int = 0, run_id: str = ""):
        self.every, self.beaten_epochs, self.seed = every, beaten_epochs, seed
        self.run_id = run_id  # named in warnings: a demo or a sweep logs many runs into one file
        self.nonpositive: dict[str, int] = {}

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None:
        model = trainer.model
        if not model.enabled or self.every <= 0:
            return
        fresh = self._fresh_estimates(trainer, record) if record.epoch % self.every == 0 else {}
        self._check_critic(trainer, record, fresh)

    def _fresh_estimates(self, trainer: "Trainer", record: EpochRecord) -> dict[str, float]:
        from mrdib.objective.estimators import GaussianMiSettings, gaussian_cca_mi

        samples, log_vars = posterior_samples(trainer.model, self.seed + record.epoch)
        for modality, log_var in log_vars.items():
            record.logs[f"monitor/log_var/{modality}"] = float(log_var.mean())
        fresh = {}
        settings = GaussianMiSettings(folds=1, seed=self.seed)
        for a, b in trainer.model.pairs:
            name = pair_name(a, b)
            fresh[name] = gaussian_cca_mi(samples[a].numpy(), samples[b].numpy(), settings)["mean"]
            record.logs[f"monitor/mi_samples/{name}"] = fresh[name]
        return fresh

    def _check_critic(self, trainer: "Trainer", record: EpochRecord, fresh: dict[str, float]) -> None:
        model = trainer.model
        acting = model.redundancy_weight() > 0
        for a, b in model.pairs:
            name = pair_name(a, b)
            bound = record.logs.get(f"mine_bound/{name}")
            if bound is None or not acting or bound > 0:
                self.nonpositive[name] = 0
                continue
            self.nonpositive[name] = self.nonpositive.get(name, 0) + 1
            left = fresh.get(name, record.logs.get(f"monitor/mi_samples/{name}"))
            already = any(w["code"] == CRITIC_BEATEN and w.get("pair") == name for w in trainer.stop.warnings)
            if self.nonpositive[name] >= self.beaten_epochs and left is not None and left > REDUNDANCY_LEFT_NATS \
                    and not already:
                message = (f"the MINE critic for {name} is beaten: its training bound has been <= 0 for "
                           f"{self.nonpositive[name]} epochs (now {bound:.3f} nats) while a fresh estimate on "
                           f"posterior samples finds {left:.2f} nats of redundancy; raise mrdib.critic_lr or "
                           "mrdib.critic_steps (docs/mechanism.md)")
                log.warning("run %s, epoch %d: %s", self.run_id or "(unnamed)", record.epoch, message)
                trainer.stop.warnings.append({"epoch": record.epoch, "code": CRITIC_BEATEN, "pair": name,
                                              "message": message})

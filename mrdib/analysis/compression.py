"""Compression: per modality the KL of the bottleneck posterior to the prior, its mean
log-variance, and the information the Gaussian channel x -> z can pass,
    I(X; Z) ~ sum_d 0.5 * log(1 + Var_items(mu_d) / E_items[sigma_d^2])   (nats),
with the dimensions that carry more than 0.1 nats of it; plus posterior samples for the probes
and the redundancy estimates on what the stochastic representation carries.

Log-variances come from embeddings.npz (`modal_log_var/<modality>`, saved at the best epoch)
when the run has them; otherwise the model is rebuilt from the best checkpoint and its
bottleneck heads are run once over every item in evaluation mode. Fusing a sample needs the
model in either case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mrdib.backbones.base import Encoded
from mrdib.core.config import RunConfig
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import RunError
from mrdib.objective.bottleneck import gaussian_kl_per_dim, sample_posterior
from mrdib.objective.plugin import MRdIB
from mrdib.runs.reader import load_checkpoint, modal_log_vars

# A dimension "carries information" through the bottleneck above this many nats.
INFORMATIVE_NATS = 0.1
# config.json entries that describe the run rather than configure it.
_NOT_SETTINGS = ("run_id", "created", "dataset", "env", "format_version")


@dataclass
class Posteriors:
    """q(z_m | x_m) for every item: means and log-variances [n_items, d] per modality, where they
    came from ("embeddings.npz" or "checkpoint"), and the model, which fuses posterior samples
    (None when it could not be rebuilt: `model_problem` says why; statistics need no model)."""

    means: dict[str, torch.Tensor]
    log_vars: dict[str, torch.Tensor]
    model: MRdIB | None
    extras: dict
    source: str = "checkpoint"
    model_problem: str | None = None

    @property
    def log_prior_vars(self) -> dict[str, float]:
        """log s^2 of each modality's prior N(0, s^2 I): 0 (the paper's unit prior) unless the run
        used `prior_scale: relative`, which the model's bottlenecks record."""
        if self.model is None:
            return {}
        return {m: float(b.prior) for m, b in self.model.bottlenecks.items()}

    @torch.no_grad()
    def sample(self, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """One seeded draw z_m = mean + exp(0.5 * log_var) * eps per item and modality, and the fused
        items built from it (None without a model)."""
        samples = sample_posterior(self.means, self.log_vars, seed)
        fused = None
        if self.model is not None:
            fused = self.model.backbone.fuse(Encoded(samples, self.extras)).items.numpy()
        return {m: z.numpy() for m, z in samples.items()}, fused


def rebuild_model(config: dict, data: InteractionData, run_dir: str | Path) -> MRdIB:
    """The run's model with its best checkpoint's weights, in evaluation mode."""
    from mrdib.training.runner import build_model

    cfg = RunConfig.from_dict({k: v for k, v in config.items() if k not in _NOT_SETTINGS})
    model = build_model(cfg, data)
    path = Path(run_dir) / "checkpoint.pt"
    saved = load_checkpoint(run_dir).get("model")
    if not isinstance(saved, dict):
        raise RunError(f"{path}: holds no model weights; retrain the run")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise RunError(f"{path}: does not fit the model its config builds ({_key_summary(missing, unexpected)}); "
                       "it was probably written by another version of mrdib: retrain the run")
    try:
        model.load_state_dict(saved)
    except RuntimeError as exc:  # same names, other shapes
        detail = " ".join(str(exc).split())[:200]
        raise RunError(f"{path}: does not fit the model its config builds ({detail}); retrain the run") from exc
    return model.eval()


def _key_summary(missing: list[str], unexpected: list[str], shown: int = 2) -> str:
    parts = []
    for label, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
            parts.append(f"{label} {', '.join(keys[:shown])}{more}")
    return "; ".join(parts)


@torch.no_grad()
def posteriors_of(model: MRdIB) -> Posteriors | None:
    """Every item's bottleneck posterior; None for a baseline model, which has no bottleneck."""
    if not model.enabled:
        return None
    model.eval()
    means, log_vars, extras = model.posterior()
    return Posteriors(means, log_vars, model, extras)


def run_posteriors(config: dict, data: InteractionData, run_dir: str | Path,
                   embeddings: dict[str, np.ndarray] | None = None) -> Posteriors | None:
    """The posteriors of a run at its best epoch; None for a baseline run (without loading anything).

    With `embeddings` that hold `modal_log_var/<m>` for every saved modality, means and
    log-variances are read from them and the checkpoint only supplies the model that fuses
    samples (a checkpoint that cannot be used is then recorded, not raised); otherwise both
    come from the rebuilt checkpoint.
    """
    if not config.get("mrdib", {}).get("enabled", False):
        return None
    saved = modal_log_vars(embeddings) if embeddings is not None else {}
    modalities = [key.split("/", 1)[1] for key in (embeddings or {}) if key.startswith("modal/")]
    if not saved or any(m not in saved for m in modalities):
        return posteriors_of(rebuild_model(config, data, run_dir))
    model, problem, extras = None, None, {}
    try:
        model = rebuild_model(config, data, run_dir)
        with torch.no_grad():
            extras = model.backbone.encode().extras
    except RunError as error:
        problem = str(error)
    means = {m: torch.from_numpy(np.asarray(embeddings[f"modal/{m}"], dtype=np.float32)) for m in modalities}
    log_vars = {m: torch.from_numpy(np.asarray(saved[m], dtype=np.float32)) for m in modalities}
    return Posteriors(means, log_vars, model, extras, source="embeddings.npz", model_problem=problem)


def channel_information(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Per dimension 0.5 * log(1 + Var_items(mu_d) / E_items[sigma_d^2]) in nats [d]: the capacity
    of a Gaussian channel with the posterior's signal (spread of the means over items) and noise
    (its average variance), an estimate of the information z_d passes about x."""
    signal = mean.double().var(0, unbiased=False)  # [d]
    noise = log_var.double().exp().mean(0)  # [d]
    return 0.5 * torch.log1p(signal / noise.clamp_min(1e-30))


def posterior_statistics(posteriors: Posteriors, informative_nats: float = INFORMATIVE_NATS) -> dict[str, dict]:
    """Per modality: mean KL per item (nats), mean posterior log-variance, the channel information
    estimate of I(X; Z) (nats) and the count of dimensions carrying more than `informative_nats`
    of it, and per dimension the KL, the mean posterior variance and the channel information."""
    result = {}
    priors = posteriors.log_prior_vars
    for modality, mean in posteriors.means.items():
        log_var = posteriors.log_vars[modality]  # [n_items, d]
        kl_entries = gaussian_kl_per_dim(mean, log_var, priors.get(modality, 0.0))  # [n_items, d]
        kl_per_dim = kl_entries.mean(0)  # [d]
        variance_per_dim = log_var.exp().mean(0)  # [d]
        information_per_dim = channel_information(mean, log_var)  # [d]
        result[modality] = {
            "kl": float(kl_entries.sum(-1).mean()),
            "dims": int(mean.shape[1]),
            "mean_log_var": float(log_var.double().mean()),
            "channel_information": float(information_per_dim.sum()),
            "informative_dims": int((information_per_dim > informative_nats).sum()),
            "kl_per_dim": kl_per_dim.double().numpy().round(6).tolist(),
            "posterior_variance_per_dim": variance_per_dim.double().numpy().round(6).tolist(),
            "channel_information_per_dim": information_per_dim.numpy().round(6).tolist(),
        }
    return result

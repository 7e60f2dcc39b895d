"""Compression: the KL of each modality's bottleneck posterior to the prior, how many of its
latent dimensions are active (posterior variance clearly below the prior's unit variance),
and samples from the posterior for probes of what the stochastic representation carries.

The embeddings file keeps only the posterior means, so the model is rebuilt from the run's
best checkpoint and its bottleneck heads are run once over every item in evaluation mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mrdib.backbones.base import Encoded
from mrdib.config import RunConfig
from mrdib.data.dataset import InteractionData
from mrdib.errors import RunError
from mrdib.objective.bottleneck import gaussian_kl
from mrdib.objective.plugin import MRdIB
from mrdib.runs.reader import load_checkpoint

# config.json entries that describe the run rather than configure it.
_NOT_SETTINGS = ("run_id", "created", "dataset", "env", "format_version")


@dataclass
class Posteriors:
    """q(z_m | x_m) for every item: means and log-variances [n_items, d] per modality, plus the
    model, which fuses posterior samples for the probes (statistics alone need no model)."""

    means: dict[str, torch.Tensor]
    log_vars: dict[str, torch.Tensor]
    model: MRdIB | None
    extras: dict

    @torch.no_grad()
    def sample(self, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """One draw z_m = mean + std * eps per item and modality, and the fused items built from it."""
        if self.model is None:
            raise ValueError("Posteriors.sample needs the model that fuses the samples")
        generator = torch.Generator().manual_seed(seed)
        samples = {m: mean + (0.5 * self.log_vars[m]).exp() * torch.randn(mean.shape, generator=generator)
                   for m, mean in self.means.items()}
        fused = self.model.backbone.fuse(Encoded(samples, self.extras))
        return {m: z.numpy() for m, z in samples.items()}, fused.items.numpy()


def rebuild_model(config: dict, data: InteractionData, run_dir: str | Path) -> MRdIB:
    """The run's model with its best checkpoint's weights, in evaluation mode."""
    from mrdib.runner import build_model

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
    encoded = model.backbone.encode()
    means, log_vars = {}, {}
    for modality, reps in encoded.modal_items.items():
        _, means[modality], log_vars[modality] = model.bottlenecks[modality](reps)
    return Posteriors(means, log_vars, model, encoded.extras)


def run_posteriors(config: dict, data: InteractionData, run_dir: str | Path) -> Posteriors | None:
    """posteriors_of the run's best checkpoint; None for a baseline run (without loading anything)."""
    if not config.get("mrdib", {}).get("enabled", False):
        return None
    return posteriors_of(rebuild_model(config, data, run_dir))


def posterior_statistics(posteriors: Posteriors, active_threshold: float = 0.5) -> dict[str, dict]:
    """Per modality: mean KL per item (nats), KL and mean posterior variance per dimension, and
    the count of dimensions whose item-averaged posterior variance is below `active_threshold`
    (the prior's variance is 1)."""
    result = {}
    for modality, mean in posteriors.means.items():
        log_var = posteriors.log_vars[modality]  # [n_items, d]
        kl_per_dim = 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1.0).mean(0)  # [d]
        variance_per_dim = log_var.exp().mean(0)  # [d]
        result[modality] = {
            "kl": float(gaussian_kl(mean, log_var).mean()),
            "dims": int(mean.shape[1]),
            "active_dims": int((variance_per_dim < active_threshold).sum()),
            "kl_per_dim": kl_per_dim.double().numpy().round(6).tolist(),
            "posterior_variance_per_dim": variance_per_dim.double().numpy().round(6).tolist(),
        }
    return result

"""`analyze_run`: every analysis of one finished run, timed, as one JSON-able dict that
`save_analysis` writes beside the run (analysis.json, read back by `mrdib.runs.reader.read_analysis`).

Layout of analysis.json (version 1; numbers in nats for MINE and KL, R^2 on held-out items):
  analysis_version, run_id, created, dataset, backbone, mrdib_enabled, modalities, settings,
  seconds: {redundancy, ranking, compression, probes, total}
  redundancy: {"a~b": {"cka": float, "mine": {"mean", "std", "estimates": [...]} | null}}
  ranking: {k, ridge, modalities: {m: {"recall@k", "ndcg@k"}}, fused, fused_probe,
            best_single: {metric: m}, synergy_gain, synergy_gain_probe}
  compression: null (baseline) | {m: {kl, dims, active_dims, kl_per_dim, posterior_variance_per_dim}}
  probes: null (no planted factors, or --no-probes) |
          {r2: {representation: {factor: R^2}}, summary, r2_sampled, summary_sampled, sampled_from,
           test_fraction, alpha}; representations are the modalities and "fused".
"""

from __future__ import annotations

import dataclasses
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from mrdib.analysis.compression import Posteriors, posterior_statistics, run_posteriors
from mrdib.analysis.inputs import RunInputs, load_run_inputs
from mrdib.analysis.probes import planted_item_factors, probe_planted_factors
from mrdib.analysis.ranking import modality_ranking
from mrdib.analysis.redundancy import MineSettings, redundancy_between_modalities
from mrdib.data.dataset import InteractionData
from mrdib.io import atomic_write_json
from mrdib.runs.writer import ANALYSIS_FILE, utc_now

ANALYSIS_VERSION = 1


@dataclass
class AnalysisSettings:
    """What to compute and how hard to try; the CLI's --steps/--restarts/--no-* map onto it."""

    mine: MineSettings = field(default_factory=MineSettings)
    use_mine: bool = True
    k: int = 5  # ranking cut-off: recall@k and NDCG@k on the validation split
    ranking_ridge: float = 1.0
    active_threshold: float = 0.5  # a dimension is active when its mean posterior variance is below this
    probes: bool = True
    probe_alpha: float = 1.0
    probe_test_fraction: float = 0.3
    seed: int = 0  # seeds the MINE critics and splits and the probes' split (overrides mine.seed)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Progress:
    """A tqdm bar over the analysis's steps (MINE restarts, ranking fits, probes), or nothing."""

    def __init__(self, total: int, enabled: bool | None):
        self.bar = None
        if enabled if enabled is not None else sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="analysis", unit="step")

    def stage(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - started, 3)


def analyze_inputs(inputs: RunInputs, settings: AnalysisSettings | None = None,
                   progress: bool | None = None) -> dict[str, Any]:
    """Redundancy, unique information (ranking), compression and planted-factor probes of one run."""
    settings = settings or AnalysisSettings()
    record, data = inputs.record, inputs.data
    modal_reps = inputs.modal_reps()
    n_pairs = len(modal_reps) * (len(modal_reps) - 1) // 2
    factors = planted_item_factors(data.planted) if settings.probes else {}
    total = (n_pairs * settings.mine.restarts if settings.use_mine else 0) + len(modal_reps) + 1 + 1 + bool(factors)
    bar = _Progress(total, progress)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    try:
        bar.stage("redundancy")
        with _timed(seconds, "redundancy"):
            mine_settings = dataclasses.replace(settings.mine, seed=settings.seed)
            redundancy = redundancy_between_modalities(modal_reps, mine_settings, settings.use_mine, bar.step)
        bar.stage("ranking")
        with _timed(seconds, "ranking"):
            ranking = modality_ranking(data, modal_reps, inputs.embeddings["fused/users"],
                                       inputs.embeddings["fused/items"], settings.k, settings.ranking_ridge,
                                       bar.step)
        bar.stage("compression")
        with _timed(seconds, "compression"):
            posteriors = run_posteriors(record.config, data, record.run_dir)
            compression = posterior_statistics(posteriors, settings.active_threshold) if posteriors else None
        bar.step()
        probes = None
        if factors:
            bar.stage("probes")
            with _timed(seconds, "probes"):
                probes = probe_planted_factors({**modal_reps, "fused": inputs.embeddings["fused/items"]},
                                               factors, settings.probe_test_fraction, settings.probe_alpha,
                                               settings.seed)
                probes.update(sampled_probes(probes, posteriors, factors, settings))
            bar.step()
    finally:
        bar.close()
    seconds["total"] = round(time.perf_counter() - started, 3)
    return {
        "analysis_version": ANALYSIS_VERSION,
        "run_id": record.run_id,
        "created": utc_now(),
        "dataset": record.dataset,
        "backbone": record.backbone,
        "mrdib_enabled": record.mrdib_enabled,
        "modalities": list(modal_reps),
        "settings": settings.to_dict(),
        "seconds": seconds,
        "redundancy": redundancy,
        "ranking": ranking,
        "compression": compression,
        "probes": probes,
    }


def sampled_probes(probes: dict[str, Any], posteriors: Posteriors | None, factors: dict[str, Any],
                   settings: AnalysisSettings) -> dict[str, Any]:
    """Probes of one posterior sample z ~ q(z|x) (and the items fused from it): what the stochastic
    representation carries, which is what the bottleneck limits; the means keep every linear
    direction however small. A baseline's representation is deterministic, so its sample is
    its mean and the probes on means stand for both."""
    if posteriors is None:
        return {"r2_sampled": probes["r2"], "summary_sampled": probes["summary"],
                "sampled_from": "means (deterministic representation)"}
    samples, fused_items = posteriors.sample(settings.seed)
    sampled = probe_planted_factors({**samples, "fused": fused_items}, factors, settings.probe_test_fraction,
                                    settings.probe_alpha, settings.seed)
    return {"r2_sampled": sampled["r2"], "summary_sampled": sampled["summary"],
            "sampled_from": "one sample of the bottleneck posterior"}


def analyze_run(run_dir: str | Path, settings: AnalysisSettings | None = None,
                data: InteractionData | None = None, data_spec: str | None = None,
                progress: bool | None = None, save: bool = True) -> dict[str, Any]:
    """Analyse a finished run folder and (by default) write analysis.json beside it."""
    analysis = analyze_inputs(load_run_inputs(run_dir, data, data_spec), settings, progress)
    if save:
        save_analysis(run_dir, analysis)
    return analysis


def save_analysis(run_dir: str | Path, analysis: dict[str, Any]) -> Path:
    """Write analysis.json atomically into the run folder; returns its path."""
    path = Path(run_dir) / ANALYSIS_FILE
    atomic_write_json(path, analysis)
    return path

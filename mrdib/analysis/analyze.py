"""`analyze_run`: every analysis of one finished run, timed, as one JSON-able dict that
`save_analysis` writes beside the run (analysis.json, read back by `mrdib.runs.reader.read_analysis`).

Redundancy, standalone ranking and probes are measured twice: on the posterior means (what
evaluation scores) and on one seeded posterior sample z = mean + exp(0.5 * log_var) * eps (the z
of the paper's equations, what the bottleneck limits). A baseline is deterministic: its sample
is its mean, and its "samples" entries repeat the means' (`representations.deterministic`).

Layout of analysis.json (version 2; MI, KL and channel information in nats, R^2 on held-out items):
  analysis_version, run_id, created, dataset, backbone, mrdib_enabled, modalities, settings,
  seconds: {compression, redundancy, ranking, probes, total}
  representations: {means, samples: what each holds (text), deterministic: bool, sample_seed,
                    log_var_source: "embeddings.npz" | "checkpoint" | null (baseline)}
  redundancy: {"means" | "samples": {"a~b": {
      "cka": float,
      "gaussian_mi": {mean, std, estimates, dims},           held-out CCA MI over folds
      "mine": {mean, std, estimates, steps_kept,              early-stopped MINE on test items
               shuffled: {mean, std, estimates, steps_kept} | null} | null (--no-mine)}}}
  ranking: {k, ridge, modalities: {m: {"recall@k", "ndcg@k"}}, fused, fused_probe,
            best_single: {metric: m}, synergy_gain, synergy_gain_probe,
            samples: {modalities: {m: {"recall@k", "ndcg@k"}}}}
  compression: null (baseline) | {m: {kl, dims, mean_log_var, channel_information, informative_dims,
               kl_per_dim, posterior_variance_per_dim, channel_information_per_dim}}
  probes: null (no planted factors, or --no-probes) |
          {r2: {representation: {factor: R^2}}, summary, r2_sampled, summary_sampled, sampled_from,
           test_fraction, alpha}; representations are the modalities and "fused" (the sample's
           "fused" is missing when the model that fuses it could not be rebuilt).
  pid: null (one modality, or --no-pid) | {view: "samples" | "means", settings, units: "bits",
       pairs: [{modality_a, modality_b, unique_a, unique_b, redundant, synergistic, total, share/<part>,
                <part>_low, <part>_high, measure, bins, n}]}: docs/pid.md (added 2026-12-07; older
       analyses have no such key).
Version 1 had one redundancy entry per pair (means only, fresh-critic MINE), no ranking
samples, and `active_dims` (posterior variance < 0.5) where version 2 has the channel information.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from mrdib.analysis.compression import INFORMATIVE_NATS, Posteriors, posterior_statistics, run_posteriors
from mrdib.objective.estimators import GaussianMiSettings, fits_per_estimate
from mrdib.analysis.inputs import RunInputs, load_run_inputs
from mrdib.analysis.pid import PidSettings, representation_pid
from mrdib.analysis.probes import planted_item_factors, probe_planted_factors
from mrdib.analysis.ranking import modality_ranking, standalone_ranking
from mrdib.analysis.redundancy import MineSettings, redundancy_between_modalities
from mrdib.data.dataset import InteractionData
from mrdib.core.io import atomic_write_json
from mrdib.runs.writer import ANALYSIS_FILE, utc_now

ANALYSIS_VERSION = 2
MEANS_TEXT = "posterior means (evaluation mode)"
DETERMINISTIC_TEXT = "means (deterministic representation: a baseline's samples are its means)"


@dataclass
class AnalysisSettings:
    """What to compute and how hard to try; the CLI's --steps/--restarts/--no-* map onto it."""

    mine: MineSettings = field(default_factory=MineSettings)
    use_mine: bool = True
    gaussian: GaussianMiSettings = field(default_factory=GaussianMiSettings)
    k: int = 5  # ranking cut-off: recall@k and NDCG@k on the validation split
    ranking_ridge: float = 1.0
    informative_nats: float = INFORMATIVE_NATS  # a dimension carries information above this channel estimate
    probes: bool = True
    probe_alpha: float = 1.0
    probe_test_fraction: float = 0.3
    pid: bool = True  # the PID of each modality pair's information about interaction (docs/pid.md)
    pid_bins: int = 8
    pid_pairs: int = 20_000
    pid_bootstrap: int = 100
    pid_measure: str = "broja"
    seed: int = 0  # seeds the posterior sample, the MI estimators' splits and critics, and the probes' split

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
    """Compression, redundancy, unique information (ranking) and planted-factor probes of one run,
    on posterior means and on a posterior sample."""
    settings = settings or AnalysisSettings()
    record, data = inputs.record, inputs.data
    modal_reps = inputs.modal_reps()
    n_pairs = len(modal_reps) * (len(modal_reps) - 1) // 2
    n_views = 2 if record.mrdib_enabled else 1
    factors = planted_item_factors(data.planted) if settings.probes else {}
    mine_fits = n_pairs * n_views * fits_per_estimate(settings.mine) if settings.use_mine else 0
    total = 1 + mine_fits + len(modal_reps) * n_views + 1 + bool(factors) + bool(settings.pid and n_pairs)
    bar = _Progress(total, progress)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    try:
        bar.stage("compression")
        with _timed(seconds, "compression"):
            posteriors = run_posteriors(record.config, data, record.run_dir, inputs.embeddings)
            compression = posterior_statistics(posteriors, settings.informative_nats) if posteriors else None
            samples, fused_sample = posteriors.sample(settings.seed) if posteriors else (None, None)
        bar.step()
        bar.stage("redundancy")
        with _timed(seconds, "redundancy"):
            mine_settings = dataclasses.replace(settings.mine, seed=settings.seed)
            gaussian_settings = dataclasses.replace(settings.gaussian, seed=settings.seed)
            views = {"means": modal_reps, **({"samples": samples} if samples else {})}
            redundancy = {view: redundancy_between_modalities(reps, mine_settings, settings.use_mine, bar.step,
                                                              gaussian_settings)
                          for view, reps in views.items()}
            redundancy.setdefault("samples", redundancy["means"])
        bar.stage("ranking")
        with _timed(seconds, "ranking"):
            ranking = modality_ranking(data, modal_reps, inputs.embeddings["fused/users"],
                                       inputs.embeddings["fused/items"], settings.k, settings.ranking_ridge,
                                       bar.step)
            ranking["samples"] = {"modalities": (
                standalone_ranking(data, samples, settings.k, settings.ranking_ridge, bar.step)
                if samples else ranking["modalities"])}
        pid = None
        if settings.pid and len(modal_reps) > 1:
            bar.stage("PID")
            with _timed(seconds, "pid"):
                pid = representation_pid_entry(data, samples or modal_reps, settings,
                                               "samples" if samples else "means")
            bar.step()
        probes = None
        if factors:
            bar.stage("probes")
            with _timed(seconds, "probes"):
                probes = probe_planted_factors({**modal_reps, "fused": inputs.embeddings["fused/items"]},
                                               factors, settings.probe_test_fraction, settings.probe_alpha,
                                               settings.seed)
                probes.update(sampled_probes(probes, samples, fused_sample, factors, settings))
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
        "representations": representations_note(posteriors, settings.seed),
        "redundancy": redundancy,
        "ranking": ranking,
        "compression": compression,
        "probes": probes,
        "pid": pid,
    }


def representation_pid_entry(data: InteractionData, reps: dict[str, Any], settings: AnalysisSettings,
                             view: str) -> dict[str, Any]:
    """analysis.json's `pid`: the settings, which representations were decomposed, and one row per
    modality pair (parts in bits, shares, 95% bootstrap intervals)."""
    pid_settings = PidSettings(bins=settings.pid_bins, pairs=settings.pid_pairs, bootstrap=settings.pid_bootstrap,
                               measure=settings.pid_measure, ridge=settings.ranking_ridge, seed=settings.seed)
    rows = representation_pid(data, {m: np.asarray(r) for m, r in reps.items()}, pid_settings)
    return {"view": view, "settings": dataclasses.asdict(pid_settings), "units": "bits", "pairs": rows}


def representations_note(posteriors: Posteriors | None, seed: int) -> dict[str, Any]:
    """What the "means" and "samples" entries of an analysis hold."""
    if posteriors is None:
        return {"means": "the backbone's own representations", "samples": DETERMINISTIC_TEXT,
                "deterministic": True, "sample_seed": None, "log_var_source": None}
    text = f"one posterior sample z = mean + exp(0.5 * log_var) * eps, eps ~ N(0, I) seeded with {seed}"
    return {"means": MEANS_TEXT, "samples": text, "deterministic": False, "sample_seed": seed,
            "log_var_source": posteriors.source, "fused_sample_problem": posteriors.model_problem}


def sampled_probes(probes: dict[str, Any], samples: dict[str, Any] | None, fused_sample: Any,
                   factors: dict[str, Any], settings: AnalysisSettings) -> dict[str, Any]:
    """Probes of one posterior sample z ~ q(z|x) (and the items fused from it, when the model could
    be rebuilt): what the stochastic representation carries, which is what the bottleneck limits;
    the means keep every linear direction however small. A baseline's representation is
    deterministic, so its sample is its mean and the probes on means stand for both."""
    if samples is None:
        return {"r2_sampled": probes["r2"], "summary_sampled": probes["summary"], "sampled_from": DETERMINISTIC_TEXT}
    reps = {**samples, **({"fused": fused_sample} if fused_sample is not None else {})}
    sampled = probe_planted_factors(reps, factors, settings.probe_test_fraction, settings.probe_alpha, settings.seed)
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

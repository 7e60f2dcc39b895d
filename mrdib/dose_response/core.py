"""Plan, run, measure and record a dose-response check (see the package docstring).

Every point is a +MRdIB run with one alpha changed from `base`; its run id is the sweep
machinery's hash of the resolved config (mrdib.experiments.plan), so points shared between
terms (the base setting) or with an earlier check or sweep are trained once and reused, and
an interrupted run is resumed. Each run's analysis.json is reused when it was computed with
the same settings.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mrdib.analysis.targets import CONTROLS, TARGETS, TERM_TITLES, TERMS, Target  # noqa: F401
from mrdib.core.errors import ConfigError, MrdibError, RunError
from mrdib.core.io import atomic_write_bytes, atomic_write_json
from mrdib.runs.layout import dose_response_root, locks_dir
from mrdib.runs.reader import read_json_object
from mrdib.runs.writer import utc_now

# Values tried when none are given: off, then the paper's grid.
DEFAULT_VALUES = (0.0, 0.0001, 0.001, 0.01, 0.05)
DEFAULT_BASE = (0.001, 0.01, 0.01)
RESULT_FILE = "dose_response.json"
FORMAT_VERSION = 1


@dataclass
class DoseResponseSpec:
    """One check: which alphas to vary over which values, around which base, on what."""

    data: str = "synthetic"
    backbone: str = "vbpr"
    terms: list[str] = field(default_factory=lambda: ["a2"])
    values: list[float] = field(default_factory=lambda: list(DEFAULT_VALUES))
    base: list[float] = field(default_factory=lambda: list(DEFAULT_BASE))
    seeds: list[int] = field(default_factory=lambda: [0])
    train: dict[str, Any] = field(default_factory=dict)  # epochs, patience, batch_size, ...
    mrdib: dict[str, Any] = field(default_factory=dict)  # other mrdib settings (critic_lr, ...)
    backbone_params: dict[str, Any] = field(default_factory=dict)
    use_mine: bool = False  # MINE (and its shuffled control) beside the Gaussian MI; slower
    k: int = 5
    artifacts: str = "artifacts"
    name: str = ""
    out: str = ""  # result folder; default <artifacts>/dose_response/<name>
    workers: int = 1  # worker processes training the runs (the sweep's pool), each with its share of cores

    def __post_init__(self) -> None:
        self.terms = list(TERMS) if list(self.terms) == ["all"] else list(dict.fromkeys(self.terms))
        for term in self.terms:
            if term not in TERMS:
                raise ConfigError(f"dose-response: unknown term '{term}' (known: {', '.join(TERMS)}, all)")
        if not self.values or any(not math.isfinite(v) or v < 0 for v in self.values):
            raise ConfigError(f"dose-response: values must be finite and >= 0, got {list(self.values)}")
        if len(self.base) != 3 or any(v < 0 for v in self.base):
            raise ConfigError(f"dose-response: --base takes three alphas >= 0 (a1 a2 a3), got {list(self.base)}")
        if not self.seeds:
            raise ConfigError("dose-response: at least one seed")
        if self.workers < 1:
            raise ConfigError(f"dose-response: --workers must be at least 1, got {self.workers}")
        self.values = sorted(dict.fromkeys(float(v) for v in self.values))
        self.base = [float(v) for v in self.base]
        if not self.name:
            from mrdib.experiments.plan import dataset_label

            terms = "all" if len(self.terms) == 3 else "-".join(self.terms)
            self.name = f"{dataset_label(self.data)}-{self.backbone}-{terms}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out else dose_response_root(self.artifacts) / self.name


@dataclass
class Point:
    """One (term, value, seed) of the check and the resolved config of its run."""

    term: str
    value: float
    seed: int
    run_id: str
    config: dict[str, Any]

    @property
    def alphas(self) -> tuple[float, float, float]:
        return tuple(float(self.config["mrdib"][a]) for a in TERMS)  # type: ignore[return-value]


def plan_points(spec: DoseResponseSpec) -> list[Point]:
    """Every (term, value, seed) with its run config; points of different terms may share a run."""
    from mrdib.core.config import resolve_config
    from mrdib.experiments.plan import point_run_id, variant_of

    points = []
    for term in spec.terms:
        for value in spec.values:
            alphas = dict(zip(TERMS, spec.base))
            alphas[term] = value
            for seed in spec.seeds:
                values = {"data": spec.data, "backbone": spec.backbone, "artifacts": spec.artifacts,
                          "train": {**spec.train, "seed": seed},
                          "mrdib": {**spec.mrdib, "enabled": True, **alphas},
                          "backbone_params": dict(spec.backbone_params)}
                cfg = resolve_config(spec.backbone, {}, values)
                cfg.run_id = point_run_id(cfg, variant_of(cfg.to_dict()["mrdib"]))
                points.append(Point(term, value, seed, cfg.run_id, {**cfg.to_dict(), "run_id": cfg.run_id}))
    return points


# -- measuring one run ------------------------------------------------------------------------

def analysis_settings(spec: DoseResponseSpec):
    from mrdib.analysis.analyze import AnalysisSettings

    return AnalysisSettings(use_mine=spec.use_mine, k=spec.k, pid_bootstrap=20)


def analysis_of(run_dir: Path, spec: DoseResponseSpec) -> dict[str, Any]:
    """The run's analysis.json when it was computed with these settings, else a fresh one (saved)."""
    from mrdib.analysis.analyze import ANALYSIS_VERSION, analyze_run
    from mrdib.runs.reader import read_analysis

    settings = analysis_settings(spec)
    wanted = json.loads(json.dumps(settings.to_dict()))
    try:
        saved = read_analysis(run_dir)
    except RunError:
        saved = None
    if saved and saved.get("analysis_version") == ANALYSIS_VERSION and saved.get("settings") == wanted:
        return saved
    return analyze_run(run_dir, settings, progress=False)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def measurements(analysis: dict[str, Any], k: int) -> dict[str, float]:
    """The numbers a dose-response row shows, from one version-2 analysis (means over pairs or modalities)."""
    redundancy = analysis.get("redundancy") or {}
    row: dict[str, float] = {}
    for view in ("samples", "means"):
        pairs = redundancy.get(view) or {}
        row[f"mi_gaussian_{view}"] = _mean([(e.get("gaussian_mi") or {}).get("mean") for e in pairs.values()])
        row[f"mine_{view}"] = _mean([(e.get("mine") or {}).get("mean") for e in pairs.values()])
        row[f"mine_shuffled_{view}"] = _mean([((e.get("mine") or {}).get("shuffled") or {}).get("mean")
                                              for e in pairs.values()])
        row[f"cka_{view}"] = _mean([e.get("cka") for e in pairs.values()])
    compression = analysis.get("compression") or {}
    for key in ("kl", "mean_log_var", "channel_information", "informative_dims"):
        row[key] = _mean([stats.get(key) for stats in compression.values()])
    probes = analysis.get("probes") or {}
    row["noise_probe_samples"] = float((probes.get("summary_sampled") or {}).get("noise_recoverable", float("nan")))
    row["noise_probe_means"] = float((probes.get("summary") or {}).get("noise_recoverable", float("nan")))
    ranking = analysis.get("ranking") or {}
    metric = f"recall@{k}"
    for view, modalities in (("means", ranking.get("modalities") or {}),
                             ("samples", (ranking.get("samples") or {}).get("modalities") or {})):
        row[f"standalone_{view}"] = _mean([m.get(metric) for m in modalities.values()])
        for modality, metrics in modalities.items():
            row[f"standalone_{view}/{modality}"] = float(metrics.get(metric, float("nan")))
    pid_pairs = (analysis.get("pid") or {}).get("pairs") or []
    for part in ("unique_a", "unique_b", "redundant", "synergistic", "total"):
        row[f"pid_{part}"] = _mean([pair.get(part) for pair in pid_pairs])  # bits, mean over modality pairs
    row["pid_unique"] = _mean([row["pid_unique_a"], row["pid_unique_b"]])
    return row


def run_row(point: Point, run_dir: Path, analysis: dict[str, Any], k: int) -> dict[str, Any]:
    from mrdib.runs.reader import read_run

    record = read_run(run_dir)
    metric = f"recall@{k}"
    return {"term": point.term, "value": point.value, "seed": point.seed, "run_id": point.run_id,
            **dict(zip(TERMS, point.alphas)),
            "epochs_run": record.summary.get("epochs_run"), "best_epoch": record.summary.get("best_epoch"),
            f"valid_{metric}": (record.summary.get("valid") or {}).get(metric, float("nan")),
            f"test_{metric}": (record.summary.get("test") or {}).get(metric, float("nan")),
            **measurements(analysis, k)}


# -- summarising ------------------------------------------------------------------------------

def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (term, value): columns `<quantity>` (mean) and `<quantity>_std`."""
    numeric = [c for c in rows.columns if c not in ("term", "value", "seed", "run_id")
               and pd.api.types.is_numeric_dtype(rows[c])]
    grouped = rows.groupby(["term", "value"], sort=True)[numeric]
    means, stds = grouped.mean(), grouped.std(ddof=0).add_suffix("_std")
    counts = rows.groupby(["term", "value"], sort=True).size().rename("seeds")
    return pd.concat([means, stds, counts], axis=1).reset_index()


# A target "moved" only by more than this fraction of its larger end value (and more than twice
# the std over seeds at either end): a drift within noise is "flat", not a confirmation.
MIN_RELATIVE_CHANGE = 0.1


def verdicts(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Per term and target: its value at the smallest and the largest alpha, the change, whether it
    moved the way the paper says (None when not measured, e.g. no planted noise or MINE off) by
    more than `threshold` (`outcome`: "as expected", "flat" or "against"), and whether it did so
    monotonically over every value in between."""
    out = []
    for term in TERMS:
        part = summary[summary["term"] == term].sort_values("value")
        if len(part) < 2:
            continue
        for target in TARGETS[term]:
            if target.column not in part:
                continue
            series = part[target.column].to_numpy(dtype=float)
            low, high = series[0], series[-1]
            measured = bool(np.isfinite(low) and np.isfinite(high))
            sign = -1.0 if target.direction == "down" else 1.0
            steps = np.diff(series[np.isfinite(series)]) * sign
            std = part.get(f"{target.column}_std")
            ends = std.to_numpy(dtype=float)[[0, -1]] if std is not None else np.zeros(2)
            spread = float(np.max(np.where(np.isfinite(ends), ends, 0.0)))
            threshold = max(MIN_RELATIVE_CHANGE * max(abs(low), abs(high)), 2.0 * spread) if measured else np.nan
            signed = sign * (high - low) if measured else np.nan
            outcome = (None if not measured else "as expected" if signed > threshold
                       else "against" if signed < -threshold else "flat")
            out.append({
                "term": term, "quantity": target.column, "label": target.label, "expected": target.direction,
                "primary": target.primary, "alpha_low": float(part["value"].iloc[0]),
                "alpha_high": float(part["value"].iloc[-1]), "low": low, "high": high,
                "change": high - low if measured else float("nan"),
                "ratio": high / low if measured and low > 0 and high >= 0 else float("nan"),
                "threshold": threshold, "outcome": outcome,
                "as_expected": outcome == "as expected" if measured else None,
                "monotone": bool((steps >= 0).all()) if measured else None,
            })
    return out


def verdict_line(verdict: dict[str, Any]) -> str:
    """One sentence: what the target did between the smallest and the largest alpha."""
    label, term = verdict["label"], verdict["term"]
    span = f"{term} {verdict['alpha_low']:g} -> {verdict['alpha_high']:g}"
    if verdict["as_expected"] is None:
        return f"{label}: not measured ({span})"
    moved = "rose" if verdict["change"] > 0 else "fell" if verdict["change"] < 0 else "stayed"
    ratio = verdict.get("ratio")
    ratio = f", {ratio:.2f}x" if ratio is not None and np.isfinite(ratio) else ""
    outcome = verdict.get("outcome") or ("as expected" if verdict["as_expected"] else "against")
    how = {"as expected": "as the paper says",
           "flat": f"flat (within {verdict.get('threshold') or 0:.3f}): NOT the move the paper says "
                   f"(expected {verdict['expected']})",
           "against": f"NOT as the paper says (expected {verdict['expected']})"}[outcome]
    shape = "" if not verdict["as_expected"] else ", monotone" if verdict["monotone"] else ", not monotone"
    return f"{label} {moved} from {verdict['low']:.3f} to {verdict['high']:.3f}{ratio} as {span}: {how}{shape}"


def term_table(summary: pd.DataFrame, term: str, k: int = 5) -> pd.DataFrame:
    """The rows of one term: alpha, its targets (mean ± std over seeds) and valid/test recall@k."""
    part = summary[summary["term"] == term].sort_values("value")
    columns = ([t.column for t in TARGETS[term]] + list(CONTROLS[term])
               + [f"valid_recall@{k}", f"test_recall@{k}"])
    table = pd.DataFrame({TERM_TITLES[term]: part["value"].to_numpy()})
    with_std = "seeds" in part and len(part) and int(part["seeds"].max()) > 1
    for column in columns:
        if column not in part or part[column].isna().all():
            continue
        means = part[column].to_numpy(dtype=float)
        if with_std:
            stds = part[f"{column}_std"].to_numpy(dtype=float)
            table[column] = [f"{m:.4f} ± {s:.4f}" for m, s in zip(means, stds)]
        else:
            table[column] = [f"{m:.4f}" for m in means]
    return table


def report_text(result: dict[str, Any]) -> str:
    """The terminal report: per term its table and its verdicts."""
    summary = pd.DataFrame(result["summary"])
    k = result["spec"]["k"]
    spec = result["spec"]
    parts = [f"Dose-response of {spec['backbone']} on {spec['data']} (base a1 a2 a3 = "
             f"{' '.join(f'{v:g}' for v in spec['base'])}; seeds {spec['seeds']})"]
    for term in spec["terms"]:
        table = term_table(summary, term, k)
        lines = [v for v in result["verdicts"] if v["term"] == term]
        body = "\n".join("  " + line for line in table.to_string(index=False).splitlines())
        parts.append(f"{TERM_TITLES[term]}\n{body}" + "".join(f"\n  - {verdict_line(v)}" for v in lines))
    parts.append(f"written: {result['out_dir']}")
    return "\n\n".join(parts)


# -- running ----------------------------------------------------------------------------------

class _Bar:
    def __init__(self, total: int, enabled: bool | None, desc: str):
        self.bar = None
        if enabled if enabled is not None else sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="run")

    def step(self, note: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(note)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_dose_response(spec: DoseResponseSpec, progress: bool | None = None) -> dict[str, Any]:
    """Train (or reuse) every run of the check, analyse it, write the results; returns them.

    Raises MrdibError after writing what finished when some runs failed.
    """
    import torch

    from mrdib.core.config import RunConfig
    from mrdib.experiments.engine import threads_per_worker
    from mrdib.experiments.pool import run_here, run_pool
    from mrdib.training.runner import check_run_config

    points = plan_points(spec)
    for point in points:  # a check whose runs could not start is refused before it writes anything
        check_run_config(RunConfig.from_dict(point.config))
    runs = {p.run_id: p for p in points}
    configs, lock_dir = [p.config for p in runs.values()], str(locks_dir(spec.artifacts))
    outcomes: dict[str, dict[str, Any]] = {}
    analyses: dict[str, dict[str, Any]] = {}
    bar = _Bar(2 * len(runs), progress, f"dose-response {spec.name}")

    def record(outcome: dict[str, Any]) -> None:
        outcomes[outcome["run_id"]] = outcome
        bar.step(f"{outcome['run_id']}: {outcome['outcome']}")

    try:
        workers = min(spec.workers, len(configs))
        if workers == 1:
            pooled = run_here(train_points, (configs, lock_dir), torch.get_num_threads(), record)
        else:
            threads = threads_per_worker(workers, spec.train.get("num_threads"))
            jobs = [(configs[index::workers], lock_dir) for index in range(workers)]
            pooled = run_pool(train_points, jobs, threads, record, name="mrdib-dose-response-worker")
        if pooled.interrupted or any(o["outcome"] == "interrupted" for o in outcomes.values()):
            raise KeyboardInterrupt
        if pooled.worker_errors:
            raise RunError(f"dose-response {spec.name}: {pooled.worker_errors[0]}")
        outcomes = {run_id: outcomes[run_id] for run_id in runs if run_id in outcomes}  # the plan's order
        for run_id, outcome in outcomes.items():
            if outcome["outcome"] in ("skipped", "trained", "resumed", "restarted"):
                try:
                    analyses[run_id] = analysis_of(Path(outcome["run_dir"]), spec)
                except MrdibError as error:
                    outcome.update(outcome="failed", error=f"analysis: {error}")
            bar.step(f"analysed {run_id}")
    finally:
        bar.close()
    rows = [run_row(p, Path(outcomes[p.run_id]["run_dir"]), analyses[p.run_id], spec.k)
            for p in points if p.run_id in analyses]
    failed = [o for o in outcomes.values() if o["run_id"] not in analyses]
    if not rows:
        first = failed[0] if failed else {"run_id": "?", "error": "no runs"}
        raise RunError(f"dose-response {spec.name}: every run failed (first: {first['run_id']}: {first['error']})")
    frame = pd.DataFrame(rows)
    summary = summarise(frame)
    result = {"format_version": FORMAT_VERSION, "name": spec.name, "created": utc_now(), "spec": spec.to_dict(),
              "out_dir": str(spec.out_dir),
              "targets": {t: [dataclasses.asdict(x) for x in v] for t, v in TARGETS.items()},
              "runs": list(outcomes.values()), "rows": frame.to_dict("records"),
              "summary": summary.to_dict("records"), "verdicts": verdicts(summary)}
    result = _finite(result)
    write_results(spec.out_dir, frame, summary, result)
    if failed:
        raise RunError(f"dose-response {spec.name}: {len(failed)} of {len(outcomes)} runs failed (first: "
                       f"{failed[0]['run_id']}: {failed[0]['error']}); results of the others written to {spec.out_dir}")
    return result


def train_points(job: tuple[list[dict[str, Any]], str], stop: Any, report: Any) -> None:
    """A worker's share of the check's runs (a pool process, or this one): each brought to done."""
    from mrdib.training.lifecycle import execute_point

    configs, lock_dir = job
    for config in configs:
        outcome = execute_point(config, lock_dir, stop=stop)
        report(outcome)
        if outcome["outcome"] == "interrupted":
            return


def write_results(out_dir: Path, rows: pd.DataFrame, summary: pd.DataFrame, result: dict[str, Any]) -> None:
    """results.csv (one row per run and term), summary.csv (mean/std over seeds), dose_response.json; atomic."""
    atomic_write_bytes(out_dir / "results.csv", rows.to_csv(index=False).encode())
    atomic_write_bytes(out_dir / "summary.csv", summary.to_csv(index=False).encode())
    atomic_write_json(out_dir / RESULT_FILE, _finite(result))  # the JSON file last: its presence means complete


def _finite(value: Any) -> Any:
    """NaN and infinities as null, so dose_response.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# -- reading ----------------------------------------------------------------------------------

def read_dose_response(folder: str | Path) -> dict[str, Any]:
    """One result folder's dose_response.json; raises RunError naming the file when unreadable."""
    path = Path(folder) / RESULT_FILE
    value = read_json_object(path, "run `python -m mrdib dose-response` to make it", "a dose-response result")
    if "summary" not in value or "spec" not in value:
        raise RunError(f"{path}: not a dose-response result (no 'summary' or 'spec')")
    return value


def list_dose_responses(artifacts: str | Path) -> list[Path]:
    """Folders under <artifacts>/dose_response holding a dose_response.json, newest first."""
    root = dose_response_root(artifacts)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and (p / RESULT_FILE).is_file()]
    return sorted(found, key=lambda p: (p / RESULT_FILE).stat().st_mtime, reverse=True)


def summary_frame(result: dict[str, Any]) -> pd.DataFrame:
    """The summary records of a result as a frame (nulls back to NaN)."""
    return pd.DataFrame(result["summary"]).fillna(value=np.nan)


def verdict_frame(result: dict[str, Any]) -> pd.DataFrame:
    """The verdicts of a result as a table: term, quantity, expected direction, low/high, verdict."""
    rows = [{"term": v["term"], "quantity": v["label"], "primary": v["primary"], "expected": v["expected"],
             "smallest alpha": v["alpha_low"], "value there": v["low"],
             "largest alpha": v["alpha_high"], "value at largest": v["high"],
             "as the paper says": v["as_expected"], "outcome": v.get("outcome"),
             "verdict": verdict_line(v)} for v in result.get("verdicts", [])]
    return pd.DataFrame(rows)

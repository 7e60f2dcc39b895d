"""The paper's tables and figures from run folders: Table 1 (baseline vs +MRdIB), Table 2
(ablations), Table 3 (seconds per epoch) and the alpha sensitivity curves.

Runs are read through `mrdib.runs.reader` only and grouped into configurations; per backbone
and data set the baseline and the +MRdIB alphas are chosen by validation (see `selection`),
and the chosen configurations' test metrics are what the tables show, as mean plus/minus std
over seeds with a paired t-test across seeds. Tables are tidy pandas frames (one number per
cell, for CSV); `mrdib.results.render` turns them into Markdown and LaTeX.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from mrdib.core.errors import ConfigError
from mrdib.core.names import ALPHA_NAMES
from mrdib.core.variants import ABLATIONS
from mrdib.evaluation.popularity import popularity_table
from mrdib.results.selection import ConfigResults, Selection, ablation_groups, choose, groups_from_frame
from mrdib.results.stats import improvement_percent, mean_std, paired_test
from mrdib.runs.identity import settings_from_key
from mrdib.runs.reader import read_metrics
from mrdib.runs.table import read_runs_table

TABLE_METRICS: tuple[str, ...] = ("recall@5", "precision@5", "map@5", "ndcg@5")
VARIANT_ORDER: tuple[str, ...] = ("baseline", "full", *ABLATIONS)
VARIANT_LABELS = {"baseline": "baseline", "full": "+MRdIB (a1, a2, a3)", "no_kl_a1": "+MRdIB (a1=0)",
                  "no_mine_a2": "+MRdIB (a2=0)", "no_unique_a3": "+MRdIB (a3=0)",
                  "kl_only": "+MRdIB (a2=a3=0, MIB only)", "control": "+MRdIB, every term off (control)"}


@dataclass
class Report:
    """Everything the report shows, as tidy frames plus the choices behind them."""

    groups: list[ConfigResults]
    selections: dict[tuple[str, str], Selection]
    table1: pd.DataFrame
    table2: pd.DataFrame
    table3: pd.DataFrame
    sensitivity: pd.DataFrame
    metric: str
    n_runs: int
    budget: dict[str, float] = field(default_factory=dict)
    sweep_plan: dict[str, Any] | None = None
    budgets: pd.DataFrame = field(default_factory=pd.DataFrame)  # per pair and side, see `budget_table`
    mechanism: pd.DataFrame = field(default_factory=pd.DataFrame)  # from analysis.json, see `mechanism_table`
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # every run behind the tables, see `runs_table`
    unanalysed: list["UnanalysedRun"] = field(default_factory=list)  # chosen runs without analysis.json
    popularity: pd.DataFrame = field(default_factory=pd.DataFrame)  # most-popular reference, see `popularity_table`


@dataclass(frozen=True)
class UnanalysedRun:
    """A chosen run the mechanism table lacks. A run restored from a committed runs table has no
    folder on this machine: it must be trained again (same config, seed and thread count give the
    same run on the same CPU) before `mrdib analyze` can read its checkpoint."""

    run_dir: Path
    config_key: str  # the configuration as JSON, without the seed (ConfigResults.key)
    seed: int

    @property
    def has_folder(self) -> bool:
        return self.run_dir.is_dir()

    @property
    def train_config(self) -> dict[str, Any]:
        return settings_from_key(self.config_key)


def format_alphas(alphas: Sequence[float] | None) -> str:
    return "" if alphas is None else "/".join(f"{a:g}" for a in alphas)


# -- Table 1 ----------------------------------------------------------------------------------

def paper_table1() -> dict[tuple[str, str, str], tuple[float, float]]:
    """The paper's Table 1 as {(dataset, backbone, metric): (baseline, +MRdIB)}, names lower-cased."""
    from mrdib.reference import paper_table

    table = paper_table("table1")
    values: dict[tuple[str, str, str], list[float]] = {}
    for row in table.to_dict("records"):
        for metric in TABLE_METRICS:
            if metric in row:
                pair = values.setdefault((str(row["dataset"]).lower(), str(row["model"]).lower(), metric),
                                         [math.nan, math.nan])
                pair[int(row["mrdib"])] = float(row[metric])
    return {key: (pair[0], pair[1]) for key, pair in values.items()}


def table1(selections: dict[tuple[str, str], Selection], metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    """One row per (data set, backbone, metric): baseline and chosen +MRdIB test scores over seeds,
    improvement in percent of the means and a paired t-test over the shared seeds; beside them the
    paper's reported numbers where the paper has the pair (NaN otherwise)."""
    paper = paper_table1()
    rows = []
    for (dataset, backbone), chosen in sorted(selections.items()):
        if chosen.baseline is None and chosen.mrdib is None:
            continue
        for metric in metrics:
            base = chosen.baseline.test_scores(metric) if chosen.baseline else {}
            mrdib = chosen.mrdib.test_scores(metric) if chosen.mrdib else {}
            control = chosen.control.test_scores(metric) if chosen.control else {}
            base_stats, mrdib_stats = mean_std(list(base.values())), mean_std(list(mrdib.values()))
            control_stats = mean_std(list(control.values()))
            test, control_test = paired_test(base, mrdib), paired_test(base, control)
            reported = paper.get((dataset.lower(), backbone.lower(), metric), (math.nan, math.nan))
            rows.append({
                "dataset": dataset, "backbone": backbone, "metric": metric,
                "baseline_mean": base_stats.mean, "baseline_std": base_stats.std, "baseline_n": base_stats.n,
                "mrdib_mean": mrdib_stats.mean, "mrdib_std": mrdib_stats.std, "mrdib_n": mrdib_stats.n,
                "improvement_pct": improvement_percent(base_stats.mean, mrdib_stats.mean),
                "p_value": test.p_value, "n_pairs": test.n,
                "difference_ci_low": test.ci_low, "difference_ci_high": test.ci_high,
                "control_mean": control_stats.mean, "control_std": control_stats.std, "control_n": control_stats.n,
                "control_change_pct": improvement_percent(base_stats.mean, control_stats.mean),
                "control_p_value": control_test.p_value,
                "alphas": format_alphas(chosen.mrdib.alphas) if chosen.mrdib else "",
                "candidates": len(chosen.candidates),
                "paper_baseline": reported[0], "paper_mrdib": reported[1],
                "paper_improvement_pct": improvement_percent(*reported),
            })
    return pd.DataFrame(rows, columns=[
        "dataset", "backbone", "metric", "baseline_mean", "baseline_std", "baseline_n", "mrdib_mean", "mrdib_std",
        "mrdib_n", "improvement_pct", "p_value", "n_pairs", "difference_ci_low", "difference_ci_high", "control_mean",
        "control_std", "control_n", "control_change_pct", "control_p_value", "alphas", "candidates", "paper_baseline",
        "paper_mrdib", "paper_improvement_pct"])


# -- Table 2 ----------------------------------------------------------------------------------

def table2(selections: dict[tuple[str, str], Selection], groups: list[ConfigResults], metric: str = "recall@5",
           metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    """Ablations: one row per (data set, backbone, variant, metric), test mean/std over seeds, the
    change against the full +MRdIB in percent and a paired test against it."""
    rows = []
    for (dataset, backbone), chosen in sorted(selections.items()):
        ablations = ablation_groups(chosen, groups, metric)
        if not ablations:
            continue
        variants: list[tuple[str, ConfigResults | None, bool]] = [
            ("baseline", chosen.baseline, True), ("full", chosen.mrdib, True)]
        variants += [(name, *ablations[name]) for name in ABLATIONS if name in ablations]
        for variant, group, at_chosen in variants:
            if group is None:
                continue
            for name in metrics:
                scores = group.test_scores(name)
                full = chosen.mrdib.test_scores(name) if chosen.mrdib else {}
                stats = mean_std(list(scores.values()))
                versus = paired_test(full, scores) if variant != "full" else None
                rows.append({
                    "dataset": dataset, "backbone": backbone, "variant": variant, "metric": name,
                    "mean": stats.mean, "std": stats.std, "n": stats.n,
                    "vs_full_pct": (improvement_percent(mean_std(list(full.values())).mean, stats.mean)
                                    if variant != "full" else 0.0),
                    "p_vs_full": versus.p_value if versus else math.nan,
                    "alphas": format_alphas(group.alphas) if variant != "baseline" else "",
                    "at_chosen_alphas": at_chosen,
                })
    return pd.DataFrame(rows, columns=["dataset", "backbone", "variant", "metric", "mean", "std", "n",
                                       "vs_full_pct", "p_vs_full", "alphas", "at_chosen_alphas"])


# -- Table 3 ----------------------------------------------------------------------------------

def table3(selections: dict[tuple[str, str], Selection]) -> pd.DataFrame:
    """Seconds per training epoch, baseline vs the chosen +MRdIB, and the overhead in percent."""
    rows = []
    for (dataset, backbone), chosen in sorted(selections.items()):
        base = mean_std(list(chosen.baseline.seconds_per_epoch.values())) if chosen.baseline else mean_std([])
        mrdib = mean_std(list(chosen.mrdib.seconds_per_epoch.values())) if chosen.mrdib else mean_std([])
        epochs = [e for g in (chosen.baseline, chosen.mrdib) if g for e in g.epochs_run.values()]
        rows.append({"dataset": dataset, "backbone": backbone,
                     "baseline_seconds": base.mean, "baseline_std": base.std, "baseline_n": base.n,
                     "mrdib_seconds": mrdib.mean, "mrdib_std": mrdib.std, "mrdib_n": mrdib.n,
                     "overhead_pct": improvement_percent(base.mean, mrdib.mean),
                     "mean_epochs_run": sum(epochs) / len(epochs) if epochs else math.nan})
    return pd.DataFrame(rows, columns=["dataset", "backbone", "baseline_seconds", "baseline_std", "baseline_n",
                                       "mrdib_seconds", "mrdib_std", "mrdib_n", "overhead_pct", "mean_epochs_run"])


# -- budgets ----------------------------------------------------------------------------------

BUDGET_SIDES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("baseline", ("baseline",)), ("mrdib", ("full",)), ("ablations", tuple(ABLATIONS)))


def _hits_cap(group: ConfigResults | None) -> bool:
    return bool(group and group.capped_seeds)


def budget_table(selections: dict[tuple[str, str], Selection], groups: list[ConfigResults]) -> pd.DataFrame:
    """What each side was tuned with, per (data set, backbone): configurations it chose among, runs
    and epochs trained (all seeds), training hours (seconds per epoch x epochs), and whether its
    chosen configuration hit the epoch cap. Ablations are listed apart: they choose nothing."""
    rows = []
    for (dataset, backbone), chosen in sorted(selections.items()):
        mine = [g for g in groups if (g.dataset, g.backbone) == (dataset, backbone)]
        row: dict[str, Any] = {"dataset": dataset, "backbone": backbone}
        for side, variants in BUDGET_SIDES:
            side_groups = [g for g in mine if g.variant in variants]
            epochs = [e for g in side_groups for e in g.epochs_run.values()]
            seconds = [g.seconds_per_epoch.get(seed, math.nan) * e for g in side_groups
                       for seed, e in g.epochs_run.items()]
            row.update({f"{side}_configs": len(side_groups), f"{side}_runs": len(epochs),
                        f"{side}_epochs": sum(epochs),
                        f"{side}_hours": sum(v for v in seconds if math.isfinite(v)) / 3600})
        row["baseline_chosen_hits_cap"] = _hits_cap(chosen.baseline)
        row["mrdib_chosen_hits_cap"] = _hits_cap(chosen.mrdib)
        rows.append(row)
    columns = ["dataset", "backbone"] + [f"{side}_{what}" for side, _ in BUDGET_SIDES
                                         for what in ("configs", "runs", "epochs", "hours")]
    return pd.DataFrame(rows, columns=columns + ["baseline_chosen_hits_cap", "mrdib_chosen_hits_cap"])


# -- the mechanism beside accuracy --------------------------------------------------------------

def mechanism_values(analysis: dict[str, Any]) -> dict[str, float]:
    """{"quantity:where": value} from one run's analysis.json (layout in `mrdib.analysis.analyze`):
    `sample_mi` and `sample_mine` (held-out Gaussian MI and calibrated MINE between the posterior
    samples of a modality pair, nats), `mean_log_var` per modality, `standalone_recall@k` per
    modality (ranking from that modality's posterior means alone), and `pid_<part>` per modality pair
    (the PID of what the pair says about interaction, bits; docs/pid.md)."""
    values: dict[str, float] = {}
    for pair, entry in ((analysis.get("redundancy") or {}).get("samples") or {}).items():
        if (entry.get("gaussian_mi") or {}).get("mean") is not None:
            values[f"sample_mi:{pair}"] = float(entry["gaussian_mi"]["mean"])
        if (entry.get("mine") or {}).get("mean") is not None:
            values[f"sample_mine:{pair}"] = float(entry["mine"]["mean"])
    for modality, entry in (analysis.get("compression") or {}).items():
        if isinstance(entry, dict) and entry.get("mean_log_var") is not None:
            values[f"mean_log_var:{modality}"] = float(entry["mean_log_var"])
    ranking = analysis.get("ranking") or {}
    key = f"recall@{ranking.get('k')}"
    for modality, entry in (ranking.get("modalities") or {}).items():
        if key in entry:
            values[f"standalone_{key}:{modality}"] = float(entry[key])
    for row in (analysis.get("pid") or {}).get("pairs") or []:
        pair = f"{row['modality_a']}~{row['modality_b']}"
        for part in ("unique_a", "unique_b", "redundant", "synergistic", "total"):
            if row.get(part) is not None:
                values[f"pid_{part}:{pair}"] = float(row[part])
    return values


def attach_mechanism(groups: list[ConfigResults]) -> None:
    """Fill each group's `mechanism` from its runs' analysis.json files (seeds without one stay out)."""
    from mrdib.runs.reader import read_analysis

    for group in groups:
        for seed, run_dir in group.run_dirs.items():
            analysis = read_analysis(run_dir) if run_dir is not None and Path(run_dir).is_dir() else None
            if analysis:
                group.mechanism[seed] = mechanism_values(analysis)


def unanalysed_chosen_runs(selections: dict[tuple[str, str], Selection]) -> list[UnanalysedRun]:
    """The chosen baseline and +MRdIB configurations' runs (every seed) that have no analysis yet,
    so the report can say which `mrdib analyze` calls (and retrainings) its mechanism table lacks."""
    missing = []
    for _, chosen in sorted(selections.items()):
        for group in (chosen.baseline, chosen.mrdib):
            if group is None:
                continue
            missing += [UnanalysedRun(Path(group.run_dirs[seed]), group.key, seed) for seed in sorted(group.run_dirs)
                        if seed not in group.mechanism and group.run_dirs[seed] is not None]
    return missing


def mechanism_table(selections: dict[tuple[str, str], Selection]) -> pd.DataFrame:
    """For each chosen baseline and +MRdIB configuration, the mechanism's quantities over the seeds
    whose run was analysed (`mrdib analyze RUN`): one row per (pair, side, quantity, where)."""
    rows = []
    for (dataset, backbone), chosen in sorted(selections.items()):
        for side, group in (("baseline", chosen.baseline), ("mrdib", chosen.mrdib)):
            if group is None:
                continue
            collected: dict[str, list[float]] = {}
            for values in group.mechanism.values():
                for name, value in values.items():
                    collected.setdefault(name, []).append(value)
            for name, values in sorted(collected.items()):
                quantity, where = name.split(":", 1)
                stats = mean_std(values)
                rows.append({"dataset": dataset, "backbone": backbone, "side": side, "quantity": quantity,
                             "where": where, "mean": stats.mean, "std": stats.std, "n": stats.n,
                             "alphas": format_alphas(group.alphas) if side == "mrdib" else ""})
    return pd.DataFrame(rows, columns=["dataset", "backbone", "side", "quantity", "where", "mean", "std", "n",
                                       "alphas"])


# -- the run summaries behind the tables ------------------------------------------------------

def run_budget(group: ConfigResults, seed: int) -> dict[str, float]:
    """Epochs and train+eval seconds of one run: from the study's record, else from metrics.jsonl."""
    stored = group.budgets.get(seed)
    if stored is not None:
        return {"epochs": int(stored.get("epochs", 0)), "seconds": float(stored.get("seconds", 0.0))}
    run_dir = group.run_dirs.get(seed)
    records = read_metrics(run_dir) if run_dir is not None and Path(run_dir).is_dir() else []
    return {"epochs": len(records), "seconds": sum(float(r.get("train_seconds", 0.0)) + float(r.get("eval_seconds", 0.0))
                                                   for r in records)}


def runs_table(groups: list[ConfigResults]) -> pd.DataFrame:
    """One row per run the report used: its configuration (the key, JSON), seed, validation and test
    metrics, timing, budget and mechanism values; `selection.groups_from_frame` rebuilds the groups."""
    rows = []
    for group in groups:
        for seed in group.seeds:
            budget = run_budget(group, seed)
            row: dict[str, Any] = {"config": group.key, "dataset": group.dataset, "backbone": group.backbone,
                                   "variant": group.variant, "seed": seed,
                                   "alphas": format_alphas(group.alphas) if group.variant != "baseline" else "",
                                   "seconds_per_epoch": group.seconds_per_epoch.get(seed, math.nan),
                                   "epochs_run": group.epochs_run.get(seed, 0),
                                   "budget_epochs": budget["epochs"], "budget_seconds": budget["seconds"],
                                   "in_progress": group.in_progress}
            row.update({f"valid/{k}": v for k, v in group.valid.get(seed, {}).items()})
            row.update({f"test/{k}": v for k, v in group.test.get(seed, {}).items()})
            row.update({f"mechanism/{k}": v for k, v in group.mechanism.get(seed, {}).items()})
            rows.append(row)
    return pd.DataFrame(rows)


# -- sensitivity ------------------------------------------------------------------------------

def _key_without(key: str, alpha: str) -> str:
    raw = json.loads(key)
    raw["mrdib"][alpha] = None
    return json.dumps(raw, sort_keys=True, default=str)


def sensitivity(selections: dict[tuple[str, str], Selection], groups: list[ConfigResults],
                metrics: Sequence[str] = ("recall@5",)) -> pd.DataFrame:
    """Each alpha varied with the other two at the chosen values (everything else equal).

    The curve through the chosen configuration is preferred; when the grid has no such line
    (a one-at-a-time grid whose winner lies off its centre) the longest line is drawn instead.
    Every point of one curve is averaged over the seeds all its points share, so a point that
    happens to have more seeds (the chosen one) is not compared on a different footing. Rows with
    alpha 'baseline' (value NaN) give the chosen baseline on the seeds the curves used, the level
    a reader compares every alpha against.
    """
    rows = []
    for (dataset, backbone), chosen in sorted(selections.items()):
        if chosen.mrdib is None:
            continue
        full = [g for g in groups if (g.dataset, g.backbone) == (dataset, backbone) and g.variant == "full"]
        curve_seeds: set[int] = set()
        for position, alpha in enumerate(ALPHA_NAMES):
            lines: dict[str, list[ConfigResults]] = {}
            for group in full:
                lines.setdefault(_key_without(group.key, alpha), []).append(group)
            curve = lines.get(_key_without(chosen.mrdib.key, alpha), [])
            if len(curve) < 2:
                curve = max(lines.values(), key=len, default=[])
            if len(curve) < 2:
                continue
            common = set.intersection(*(set(g.seeds) for g in curve)) or None
            curve_seeds |= common or {seed for g in curve for seed in g.seeds}
            for group in sorted(curve, key=lambda g: g.alphas[position]):
                for split in ("valid", "test"):
                    for metric in metrics:
                        scores = group.valid_scores(metric) if split == "valid" else group.test_scores(metric)
                        values = [v for s, v in scores.items() if common is None or s in common]
                        stats = mean_std(values)
                        rows.append({"dataset": dataset, "backbone": backbone, "alpha": alpha,
                                     "value": group.alphas[position], "split": split, "metric": metric,
                                     "mean": stats.mean, "std": stats.std, "n": stats.n,
                                     "chosen": group.key == chosen.mrdib.key})
        if chosen.baseline is not None and curve_seeds:
            for split in ("valid", "test"):
                for metric in metrics:
                    scores = chosen.baseline.valid_scores(metric) if split == "valid" else \
                        chosen.baseline.test_scores(metric)
                    values = [v for seed, v in scores.items() if seed in curve_seeds]
                    if values:
                        stats = mean_std(values)
                        rows.append({"dataset": dataset, "backbone": backbone, "alpha": "baseline", "value": math.nan,
                                     "split": split, "metric": metric, "mean": stats.mean, "std": stats.std,
                                     "n": stats.n, "chosen": False})
    return pd.DataFrame(rows, columns=["dataset", "backbone", "alpha", "value", "split", "metric", "mean", "std",
                                       "n", "chosen"])


# -- putting it together ----------------------------------------------------------------------

def compute_budget(groups: list[ConfigResults]) -> dict[str, float]:
    """Runs, epochs and summed train+eval seconds of every run the report uses (from metrics.jsonl,
    or from the study's record of a run trained elsewhere, or from a runs table)."""
    runs = epochs = 0
    seconds = 0.0
    for group in groups:
        for seed in group.seeds:
            budget = run_budget(group, seed)
            runs += 1
            epochs += int(budget["epochs"])
            seconds += float(budget["seconds"])
    return {"runs": runs, "epochs": epochs, "seconds": seconds}


def report_from_runs_table(path: str | Path, metric: str = "recall@5") -> Report:
    """Every table again from a runs.csv that `mrdib report` wrote, without the run folders."""
    return report_from_groups(groups_from_frame(read_runs_table(path)), metric, [])


def report_from_groups(groups: list[ConfigResults], metric: str, plans: list[dict[str, Any]]) -> Report:
    measured = sorted({name for g in groups for scores in g.valid.values() for name in scores})
    if metric not in measured:  # a mistyped --metric would choose nothing and write empty tables
        raise ConfigError(f"--metric '{metric}': no run measured it (the runs have: {', '.join(measured)})")
    selections = choose(groups, metric)
    open_pairs = {(g.dataset, g.backbone) for g in groups if g.in_progress and g.variant not in ABLATIONS}
    for pair in open_pairs & set(selections):  # an unfinished sweep's pair: shown, never compared
        selections[pair] = replace(selections[pair], mrdib=None)
    return Report(
        groups=groups, selections=selections, table1=table1(selections), table2=table2(selections, groups, metric),
        table3=table3(selections), sensitivity=sensitivity(selections, groups, (metric,)), metric=metric,
        n_runs=sum(len(g.valid) for g in groups), budget=compute_budget(groups),
        sweep_plan={"plans": plans} if plans else None, budgets=budget_table(selections, groups),
        mechanism=mechanism_table(selections), runs=runs_table(groups),
        # An open pair's choice can still change: analysing its current pick may be wasted work.
        unanalysed=unanalysed_chosen_runs({p: s for p, s in selections.items() if p not in open_pairs}),
        popularity=popularity_table(json.loads(g.key) for g in groups))

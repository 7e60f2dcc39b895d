"""Turns a `Report` into files: Markdown (a docs/results.md-style document with the exact
commands), CSV (tidy, one number per cell) and LaTeX tables, and PNG figures when kaleido
can render them (skipped with a note otherwise)."""

from __future__ import annotations

import json
import math
import shlex
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from mrdib.core.io import atomic_write_bytes
from mrdib.core.variants import ABLATIONS
from mrdib.figures.charts import improvement_plot, sensitivity_plot, span_text
from mrdib.results.report import TABLE_METRICS, VARIANT_LABELS, VARIANT_ORDER, Report, UnanalysedRun
from mrdib.results.stats import MeanStd

METRIC_LABELS = {"recall": "R", "precision": "P", "map": "MAP", "ndcg": "NDCG"}
SIGNIFICANCE = 0.05


def metric_label(metric: str) -> str:
    name, _, k = metric.partition("@")
    return f"{METRIC_LABELS.get(name, name)}@{k}" if k else metric


def _cell(mean: float, std: float, n: int, digits: int = 4) -> str:
    return MeanStd(mean, std, int(n)).format(digits)


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:+.1f}%"


def _p(value: float, n: int) -> str:
    if not math.isfinite(value):
        return f"n/a (n={n})"
    return f"{value:.3f} (n={n})" if value >= 0.001 else f"{value:.0e} (n={n})"


# -- display frames (strings), one per table ----------------------------------------------------

def table1_display(frame: pd.DataFrame, dataset: str, metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    """The paper's layout for one data set: per backbone a baseline row, a +MRdIB row, an improvement row."""
    rows = []
    part = frame[frame.dataset == dataset]
    for backbone in part.backbone.drop_duplicates():
        mine = part[part.backbone == backbone].set_index("metric")
        present = [m for m in metrics if m in mine.index]
        alphas = mine.iloc[0]["alphas"]
        rows.append({"model": backbone, **{metric_label(m): _cell(mine.at[m, "baseline_mean"], mine.at[m, "baseline_std"],
                                                               mine.at[m, "baseline_n"]) for m in present}})
        rows.append({"model": f"{backbone}+MRdIB ({alphas})" if alphas else f"{backbone}+MRdIB",
                     **{metric_label(m): _cell(mine.at[m, "mrdib_mean"], mine.at[m, "mrdib_std"],
                                               mine.at[m, "mrdib_n"]) for m in present}})
        rows.append({"model": "improvement, p", **{
            metric_label(m): f"{_pct(mine.at[m, 'improvement_pct'])}, p={_p(mine.at[m, 'p_value'], mine.at[m, 'n_pairs'])}"
            for m in present}})
        if "difference_ci_low" in mine and any(math.isfinite(mine.at[m, "difference_ci_low"]) for m in present):
            rows.append({"model": "difference, 95% CI", **{
                metric_label(m): f"[{mine.at[m, 'difference_ci_low']:+.4f}, {mine.at[m, 'difference_ci_high']:+.4f}]"
                for m in present}})
        if "control_n" in mine and any(mine.at[m, "control_n"] > 0 for m in present):
            rows.append({"model": f"{backbone}+MRdIB, terms off (control)", **{
                metric_label(m): _cell(mine.at[m, "control_mean"], mine.at[m, "control_std"], mine.at[m, "control_n"])
                for m in present}})
            rows.append({"model": "control vs baseline, p", **{
                metric_label(m): f"{_pct(mine.at[m, 'control_change_pct'])}, "
                                 f"p={_p(mine.at[m, 'control_p_value'], mine.at[m, 'control_n'])}"
                for m in present}})
        if any(math.isfinite(mine.at[m, "paper_improvement_pct"]) for m in present):
            rows.append({"model": "paper's improvement", **{
                metric_label(m): _pct(mine.at[m, "paper_improvement_pct"]) for m in present}})
    return pd.DataFrame(rows)


def table2_display(frame: pd.DataFrame, dataset: str, backbone: str,
                   metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    part = frame[(frame.dataset == dataset) & (frame.backbone == backbone)]
    rows = []
    for variant in VARIANT_ORDER:
        mine = part[part.variant == variant].set_index("metric")
        if mine.empty:
            continue
        label = VARIANT_LABELS[variant]
        if variant != "baseline" and mine.iloc[0]["alphas"]:
            label += f" [{mine.iloc[0]['alphas']}]" + ("" if mine.iloc[0]["at_chosen_alphas"] else " *")
        row = {"variant": label}
        for metric in metrics:
            if metric in mine.index:
                row[metric_label(metric)] = _cell(mine.at[metric, "mean"], mine.at[metric, "std"], mine.at[metric, "n"])
        first = metrics[0]
        if first in mine.index and variant != "full":
            row[f"{metric_label(first)} vs full"] = (f"{_pct(mine.at[first, 'vs_full_pct'])}, "
                                                     f"p={_p(mine.at[first, 'p_vs_full'], mine.at[first, 'n'])}")
        elif variant == "full":
            row[f"{metric_label(first)} vs full"] = ""
        rows.append(row)
    return pd.DataFrame(rows)


def table3_display(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{
        "data set": row.dataset, "backbone": row.backbone,
        "baseline s/epoch": _cell(row.baseline_seconds, row.baseline_std, row.baseline_n, 2),
        "+MRdIB s/epoch": _cell(row.mrdib_seconds, row.mrdib_std, row.mrdib_n, 2),
        "overhead": _pct(row.overhead_pct),
        "mean epochs run": "n/a" if not math.isfinite(row.mean_epochs_run) else f"{row.mean_epochs_run:.1f}",
    } for row in frame.itertuples()])


def budget_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The tuning budgets side by side: configurations / runs / epochs (hours) per side."""
    def side(row: Any, name: str) -> str:
        return (f"{getattr(row, name + '_configs')} / {getattr(row, name + '_runs')} / "
                f"{getattr(row, name + '_epochs')} ({getattr(row, name + '_hours'):.2f} h)")

    def cap(row: Any) -> str:
        hit = [label for label, flag in (("baseline", row.baseline_chosen_hits_cap),
                                         ("+MRdIB", row.mrdib_chosen_hits_cap)) if flag]
        return ", ".join(hit) if hit else "no"

    return pd.DataFrame([{
        "data set": row.dataset, "backbone": row.backbone,
        "baseline configs / runs / epochs": side(row, "baseline"),
        "+MRdIB configs / runs / epochs": side(row, "mrdib"),
        "ablations runs / epochs": f"{row.ablations_runs} / {row.ablations_epochs}",
        "chosen hit the epoch cap": cap(row),
    } for row in frame.itertuples()])


MECHANISM_LABELS = {"sample_mi": "redundancy on samples, Gaussian MI (nats)",
                    "sample_mine": "redundancy on samples, MINE (nats)",
                    "mean_log_var": "mean posterior log-variance",
                    "pid_unique_a": "PID: unique to the first modality (bits)",
                    "pid_unique_b": "PID: unique to the second modality (bits)",
                    "pid_redundant": "PID: redundant (bits)", "pid_synergistic": "PID: synergistic (bits)",
                    "pid_total": "PID: total I(Y; both) (bits)"}


def mechanism_display(frame: pd.DataFrame, dataset: str, backbone: str) -> pd.DataFrame:
    """One pair's mechanism quantities, the chosen baseline beside the chosen +MRdIB."""
    mine = frame[(frame.dataset == dataset) & (frame.backbone == backbone)]
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for row in mine.itertuples():
        label = MECHANISM_LABELS.get(row.quantity, row.quantity)
        if row.quantity.startswith("standalone_recall@"):
            label = f"standalone Recall@{row.quantity.split('@', 1)[1]}"
        cells = rows.setdefault((label, row.where), {"quantity": label, "of": row.where, "baseline": "",
                                                     "+MRdIB": ""})
        cells["baseline" if row.side == "baseline" else "+MRdIB"] = _cell(row.mean, row.std, row.n)
    return pd.DataFrame(list(rows.values()))


# -- Markdown and LaTeX ---------------------------------------------------------------------------

def popularity_line(frame: pd.DataFrame, dataset: str, metrics: Sequence[str] = TABLE_METRICS) -> str | None:
    """The most-popular reference of `dataset` in one sentence, or None when the report has none."""
    rows = frame[frame.dataset == dataset] if not frame.empty else frame
    if rows.empty:
        return None
    values = rows.set_index(["split", "metric"])["value"]
    test = ", ".join(f"{metric_label(m)} {values[('test', m)]:.4f}" for m in metrics if ("test", m) in values)
    valid = ", ".join(f"{metric_label(m)} {values[('valid', m)]:.4f}" for m in metrics[:1] if ("valid", m) in values)
    return (f"Reference without a model, most popular (every user gets the items with most training "
            f"interactions): test {test}; valid {valid}.")


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_(no rows)_\n"
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join("" if v is None or (isinstance(v, float) and math.isnan(v))
                                       else str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def latex_table(frame: pd.DataFrame, caption: str = "", label: str = "") -> str:
    """A booktabs table (needs \\usepackage{booktabs}) through the dashboard's exporter, `mrdib.results.tables.to_latex`."""
    from mrdib.results.tables import to_latex

    return to_latex(frame.reset_index(drop=True), caption=caption, label=label)


# -- figures -------------------------------------------------------------------------------------

def write_pngs(figures: dict[str, Any], out_dir: Path) -> tuple[list[Path], str | None]:
    """Render figures to PNG with kaleido in one batch; returns (files, why skipped or None)."""
    if not figures:
        return [], None
    try:
        import plotly.io as pio

        paths = [out_dir / f"{name}.png" for name in figures]
        out_dir.mkdir(parents=True, exist_ok=True)
        widths = [figure.layout.width or 1000 for figure in figures.values()]
        heights = [figure.layout.height or 450 for figure in figures.values()]
        if hasattr(pio, "write_images"):  # kaleido 1.x: one browser for the whole batch
            pio.write_images(list(figures.values()), paths, width=widths, height=heights, scale=2)
        else:
            for figure, path, width, height in zip(figures.values(), paths, widths, heights):
                figure.write_image(path, width=width, height=height, scale=2)
        return paths, None
    except Exception as exc:  # kaleido missing, no browser for kaleido 1.x, sandbox limits...
        reason = f"PNG export skipped ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        warnings.warn(reason, stacklevel=2)
        return [], reason


def report_figures(report: Report) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if not report.table1.empty and report.table1["improvement_pct"].notna().any():
        figures["improvement"] = improvement_plot(report.table1, report.metric)
    frame = report.sensitivity
    for dataset, backbone in frame[["dataset", "backbone"]].drop_duplicates().itertuples(index=False):
        figures[f"sensitivity_{dataset}_{backbone}"] = sensitivity_plot(frame, dataset, backbone, report.metric)
    return figures


# -- the document --------------------------------------------------------------------------------

def _commands_section(report: Report, report_command: str | None) -> list[str]:
    lines = ["## How these numbers were made", "", "```bash"]
    seen = set()
    for plan in (report.sweep_plan or {}).get("plans", []):
        for call in plan.get("history", []):
            command = call.get("command")
            if command and command not in seen:
                seen.add(command)
                lines.append(command)
    if report_command:
        lines.append(report_command)
    lines += ["```", ""]
    return lines


def _describe_grid(grid: dict[str, Any]) -> str:
    mode = grid.get("mode")
    if mode == "points":
        return f"alpha points {grid.get('points')}"
    lists = f"a1 {grid.get('a1')}, a2 {grid.get('a2')}, a3 {grid.get('a3')}"
    if mode == "one_at_a_time":
        return f"alphas varied one at a time around {grid.get('base')} over {lists}"
    return f"full alpha grid over {lists}"


def _describe_call(call: dict[str, Any]) -> str:
    workers = f"{call.get('workers')} worker{'s' if call.get('workers') != 1 else ''}"
    restored = call.get("restored") or {}
    if restored.get("runs"):  # earlier calls' runs, whose own calls are on record in an earlier study
        workers += f"; first restored {restored['runs']} finished runs from {restored.get('from')}"
    if call.get("finished"):
        return f"{call.get('started')} to {call.get('finished')} ({workers})"
    # Killed without a clean stop (or still running): its last recorded outcome bounds it.
    return f"{call.get('started')} to at least {call.get('last_seen') or call.get('started')} ({workers}; no clean stop recorded)"


def _describe_history(history: list[dict[str, Any]]) -> str:
    """The sweep's calls: each one when there are few, else their count, span and workers (a sweep
    resumed across sessions has many calls; the plan file keeps every one)."""
    if len(history) <= 3:
        return "- Wall clock of the sweep calls: " + "; ".join(_describe_call(h) for h in history) + "."

    def minute(stamp: str | None) -> str:
        return str(stamp or "?")[:16].replace("T", " ")
    ends = [call.get("finished") or call.get("last_seen") or call.get("started") for call in history]
    workers = sorted({call.get("workers") for call in history}, key=str)
    unclean = sum(not call.get("finished") for call in history)
    return (f"- Wall clock: {len(history)} sweep calls from {minute(min(str(c.get('started')) for c in history))} "
            f"to {'at least ' if unclean else ''}{minute(max(map(str, ends)))} UTC, "
            f"{' or '.join(map(str, workers))} worker{'s' if workers != [1] else ''} each"
            + (f"; {unclean} with no clean stop on record (killed, or still running; each bounded by its last "
               "recorded run)" if unclean else "")
            + "; every call is in the sweep's plan file.")


def _power_sentence(table1: pd.DataFrame) -> str:
    """What the paired test can show at the seed counts the tables actually have."""
    counts = span_text((n for n in table1.get("n_pairs", pd.Series(dtype=float)).dropna() if n >= 2), " to ")
    seeds = f"n = {counts}" if counts else "few seeds"
    return (f"With {seeds} the test detects only differences that are large against the seed spread: p >= 0.05 is "
            "no evidence that the sides are equal (the 95% interval of the difference says what the data rule out), "
            "and p < 0.05 on one metric of many is suggestive, not conclusive.")


def _setup_section(report: Report) -> list[str]:
    lines = ["## Setup", ""]
    for plan in (report.sweep_plan or {}).get("plans", []):
        config = plan.get("config", {})
        grid = config.get("alphas", {})
        seeds = config.get("seeds", [])
        grid_seeds = config.get("selection_seeds") or seeds
        lines += [
            f"- Sweep `{plan.get('name')}` ({plan.get('config_path') or 'config in the plan file'}): data "
            f"{', '.join(config.get('datasets', []))}; backbones {', '.join(config.get('backbones', []))}; "
            f"seeds {seeds}; {_describe_grid(grid)}, run on seeds {grid_seeds}; fixed settings "
            f"{config.get('train') or 'backbone defaults'}.",
        ]
        if config.get("baseline_grid"):
            lines.append(
                "- Baseline tuned too: " + "; ".join(
                    f"{backbone} over " + ", ".join(f"{name} {values}" for name, values in params.items())
                    for backbone, params in config["baseline_grid"].items())
                + f", run on seeds {grid_seeds} and chosen on validation like the alphas"
                + ("; the alpha grid ran at the baseline's chosen settings." if config.get("mrdib_uses_baseline_choice")
                   else "; the alpha grid ran at the sweep's own backbone settings."))
        history = plan.get("history", [])
        if history:
            lines.append(_describe_history(history))
        if config.get("notes"):
            lines += ["", config["notes"].strip()]
    budget = report.budget
    lines += [
        f"- Selection: per backbone and data set, the +MRdIB alphas (and, if several, the baseline "
        f"configuration) are the ones with the best mean **validation** {report.metric}, compared on the seeds "
        "every candidate shares; the tables show the chosen configuration's **test** metrics. Test never "
        "chooses anything (MMRec reports the best test score instead).",
        "- Every cell is the mean ± sample std over seeds; p is a two-sided paired t-test "
        "(scipy.stats.ttest_rel) over the seeds both sides share, n = number of pairs (n/a below 2). "
        + _power_sentence(report.table1),
        f"- Budget: {int(budget.get('runs', 0))} runs, {int(budget.get('epochs', 0))} epochs, "
        f"{budget.get('seconds', 0.0) / 3600:.2f} hours of training and evaluation (summed over runs, from each run's "
        "metrics or, for a run restored from a committed runs table, the table's budget).", ""]
    return lines


def _summary_lines(report: Report) -> list[str]:
    frame = report.table1[report.table1.metric == report.metric]
    if frame.empty:
        return []
    pending = frame[frame.improvement_pct.isna()]
    waiting = (["Not compared yet (its sweep is unfinished, or a side has no finished chosen run): " + ", ".join(
        f"{r.backbone} on {r.dataset}" for r in pending.itertuples()) + "."] if len(pending) else [])
    frame = frame[frame.improvement_pct.notna()]
    if frame.empty:
        return waiting + [""]
    improvements = frame.improvement_pct
    reported = frame.paper_improvement_pct.dropna()
    if len(reported) == 1:
        pair = frame.loc[reported.index[0]]
        paper = f" Of these pairs the paper has only {pair.backbone} on {pair.dataset}, where it reports {reported.iloc[0]:+.1f}%."
    else:
        paper = (f" On the {len(reported)} of these pairs the paper has, it reports {reported.mean():+.1f}% on average."
                 if len(reported) else "")
    lines = [f"Average improvement in test {metric_label(report.metric)} over {len(improvements)} backbone/data "
             f"pairs: **{improvements.mean():+.1f}%** (median {improvements.median():+.1f}%). "
             f"The paper reports about +8% in Recall@5 on average over its pairs.{paper}", ""]
    worse = frame[frame.improvement_pct <= 0]
    unclear = frame[(frame.improvement_pct > 0) & ~(frame.p_value < SIGNIFICANCE)]
    if len(worse):
        lines.append("+MRdIB did **not** help (test " + metric_label(report.metric) + " not above the baseline): "
                     + ", ".join(f"{r.backbone} on {r.dataset} ({_pct(r.improvement_pct)})" for r in worse.itertuples())
                     + ".")
    if len(unclear):
        lines.append("Improvements not significant at p < 0.05: " + ", ".join(
            f"{r.backbone} on {r.dataset} ({_pct(r.improvement_pct)}, p={_p(r.p_value, r.n_pairs)})"
            for r in unclear.itertuples()) + ".")
    if not len(worse) and not len(unclear):
        lines.append("+MRdIB improved every compared pair, each with p < 0.05.")
    return lines + waiting + [""]


def render_markdown(report: Report, title: str = "Results", report_command: str | None = None,
                    figure_files: Sequence[Path] = (), figures_note: str | None = None,
                    out_dir: Path | None = None) -> str:
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = [f"# {title}", "",
             f"Generated {stamp} by `mrdib report` from {report.n_runs} finished runs. Tables: CSV and LaTeX beside "
             "this file.", ""]
    lines += _commands_section(report, report_command)
    lines += _setup_section(report)
    if not report.budgets.empty:
        lines += ["## Budgets: what each side was chosen among", "",
                  "Per backbone and data set: the configurations each side's choice on validation saw, the runs "
                  "(configurations x seeds) and epochs trained for it, and whether the chosen configuration "
                  "stopped at the epoch cap on some seed (then early stopping never fired and more epochs might "
                  "change it). Full numbers in budgets.csv.", "", markdown_table(budget_display(report.budgets)), ""]
    lines += ["## Table 1: baseline vs +MRdIB (test)", ""]
    lines += _summary_lines(report)
    for dataset in report.table1.dataset.drop_duplicates():
        lines += [f"### {dataset}", "", markdown_table(table1_display(report.table1, dataset))]
        reference = popularity_line(report.popularity, dataset)
        if reference:
            lines += [reference, ""]
    waiting = sorted({(g.backbone, g.dataset) for g in report.groups if g.in_progress and g.variant in ABLATIONS})
    if not report.table2.empty or waiting:
        lines += ["## Table 2: ablations (test)", "",
                  "Each variant switches one MRdIB term off at the chosen alphas; `*` marks a variant only found at "
                  "other alphas (chosen among its runs by validation). p: paired test against the full +MRdIB.", ""]
        if waiting:
            lines += ["Waiting for unfinished ablation runs: " + ", ".join(f"{b} on {d}" for b, d in waiting) + ".", ""]
        for dataset, backbone in report.table2[["dataset", "backbone"]].drop_duplicates().itertuples(index=False):
            lines += [f"### {backbone} on {dataset}", "", markdown_table(table2_display(report.table2, dataset, backbone))]
    if not report.table3.empty:
        lines += ["## Table 3: seconds per training epoch", "",
                  "Training time only (evaluation excluded), averaged over seeds, on the machine that ran the sweep; "
                  "timings on a shared machine are noisy, and runs of different configurations ran at different "
                  "times. For a controlled comparison (both sides alternated in one process), run "
                  "`python benchmarks/bench_training.py --data DATA --backbones BACKBONE`.", "",
                  markdown_table(table3_display(report.table3))]
    if not report.mechanism.empty or report.unanalysed:
        lines += ["## The mechanism beside accuracy", "",
                  "For the chosen configurations, from each run's analysis.json (`mrdib analyze RUN`; seeds without "
                  "one are left out, n says how many): redundancy between the modalities' posterior samples, the "
                  "posterior's mean log-variance (a baseline has none) and each modality's standalone ranking. "
                  "Full numbers in mechanism.csv.", ""]
        if report.unanalysed:
            retrain = sum(not run.has_folder for run in report.unanalysed)
            again = (f" ({retrain} of them restored from a runs table, with no folder here: the script trains them "
                     "again first, from the same config and seed)") if retrain else ""
            lines += [f"{len(report.unanalysed)} chosen runs have no analysis yet{again}; `sh analyze_chosen.sh` "
                      "(beside this file) analyses them, then rerun this report.", ""]
        for dataset, backbone in report.mechanism[["dataset", "backbone"]].drop_duplicates().itertuples(index=False):
            lines += [f"### {backbone} on {dataset}", "",
                      markdown_table(mechanism_display(report.mechanism, dataset, backbone)), ""]
    if figure_files or figures_note or not report.sensitivity.empty:
        lines += ["## Figures", ""]
        for path in figure_files:
            shown = path.relative_to(out_dir) if out_dir and path.is_relative_to(out_dir) else path
            lines += [f"![{path.stem}]({shown.as_posix()})", ""]
        if figures_note:
            lines += [f"_{figures_note}; the sensitivity data are in sensitivity.csv._", ""]
    return "\n".join(lines).rstrip() + "\n"


def analyze_script(runs: Sequence[UnanalysedRun]) -> str:
    """analyze_chosen.sh: `mrdib analyze` for each chosen run without an analysis, preceded, for a run
    restored from a runs table (no folder here), by the `mrdib train` call that makes it again."""
    lines = ["# The chosen runs the mechanism table lacks; then rerun `mrdib report`.", "set -e"]
    for run in runs:
        folder = shlex.quote(str(run.run_dir))
        if not run.has_folder:
            # One thread, as the sweeps' workers train: with MRdIB on, the thread count changes the floats.
            lines += [f"# {run.run_dir.name}: restored from a runs table; trained again first (same config and seed)",
                      # a .json name: `mrdib train --config` reads any other suffix as YAML
                      'config_dir=$(mktemp -d)', 'config="$config_dir/config.json"', "cat > \"$config\" <<'CONFIG'",
                      json.dumps(run.train_config, sort_keys=True), "CONFIG",
                      f'python -m mrdib train --config "$config" --seed {run.seed} '
                      f"--run-id {shlex.quote(run.run_dir.name)} --artifacts {shlex.quote(str(run.run_dir.parent.parent))} "
                      "--threads 1 --quiet",
                      'rm -rf "$config_dir"']
        lines.append(f"python -m mrdib analyze {folder} --quiet")
    return "\n".join(lines) + "\n"


# The names of the report's own PNGs in figures/ (other files there are the user's and stay).
REPORT_FIGURE_PREFIXES: tuple[str, ...] = ("improvement", "sensitivity_")

# Files a report writes only when it has something for them (the CSVs are always written).
CONDITIONAL_FILES: tuple[str, ...] = ("table1.tex", "table2_ablations.tex", "table3_time.tex", "analyze_chosen.sh",
                                     "popularity.csv")


def write_report(report: Report, out_dir: str | Path, title: str = "Results", markdown_name: str = "results.md",
                 report_command: str | None = None, png: bool = True) -> list[Path]:
    """Write Markdown, CSV, LaTeX (and PNG figures) into `out_dir`; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(name: str, text: str) -> None:
        path = out_dir / name
        atomic_write_bytes(path, text.encode())
        written.append(path)

    for name, frame in (("table1", report.table1), ("table2_ablations", report.table2),
                        ("table3_time", report.table3), ("sensitivity", report.sensitivity),
                        ("budgets", report.budgets), ("mechanism", report.mechanism), ("runs", report.runs)):
        save(f"{name}.csv", frame.to_csv(index=False))
    latex = []
    for dataset in report.table1.dataset.drop_duplicates():
        latex.append(latex_table(table1_display(report.table1, dataset),
                                 f"Test metrics on {dataset}: baseline vs +MRdIB (mean ± std over seeds).",
                                 f"tab:mrdib-{dataset}"))
    save("table1.tex", "\n".join(latex))
    if not report.table2.empty:
        save("table2_ablations.tex", "\n".join(
            latex_table(table2_display(report.table2, d, b), f"Ablations of {b}+MRdIB on {d} (test).",
                        f"tab:ablation-{d}-{b}")
            for d, b in report.table2[["dataset", "backbone"]].drop_duplicates().itertuples(index=False)))
    if not report.table3.empty:
        save("table3_time.tex", latex_table(table3_display(report.table3), "Seconds per training epoch.",
                                            "tab:time"))
    if not report.popularity.empty:
        save("popularity.csv", report.popularity.to_csv(index=False))
    if report.unanalysed:
        save("analyze_chosen.sh", analyze_script(report.unanalysed))
    figure_files: list[Path] = []
    note = None
    if png:
        figure_files, note = write_pngs(report_figures(report), out_dir / "figures")
        written += figure_files
        if note is None:  # rendered: a figure of an earlier report that this one has not drawn is out of date
            for stale in sorted((out_dir / "figures").glob("*.png")):
                if stale not in figure_files and stale.name.startswith(REPORT_FIGURE_PREFIXES):
                    stale.unlink()
    else:
        note = "PNG export not requested (--no-png)"
    save(markdown_name, render_markdown(report, title, report_command, figure_files, note, out_dir))
    for name in CONDITIONAL_FILES:  # left from an earlier report into this folder: now out of date
        stale = out_dir / name
        if stale not in written and stale.is_file():
            stale.unlink()
    return written

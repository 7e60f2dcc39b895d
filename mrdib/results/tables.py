"""The dashboard's and the notebooks' tables from the tidy runs frame (`mrdib.runs.reader.runs_frame`):
the paper's Tables 1-3, the sensitivity curves' data and per-epoch traces, plus CSV/LaTeX export.

Pure pandas, no streamlit. Which configurations a table shows is decided by the report's own rule
(`mrdib.results.selection.choose`, through `selections`), so the Metrics page and `mrdib report`
show the same numbers for the same runs. Only finished runs (status `done`) count; the number of
seeds behind every mean is reported beside it.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from mrdib.core.names import ALPHA_NAMES, BASELINE, IMPROVEMENT, METRIC_NAMES, MRDIB
from mrdib.figures.charts import ema_smooth  # noqa: F401  (kept importable from here)
from mrdib.reference import paper_table
from mrdib.results.selection import ConfigResults, Selection, ablation_groups, choose, groups_from_frame
from mrdib.results.stats import mean_std

METRICS = METRIC_NAMES
ALPHAS = ALPHA_NAMES
# Table 2 variants: which alphas are switched off, relative to the full setting.
ABLATION_VARIANTS = {
    "baseline": None,
    "full": (),
    "no_kl_a1": ("a1",),
    "no_mine_a2": ("a2",),
    "no_unique_a3": ("a3",),
    "kl_only": ("a2", "a3"),
}
KEYS = ["dataset", "backbone"]


def metric_names(ks: Iterable[int] = (5,), metrics: Iterable[str] = METRICS) -> list[str]:
    """`recall@5, precision@5, ...` in the paper's column order, k by k."""
    return [f"{m}@{k}" for k in ks for m in metrics]


def finished_runs(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "done"] if not runs.empty else runs


def selections(runs: pd.DataFrame, stop_metric: str = "recall@5") -> dict[tuple[str, str], Selection]:
    """Per (dataset, backbone), the baseline and +MRdIB configurations `mrdib report` chooses: the
    best mean validation `stop_metric` on the seeds the candidates share (test never chooses)."""
    return choose(groups_from_frame(runs), stop_metric)


def chosen_alphas(runs: pd.DataFrame, stop_metric: str = "recall@5") -> dict[tuple[str, str], tuple]:
    """The chosen +MRdIB configuration's (a1, a2, a3) per (dataset, backbone)."""
    return {pair: tuple(s.mrdib.alphas) for pair, s in selections(runs, stop_metric).items() if s.mrdib}


def chosen_setting(runs: pd.DataFrame, dataset: str, backbone: str, stop_metric: str = "recall@5") -> str | None:
    """The `setting` column (training setting less MRdIB) of the chosen +MRdIB configuration."""
    chosen = selections(runs, stop_metric).get((dataset, backbone))
    if chosen is None or chosen.mrdib is None or not {"config", "setting"} <= set(runs.columns):
        return None
    rows = runs[runs["config"] == chosen.mrdib.key]
    return str(rows["setting"].iloc[0]) if len(rows) else None


def capped_choices(runs: pd.DataFrame, stop_metric: str = "recall@5") -> list[str]:
    """One line per chosen configuration (the comparison's baseline or +MRdIB) with a seed that
    stopped at the epoch cap, e.g. "vbpr baseline on synthetic: 2 of 2 seeds stopped at the cap (20 epochs)"."""
    lines = []
    for (dataset, backbone), chosen in sorted(selections(runs, stop_metric).items()):
        for side, group in (("baseline", chosen.baseline), ("+MRdIB", chosen.mrdib)):
            if group is not None and group.capped_seeds:
                lines.append(f"{backbone} {side} on {dataset}: {len(group.capped_seeds)} of {len(group.seeds)} seeds "
                             f"stopped at the cap ({int(group.train['epochs'])} epochs)")
    return lines


def alphas_label(alphas: tuple[float, ...] | None) -> str:
    if alphas is None:
        return ""
    return ", ".join(f"{name}={value:g}" for name, value in zip(ALPHAS, alphas))


def _alpha_tuples(runs: pd.DataFrame) -> pd.Series:
    """(a1, a2, a3) per run, rounded so 0.1 written two ways compares equal."""
    return runs[list(ALPHAS)].apply(lambda row: tuple(round(float(v), 12) for v in row), axis=1)


def _stats(group: ConfigResults | None, metrics: list[str], split: str) -> dict[str, Any]:
    """Mean and std over seeds of one configuration's `split` metrics, and how many seeds."""
    out: dict[str, Any] = {"seeds": len(group.seeds) if group else 0}
    for metric in metrics:
        scores = group.test_scores(metric) if group and split == "test" else \
            group.valid_scores(metric) if group else {}
        stats = mean_std(list(scores.values()))
        out[metric] = stats.mean if stats.n else np.nan
        out[f"{metric} std"] = stats.std if stats.n > 1 else np.nan
    return out


def _paper_lookup(name: str) -> pd.DataFrame:
    paper = paper_table(name).copy()
    paper["backbone"] = paper["model"].str.lower()
    paper["dataset"] = paper["dataset"].str.lower()
    return paper


def _paper_values(paper: pd.DataFrame, mask: pd.Series, metrics: list[str]) -> dict[str, float]:
    rows = paper[mask]
    return {f"{m} paper": (float(rows[m].iloc[0]) if len(rows) and m in rows else np.nan) for m in metrics}


def _improvement_row(base: Mapping[str, Any], ours: Mapping[str, Any], metrics: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"variant": IMPROVEMENT, "alphas": "", "seeds": np.nan}
    for metric in metrics:
        for suffix in ("", " paper"):
            b, o = base.get(metric + suffix, np.nan), ours.get(metric + suffix, np.nan)
            row[metric + suffix] = (o - b) / b * 100 if b and not np.isnan(b) and not np.isnan(o) else np.nan
        row[f"{metric} std"] = np.nan
    return row


def _on_paper(paper: pd.DataFrame, dataset: str, backbone: str) -> pd.Series:
    return (paper["dataset"] == str(dataset).lower()) & (paper["backbone"] == str(backbone).lower())


def comparison_table(runs: pd.DataFrame, ks: Iterable[int] = (5,), split: str = "test",
                     stop_metric: str = "recall@5") -> pd.DataFrame:
    """Table 1: per (dataset, backbone), the chosen baseline and +MRdIB configurations (`selections`,
    the report's rule) as mean/std over seeds and the improvement in percent, with the paper's
    reported value beside each metric where it has one. `mrdib report`'s Table 1 has the same numbers."""
    metrics = metric_names(ks)
    chosen = selections(runs, stop_metric)
    if not chosen:
        return pd.DataFrame(columns=KEYS + ["variant", "alphas", "seeds"] + metrics)
    paper = _paper_lookup("table1")
    rows = []
    for (dataset, backbone), selection in sorted(chosen.items()):
        on_paper = _on_paper(paper, dataset, backbone)
        alphas = tuple(selection.mrdib.alphas) if selection.mrdib else None
        base = {"variant": BASELINE, "alphas": "", **_stats(selection.baseline, metrics, split),
                **_paper_values(paper, on_paper & (paper["mrdib"] == 0), metrics)}
        ours = {"variant": MRDIB, "alphas": alphas_label(alphas), **_stats(selection.mrdib, metrics, split),
                **_paper_values(paper, on_paper & (paper["mrdib"] == 1), metrics)}
        for row in (base, ours, _improvement_row(base, ours, metrics)):
            rows.append({"dataset": dataset, "backbone": backbone, **row})
    return _drop_empty_paper_columns(pd.DataFrame(rows), metrics)


def _drop_empty_paper_columns(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Paper columns only for metrics the paper reports, in `metric, metric std, metric paper` order."""
    columns = [c for c in KEYS + ["variant", "alphas", "seeds"] if c in table]
    for metric in metrics:
        columns += [metric, f"{metric} std"]
        if f"{metric} paper" in table and table[f"{metric} paper"].notna().any():
            columns.append(f"{metric} paper")
    return table[columns].reset_index(drop=True)


def ablation_table(runs: pd.DataFrame, ks: Iterable[int] = (5,), split: str = "test",
                   stop_metric: str = "recall@5") -> pd.DataFrame:
    """Table 2: each alpha switched off in turn, relative to the chosen +MRdIB configuration (the
    report's `ablation_groups`), beside the paper. A variant appears when runs exist for it or the
    paper reports it."""
    metrics = metric_names(ks)
    groups = groups_from_frame(runs)
    chosen = choose(groups, stop_metric)
    paper = _paper_lookup("table2_ablation")
    rows = []
    for (dataset, backbone), selection in sorted(chosen.items()):
        on_paper = _on_paper(paper, dataset, backbone)
        ablations = ablation_groups(selection, groups, stop_metric)
        for variant in ABLATION_VARIANTS:
            group = {"baseline": selection.baseline, "full": selection.mrdib}.get(variant)
            if variant in ablations:
                group = ablations[variant][0]
            alphas = tuple(group.alphas) if group is not None and variant != "baseline" else None
            row = {"dataset": dataset, "backbone": backbone, "variant": variant, "alphas": alphas_label(alphas),
                   **_stats(group, metrics, split),
                   **_paper_values(paper, on_paper & (paper["variant"] == variant), metrics)}
            has_paper = any(not np.isnan(row[f"{m} paper"]) for m in metrics)
            if row["seeds"] > 0 or has_paper:
                rows.append(row)
    if not rows:
        return pd.DataFrame(columns=KEYS + ["variant", "alphas", "seeds"] + metrics)
    return _drop_empty_paper_columns(pd.DataFrame(rows), metrics)


def cost_table(runs: pd.DataFrame, stop_metric: str = "recall@5") -> pd.DataFrame:
    """Table 3: mean training seconds per epoch of the chosen baseline and +MRdIB configurations,
    and the overhead."""
    columns = KEYS + ["runs baseline", "s/epoch baseline", "runs +MRdIB", "s/epoch +MRdIB", "overhead %",
                      "paper s/epoch baseline", "paper s/epoch +MRdIB", "paper overhead %"]
    chosen = selections(runs, stop_metric)
    if not chosen:
        return pd.DataFrame(columns=columns)
    paper = _paper_lookup("table3_time")
    rows = []
    for (dataset, backbone), selection in sorted(chosen.items()):
        base = [v for v in (selection.baseline.seconds_per_epoch.values() if selection.baseline else ())
                if not np.isnan(v)]
        ours = [v for v in (selection.mrdib.seconds_per_epoch.values() if selection.mrdib else ()) if not np.isnan(v)]
        match = paper[_on_paper(paper, dataset, backbone)]
        paper_base = float(match["seconds_per_epoch_baseline"].iloc[0]) if len(match) else np.nan
        paper_ours = float(match["seconds_per_epoch_mrdib"].iloc[0]) if len(match) else np.nan
        base_mean = float(np.mean(base)) if base else np.nan
        ours_mean = float(np.mean(ours)) if ours else np.nan
        rows.append({"dataset": dataset, "backbone": backbone,
                     "runs baseline": len(base), "s/epoch baseline": base_mean,
                     "runs +MRdIB": len(ours), "s/epoch +MRdIB": ours_mean,
                     "overhead %": (ours_mean / base_mean - 1) * 100 if base_mean > 0 else np.nan,
                     "paper s/epoch baseline": paper_base, "paper s/epoch +MRdIB": paper_ours,
                     "paper overhead %": (paper_ours / paper_base - 1) * 100 if paper_base > 0 else np.nan})
    return pd.DataFrame(rows, columns=columns)


def baseline_levels(runs: pd.DataFrame, dataset: str, backbone: str, metrics: Iterable[str], split: str,
                    stop_metric: str = "recall@5") -> dict[str, float]:
    """{metric: mean over seeds of the chosen baseline}, the reference line of a sensitivity figure."""
    chosen = selections(runs, stop_metric).get((dataset, backbone))
    if chosen is None or chosen.baseline is None:
        return {}
    stats = _stats(chosen.baseline, list(metrics), split)
    return {m: float(stats[m]) for m in metrics if not np.isnan(stats[m])}


def sensitivity_reference(runs: pd.DataFrame, dataset: str, backbone: str, stop_metric: str = "recall@5"
                          ) -> tuple | None:
    """The setting a sensitivity figure holds the other alphas at: the one whose three lines hold the
    most other settings of the chosen configuration's training setting (a one-at-a-time grid's
    centre), ties to the chosen alphas. Where validation chose a point off the grid's centre, its
    own lines would hold one point each; as the report's figure, the richest lines are drawn."""
    chosen = chosen_alphas(runs, stop_metric).get((dataset, backbone))
    done = finished_runs(runs)
    if done.empty or chosen is None:
        return chosen
    done = done[(done["dataset"] == dataset) & (done["backbone"] == backbone) & done["mrdib"].astype(bool)]
    setting = chosen_setting(runs, dataset, backbone, stop_metric)
    if setting is not None:
        done = done[done["setting"] == setting]
    settings = {a for a in _alpha_tuples(done) if all(v > 0 for v in a)} if not done.empty else set()

    def neighbours(centre: tuple) -> int:
        return sum(sum(not math.isclose(x, y) for x, y in zip(centre, other)) == 1 for other in settings)

    rounded = tuple(round(float(v), 12) for v in chosen)
    return max(settings, key=lambda s: (neighbours(s), s == rounded), default=chosen)


def sensitivity_frame(runs: pd.DataFrame, dataset: str, backbone: str, ks: Iterable[int] = (5,),
                      split: str = "test", reference: tuple | None = None,
                      stop_metric: str = "recall@5") -> pd.DataFrame:
    """Metric against each alpha with the other two held at `reference` (by default
    `sensitivity_reference`), among the runs of the chosen configuration's training setting (Figure 4 a-c):
    one row per (alpha, value, metric) with mean, std and seeds. Zero values (ablations) are left out."""
    metrics = metric_names(ks)
    columns = ["alpha", "value", "metric", "mean", "std", "seeds"]
    done = finished_runs(runs)
    if done.empty:
        return pd.DataFrame(columns=columns)
    done = done[(done["dataset"] == dataset) & (done["backbone"] == backbone) & done["mrdib"].astype(bool)]
    reference = reference or sensitivity_reference(runs, dataset, backbone, stop_metric)
    setting = chosen_setting(runs, dataset, backbone, stop_metric)
    if setting is not None and "setting" in done:
        done = done[done["setting"] == setting]
    if done.empty or reference is None:
        return pd.DataFrame(columns=columns)
    done = done.assign(alphas=_alpha_tuples(done))
    rows = []
    for position, alpha in enumerate(ALPHAS):
        others = [i for i in range(3) if i != position]
        on_line = done[done["alphas"].apply(lambda a: all(math.isclose(a[i], reference[i]) for i in others)
                                            and a[position] > 0)]
        for value, group in on_line.groupby(on_line["alphas"].apply(lambda a: a[position])):
            for metric in metrics:
                column = f"{split}/{metric}"
                values = group[column].dropna() if column in group else pd.Series(dtype=float)
                rows.append({"alpha": alpha, "value": float(value), "metric": metric,
                             "mean": float(values.mean()) if len(values) else np.nan,
                             "std": float(values.std(ddof=1)) if len(values) > 1 else np.nan,
                             "seeds": int(group["seed"].nunique())})
    return pd.DataFrame(rows, columns=columns)


def traces_frame(metrics_by_run: Mapping[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Per-epoch records of several runs as a long frame: run, epoch, series (`losses/total`,
    `mine_bound/image~text`, `monitor/mi_samples/image~text`, `kl/image`, `valid/recall@5`, ...), value."""
    rows = []
    for run_id, records in metrics_by_run.items():
        for record in records:
            epoch = record.get("epoch")
            for group, values in record.items():
                if isinstance(values, dict):
                    for name, value in values.items():
                        # One level deeper for the mechanism monitor: monitor/<quantity>/<name>.
                        nested = value if isinstance(value, dict) else {None: value}
                        rows += [(run_id, epoch, f"{group}/{name}" + (f"/{inner}" if inner is not None else ""),
                                  float(number)) for inner, number in nested.items()
                                 if isinstance(number, (int, float)) and not isinstance(number, bool)]
                elif group in ("train_seconds", "eval_seconds") and isinstance(values, (int, float)):
                    rows.append((run_id, epoch, f"time/{group}", float(values)))
    return pd.DataFrame(rows, columns=["run", "epoch", "series", "value"])


# -- presentation -----------------------------------------------------------------------------

def best_mask(table: pd.DataFrame, metrics: Iterable[str], group_by: Iterable[str] = KEYS) -> pd.DataFrame:
    """True where a measured (and, separately, a reported) value is the best of its (dataset, backbone)
    group; improvement rows never count."""
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    scored = table[table["variant"] != IMPROVEMENT] if "variant" in table else table
    group_by = [g for g in group_by if g in table]
    for metric in metrics:
        for column in (metric, f"{metric} paper"):
            if column not in table or scored.empty:
                continue
            groups = scored.groupby(group_by)[column] if group_by else [(None, scored[column])]
            for _, values in groups:
                values = values.dropna()
                if len(values) > 1:
                    mask.loc[values.index[values == values.max()], column] = True
    return mask


def format_table(table: pd.DataFrame, metrics: Iterable[str], decimals: int = 4) -> pd.DataFrame:
    """Strings for display and export: `mean ± std` per metric, `+12.3%` on improvement rows, `–` for missing."""
    metrics = list(metrics)
    out = table.drop(columns=[f"{m} std" for m in metrics if f"{m} std" in table]).copy().astype(object)
    for index, row in table.iterrows():
        improvement = row.get("variant") == IMPROVEMENT
        for metric in metrics:
            for column in (metric, f"{metric} paper"):
                if column not in table:
                    continue
                value = row[column]
                if pd.isna(value):
                    text = "–"
                elif improvement:
                    text = f"{value:+.1f}%"
                else:
                    text = f"{value:.{decimals}f}"
                    std = row.get(f"{metric} std") if column == metric else None
                    if std is not None and not pd.isna(std):
                        text += f" ± {std:.{decimals}f}"
                out.at[index, column] = text
        if "seeds" in table:
            out.at[index, "seeds"] = "" if pd.isna(row["seeds"]) else str(int(row["seeds"]))
    return out


def format_numbers(table: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """Every float as text with `decimals` places (percent columns, named "... %", with one) and `–`
    where missing (for tables without std columns)."""
    out = table.copy().astype(object)
    for column in table.columns:
        if pd.api.types.is_float_dtype(table[column]):
            # Percentages read as papers write them: one decimal (666.7, not 666.700).
            places = 1 if str(column).endswith("%") else decimals
            out[column] = ["–" if pd.isna(v) else f"{v:.{places}f}" for v in table[column]]
    return out


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: Any) -> str:
    escaped = "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))
    return escaped.replace("±", r"$\pm$").replace("–", "--")


def to_latex(table: pd.DataFrame, bold: pd.DataFrame | None = None, caption: str = "", label: str = "") -> str:
    """A booktabs tabular (with \\textbf for the cells `bold` marks), ready to paste into a paper."""
    columns = list(table.columns)
    align = "".join("r" if pd.api.types.is_numeric_dtype(table[c]) or _numeric_text(table[c]) else "l"
                    for c in columns)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(latex_escape(c) for c in columns) + r" \\",
              r"\midrule"]
    for index, row in table.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else latex_escape(
                f"{value:.4f}" if isinstance(value, float) else value)
            if bold is not None and column in bold and bool(bold.at[index, column]) and text:
                text = rf"\textbf{{{text}}}"
            cells.append(text)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _numeric_text(column: pd.Series) -> bool:
    text = column.dropna().astype(str)
    text = text[text != ""]
    return bool(len(text)) and text.str.match(r"^[+\-–]?[\d.]").all()

"""The PID page's data: each finished run's decomposition from its analysis.json, and a caption
computed from the numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mrdib.core.config import MRdIBConfig
from mrdib.core.errors import RunError
from mrdib.core.names import ALPHA_NAMES
from mrdib.results.tables import alphas_label as table_alphas_label
from mrdib.runs.reader import read_analysis

PARTS = ("unique_a", "unique_b", "redundant", "synergistic")


def pid_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, modality pair) whose analysis.json has a PID: the run's identity, the
    parts in bits, their intervals and the settings they were measured with."""
    rows = []
    for run in runs.itertuples():
        if not run.run_dir or not Path(run.run_dir).is_dir():  # a run known only from a study's storage
            continue
        try:
            analysis = read_analysis(Path(run.run_dir))
        except RunError:
            continue
        pid = (analysis or {}).get("pid") or {}
        for pair in pid.get("pairs") or []:
            rows.append({"run_id": run.run_id, "dataset": run.dataset, "backbone": run.backbone,
                         "side": "+MRdIB" if run.mrdib else "baseline", "seed": run.seed, "view": pid.get("view"),
                         "setting": run.setting, "alphas": alphas_label(run) if run.mrdib else "",
                         **{k: pair[k] for k in ("modality_a", "modality_b", "measure", "bins", "n")},
                         **{k: pair[k] for part in (*PARTS, "total") for k in (part, f"{part}_low", f"{part}_high")}})
    return pd.DataFrame(rows)


def alphas_label(run: Any) -> str:
    """The run's alphas in the one format every page and the report use ("a1=0.001, a2=0.01, a3=0.01")."""
    return table_alphas_label(tuple(getattr(run, name) for name in ALPHA_NAMES))


def alpha_options(frame: pd.DataFrame) -> list[str]:
    """The +MRdIB alpha settings that have a PID, the one to show first first: most runs, then
    MRdIB's default alphas, then in order. Runs at different alphas are never averaged together."""
    counts = frame.loc[frame.side == "+MRdIB", "alphas"].value_counts()
    default = alphas_label(MRdIBConfig())
    return sorted(counts.index, key=lambda label: (-counts[label], label != default, label))


def export_name(dataset: str, backbone: str, pair: str, alphas: str | None) -> str:
    """A file stem for the page's downloads that names what they show, alphas included."""
    stem = f"pid_{dataset}_{backbone}_{pair}" + (f"_{alphas}" if alphas else "")
    return re.sub(r"[^0-9A-Za-z._]+", "-", stem).strip("-")


def comparison_rows(frame: pd.DataFrame, alphas: str | None) -> pd.DataFrame:
    """The baseline runs and the +MRdIB runs at `alphas`; where baselines of several training
    settings have a PID, those of the +MRdIB runs' settings (a +MRdIB run shares its baseline's)."""
    ours = frame[(frame.side == "+MRdIB") & (frame.alphas == alphas)]
    baselines = frame[frame.side == "baseline"]
    matched = baselines[baselines.setting.isin(ours.setting)]
    return pd.concat([matched if not matched.empty else baselines, ours])


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Baseline runs first, then +MRdIB ones, each labelled by side (with its alphas) and seed, and
    by run id if two share them."""
    frame = frame.sort_values(["side", "seed", "run_id"], key=lambda c: c.map({"baseline": 0, "+MRdIB": 1})
                              if c.name == "side" else c).reset_index(drop=True)
    sides = frame["side"] + frame["alphas"].map(lambda a: f" {a}" if a else "")
    labels = sides + " · seed " + frame["seed"].astype(str)
    duplicated = labels.duplicated(keep=False)
    frame["label"] = labels.where(~duplicated, labels + " · " + frame["run_id"].str[-10:])
    return frame


def pid_caption(frame: pd.DataFrame) -> str:
    """What the bars show, from their numbers: each part's mean for baseline and +MRdIB and the change."""
    if frame.empty:
        return ""
    a, b = frame["modality_a"].iloc[0], frame["modality_b"].iloc[0]
    names = {"unique_a": f"unique to {a}", "unique_b": f"unique to {b}", "redundant": "redundant",
             "synergistic": "synergistic"}
    means = frame.groupby("side")[list(PARTS) + ["total"]].mean()
    views = {"means": "its own representations", "samples": "posterior samples"}
    on = "; ".join(f"{side} on {views.get(view, view)}" for side, view in
                   frame.drop_duplicates("side")[["side", "view"]].itertuples(index=False))
    settings = (f"{frame['measure'].iloc[0]}, {int(frame['bins'].iloc[0])} bins, "
                f"{int(frame['n'].iloc[0])} held-out pairs; {on}")
    if not {"baseline", "+MRdIB"} <= set(means.index):
        side = means.index[0]
        parts = ", ".join(f"{names[p]} {means.at[side, p]:.3f}" for p in PARTS)
        return f"{side} only: {parts} of {means.at[side, 'total']:.3f} bits ({settings})."
    changes = []
    for part in PARTS:
        base, ours = means.at["baseline", part], means.at["+MRdIB", part]
        # Below the shown precision a difference is no direction (0.000 -> 0.000 is not "more").
        direction = "the same" if abs(ours - base) < 0.0005 else "more" if ours > base else "less"
        changes.append(f"{names[part]} {base:.3f} → {ours:.3f} bits ({direction})")
    settings_shown = frame.loc[frame.side == "+MRdIB", "alphas"].unique()
    at = f" at {settings_shown[0]}" if len(settings_shown) == 1 else ""
    seeds = frame.groupby("side")["seed"].nunique()

    def count(side: str) -> str:
        return f"{seeds.get(side, 0)} seed{'s' if seeds.get(side, 0) != 1 else ''}"

    return (f"Baseline ({count('baseline')}) → +MRdIB{at} ({count('+MRdIB')}), means over seeds: "
            + "; ".join(changes)
            + f"; total {means.at['baseline', 'total']:.3f} → {means.at['+MRdIB', 'total']:.3f} bits ({settings}). "
              "The paper expects +MRdIB to carry less redundant and more unique information.")


def interval_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The page's table: each part as "value [low, high]" in bits, named with the modalities."""
    if frame.empty:
        return frame
    a, b = frame["modality_a"].iloc[0], frame["modality_b"].iloc[0]
    names = {"unique_a": f"unique to {a}", "unique_b": f"unique to {b}", "redundant": "redundant",
             "synergistic": "synergistic", "total": "total"}
    out = frame[["label", "run_id"]].copy()
    for part, name in names.items():
        out[f"{name} (bits)"] = [f"{v:.4f} [{lo:.4f}, {hi:.4f}]" for v, lo, hi in
                                 zip(frame[part], frame[f"{part}_low"], frame[f"{part}_high"])]
    out["bins"], out["pairs"] = frame["bins"].astype(int), frame["n"].astype(int)
    return out

"""Pure helpers on the runs frame: filtering, short labels, the columns the Runs page shows."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from mrdib.figures.charts import alpha_text
from mrdib.results.tables import ALPHAS, alphas_label

# Narrow enough for the page: test NDCG, the update time and the run folder are in "Inspect one run";
# `alphas` says "—" for a baseline, so no MRdIB column is needed.
RUN_TABLE_COLUMNS = ["status", "epoch", "run_id", "dataset", "backbone", "alphas", "seed", "best_epoch",
                     "valid/recall@5", "test/recall@5", "seconds_per_epoch", "setting"]
# (A corrupt folder's problem is the warning above the table.)
# Columns that leave the table for its caption when every shown run has the same value.
CONSTANT_COLUMNS = ("dataset", "backbone", "setting")
NO_ALPHA = "—"  # a baseline has no alphas
# Always named in a setting's description; other settings only where settings differ.
_SETTING_HEAD = (("train.epochs", "{} epochs"), ("train.learning_rate", "lr {:g}"), ("train.batch_size", "batch {}"),
                 ("train.embedding_size", "d {}"))
_NOT_DESCRIBED = {"train.seed", "train.num_threads", "train.device", "mrdib.enabled", "mrdib.a1", "mrdib.a2",
                  "mrdib.a3", "data", "backbone"}


def alpha_values(runs: pd.DataFrame, alpha: str) -> list[float]:
    """Distinct values of one alpha among +MRdIB runs, ascending."""
    if runs.empty:
        return []
    return sorted(float(v) for v in runs.loc[runs["mrdib"].astype(bool), alpha].dropna().unique())


def filter_runs(runs: pd.DataFrame, datasets: Iterable[str] = (), backbones: Iterable[str] = (),
                statuses: Iterable[str] = (), mrdib: str = "all", seeds: Iterable[int] = (),
                alphas: dict[str, Iterable[float]] | None = None) -> pd.DataFrame:
    """Rows matching every non-empty filter; an alpha filter keeps baselines (they have no alphas)
    only when `mrdib` is not "on"."""
    keep = pd.Series(True, index=runs.index)
    for column, allowed in (("dataset", datasets), ("backbone", backbones), ("status", statuses),
                            ("seed", seeds)):
        allowed = list(allowed)
        if allowed:
            keep &= runs[column].isin(allowed)
    if mrdib in ("on", "off"):
        keep &= runs["mrdib"].astype(bool) == (mrdib == "on")
    for alpha, allowed in (alphas or {}).items():
        allowed = np.asarray(list(allowed), dtype=float)
        if len(allowed):
            values = runs[alpha].to_numpy(dtype=float)
            matches = np.isclose(values[:, None], allowed[None, :]).any(axis=1)
            keep &= pd.Series(matches | ~runs["mrdib"].astype(bool).to_numpy(), index=runs.index)
    return runs[keep]


def _flat(config: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def setting_names(configs: dict[str, dict]) -> dict[str, str]:
    """{setting hash: a run config with it} -> a readable name per setting: epochs, learning rate, batch and
    embedding size, then whatever else differs from the other settings of the same backbone."""
    flats = {setting: _flat({k: v for k, v in config.items() if k in ("train", "mrdib", "backbone_params", "data",
                                                                      "backbone")})
             for setting, config in configs.items()}
    names = {}
    for setting, flat in flats.items():
        same_backbone = [other for other in flats.values() if other.get("backbone") == flat.get("backbone")]
        head = [template.format(flat[key]) for key, template in _SETTING_HEAD if key in flat]
        differing = sorted(key for key in flat if key not in _NOT_DESCRIBED and key not in dict(_SETTING_HEAD)
                           and any(other.get(key) != flat[key] for other in same_backbone))
        extra = [f"{key.split('.')[-1]}={flat[key]}" for key in differing[:3]]
        if len(differing) > 3:
            extra.append(f"+{len(differing) - 3} more")
        names[setting] = ", ".join(head + extra) or setting
    return names


def runs_table(runs: pd.DataFrame, setting_labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The Runs page's table: `epoch` reads "3/40" so a run in progress shows how far it is; `alphas` reads
    "0.001 · 0.01 · 0.01" (a1 · a2 · a3, "—" for a baseline); `setting` is its readable name when
    `setting_labels` has one."""
    table = runs.copy()
    table["epoch"] = [f"{'?' if pd.isna(done) else done}/{'?' if pd.isna(total) else total}"
                      for done, total in zip(table.get("epochs_run", []), table.get("epochs", []))]
    mrdib = table["mrdib"].astype(bool) if "mrdib" in table else pd.Series(False, index=table.index)
    if all(alpha in table for alpha in ALPHAS):
        rows = table[list(ALPHAS)].itertuples(index=False)
        table["alphas"] = [" · ".join(alpha_text(float(v)) for v in values)
                           if on and not any(pd.isna(v) for v in values) else NO_ALPHA
                           for on, values in zip(mrdib, rows)]
    if "setting" in table and setting_labels:
        table["setting"] = [setting_labels.get(s, s) if isinstance(s, str) else "" for s in table["setting"]]
    # A run still training has no metrics yet: numbers or empty cells, never the text "None".
    for column in ("valid/recall@5", "test/recall@5", "seconds_per_epoch"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table[[c for c in RUN_TABLE_COLUMNS if c in table]].reset_index(drop=True)


def split_constant_columns(table: pd.DataFrame, columns=CONSTANT_COLUMNS) -> tuple[pd.DataFrame, dict[str, str]]:
    """Drop the `columns` that hold one value in every readable row (with two rows or more; a corrupt
    folder knows none); returns the narrower table and {column: its one value}, for a caption."""
    readable = table[table["status"] != "corrupt"] if "status" in table else table
    constant = {}
    for column in columns:
        if column in table and len(table) > 1 and len(readable) and readable[column].nunique(dropna=False) == 1:
            constant[column] = str(readable[column].iloc[0])
    return table.drop(columns=list(constant)), constant


def run_label(row: pd.Series) -> str:
    """`vbpr +MRdIB s0 a1=0.001, a2=0.01, a3=0.01` style label for legends and pickers."""
    if row.get("status") == "corrupt":
        return f"{row['run_id']} (corrupt)"
    variant = "+MRdIB" if bool(row["mrdib"]) else "baseline"
    seed = "" if pd.isna(row["seed"]) else f" s{int(row['seed'])}"
    alphas = f" {alphas_label(tuple(row[a] for a in ALPHAS))}" if bool(row["mrdib"]) else ""
    return f"{row['backbone']} {variant}{seed}{alphas} · {row['dataset']} [{row['status']}]"


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    return {row["run_id"]: run_label(row) for _, row in runs.iterrows()}

"""Pure helpers on the runs frame: filtering, short labels, the columns the Runs page shows."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from mrdib.tables import ALPHAS, alphas_label

RUN_TABLE_COLUMNS = ["status", "epoch", "run_id", "dataset", "backbone", "mrdib", "a1", "a2", "a3", "seed", "setting",
                     "best_epoch", "valid/recall@5", "test/recall@5", "test/ndcg@5", "seconds_per_epoch",
                     "updated", "problem"]


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


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The Runs page's table: `epoch` reads "3/40" so a run in progress shows how far it is."""
    table = runs.copy()
    table["epoch"] = [f"{'?' if pd.isna(done) else done}/{'?' if pd.isna(total) else total}"
                      for done, total in zip(table.get("epochs_run", []), table.get("epochs", []))]
    return table[[c for c in RUN_TABLE_COLUMNS if c in table]].reset_index(drop=True)


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

"""The Training traces page's defaults: which runs and series to show first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mrdib.results.tables import ALPHAS, chosen_alphas

# Series shown first, in this order, when the runs have them.
# The training bound beside the monitor's fresh estimate on posterior samples: a bound near 0
# while the fresh one stays high means the critic is beaten, not the redundancy removed.
DEFAULT_SERIES = ("losses/total", "losses/backbone", "mine_bound/", "monitor/mi_samples/", "kl/", "valid/recall@5")


def series_options(traces: pd.DataFrame) -> list[str]:
    """Every series the runs logged, losses first, then MINE and the fresh redundancy estimate, the
    other monitor series, KL, unique, valid metrics, timings."""
    order = ("losses/", "mine_bound/", "monitor/mi_samples/", "monitor/", "kl/", "unique/", "valid/", "time/")
    names = list(dict.fromkeys(traces["series"]))
    return sorted(names, key=lambda n: (next((i for i, p in enumerate(order) if n.startswith(p)), len(order)), n))


def default_series(options: list[str]) -> list[str]:
    chosen = []
    for wanted in DEFAULT_SERIES:
        chosen += [name for name in options if (name == wanted or (wanted.endswith("/") and name.startswith(wanted)))
                   and name not in chosen]
    return chosen or options[:4]


def default_runs(runs: pd.DataFrame) -> list[str]:
    """The full +MRdIB run (every alpha on, at the setting the tables use) and the baseline of the same
    seed, backbone and data set: the newest such pair. Without one, the newest +MRdIB run and the
    newest baseline of its backbone and data set."""
    if runs.empty:
        return []
    ours = runs[runs["mrdib"].astype(bool)]
    if ours.empty:
        return list(runs["run_id"].head(1))
    baselines = runs[~runs["mrdib"].astype(bool)]
    full = []
    if "setting" in runs:
        for (dataset, backbone), alphas in chosen_alphas(runs).items():
            on_reference = ours[list(ALPHAS)].apply(lambda row: np.allclose(row.to_numpy(float), alphas), axis=1)
            at_reference = ours[(ours["dataset"] == dataset) & (ours["backbone"] == backbone) & on_reference]
            full.append(at_reference[at_reference["status"] == "done"])
    for candidate in (pd.concat(full).sort_values("modified", ascending=False).itertuples() if full else ()):
        if pd.isna(candidate.seed):
            continue
        pair = baselines[(baselines["dataset"] == candidate.dataset) & (baselines["backbone"] == candidate.backbone)
                         & (baselines["seed"].astype(float) == float(candidate.seed))
                         & (baselines["status"] == "done")]
        if not pair.empty:
            return [candidate.run_id, pair.sort_values("modified", ascending=False)["run_id"].iloc[0]]
    newest = ours.sort_values("modified", ascending=False).iloc[0]
    base = baselines[(baselines["dataset"] == newest["dataset"])
                     & (baselines["backbone"] == newest["backbone"])].sort_values("modified", ascending=False)
    return [newest["run_id"]] + list(base["run_id"].head(1))

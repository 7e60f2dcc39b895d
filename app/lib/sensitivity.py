"""The Sensitivity page's default: the backbone and data set whose runs vary the alphas the most."""

from __future__ import annotations

import pandas as pd

from mrdib.results.tables import finished_runs, sensitivity_frame


def grid_sizes(runs: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(data set, backbone) -> how many (alpha, value) points its sensitivity curves have."""
    done = finished_runs(runs)
    ours = done[done["mrdib"].astype(bool)] if not done.empty else done
    sizes = {}
    for (dataset, backbone), _ in ours.groupby(["dataset", "backbone"]):
        frame = sensitivity_frame(runs, dataset, backbone)
        sizes[(dataset, backbone)] = len(frame[["alpha", "value"]].drop_duplicates())
    return sizes


def richest_grid(runs: pd.DataFrame) -> tuple[str, str] | None:
    """The (data set, backbone) with the most points (ties: alphabetical), or None without +MRdIB runs."""
    sizes = grid_sizes(runs)
    if not sizes:
        return None
    return min(sizes, key=lambda key: (-sizes[key], key))

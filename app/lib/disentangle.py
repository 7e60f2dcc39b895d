"""The Disentanglement page's logic: which runs to compare, what colours the points, the panels."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from app.lib import loaders
from mrdib.analysis import projections
from mrdib.figures.charts import ProjectionPanel
from mrdib.results.tables import ALPHAS, chosen_alphas, finished_runs

METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
COLOR_MODALITY, COLOR_CLUSTER = "modality", "item cluster (k-means on the baseline's fused items)"


def comparable_runs(runs: pd.DataFrame, dataset: str, backbone: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Finished baseline and +MRdIB runs of one backbone on one data set (they have embeddings),
    by seed, with +MRdIB runs of the chosen setting first (the pair a reader expects)."""
    done = finished_runs(runs)
    chosen = done[(done["dataset"] == dataset) & (done["backbone"] == backbone)].sort_values(["seed", "run_id"])
    ours = chosen[chosen["mrdib"].astype(bool)]
    reference = chosen_alphas(runs).get((dataset, backbone))
    if reference is not None and not ours.empty:
        at_reference = ours[list(ALPHAS)].apply(lambda row: np.allclose(row.to_numpy(dtype=float), reference), axis=1)
        ours = pd.concat([ours[at_reference], ours[~at_reference]])
    return chosen[~chosen["mrdib"].astype(bool)], ours


def color_options(run_dir: str) -> list[str]:
    """Modality, item cluster, and every planted item factor of the run's data (synthetic data only)."""
    record = loaders.load_record(run_dir)
    source = record.config.get("dataset", {}).get("source", "") if record else ""
    planted = loaders.planted_item_factors(source)
    return [COLOR_MODALITY, COLOR_CLUSTER] + [f"planted: {key}" for key in planted]


def point_colors(option: str, stacked: projections.StackedModalities, cluster_run_dir: str) -> np.ndarray | None:
    """One value per stacked point (items repeat once per modality), or None to colour by modality."""
    if option == COLOR_CLUSTER:
        return loaders.item_clusters(cluster_run_dir)[stacked.item].astype(float)
    if option.startswith("planted: "):
        record = loaders.load_record(cluster_run_dir)
        planted = loaders.planted_item_factors(record.config.get("dataset", {}).get("source", "") if record else "")
        values = planted.get(option.removeprefix("planted: "))
        if values is None:
            return None
        first_component = values if values.ndim == 1 else values[:, 0]
        return np.asarray(first_component, dtype=float)[stacked.item]
    return None


def score_caption(view_silhouette: float, mixing: float) -> str:
    return f"silhouette {view_silhouette:.2f} in this view · kNN modality mixing {mixing:.2f} in z"


def separation_summary(scores: dict[str, tuple[float | None, float]], view: str) -> str:
    """What the runs show, from their numbers: {title: (silhouette in the 2-D view, kNN mixing in z)}
    -> which run's modalities sit further apart in the view and which mix less in z."""
    if len(scores) < 2:
        return ""
    (first, (first_sil, first_mix)), (second, (second_sil, second_mix)) = list(scores.items())[:2]
    parts = []
    if first_sil is not None and second_sil is not None:
        if abs(first_sil - second_sil) < 0.005:
            parts.append(f"in the {view} view both separate the modalities alike (silhouette {first_sil:.2f})")
        else:
            winner, loser = ((first, second), (second, first))[second_sil > first_sil]
            high, low = max(first_sil, second_sil), min(first_sil, second_sil)
            parts.append(f"in the {view} view the {winner} run separates the modalities more than the {loser} "
                         f"run (silhouette {high:.2f} vs {low:.2f})")
    if abs(first_mix - second_mix) < 0.005:
        parts.append(f"in z their neighbourhoods mix alike ({first_mix:.2f})")
    else:
        winner, loser = ((first, second), (second, first))[second_mix < first_mix]
        parts.append(f"in z the {winner} run's neighbourhoods mix less ({min(first_mix, second_mix):.2f} vs "
                     f"{max(first_mix, second_mix):.2f})")
    text = "; ".join(parts)
    return "What these runs show: " + text[0].lower() + text[1:] + "."


def build_panels(selected: list[tuple[str, str]], method: str, color_option: str) -> list[ProjectionPanel]:
    """(title, run_dir) pairs -> panels; the first run's items define clusters and planted colours."""
    panels = []
    cluster_run_dir = selected[0][1]
    for title, run_dir in selected:
        coords = loaders.projection(run_dir, method)
        if coords is None:
            continue
        stacked = loaders.stacked_modalities(run_dir)
        panels.append(ProjectionPanel(title=title, coords=coords, modality=stacked.modality,
                                      color=point_colors(color_option, stacked, cluster_run_dir),
                                      caption=score_caption(loaders.view_silhouette(run_dir, method),
                                                            loaders.separation_scores(run_dir)["mixing"])))
    return panels


def compute_missing(run_dirs: list[str], methods: tuple[str, ...],
                    on_progress: Callable[[int, int, str], None]) -> int:
    """Compute and cache the slow projections these runs lack; returns how many were computed."""
    missing = projections.missing_projections(run_dirs, methods)
    for index, (run_dir, method) in enumerate(missing):
        on_progress(index, len(missing), f"{METHOD_LABELS[method]} of {run_dir.name}")
        projections.run_projection(run_dir, method)
    on_progress(len(missing), len(missing), "done")
    return len(missing)

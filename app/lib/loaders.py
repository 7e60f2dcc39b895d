"""Cached access to run folders, always through `mrdib.runs.reader`.

Every cache is keyed by the run folder and its modification time, so a page reloads only
what changed (a run still training shows its new epoch on the next refresh) and a page with
fifty runs stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mrdib.analysis import projections
from mrdib.core.errors import MrdibError
from mrdib.runs.reader import (RunRecord, artifacts_root, list_runs, load_embeddings, read_metrics, read_run,
                               runs_frame, runs_signature)
from mrdib.runs.writer import EMBEDDINGS_FILE
from mrdib.results.tables import traces_frame

ARTIFACTS_KEY = "main_artifacts"
STORAGE_KEY = "main_storage"


def artifacts_dir() -> Path:
    """The folder the sidebar names, else $MRDIB_ARTIFACTS, else ./artifacts."""
    return artifacts_root(st.session_state.get(ARTIFACTS_KEY) or None)


@st.cache_data(show_spinner=False, max_entries=8)
def _runs_table(root: str, signature: tuple) -> pd.DataFrame:
    return runs_frame(list_runs(root))


def storage_url() -> str | None:
    """The study database the sidebar names, else $MRDIB_STORAGE (runs trained on other machines)."""
    return st.session_state.get(STORAGE_KEY) or os.environ.get("MRDIB_STORAGE") or None


@st.cache_data(show_spinner=False, ttl=30, max_entries=4)
def _storage_table(url: str, root: str) -> pd.DataFrame:
    from mrdib.runs.storage import storage_records

    return runs_frame(storage_records(url, None, root))


def load_runs(root: str | Path | None = None) -> pd.DataFrame:
    """The flat runs frame (one row per run folder, corrupt ones included), cached per folder state,
    plus the finished runs of the study storage (if one is named) that have no folder here: their
    summaries come from the storage; per-epoch files stay on the machine that trained them."""
    root = Path(root) if root is not None else artifacts_dir()
    local = _runs_table(str(root), runs_signature(root))
    url = storage_url()
    if not url:
        return local
    try:
        remote = _storage_table(url, str(root))
    except MrdibError as error:
        st.warning(str(error))
        return local
    remote = remote[~remote.run_id.isin(local.run_id)]
    return pd.concat([local, remote], ignore_index=True) if len(remote) else local


@st.cache_data(show_spinner=False, max_entries=256)
def _metrics(run_dir: str, modified: float) -> list[dict[str, Any]]:
    return read_metrics(run_dir)


def load_metrics(run_dir: str) -> list[dict[str, Any]]:
    return _metrics(run_dir, RunRecord(Path(run_dir)).modified())


def load_traces(run_dirs: dict[str, str]) -> pd.DataFrame:
    """Long per-epoch frame (`mrdib.results.tables.traces_frame`) of the runs {run_id: run_dir}."""
    return traces_frame({run_id: load_metrics(run_dir) for run_id, run_dir in run_dirs.items()})


def run_warnings(run_dir: str) -> list[dict]:
    """The run's summary.json warnings (e.g. a beaten MINE critic); none for an unreadable run."""
    record = load_record(run_dir)
    return record.warnings if record is not None else []


def load_record(run_dir: str) -> RunRecord | None:
    try:
        return read_run(run_dir)
    except MrdibError:
        return None


def embeddings_mtime(run_dir: str) -> float:
    path = Path(run_dir) / EMBEDDINGS_FILE
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(show_spinner=False, max_entries=32)
def _embeddings(run_dir: str, mtime: float) -> dict[str, np.ndarray]:
    return load_embeddings(run_dir)


def load_run_embeddings(run_dir: str) -> dict[str, np.ndarray]:
    return _embeddings(run_dir, embeddings_mtime(run_dir))


@st.cache_data(show_spinner=False, max_entries=32)
def _stacked(run_dir: str, mtime: float) -> projections.StackedModalities:
    return projections.stack_modalities(load_run_embeddings(run_dir), f"{run_dir}/{EMBEDDINGS_FILE}")


def stacked_modalities(run_dir: str) -> projections.StackedModalities:
    return _stacked(run_dir, embeddings_mtime(run_dir))


@st.cache_data(show_spinner=False, max_entries=32)
def _scores(run_dir: str, mtime: float) -> dict[str, float]:
    return projections.separation_scores(stacked_modalities(run_dir))


def separation_scores(run_dir: str) -> dict[str, float]:
    return _scores(run_dir, embeddings_mtime(run_dir))


@st.cache_data(show_spinner=False, max_entries=64)
def _projection(run_dir: str, method: str, mtime: float, cache_mtime: float) -> np.ndarray | None:
    if method in projections.SLOW_METHODS:
        return projections.read_cached_projection(run_dir, method)
    return projections.run_projection(run_dir, method)


def projection(run_dir: str, method: str) -> np.ndarray | None:
    """PCA computed now; t-SNE/UMAP only from the on-disk cache (None until computed)."""
    path = projections.projection_path(run_dir, method)
    cache_mtime = path.stat().st_mtime if path.exists() else 0.0
    return _projection(run_dir, method, embeddings_mtime(run_dir), cache_mtime)


@st.cache_data(show_spinner=False, max_entries=64)
def _view_silhouette(run_dir: str, method: str, mtime: float, cache_mtime: float) -> float | None:
    coords = projection(run_dir, method)
    if coords is None:
        return None
    return projections.view_silhouette(coords, stacked_modalities(run_dir).modality)


def view_silhouette(run_dir: str, method: str) -> float | None:
    """Modality silhouette in the run's 2-D `method` view (None while that view is not computed)."""
    path = projections.projection_path(run_dir, method)
    cache_mtime = path.stat().st_mtime if path.exists() else 0.0
    return _view_silhouette(run_dir, method, embeddings_mtime(run_dir), cache_mtime)


@st.cache_data(show_spinner=False, max_entries=16)
def _clusters(run_dir: str, mtime: float, n_clusters: int) -> np.ndarray:
    embeddings = load_run_embeddings(run_dir)
    return projections.item_clusters(embeddings["fused/items"], n_clusters)


def item_clusters(run_dir: str, n_clusters: int = 8) -> np.ndarray:
    return _clusters(run_dir, embeddings_mtime(run_dir), n_clusters)


@st.cache_data(show_spinner=False, max_entries=8)
def planted_item_factors(source: str) -> dict[str, np.ndarray]:
    """The synthetic generator's per-item ground truth for the data folder a run trained on ({} otherwise)."""
    from mrdib.data import load_mmrec
    from mrdib.data.loader import PLANTED_FILE

    folder = Path(source) if source else None
    if folder is None or not (folder / PLANTED_FILE).is_file():
        return {}
    try:
        data = load_mmrec(folder)
    except MrdibError:
        return {}
    per_item = {key: value for key, value in data.planted.items()
                if value.ndim in (1, 2) and value.shape[0] == data.n_items}
    return {key: value for key, value in per_item.items() if not key.startswith(("user_pref", "projection"))}


@st.cache_data(show_spinner=False, max_entries=64)
def _config(run_dir: str, modified: float) -> dict[str, Any]:
    record = load_record(run_dir)
    return record.config if record is not None else {}


def setting_configs(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One run's config per `setting` hash of the frame (what `filters.setting_names` describes)."""
    configs = {}
    for setting, group in runs.dropna(subset=["setting"]).groupby("setting"):
        for run_dir, modified in zip(group["run_dir"], group["modified"]):
            config = _config(str(run_dir), float(modified))
            if config:
                configs[setting] = config
                break
    return configs


def clear_caches() -> None:
    st.cache_data.clear()

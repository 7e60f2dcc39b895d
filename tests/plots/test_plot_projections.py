"""Projections of stacked modal representations, the separation scores and the on-disk cache."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from mrdib.analysis import projections
from mrdib.core.errors import RunError
from mrdib.runs.writer import RunWriter


def embeddings(n_items=60, dim=8, offset=0.0, seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"item_ids": np.arange(n_items), "fused/items": rng.normal(size=(n_items, 2 * dim)).astype(np.float32),
            "modal/image": rng.normal(size=(n_items, dim)).astype(np.float32),
            "modal/text": (rng.normal(size=(n_items, dim)) + offset).astype(np.float32)}


@pytest.fixture()
def run_dir(tmp_path):
    folder = tmp_path / "runs" / "r1"
    RunWriter(folder).save_embeddings(embeddings())
    return folder


def test_stack_keeps_modality_blocks_and_item_ids():
    stacked = projections.stack_modalities(embeddings(n_items=5))
    assert stacked.points.shape == (10, 8) and stacked.modalities == ["image", "text"]
    assert list(stacked.modality) == ["image"] * 5 + ["text"] * 5
    assert list(stacked.item) == [0, 1, 2, 3, 4] * 2


def test_stack_refuses_different_widths():
    arrays = embeddings()
    arrays["modal/text"] = arrays["modal/text"][:, :4]
    with pytest.raises(RunError, match="different widths"):
        projections.stack_modalities(arrays, "run/embeddings.npz")


def test_scores_tell_separated_from_mixed():
    apart = projections.stack_modalities(embeddings(offset=20.0))
    mixed = projections.stack_modalities(embeddings(offset=0.0))
    apart_scores, mixed_scores = projections.separation_scores(apart), projections.separation_scores(mixed)
    assert apart_scores["silhouette"] > 0.8 and apart_scores["mixing"] == 0.0
    assert abs(mixed_scores["silhouette"]) < 0.1 and 0.8 < mixed_scores["mixing"] < 1.2


def test_view_silhouette_sees_subspace_separation_that_z_silhouette_misses():
    rng = np.random.default_rng(0)
    image = np.zeros((200, 2)); image[:, 0] = rng.normal(size=200)
    text = np.zeros((200, 2)); text[:, 1] = rng.normal(size=200)  # a different axis, same centre
    stacked = projections.stack_modalities({"modal/image": image, "modal/text": text})
    scores = projections.separation_scores(stacked)
    assert scores["mixing"] < 0.2  # neighbours stay within their modality ...
    assert scores["silhouette"] < 0.3  # ... while the silhouette in z calls it overlapping
    coords = np.concatenate([image + [5, 0], text - [5, 0]])  # a view that pulls them apart
    assert projections.view_silhouette(coords, stacked.modality) > 0.7


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_project_gives_two_columns_per_point(method):
    points = projections.stack_modalities(embeddings(n_items=40)).points
    coords = projections.project(points, method)
    assert coords.shape == (80, 2) and np.isfinite(coords).all()


def test_umap_is_imported_lazily_and_called_with_our_settings(monkeypatch):
    code = "import mrdib.analysis.projections, sys; print('umap' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

    calls = {}

    class FakeUMAP:
        def __init__(self, **kwargs):
            calls.update(kwargs)

        def fit_transform(self, points):
            return np.zeros((len(points), 2), dtype=np.float64)

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    coords = projections.project(np.ones((10, 3)), "umap", seed=3)
    assert coords.dtype == np.float32 and coords.shape == (10, 2)
    assert calls == {"n_components": 2, "n_neighbors": 9, "random_state": 3, "n_jobs": 1}


def test_slow_projection_is_cached_beside_the_run(run_dir, monkeypatch):
    assert projections.missing_projections([run_dir]) == [(run_dir, "tsne"), (run_dir, "umap")]
    first = projections.run_projection(run_dir, "tsne")
    assert (run_dir / "projections" / "tsne.npz").is_file()
    assert projections.missing_projections([run_dir]) == [(run_dir, "umap")]

    monkeypatch.setattr(projections, "project", lambda *a, **k: pytest.fail("recomputed a cached projection"))
    assert np.array_equal(projections.run_projection(run_dir, "tsne"), first)


def test_cache_is_stale_once_the_embeddings_change(run_dir):
    projections.run_projection(run_dir, "tsne")
    embeddings_file = run_dir / "embeddings.npz"
    stat = embeddings_file.stat()
    os.utime(embeddings_file, (stat.st_atime, stat.st_mtime + 10))
    assert projections.read_cached_projection(run_dir, "tsne") is None


def test_corrupt_cache_counts_as_missing(run_dir):
    (run_dir / "projections").mkdir()
    (run_dir / "projections" / "umap.npz").write_bytes(b"not an npz")
    assert projections.read_cached_projection(run_dir, "umap") is None


def test_pca_is_never_written(run_dir):
    projections.run_projection(run_dir, "pca")
    assert not (run_dir / "projections").exists()


def test_item_clusters_label_every_item():
    labels = projections.item_clusters(embeddings()["fused/items"], n_clusters=4)
    assert labels.shape == (60,) and set(labels) == {0, 1, 2, 3}

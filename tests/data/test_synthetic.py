"""Synthetic data: determinism, shapes, planted truth on disk, and a truly synergistic signal."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mrdib.data import (SyntheticConfig, generate_synthetic, load_dataset, load_mmrec,
                        materialize_synthetic)
from mrdib.data import synthetic as synthetic_module
from mrdib.data.synthetic import (affinity_components, read_synthetic_config,
                                  synthetic_cache_dir)
from mrdib.core.errors import ConfigError

SMALL = SyntheticConfig(n_users=300, n_items=200, seed=5)


@pytest.fixture(scope="module")
def default_data():
    return generate_synthetic(SyntheticConfig())


def _all_pairs(data) -> np.ndarray:
    return np.concatenate([data.train, data.valid, data.test])


def _one_blas_thread():
    """Multi-threaded OpenBLAS on a busy 2-core box makes these small fits ~100x slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _r_squared(design: np.ndarray, targets: np.ndarray) -> float:
    """Mean R^2 of least-squares fits of each target column on design plus an intercept."""
    design = np.column_stack([design, np.ones(len(design))])
    targets = targets.reshape(len(design), -1)
    with _one_blas_thread():
        coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
    residual = targets - design @ coef
    return float(np.mean(1.0 - residual.var(axis=0) / targets.var(axis=0)))


def test_same_seed_same_data_other_seed_other_data():
    first, again = generate_synthetic(SMALL), generate_synthetic(SMALL)
    other = generate_synthetic(replace(SMALL, seed=6))
    for part in ("train", "valid", "test"):
        assert np.array_equal(getattr(first, part), getattr(again, part))
    for key in first.planted:
        assert np.array_equal(first.planted[key], again.planted[key])
    assert np.array_equal(first.features["image"], again.features["image"])
    assert not np.array_equal(first.train, other.train)


def test_shapes_counts_and_split(default_data):
    cfg = SyntheticConfig()
    data = default_data
    assert (data.name, data.n_users, data.n_items) == ("synthetic", 1500, 1000)
    assert data.modalities == ["image", "text"]
    assert all(f.shape == (1000, cfg.feature_dim) and f.dtype == np.float32
               for f in data.features.values())
    pairs = _all_pairs(data)
    per_user = np.bincount(pairs[:, 0], minlength=data.n_users)
    assert per_user.min() >= cfg.min_interactions
    assert 10 <= per_user.mean() <= 15
    assert np.bincount(data.train[:, 0], minlength=data.n_users).min() >= 1
    assert np.bincount(pairs[:, 1], minlength=data.n_items).min() >= 1  # ids contiguous
    assert len(np.unique(pairs[:, 0] * data.n_items + pairs[:, 1])) == len(pairs)
    assert 0.75 < len(data.train) / len(pairs) < 0.85


def test_planted_arrays_present_with_shapes(default_data):
    cfg = SyntheticConfig()
    planted = default_data.planted
    expected = {
        "unique/image": (1000, cfg.dim_unique), "unique/text": (1000, cfg.dim_unique),
        "redundant": (1000, cfg.dim_redundant),
        "synergy/image": (1000, cfg.dim_synergy), "synergy/text": (1000, cfg.dim_synergy),
        "noise/image": (1000, cfg.dim_noise), "noise/text": (1000, cfg.dim_noise),
        "popularity": (1000, 1),
        "user_pref/unique/image": (1500, cfg.dim_unique),
        "user_pref/redundant": (1500, cfg.dim_redundant),
        "user_pref/synergy": (1500, cfg.dim_synergy),
        "projection/image": (cfg.latent_dim(0), cfg.feature_dim),
    }
    for key, shape in expected.items():
        assert planted[key].shape == shape, key


def test_affinity_components_match_what_the_sampler_uses():
    data = generate_synthetic(SMALL)
    parts = affinity_components(SMALL, data.planted)
    user_side, item_side, bias = synthetic_module._logit_factors(SMALL, data.planted)
    total = sum(parts.values()) / SMALL.temperature
    assert np.allclose(total, user_side @ item_side.T + bias, atol=1e-4)
    for name in ("unique", "redundant", "synergy"):  # each term scaled to ~unit std
        assert 0.8 < parts[name].std() < 1.2


def test_interactions_follow_the_affinity():
    data = generate_synthetic(SMALL)
    affinity = sum(affinity_components(SMALL, data.planted).values())  # [users, items]
    chosen = np.zeros_like(affinity, dtype=bool)
    pairs = _all_pairs(data)
    chosen[pairs[:, 0], pairs[:, 1]] = True
    assert affinity[chosen].mean() > affinity[~chosen].mean() + 1.5


def test_synergy_needs_both_modalities_together(default_data):
    """No linear model of one modality (or both side by side) explains the synergy term."""
    cfg, planted = SyntheticConfig(), default_data.planted
    users = np.arange(20)
    synergy = affinity_components(cfg, planted, users)["synergy"]  # [20, n_items]
    unique = affinity_components(cfg, planted, users)["unique"]
    image, text = default_data.features["image"], default_data.features["text"]
    product = planted["synergy/image"] * planted["synergy/text"]
    fits = {name: _r_squared(design, targets.T)  # targets.T: [n_items, 20 users]
            for name, design, targets in [
                ("planted image synergy", planted["synergy/image"], synergy),
                ("planted text synergy", planted["synergy/text"], synergy),
                ("both planted, linear", np.hstack([planted["synergy/image"],
                                                    planted["synergy/text"]]), synergy),
                ("image features", image, synergy),
                ("text features", text, synergy),
                ("image and text features", np.hstack([image, text]), synergy),
                ("product", product, synergy),
                ("features for unique", np.hstack([image, text]), unique),
            ]}
    # Chance R^2 with p regressors on 1000 items is about p / 1000.
    assert fits["planted image synergy"] < 0.05 and fits["planted text synergy"] < 0.05
    assert fits["both planted, linear"] < 0.05
    assert fits["image features"] < 0.15 and fits["text features"] < 0.15
    assert fits["image and text features"] < 0.25
    assert fits["product"] > 0.999
    assert fits["features for unique"] > 0.9  # the features do carry the linear factors


def test_more_modalities_share_redundancy_and_keep_synergy_on_the_first_two():
    cfg = replace(SMALL, n_modalities=3)
    data = generate_synthetic(cfg)
    assert data.modalities == ["image", "text", "audio"]
    assert "synergy/audio" not in data.planted and "unique/audio" in data.planted
    assert data.planted["projection/audio"].shape[0] == cfg.latent_dim(2)
    redundant = data.planted["redundant"][:, 0]
    for modality in data.modalities:  # a redundant factor is linearly readable everywhere
        assert _r_squared(data.features[modality], redundant) > 0.9


@pytest.mark.parametrize("bad", [
    {"n_modalities": 1}, {"n_modalities": 5}, {"feature_dim": 8}, {"temperature": 0.0},
    {"min_interactions": 0}, {"mean_interactions": 100.0}, {"modality_names": ("a", "a")},
])
def test_invalid_configs_are_rejected(bad):
    with pytest.raises(ConfigError):
        SyntheticConfig(**bad)


def test_materialize_saves_once_and_loads_with_planted(tmp_path: Path, monkeypatch):
    folder = materialize_synthetic(SMALL, tmp_path)
    assert folder == synthetic_cache_dir(SMALL, tmp_path)
    assert folder.parent == tmp_path / "data" and folder.name.startswith("synthetic-")
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging left
    loaded, generated = load_mmrec(folder), generate_synthetic(SMALL)
    assert np.array_equal(loaded.train, generated.train)
    assert np.array_equal(loaded.features["text"], generated.features["text"])
    assert set(loaded.planted) == set(generated.planted)
    assert np.array_equal(loaded.planted["synergy/image"], generated.planted["synergy/image"])
    assert read_synthetic_config(folder) == SMALL
    assert json.loads((folder / "synthetic_config.json").read_text())["seed"] == 5

    def must_not_regenerate(cfg):
        raise AssertionError("materialize_synthetic regenerated a complete folder")
    monkeypatch.setattr(synthetic_module, "generate_synthetic", must_not_regenerate)
    assert materialize_synthetic(SMALL, tmp_path) == folder


def test_materialize_leaves_nothing_behind_on_failure(tmp_path: Path, monkeypatch):
    def crash(data, folder, name=None):
        (Path(folder) / "synthetic.inter").write_text("half")
        raise RuntimeError("disk full")
    monkeypatch.setattr(synthetic_module, "save_mmrec", crash)
    with pytest.raises(RuntimeError):
        materialize_synthetic(SMALL, tmp_path)
    assert os.listdir(tmp_path / "data") == []


def test_cache_folder_name_depends_on_the_config(tmp_path: Path):
    assert synthetic_cache_dir(SMALL, tmp_path) == synthetic_cache_dir(replace(SMALL), tmp_path)
    assert synthetic_cache_dir(SMALL, tmp_path) != synthetic_cache_dir(
        replace(SMALL, seed=6), tmp_path)


def test_load_dataset_synthetic_and_folder(tmp_path: Path):
    data = load_dataset("synthetic", tmp_path, seed=3)
    assert (data.n_users, data.n_items) == (1500, 1000)
    assert data.planted and data.source.startswith(str(tmp_path))
    again = load_dataset(data.source, tmp_path)
    assert np.array_equal(again.test, data.test)

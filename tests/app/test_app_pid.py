"""The Information decomposition page: stacked PID bars, baseline beside +MRdIB, a caption computed
from the numbers, and one line saying what fills the page when no run has a PID."""

from __future__ import annotations

import pytest
import torch

from testing_support import fast_config
from app.lib.pid import (alpha_options, comparison_rows, export_name, interval_table, pid_caption, pid_rows,
                         with_labels)
from mrdib.analysis.analyze import AnalysisSettings, analyze_run
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic
from mrdib.figures.charts import pid_figure
from mrdib.training.runner import train_run
from mrdib.runs.reader import list_runs, runs_frame
from test_app_pages import open_page


@pytest.fixture(scope="module")
def pid_artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("pid_artifacts")
    data = generate_synthetic(SyntheticConfig(n_users=300, n_items=200, seed=0))
    torch.set_num_threads(1)
    for enabled in (False, True):
        cfg = fast_config(root, backbone="vbpr")
        cfg.mrdib.enabled = enabled
        run_dir, _ = train_run(cfg, progress=False, data=data)
        analyze_run(run_dir, AnalysisSettings(use_mine=False, probes=False, pid_bins=4, pid_bootstrap=5),
                    data=data, progress=False)
    return root


def test_rows_figure_and_caption_come_from_the_analyses(pid_artifacts):
    rows = with_labels(pid_rows(runs_frame(list_runs(pid_artifacts))))
    assert list(rows.side) == ["baseline", "+MRdIB"] and set(rows.view) == {"means", "samples"}
    figure = pid_figure(rows)
    assert [t.name for t in figure.data] == ["unique to image", "unique to text", "redundant", "synergistic"]
    assert figure.layout.barmode == "stack" and figure.layout.title.text
    assert figure.layout.xaxis.title.text == "information about interaction (bits)"
    assert figure.layout.yaxis.title.text == "run"
    caption = pid_caption(rows)
    base, ours = rows.set_index("side").loc["baseline"], rows.set_index("side").loc["+MRdIB"]
    assert f"redundant {base.redundant:.3f} → {ours.redundant:.3f} bits" in caption
    assert "4 bins" in caption and "+MRdIB on posterior samples" in caption
    table = interval_table(rows)
    assert table.loc[0, "redundant (bits)"].startswith(f"{base.redundant:.4f} [")


def test_the_page_draws_the_bars_and_the_caption(pid_artifacts, monkeypatch, charts):
    monkeypatch.setenv("MRDIB_ARTIFACTS", str(pid_artifacts))
    app = open_page("pid")
    [figure] = charts(app)
    assert [t["type"] for t in figure["data"]] == ["bar"] * 4
    assert figure["layout"]["title"]["text"].startswith("vbpr on synthetic")
    assert any(m.value.startswith("Baseline (1 seed) → +MRdIB") for m in app.markdown)


def test_without_analyses_the_page_says_what_fills_it(artifacts_env):
    app = open_page("pid")
    assert any("mrdib analyze RUN" in i.value for i in app.info)


def _row(side: str, seed: int, alphas: str, setting: str, redundant: float) -> dict:
    parts = {"unique_a": 0.01, "unique_b": 0.02, "redundant": redundant, "synergistic": 0.03}
    return {"run_id": f"{side}-{alphas}-{setting}-s{seed}", "dataset": "synthetic", "backbone": "vbpr", "side": side,
            "seed": seed, "view": "means", "setting": setting, "alphas": alphas, "modality_a": "image",
            "modality_b": "text", "measure": "broja", "bins": 8, "n": 100, **parts, "total": sum(parts.values()),
            **{f"{k}_{end}": v for k, v in {**parts, "total": sum(parts.values())}.items() for end in ("low", "high")}}


def test_runs_at_different_alphas_are_never_averaged_together():
    """The bars and caption set the baseline beside one +MRdIB setting: most runs first, then the
    default alphas; a baseline of another training setting is left out when its own one is there."""
    import pandas as pd

    frame = pd.DataFrame([
        _row("baseline", 0, "", "A", 0.20), _row("baseline", 1, "", "A", 0.22), _row("baseline", 0, "", "B", 0.9),
        _row("+MRdIB", 0, "a1=0.05, a2=0.01, a3=0.01", "A", 0.01),
        _row("+MRdIB", 0, "a1=0.001, a2=0.01, a3=0.01", "A", 0.10), _row("+MRdIB", 1, "a1=0.001, a2=0.01, a3=0.01", "A", 0.12),
        _row("+MRdIB", 0, "a1=0.001, a2=0.05, a3=0.01", "A", 0.05), _row("+MRdIB", 1, "a1=0.001, a2=0.05, a3=0.01", "A", 0.07),
    ])
    options = alpha_options(frame)
    assert options == ["a1=0.001, a2=0.01, a3=0.01", "a1=0.001, a2=0.05, a3=0.01", "a1=0.05, a2=0.01, a3=0.01"]
    shown = with_labels(comparison_rows(frame, options[0]))
    assert list(shown.label) == ["baseline · seed 0", "baseline · seed 1", "+MRdIB a1=0.001, a2=0.01, a3=0.01 · seed 0",
                                 "+MRdIB a1=0.001, a2=0.01, a3=0.01 · seed 1"]
    caption = pid_caption(shown)
    assert caption.startswith("Baseline (2 seeds) → +MRdIB at a1=0.001, a2=0.01, a3=0.01 (2 seeds), means")
    assert "redundant 0.210 → 0.110 bits (less)" in caption


def test_export_names_carry_the_alphas_and_no_characters_a_file_system_refuses():
    assert (export_name("tiktok", "vbpr", "image~audio", "a1=0.005, a2=0.01, a3=0.01")
            == "pid_tiktok_vbpr_image-audio_a1-0.005-a2-0.01-a3-0.01")
    assert export_name("baby", "mgcn", "image~text", None) == "pid_baby_mgcn_image-text"

"""End to end: analyse trained runs from their folders, through the API and the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from testing_support import fast_config
from mrdib.analysis import AnalysisSettings, analyze_run, compare_runs
from mrdib.analysis.redundancy import MineSettings, one_thread
from mrdib.analysis.summaries import analysis_table
from mrdib.commands.main import main
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic, materialize_synthetic
from mrdib.core.errors import RunError
from mrdib.training.runner import train_run
from mrdib.runs.reader import read_analysis

QUICK = AnalysisSettings(mine=MineSettings(steps=30, restarts=2, batch_size=128, eval_every=10))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A baseline and a +MRdIB run trained for 3 epochs on a small synthetic data folder."""
    root = tmp_path_factory.mktemp("artifacts")
    folder = materialize_synthetic(SyntheticConfig(n_users=300, n_items=200, seed=0), root)
    run_dirs = {}
    # One thread: on a busy 2-core machine a second one made these tiny fits 10x slower.
    with one_thread():
        for enabled in (False, True):
            cfg = fast_config(root, data=str(folder), mrdib__enabled=enabled, train__epochs=3,
                              run_id="mrdib" if enabled else "base")
            run_dirs["mrdib" if enabled else "base"] = train_run(cfg, progress=False)[0]
    return run_dirs


def test_analysis_of_a_baseline_and_an_mrdib_run(runs):
    base = analyze_run(runs["base"], QUICK, progress=False)
    mrdib = analyze_run(runs["mrdib"], QUICK, progress=False)
    for analysis in (base, mrdib):
        assert analysis["analysis_version"] == 2 and analysis["modalities"] == ["image", "text"]
        for view in ("means", "samples"):
            pair = analysis["redundancy"][view]["image~text"]
            assert len(pair["mine"]["estimates"]) == 2 and 0.0 <= pair["cka"] <= 1.0
            assert len(pair["mine"]["shuffled"]["estimates"]) == 2
            assert pair["gaussian_mi"]["mean"] >= 0.0
        assert set(analysis["ranking"]["samples"]["modalities"]) == {"image", "text"}
        ranking = analysis["ranking"]
        assert set(ranking["modalities"]) == {"image", "text"}
        assert 0.0 <= ranking["fused"]["recall@5"] <= 1.0
        assert set(analysis["probes"]["r2"]) == {"image", "text", "fused"}
        assert analysis["seconds"]["total"] > 0
    # Baseline: no bottleneck, so no compression, and its "sample" is its mean (said in the output).
    assert base["compression"] is None and base["representations"]["deterministic"]
    assert "its means" in base["representations"]["samples"]
    assert base["probes"]["r2_sampled"] == base["probes"]["r2"]
    assert base["redundancy"]["samples"] == base["redundancy"]["means"]
    assert base["ranking"]["samples"]["modalities"] == base["ranking"]["modalities"]
    stats = mrdib["compression"]["image"]
    assert stats["dims"] == 16 and len(stats["kl_per_dim"]) == 16 and stats["kl"] > 0
    assert stats["channel_information"] > 0 and 0 <= stats["informative_dims"] <= 16
    assert len(stats["channel_information_per_dim"]) == 16 and np.isfinite(stats["mean_log_var"])
    assert not mrdib["representations"]["deterministic"]
    assert mrdib["representations"]["log_var_source"] in ("embeddings.npz", "checkpoint")
    assert mrdib["probes"]["r2_sampled"] != mrdib["probes"]["r2"]
    assert mrdib["redundancy"]["samples"] != mrdib["redundancy"]["means"]
    # The run's own fused score reproduces the valid recall the trainer recorded at the best epoch.
    summary = json.loads((runs["mrdib"] / "summary.json").read_text())
    assert mrdib["ranking"]["fused"]["recall@5"] == pytest.approx(summary["valid"]["recall@5"], abs=1e-6)
    assert read_analysis(runs["mrdib"]) == json.loads(json.dumps(mrdib))


def test_compare_runs_lines_up_baseline_and_mrdib(runs):
    base = analyze_run(runs["base"], QUICK, progress=False, save=False)
    mrdib = analyze_run(runs["mrdib"], QUICK, progress=False, save=False)
    frame = compare_runs(base, mrdib)
    assert list(frame.columns) == ["section", "quantity", "vbpr baseline", "vbpr +MRdIB", "change"]
    kl = frame[frame["quantity"] == "KL image nats"].iloc[0]
    assert np.isnan(kl["vbpr baseline"]) and kl["vbpr +MRdIB"] > 0
    cka = frame[frame["quantity"] == "CKA(image~text) (samples)"].iloc[0]
    assert cka["change"] == pytest.approx(cka["vbpr +MRdIB"] - cka["vbpr baseline"])
    assert list(pd.unique(frame["section"]))[:3] == ["redundancy", "unique information", "compression"]
    # Same variant twice: columns fall back to run ids.
    assert {"base", "mrdib"} <= set(compare_runs({**base, "mrdib_enabled": True}, mrdib).columns)
    assert "n/a" in analysis_table(base) and "KL (nats)" in analysis_table(mrdib)


def test_cli_analyze_prints_tables_and_writes_analysis_json(runs, capsys):
    code = main(["analyze", str(runs["mrdib"]), "--steps", "20", "--restarts", "2", "--mine-batch-size", "64",
                 "--no-probes", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Redundancy" in out and "Unique information" in out and "Compression" in out
    saved = read_analysis(runs["mrdib"])
    assert saved["probes"] is None and saved["settings"]["mine"]["steps"] == 20
    assert len(saved["redundancy"]["samples"]["image~text"]["mine"]["estimates"]) == 2
    assert "shuffled" in out and "channel information" in out


def test_cli_analyze_by_run_id_without_mine(runs, capsys):
    code = main(["analyze", "base", "--artifacts", str(runs["base"].parent.parent), "--no-mine", "--quiet"])
    assert code == 0
    assert "skipped" in capsys.readouterr().out
    assert read_analysis(runs["base"])["redundancy"]["means"]["image~text"]["mine"] is None


def test_cli_analyze_reports_a_missing_run_in_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nowhere"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "nowhere" in error and len(error.strip().splitlines()) == 1


def test_analysis_refuses_data_that_does_not_match_the_embeddings(runs):
    other = generate_synthetic(SyntheticConfig(n_users=120, n_items=90, seed=1))
    with pytest.raises(RunError, match="--data"):
        analyze_run(runs["base"], QUICK, data=other, save=False)


def test_package_exports_resolve_without_importing_the_analysis_up_front():
    import subprocess
    import sys

    import mrdib.analysis

    assert all(getattr(mrdib.analysis, name) for name in mrdib.analysis.__all__)
    # The CLI imports mrdib.commands.analyze on every command: that must not load the analysis itself.
    code = ("import sys, mrdib.commands.analyze; "
            "assert not {'sklearn', 'torch', 'mrdib.analysis.analyze'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_rejects_a_zero_step_count(runs, capsys):
    assert main(["analyze", str(runs["base"]), "--steps", "0", "--quiet"]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err

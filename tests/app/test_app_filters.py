"""The Runs page's pure helpers: filters, the epoch column, labels, the traces page defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.lib.filters import alpha_values, filter_runs, run_label, runs_table
from app.lib.traces import default_runs, default_series, series_options


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": ["b0", "m0", "m1", "x"], "status": ["done", "done", "running", "corrupt"],
        "dataset": ["baby", "baby", "sports", "?"], "backbone": ["vbpr", "vbpr", "mgcn", "?"],
        "mrdib": [False, True, True, False], "a1": [np.nan, 0.001, 0.01, np.nan],
        "a2": [np.nan, 0.01, 0.01, np.nan], "a3": [np.nan, 0.01, 0.01, np.nan],
        "seed": pd.array([0, 0, 1, None], dtype="Int64"), "epochs": pd.array([40, 40, 40, None], dtype="Int64"),
        "epochs_run": pd.array([40, 12, 3, None], dtype="Int64"), "modified": [1.0, 2.0, 3.0, 0.0]})


def test_filters_combine():
    runs = frame()
    assert list(filter_runs(runs, statuses=["done"])["run_id"]) == ["b0", "m0"]
    assert list(filter_runs(runs, mrdib="off")["run_id"]) == ["b0", "x"]
    assert list(filter_runs(runs, datasets=["baby"], seeds=[0])["run_id"]) == ["b0", "m0"]
    assert list(filter_runs(runs, alphas={"a1": [0.01]})["run_id"]) == ["b0", "m1", "x"]  # baselines stay
    assert list(filter_runs(runs, mrdib="on", alphas={"a1": [0.01]})["run_id"]) == ["m1"]


def test_alpha_values_only_from_mrdib_runs():
    assert alpha_values(frame(), "a1") == [0.001, 0.01]


def test_epoch_column_reads_done_over_planned():
    table = runs_table(frame())
    assert list(table["epoch"]) == ["40/40", "12/40", "3/40", "?/?"]
    assert list(table.columns[:3]) == ["status", "epoch", "run_id"]


def test_labels_say_variant_seed_and_alphas():
    runs = frame()
    assert run_label(runs.iloc[0]) == "vbpr baseline s0 · baby [done]"
    assert run_label(runs.iloc[2]) == "mgcn +MRdIB s1 a1=0.01, a2=0.01, a3=0.01 · sports [running]"
    assert run_label(runs.iloc[3]) == "x (corrupt)"


def test_traces_defaults():
    runs = frame()[:3]
    assert default_runs(runs) == ["m1"]  # newest +MRdIB run, no baseline of mgcn on sports
    assert default_runs(runs.iloc[:2]) == ["m0", "b0"]
    traces = pd.DataFrame({"series": ["valid/recall@5", "kl/text", "losses/backbone", "kl/image", "losses/total",
                                      "time/train_seconds", "mine_bound/image~text"]})
    options = series_options(traces)
    assert options[:3] == ["losses/backbone", "losses/total", "mine_bound/image~text"]
    assert default_series(options) == ["losses/total", "losses/backbone", "mine_bound/image~text", "kl/image",
                                       "kl/text", "valid/recall@5"]

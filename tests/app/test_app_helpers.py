"""The pages' pure helpers added for a first-time reader: readable settings and alphas in the Runs
table, integer counts in CSV, which sensitivity grid opens first, what the projection scores say."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.lib.disentangle import separation_summary
from app.lib.downloads import csv_table
from app.lib.filters import NO_ALPHA, runs_table, setting_names, split_constant_columns
from app.lib.sensitivity import grid_sizes, richest_grid
from testing_support import identity_columns


def _run(run_id, backbone, mrdib, alphas=(np.nan,) * 3, seed=0, dataset="synthetic", setting="s1"):
    a1, a2, a3 = alphas
    return {"run_id": run_id, "status": "done", "dataset": dataset, "backbone": backbone, "mrdib": mrdib,
            "a1": a1, "a2": a2, "a3": a3, "seed": seed, "setting": setting, "modified": 1.0, "epochs": 20,
            "epochs_run": 20, "best_epoch": 7, "valid/recall@5": 0.1, "test/recall@5": 0.1, "problem": None,
            **identity_columns(backbone, dataset, mrdib, alphas, setting)}


def runs() -> pd.DataFrame:
    ref = (0.001, 0.01, 0.01)
    rows = [_run("vb", "vbpr", False), _run("vm", "vbpr", True, ref), _run("vm1", "vbpr", True, ref, seed=1),
            _run("va", "vbpr", True, (0.0001, 0.01, 0.01)), _run("vb2", "vbpr", True, (0.001, 0.05, 0.01)),
            _run("fb", "freedom", False), _run("fm", "freedom", True, ref), _run("fm1", "freedom", True, ref, seed=1),
            _run("fa", "freedom", True, (0.0001, 0.01, 0.01)), _run("fa2", "freedom", True, (0.01, 0.01, 0.01)),
            _run("fa3", "freedom", True, (0.05, 0.01, 0.01)), _run("fb2", "freedom", True, (0.001, 0.001, 0.01)),
            _run("fc", "freedom", True, (0.001, 0.01, 0.05))]
    frame = pd.DataFrame(rows)
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


def test_sensitivity_opens_on_the_richest_grid_not_the_first_name():
    sizes = grid_sizes(runs())
    # points per panel, the reference counted in each: vbpr 2 + 2 + 1, freedom 4 + 2 + 2
    assert sizes[("synthetic", "vbpr")] == 5 and sizes[("synthetic", "freedom")] == 8
    assert richest_grid(runs()) == ("synthetic", "freedom")
    poorer_freedom = runs()[~runs()["run_id"].isin(["fa", "fa2", "fa3", "fb2", "fc"])]
    assert richest_grid(poorer_freedom) == ("synthetic", "vbpr")  # not the first name in alphabetical order
    assert richest_grid(runs().iloc[:1]) is None


def test_runs_table_alphas_and_setting_are_readable():
    table = runs_table(runs(), {"s1": "20 epochs, lr 0.001, batch 512, d 64"})
    by_id = table.set_index("run_id")
    assert by_id.loc["vb", "alphas"] == NO_ALPHA and by_id.loc["va", "alphas"] == "0.0001 · 0.01 · 0.01"
    assert set(table["setting"]) == {"20 epochs, lr 0.001, batch 512, d 64"}
    assert "None" not in table.astype(str).to_numpy() and "nan" not in table["alphas"].to_numpy()
    assert not {"updated", "test/ndcg@5", "problem", "mrdib", "a1"} & set(table.columns)


def test_a_running_run_has_empty_metric_cells_not_none():
    frame = runs().astype(object)
    frame.loc[0, ["valid/recall@5", "test/recall@5", "seconds_per_epoch"]] = None  # as a run still training
    table = runs_table(frame)
    assert all(pd.api.types.is_float_dtype(table[c]) for c in ("valid/recall@5", "test/recall@5"))
    assert table.loc[0, ["valid/recall@5", "test/recall@5"]].isna().all()


def test_constant_columns_move_to_the_caption():
    table = runs_table(runs(), {"s1": "20 epochs"})
    narrow, constant = split_constant_columns(table)
    assert constant == {"dataset": "synthetic", "setting": "20 epochs"}  # two backbones: that column stays
    assert "backbone" in narrow and not {"dataset", "setting"} & set(narrow.columns)
    assert split_constant_columns(table.iloc[:1])[1] == {}  # one row: nothing to factor out


def test_setting_names_say_what_differs():
    base = {"backbone": "vbpr", "data": "synthetic", "train": {"epochs": 20, "learning_rate": 0.001, "batch_size": 512,
                                                               "embedding_size": 64, "seed": 0, "patience": 10},
            "mrdib": {"a1": 0.001, "mine_batch_size": 512}, "backbone_params": {"reg_weight": 0.0001}}
    other = {**base, "train": {**base["train"], "epochs": 2, "patience": 3, "seed": 4}}
    names = setting_names({"h1": base, "h2": other})
    assert names["h1"] == "20 epochs, lr 0.001, batch 512, d 64, patience=10"
    assert names["h2"] == "2 epochs, lr 0.001, batch 512, d 64, patience=3"
    assert setting_names({"h1": base}) == {"h1": "20 epochs, lr 0.001, batch 512, d 64"}


def test_csv_counts_are_integers():
    table = pd.DataFrame({"variant": ["baseline", "+MRdIB", "improvement %"], "seeds": [2.0, 2.0, np.nan],
                          "recall@5": [0.1, 0.2, 100.0], "runs baseline": [3.0, 3.0, 3.0]})
    text = csv_table(table).to_csv(index=False)
    assert text.splitlines()[1] == "baseline,2,0.1,3" and text.splitlines()[3] == "improvement %,,100.0,3"


def test_separation_summary_follows_the_numbers():
    assert separation_summary({"baseline": (0.63, 0.77), "+MRdIB": (0.58, 0.88)}, "t-SNE") == (
        "What these runs show: in the t-SNE view the baseline run separates the modalities more than the +MRdIB "
        "run (silhouette 0.63 vs 0.58); in z the baseline run's neighbourhoods mix less (0.77 vs 0.88).")
    flipped = separation_summary({"baseline": (0.2, 0.9), "+MRdIB": (0.5, 0.4)}, "PCA")
    assert "the +MRdIB run separates the modalities more" in flipped and "+MRdIB run's neighbourhoods" in flipped
    assert "alike" in separation_summary({"baseline": (0.5, 0.5), "+MRdIB": (0.501, 0.9)}, "PCA")
    assert separation_summary({"baseline": (0.5, 0.5)}, "PCA") == ""

"""Every dashboard page under streamlit's AppTest, on the trained fixture runs and on empty and corrupt folders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard_fixture import EPOCHS, N_ITEMS, REPO_ROOT, SWEEP
from mrdib.runs.reader import list_runs, read_metrics, runs_frame

MAIN = str(REPO_ROOT / "app" / "main.py")
PAGES = ["runs", "metrics", "disentanglement", "sensitivity", "traces", "ablations"]


def open_page(page: str | None = None, timeout: float = 60) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=timeout).run()
    if page:
        app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _runs(root) -> "pd.DataFrame":  # noqa: F821
    return runs_frame(list_runs(root))


# -- empty and corrupt folders ------------------------------------------------------------------

def test_empty_folder_welcome_offers_the_demo(empty_artifacts):
    app = open_page()
    assert app.title[0].value == "MRdIB runs"
    assert any("No runs yet" in h.value for h in app.subheader)
    assert app.button(key="welcome_build_demo").label == "Build the demo runs"


@pytest.mark.parametrize("page", PAGES)
def test_empty_folder_pages_point_to_welcome(empty_artifacts, page):
    app = open_page(page)
    assert app.info and "No " in app.info[0].value
    assert not app.get("plotly_chart")


def test_demo_button_builds_in_the_background_with_progress(empty_artifacts, monkeypatch):
    import time

    from app.lib import welcome
    from mrdib.commands import demo

    monkeypatch.setattr(welcome, "DASHBOARD_DEMO_LIMIT", 2)
    monkeypatch.setattr(welcome, "DASHBOARD_DEMO_EPOCHS", 1)
    app = open_page()
    assert "**2 runs**" in app.markdown[-1].value
    app.button(key="welcome_build_demo").click().run()
    assert not app.exception, [e.value for e in app.exception]
    status = demo.read_status(empty_artifacts)
    assert status["state"] in ("starting", "running") and status["total"] == 3  # two runs, then their PID
    # the page answers at once and shows the progress while the child process trains
    assert "welcome_build_demo" not in [b.key for b in app.button]
    assert any("Demo: 0 of 3 steps done" in p.proto.text for p in app.get("progress"))
    deadline = time.monotonic() + 150
    while demo.is_building(demo.read_status(empty_artifacts)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert demo.read_status(empty_artifacts)["state"] == "done", (empty_artifacts / demo.LOG_FILE).read_text()[-2000:]
    runs = _runs(empty_artifacts)
    assert sorted(runs["run_id"]) == ["demo-vbpr-base-s0", "demo-vbpr-mrdib-0.001-0.01-0.01-s0"]
    assert set(runs["status"]) == {"done"}
    for run_id in runs["run_id"]:  # the PID page's data: the pair's analysis, PID included
        assert "pid" in json.loads((empty_artifacts / "runs" / run_id / "analysis.json").read_text()), run_id
    again = open_page()
    assert [m.value for m in again.metric][:1] == ["2"] and not again.get("progress")


def test_a_mistyped_artifacts_folder_is_reported_not_created(empty_artifacts):
    missing = empty_artifacts / "artefacts-typo"
    app = AppTest.from_file(MAIN, default_timeout=60)
    app.session_state["main_artifacts"] = str(missing)
    app.run()
    assert not app.exception
    assert "does not exist" in app.error[0].value and str(missing) in app.error[0].value
    assert "welcome_build_demo" not in [b.key for b in app.button]
    assert not missing.exists()


def test_a_stopped_demo_offers_to_continue(empty_artifacts):
    from mrdib.commands import demo

    demo.write_status(empty_artifacts, state="running", pid=2 ** 22 + 17, done=3, total=25, current="x", error=None)
    app = open_page()
    assert "stopped after 3 of 25 steps" in app.warning[0].value
    assert app.button(key="welcome_resume_demo").label == "Continue building the demo runs"


def test_only_a_corrupt_folder_shows_a_warning_row(tmp_path, monkeypatch):
    (tmp_path / "runs" / "half-written").mkdir(parents=True)
    (tmp_path / "runs" / "half-written" / "config.json").write_text('{"run_id": "x", "backbone"')
    monkeypatch.setenv("MRDIB_ARTIFACTS", str(tmp_path))
    app = open_page("runs")
    assert "half-written" in app.warning[0].value and "not valid JSON" in app.warning[0].value
    table = app.dataframe[0].value
    assert list(table["status"]) == ["corrupt"]
    for page in PAGES[1:]:
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception and app.info, page


# -- fixture runs -------------------------------------------------------------------------------

def test_runs_page_lists_filters_and_flags(artifacts_env):
    app = open_page("runs")
    table = app.dataframe[0].value
    assert len(table) == 17
    by_id = table.set_index("run_id")
    assert by_id.loc["zz-corrupt-run", "status"] == "corrupt"
    running = table[table["status"] == "running"].iloc[0]
    assert running["epoch"] == f"{EPOCHS}/{EPOCHS}"  # the half-written third line is not an epoch
    assert by_id.loc["vbpr-mrdib-0.002-0.01-0.01-s0", "status"] == "failed"
    assert any("zz-corrupt-run" in w.value for w in app.warning)

    app.multiselect(key="runs_status").set_value(["done"]).run()
    assert len(app.dataframe[0].value) == 14
    app.segmented_control(key="runs_mrdib").set_value("off").run()
    assert sorted(app.dataframe[0].value["run_id"]) == ["vbpr-base-s0", "vbpr-base-s1"]
    app.segmented_control(key="runs_mrdib").set_value("on").run()
    app.multiselect(key="runs_a1").set_value([0.0001]).run()
    assert list(app.dataframe[0].value["run_id"]) == ["vbpr-mrdib-0.0001-0.01-0.01-s0"]


def test_metrics_table_values_match_the_runs(artifacts_env):
    runs = _runs(artifacts_env)
    done = runs[runs["status"] == "done"]
    base = done[~done["mrdib"]]["test/recall@5"]
    # The choice by hand: among the full +MRdIB settings (every alpha on), the best mean validation
    # recall@5 on the seeds they all share, ties to the one with more seeds; test never chooses.
    full = done[done["mrdib"] & (done[["a1", "a2", "a3"]] > 0).all(axis=1)]
    shared = set.intersection(*(set(g["seed"]) for _, g in full.groupby(["a1", "a2", "a3"])))
    candidates = pd.DataFrame({
        "valid": full[full["seed"].isin(shared)].groupby(["a1", "a2", "a3"])["valid/recall@5"].mean(),
        "seeds": full.groupby(["a1", "a2", "a3"])["seed"].nunique()})
    chosen = candidates.sort_values(["valid", "seeds"], ascending=False).index[0]
    at_reference = full[(full[["a1", "a2", "a3"]] == pd.Series(chosen, index=["a1", "a2", "a3"])).all(axis=1)]
    at_reference = at_reference["test/recall@5"]
    assert len(base) == 2 and len(candidates) == len(SWEEP) + 1

    app = open_page("metrics")
    table = app.dataframe[0].value.set_index("variant")
    assert table.loc["baseline", "recall@5"] == f"{base.mean():.4f} ± {base.std():.4f}"
    expected = f"{at_reference.mean():.4f}" + (f" ± {at_reference.std():.4f}" if len(at_reference) > 1 else "")
    assert table.loc["+MRdIB", "recall@5"] == expected
    assert table.loc["+MRdIB", "seeds"] == str(len(at_reference))
    improvement = (at_reference.mean() - base.mean()) / base.mean() * 100
    assert table.loc["improvement %", "recall@5"] == f"{improvement:+.1f}%"
    assert "recall@10" not in table.columns
    # synthetic data: the paper reports nothing, and the caption does not describe paper columns
    assert not [c for c in table.columns if c.endswith(" paper")]
    captions = " ".join(c.value for c in app.caption)
    assert "no paper columns" in captions and "`paper` columns are" not in captions
    [chart] = app.get("plotly_chart")

    app.toggle(key="metrics_more_k").set_value(True).run()
    wide = app.dataframe[0].value
    assert {"recall@10", "ndcg@20"} <= set(wide.columns)
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["CSV", "LaTeX", "PNG", "SVG", "PDF"]


def test_the_metrics_page_and_the_report_give_the_same_table1(artifacts_env):
    from mrdib.experiments.sweep_report import build_report
    from mrdib.results.tables import alphas_label

    report = build_report(artifacts_env)
    app = open_page("metrics")
    table = app.dataframe[0].value.set_index("variant")
    row = report.table1[report.table1["metric"] == "recall@5"].iloc[0]
    # The fixture's runs are 2 epochs long: both chosen configurations stopped at the cap, as the
    # report's budgets table says too, and the page says so above the table.
    budget = report.budgets.iloc[0]
    assert budget["baseline_chosen_hits_cap"] and budget["mrdib_chosen_hits_cap"]
    [warning] = [w.value for w in app.warning]
    assert warning.startswith("Not converged") and "vbpr baseline on synthetic: 2 of 2 seeds stopped at the cap (2 epochs)" in warning
    assert f"vbpr +MRdIB on synthetic: {row['mrdib_n']} of {row['mrdib_n']} seeds" in warning

    def shown(mean: float, std: float) -> str:
        return f"{mean:.4f}" + ("" if np.isnan(std) else f" ± {std:.4f}")

    assert table.loc["baseline", "recall@5"] == shown(row["baseline_mean"], row["baseline_std"])
    assert table.loc["+MRdIB", "recall@5"] == shown(row["mrdib_mean"], row["mrdib_std"])
    assert table.loc["+MRdIB", "seeds"] == str(row["mrdib_n"])
    assert table.loc["improvement %", "recall@5"] == f"{row['improvement_pct']:+.1f}%"
    alphas = tuple(float(a) for a in row["alphas"].split("/"))
    assert table.loc["+MRdIB", "alphas"] == alphas_label(alphas)


def test_disentanglement_pca_side_by_side_with_scores(artifacts_env, charts):
    app = open_page("disentanglement")
    [figure] = charts(app)
    traces = figure["data"]
    assert [t["type"] for t in traces] == ["scatter"] * 4  # 2 panels x 2 modalities
    assert [t["name"] for t in traces] == ["image", "text", "image", "text"]
    assert all(len(t["x"]) == N_ITEMS for t in traces)
    captions = [a["text"] for a in figure["layout"]["annotations"] if "silhouette" in a["text"]]
    assert len(captions) == 2 and all("in this view" in c and "mixing" in c for c in captions)
    assert not app.metric  # each number once: under its plot, not again in metric boxes
    # the sentence under the chart says which run separates more, from the same numbers
    silhouettes = [float(c.split("silhouette ")[1].split(" ")[0]) for c in captions]
    mixings = [float(c.split("mixing ")[1].split(" ")[0]) for c in captions]
    [summary] = [m.value for m in app.markdown if m.value.startswith("What these runs show")]
    more_apart = ["baseline", "+MRdIB"][int(np.argmax(silhouettes))]
    mixes_less = ["baseline", "+MRdIB"][int(np.argmin(mixings))]
    # Differences under 0.005 read "alike" (the plug-in's means are the backbone's own
    # representations, so a short demo run can leave both views nearly the same).
    # The captions round to 0.01: equal there, the page may say either.
    if silhouettes[0] != silhouettes[1]:
        assert f"the {more_apart} run separates the modalities more" in summary
    else:
        assert "separate the modalities alike" in summary or "separates the modalities more" in summary
    if mixings[0] != mixings[1]:
        assert f"the {mixes_less} run's neighbourhoods mix less" in summary
    else:
        assert "neighbourhoods mix alike" in summary or "neighbourhoods mix less" in summary
    assert "MRdIB should pull them apart" not in " ".join(c.value for c in app.caption)
    assert app.selectbox(key="disent_ours").value == "vbpr-mrdib-0.001-0.01-0.01-s0"

    app.selectbox(key="disent_color").set_value(app.selectbox(key="disent_color").options[1]).run()
    [figure] = charts(app)
    colors = figure["data"][0]["marker"]["color"]
    assert len(colors) == N_ITEMS and len(set(colors)) > 1


def test_disentanglement_with_one_side_only_says_so_and_shows_it(fixture_artifacts, tmp_path, monkeypatch, charts):
    """A pair whose +MRdIB runs have not finished yet: the baseline alone, with a line saying why."""
    import shutil

    runs = tmp_path / "runs"
    runs.mkdir()
    baseline = next(p for p in (fixture_artifacts / "runs").iterdir() if "base" in p.name and (p / "summary.json").exists())
    shutil.copytree(baseline, runs / baseline.name)
    monkeypatch.setenv("MRDIB_ARTIFACTS", str(tmp_path))
    app = open_page("disentanglement")
    assert any("No finished +MRdIB vbpr run" in i.value and "shown alone" in i.value for i in app.info)
    [figure] = charts(app)
    assert [t["name"] for t in figure["data"]] == ["image", "text"]


def test_disentanglement_planted_factor_colouring(artifacts_env, charts):
    app = open_page("disentanglement")
    options = app.selectbox(key="disent_color").options
    assert "planted: redundant" in options
    app.selectbox(key="disent_color").set_value("planted: redundant").run()
    [figure] = charts(app)
    marker = figure["data"][0]["marker"]
    assert marker["colorbar"]["title"]["text"] == "redundant" and len(marker["color"]) == N_ITEMS
    assert [t["marker"]["symbol"] for t in figure["data"][:2]] == ["circle", "x"]  # symbol = modality


def test_disentanglement_tsne_is_computed_on_demand_and_cached(artifacts_env, charts):
    app = open_page("disentanglement")
    app.segmented_control(key="disent_method").set_value("tsne").run()
    assert not app.get("plotly_chart")
    assert "not cached yet" in app.info[0].value
    app.button(key="disent_compute").click().run(timeout=180)
    assert not app.exception
    [figure] = charts(app)
    assert all(len(t["x"]) == N_ITEMS for t in figure["data"])
    for run_id in ("vbpr-base-s0", "vbpr-mrdib-0.001-0.01-0.01-s0"):
        assert (artifacts_env / "runs" / run_id / "projections" / "tsne.npz").is_file()
    again = open_page("disentanglement")
    again.segmented_control(key="disent_method").set_value("tsne").run()
    assert again.get("plotly_chart") and "disent_compute" not in [b.key for b in again.button]


def test_sensitivity_curves_per_alpha(artifacts_env, charts):
    app = open_page("sensitivity")
    [figure] = charts(app)
    traces = [t for t in figure["data"] if t.get("name") != "baseline (dashed)"]
    assert len(traces) == 12  # 3 alphas x 4 metrics
    layout = figure["layout"]
    assert all(layout[f"xaxis{n}"]["type"] == "log" for n in ("", "2", "3"))
    # The split is in the y title and the export name; the baseline's levels are dashed lines.
    assert layout["yaxis"]["title"]["text"].startswith("test metric") and layout["title"]["text"]
    dashed = [s for s in layout.get("shapes", []) if s["line"].get("dash") == "dash"]
    assert len(dashed) == 12  # each metric's baseline in each of the three panels
    app.segmented_control(key="sens_split").set_value("valid").run()
    [valid] = charts(app)
    assert valid["layout"]["yaxis"]["title"]["text"].startswith("valid metric")
    a1_recall = next(t for t in traces if t["name"] == "recall@5" and t.get("xaxis", "x") == "x")
    assert a1_recall["x"] == [0.0001, 0.001, 0.01]
    assert a1_recall["error_y"]["array"][1] > 0 and a1_recall["error_y"]["array"][0] == 0  # 2 seeds vs 1


def test_traces_overlay_runs_raw_and_smoothed(artifacts_env, charts):
    runs = _runs(artifacts_env)
    app = open_page("traces")
    chosen = app.multiselect(key="traces_runs").value
    # the full +MRdIB run (reference alphas) and the baseline of its seed, not the newest run (still running)
    assert chosen == ["vbpr-mrdib-0.001-0.01-0.01-s1", "vbpr-base-s1"]
    series = app.multiselect(key="traces_series").value
    assert series[:2] == ["losses/total", "losses/backbone"] and "mine_bound/image~text" in series
    [figure] = charts(app)
    total = [t for t in figure["data"] if t.get("xaxis", "x") == "x"]
    assert len(total) == 4  # two runs, raw and smoothed
    assert all(t["x"] == list(range(1, EPOCHS + 1)) for t in total)
    running_dir = runs.set_index("run_id").loc["vbpr-mrdib-0.003-0.01-0.01-s2", "run_dir"]
    assert len(read_metrics(running_dir)) == EPOCHS  # the half-written third line is not an epoch

    app.toggle(key="traces_raw").set_value(False).run()
    [figure] = charts(app)
    assert len([t for t in figure["data"] if t.get("xaxis", "x") == "x"]) == 2


def test_ablations_and_cost_tables(artifacts_env, charts):
    app = open_page("ablations")
    ablation = app.dataframe[0].value
    assert list(ablation["variant"]) == ["baseline", "full", "no_kl_a1", "no_mine_a2", "no_unique_a3", "kl_only"]
    assert list(ablation["seeds"]) == ["2", "2", "1", "1", "1", "1"]
    cost = app.dataframe[1].value
    assert list(cost["runs baseline"]) == [2] and list(cost["runs +MRdIB"]) == [2]
    assert cost["paper s/epoch baseline"].iloc[0] == "–"  # the paper has no synthetic data
    [figure] = charts(app)
    assert [t["type"] for t in figure["data"]] == ["bar", "bar"]


def test_the_pid_and_dose_pages_say_the_demo_fills_them_while_it_builds(empty_artifacts):
    """While a demo builds, the two pages its later steps fill say so, instead of naming a command."""
    import os

    from mrdib.commands import demo
    from mrdib.commands.main import main

    assert main(["train", "--epochs", "1", "--embedding-size", "8", "--quiet", "--artifacts", str(empty_artifacts)]) == 0
    for page, fragment in (("pid", "measures the PID of its first pair"), ("dose_response", "as its last step")):
        demo.write_status(empty_artifacts, state="running", pid=os.getpid(), done=4, total=27,
                          current="training vbpr baseline, seed 1", error=None)
        app = open_page(page)
        assert fragment in app.info[0].value and "4 of 27 steps done" in app.info[0].value, app.info[0].value
        demo.write_status(empty_artifacts, state="done", pid=os.getpid(), done=27, total=27, current="", error=None)
        app = open_page(page)
        assert "python -m mrdib" in app.info[0].value, app.info[0].value

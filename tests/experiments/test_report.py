"""Tables 1-3, the sensitivity data and the written files, on run folders with known numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from mrdib.core.errors import MrdibError
from mrdib.results import render
from mrdib.results.render import latex_table, write_report
from mrdib.experiments.sweep_report import build_report
from mrdib.figures.charts import improvement_plot, sensitivity_plot
from mrdib.results.report import report_from_runs_table
from experiment_helpers import fake_run  # noqa: F401 (pytest fixtures)

CHOSEN = (0.001, 0.01, 0.01)


@pytest.fixture
def artifacts(tmp_path, fake_run):
    """vbpr on 'toy': baseline, a one-at-a-time a1 grid, and two ablations at the chosen alphas."""
    base_test = [0.100, 0.110, 0.105]
    full_test = [0.120, 0.125, 0.118]
    for seed in range(3):
        fake_run(tmp_path, f"base-{seed}", seed=seed, valid={"recall@5": 0.1, "ndcg@5": 0.05},
                 test={"recall@5": base_test[seed], "ndcg@5": 0.05}, seconds_per_epoch=2.0)
        fake_run(tmp_path, f"full-{seed}", mrdib=CHOSEN, seed=seed, valid={"recall@5": 0.2, "ndcg@5": 0.06},
                 test={"recall@5": full_test[seed], "ndcg@5": 0.06}, seconds_per_epoch=2.2)
        fake_run(tmp_path, f"noa1-{seed}", mrdib=(0.0, 0.01, 0.01), seed=seed, valid={"recall@5": 0.15},
                 test={"recall@5": 0.11})
        fake_run(tmp_path, f"klonly-{seed}", mrdib=(0.001, 0.0, 0.0), seed=seed, valid={"recall@5": 0.15},
                 test={"recall@5": 0.105})
    for value, valid in ((0.0001, 0.18), (0.01, 0.12)):  # grid points on seed 0 only
        fake_run(tmp_path, f"a1-{value}", mrdib=(value, 0.01, 0.01), seed=0, valid={"recall@5": valid},
                 test={"recall@5": 0.3})
    fake_run(tmp_path, "a3-off-elsewhere", mrdib=(0.005, 0.05, 0.0), seed=0, valid={"recall@5": 0.01},
             test={"recall@5": 0.01})
    return tmp_path, base_test, full_test


def test_table1_means_stds_improvement_and_paired_p(artifacts):
    root, base_test, full_test = artifacts
    report = build_report(root)
    row = report.table1[report.table1.metric == "recall@5"].iloc[0]
    assert (row.dataset, row.backbone, row.alphas) == ("toy", "vbpr", "0.001/0.01/0.01")
    assert row.baseline_mean == pytest.approx(sum(base_test) / 3)
    assert row.mrdib_std == pytest.approx(stats.tstd(full_test))
    assert row.improvement_pct == pytest.approx((sum(full_test) - sum(base_test)) / sum(base_test) * 100)
    assert row.p_value == pytest.approx(stats.ttest_rel(full_test, base_test).pvalue)
    assert row.n_pairs == 3 and row.candidates == 3
    ndcg = report.table1[report.table1.metric == "ndcg@5"].iloc[0]
    assert math.isnan(ndcg.p_value)  # identical differences: no test, reported as n/a


def test_table2_takes_the_ablations_at_the_chosen_alphas(artifacts):
    report = build_report(artifacts[0])
    table = report.table2[report.table2.metric == "recall@5"].set_index("variant")
    assert list(table.index) == ["baseline", "full", "no_kl_a1", "no_unique_a3", "kl_only"]
    assert table.at["no_kl_a1", "alphas"] == "0/0.01/0.01" and table.at["no_kl_a1", "at_chosen_alphas"]
    # a3=0 exists only at other alphas: shown, but flagged as not at the chosen alphas
    assert table.at["no_unique_a3", "alphas"] == "0.005/0.05/0" and not table.at["no_unique_a3", "at_chosen_alphas"]
    assert table.at["kl_only", "mean"] == pytest.approx(0.105)
    assert table.at["kl_only", "vs_full_pct"] == pytest.approx((0.105 - 0.121) / 0.121 * 100)


def test_table3_seconds_per_epoch_and_overhead(artifacts):
    row = build_report(artifacts[0]).table3.iloc[0]
    assert row.baseline_seconds == pytest.approx(2.0) and row.mrdib_seconds == pytest.approx(2.2)
    assert row.overhead_pct == pytest.approx(10.0)


def test_sensitivity_uses_the_shared_seeds_and_marks_the_choice(artifacts):
    report = build_report(artifacts[0])
    curve = report.sensitivity[(report.sensitivity.alpha == "a1") & (report.sensitivity.split == "valid")]
    assert list(curve.value) == [0.0001, 0.001, 0.01]
    assert list(curve.n) == [1, 1, 1]  # the chosen point's extra seeds are not mixed in
    assert list(curve.chosen) == [False, True, False]
    figure = sensitivity_plot(report.sensitivity, "toy", "vbpr")  # the dashboard's figure, plus the star
    curves = [t for t in figure.data if t.name == "valid recall@5" and len(t.x)]
    assert len(curves) == 1 and list(curves[0].x) == [0.0001, 0.001, 0.01]
    assert list(curves[0].y) == pytest.approx([0.18, 0.2, 0.12])
    assert [list(t.x) for t in figure.data if t.name == "chosen on valid"] == [[0.001]]
    assert figure.layout.xaxis.type == "log"
    assert "1 seed a point" in figure.layout.title.text  # what each point averages, on the figure itself
    # The tuned baseline's level on the seeds the curves used (seed 0: test 0.100, not its 3-seed 0.105).
    level = report.sensitivity[report.sensitivity.alpha == "baseline"].set_index("split")
    assert level.at["valid", "mean"] == pytest.approx(0.1) and level.at["test", "mean"] == pytest.approx(0.100)
    assert list(level.n) == [1, 1]
    assert sorted(round(shape.y0, 4) for shape in figure.layout.shapes) == [0.1] * 6  # 2 lines x 3 panels
    # Valid and test levels a hair apart would print their labels on top of each other: opposite ends.
    sides = {a.text: a.xanchor for a in figure.layout.annotations if a.text.startswith("baseline")}
    assert sides == {"baseline valid": "left", "baseline test": "right"}
    assert report.budget["runs"] == 15 and report.budget["epochs"] == 45


def test_budgets_count_each_sides_configurations_runs_and_epochs(artifacts, fake_run):
    root = artifacts[0]
    # A second baseline configuration, better on validation, that stops at its epoch cap of 4.
    for seed in range(3):
        fake_run(root, f"base-lr-{seed}", seed=seed, valid={"recall@5": 0.15}, test={"recall@5": 0.1},
                 epochs=4, train={"learning_rate": 0.01, "epochs": 4}, seconds_per_epoch=3.0)
    report = build_report(root)
    row = report.budgets.iloc[0]
    assert (row.baseline_configs, row.baseline_runs, row.baseline_epochs) == (2, 6, 9 + 12)
    assert row.baseline_hours == pytest.approx((9 * 2.0 + 12 * 3.0) / 3600)
    assert (row.mrdib_configs, row.mrdib_runs, row.mrdib_epochs) == (3, 5, 15)  # chosen x 3 seeds + 2 grid points
    assert (row.ablations_runs, row.ablations_epochs) == (7, 21)
    assert row.baseline_chosen_hits_cap and not row.mrdib_chosen_hits_cap
    assert report.selections[("toy", "vbpr")].baseline.train["learning_rate"] == 0.01
    markdown = render.render_markdown(report)
    assert "| toy | vbpr | 2 / 6 / 21 (0.01 h) | 3 / 5 / 15 (0.01 h) | 7 / 21 | baseline |" in markdown


def _analysis(mi: float, log_var: float | None, recall: dict[str, float]) -> dict:
    """The parts of an analysis.json (mrdib/analysis/analyze.py) the report reads."""
    return {"analysis_version": 2,
            "redundancy": {"means": {"image~text": {"gaussian_mi": {"mean": 9.0}}},
                           "samples": {"image~text": {"gaussian_mi": {"mean": mi}, "mine": None}}},
            "compression": None if log_var is None else {m: {"mean_log_var": log_var} for m in recall},
            "ranking": {"k": 20, "modalities": {m: {"recall@20": r, "ndcg@20": 0.0} for m, r in recall.items()}}}


def test_mechanism_of_the_chosen_configurations_from_analysis_json(artifacts):
    import json

    root = artifacts[0]
    for seed, mi in enumerate((0.2, 0.4)):  # seed 2 of the chosen +MRdIB is not analysed
        (root / "runs" / f"full-{seed}" / "analysis.json").write_text(
            json.dumps(_analysis(mi, -1.0 - seed, {"image": 0.1, "text": 0.3})))
    (root / "runs" / "base-0" / "analysis.json").write_text(json.dumps(_analysis(1.5, None, {"image": 0.2, "text": 0.2})))
    (root / "runs" / "a1-0.0001" / "analysis.json").write_text(json.dumps(_analysis(7.0, 0.0, {"image": 1.0})))
    report = build_report(root)
    frame = report.mechanism.set_index(["side", "quantity", "where"])
    assert frame.loc[("mrdib", "sample_mi", "image~text"), "mean"] == pytest.approx(0.3)  # samples, not means
    assert frame.loc[("mrdib", "sample_mi", "image~text"), "n"] == 2
    assert frame.loc[("mrdib", "mean_log_var", "text"), "mean"] == pytest.approx(-1.5)
    assert frame.loc[("mrdib", "standalone_recall@20", "text"), "mean"] == pytest.approx(0.3)
    assert frame.loc[("baseline", "sample_mi", "image~text"), "mean"] == pytest.approx(1.5)
    assert ("baseline", "mean_log_var", "text") not in frame.index  # a baseline has no posterior variance
    assert 7.0 not in set(report.mechanism["mean"])  # an unchosen grid point's analysis is not shown
    markdown = render.render_markdown(report)
    assert "| standalone Recall@20 | text | 0.2000 | 0.3000 ± 0.0000 |" in markdown.replace(" (n=1)", "")
    # base-1, base-2 and full-2 lack an analysis: the report says so and writes the commands
    assert sorted(run.run_dir.name for run in report.unanalysed) == ["base-1", "base-2", "full-2"]
    assert "3 chosen runs have no analysis yet" in markdown
    written = write_report(report, root / "docs", png=False)
    script = (root / "docs" / "analyze_chosen.sh").read_text()
    assert root / "docs" / "analyze_chosen.sh" in written
    assert f"python -m mrdib analyze {root / 'runs' / 'full-2'} --quiet" in script


def test_the_runs_table_rebuilds_every_table_without_the_run_folders(artifacts, tmp_path):
    import json
    import shutil

    import pandas as pd

    root = artifacts[0]
    (root / "runs" / "full-0" / "analysis.json").write_text(json.dumps(_analysis(0.2, -1.0, {"image": 0.1})))
    original = build_report(root)
    out = tmp_path / "docs"
    write_report(original, out, png=False)
    shutil.rmtree(root / "runs")
    again = report_from_runs_table(out / "runs.csv")
    for name in ("table1", "table2", "table3", "sensitivity", "budgets", "mechanism"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(original, name), check_dtype=False, obj=name)
    assert again.budget == pytest.approx(original.budget) and again.n_runs == original.n_runs == 15
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(MrdibError, match="bad.csv: not a runs table"):
        report_from_runs_table(tmp_path / "bad.csv")


def test_write_report_files_markdown_and_latex(artifacts, tmp_path):
    out = tmp_path / "docs"
    files = write_report(build_report(artifacts[0]), out, "Toy results", report_command="python -m mrdib report",
                         png=False)
    names = {p.name for p in files}
    assert {"results.md", "table1.csv", "table1.tex", "table2_ablations.csv", "table2_ablations.tex",
            "table3_time.csv", "sensitivity.csv", "budgets.csv"} <= names
    markdown = (out / "results.md").read_text()
    assert markdown.startswith("# Toy results")
    assert "python -m mrdib report" in markdown
    assert "| vbpr+MRdIB (0.001/0.01/0.01) | 0.1210 ± 0.0036" in markdown
    assert "**validation**" in markdown and "n=3" in markdown
    assert "+MRdIB (a3=0) [0.005/0.05/0] *" in markdown
    latex = (out / "table1.tex").read_text()
    assert r"$\pm$" in latex and r"\%" in latex and "\\toprule" in latex


def test_png_export_failure_is_reported_not_raised(artifacts, tmp_path, monkeypatch):
    import plotly.io as pio

    def broken(*args, **kwargs):
        raise RuntimeError("no browser for kaleido")

    monkeypatch.setattr(pio, "write_images", broken)
    with pytest.warns(UserWarning, match="PNG export skipped"):
        files = write_report(build_report(artifacts[0]), tmp_path / "out", png=True)
    assert not any(p.suffix == ".png" for p in files)
    assert "PNG export skipped (RuntimeError: no browser for kaleido)" in (tmp_path / "out" / "results.md").read_text()


def test_a_figure_an_earlier_report_drew_and_this_one_does_not_is_removed(artifacts, tmp_path, monkeypatch):
    """A pair whose sweep was replanned has no sensitivity curve now: its old PNG must not stay beside the report."""
    import plotly.io as pio

    def fake_write(figures, paths, **kwargs):
        for path in paths:
            path.write_bytes(b"png")

    monkeypatch.setattr(pio, "write_images", fake_write)
    figures = tmp_path / "out" / "figures"
    figures.mkdir(parents=True)
    (figures / "sensitivity_toy_mmgcn.png").write_bytes(b"old")
    (figures / "my_own_plot.png").write_bytes(b"mine")
    files = write_report(build_report(artifacts[0]), tmp_path / "out", png=True)
    assert figures / "sensitivity_toy_vbpr.png" in files and (figures / "sensitivity_toy_vbpr.png").is_file()
    assert not (figures / "sensitivity_toy_mmgcn.png").exists()
    assert (figures / "my_own_plot.png").read_bytes() == b"mine"


def test_latex_tables_escape_their_cells():
    import pandas as pd

    latex = latex_table(pd.DataFrame([{"variant": "no_kl_a1 & 5%", "R@5": "0.1 ± 0.2"}]), "cap", "tab:x")
    assert r"no\_kl\_a1 \& 5\%" in latex and r"0.1 $\pm$ 0.2" in latex and r"\label{tab:x}" in latex


def test_improvement_plot_sits_beside_the_papers_number(tmp_path, fake_run):
    for seed in range(2):
        fake_run(tmp_path, f"b{seed}", dataset="baby", seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.02})
        fake_run(tmp_path, f"m{seed}", dataset="baby", mrdib=CHOSEN, seed=seed, valid={"recall@5": 0.1},
                 test={"recall@5": 0.024 + 0.002 * seed})
    report = build_report(tmp_path)
    row = report.table1[report.table1.metric == "recall@5"].iloc[0]
    assert row.paper_baseline == 0.0243 and row.paper_mrdib == 0.0299  # VBPR on Baby, the paper's Table 1
    figure = improvement_plot(report.table1)
    assert [t.name for t in figure.data] == ["measured", "paper"]
    assert list(figure.data[0].y) == pytest.approx([25.0])
    # The measured bar carries the 95% interval of the paired difference, in percent of the baseline,
    # and its p under the axis (two seeds: an interval, if a wide one).
    low, high = (100 * row[f"difference_ci_{side}"] / row.baseline_mean for side in ("low", "high"))
    assert figure.data[0].error_y.array[0] == pytest.approx(high - 25.0)
    assert figure.data[0].error_y.arrayminus[0] == pytest.approx(25.0 - low)
    assert list(figure.data[0].x) == [f"vbpr · baby<br>+25.0% (p={row.p_value:.2g})"]
    uncompared = pd.concat([report.table1, report.table1.assign(backbone="mgcn", improvement_pct=float("nan"))])
    assert len(improvement_plot(uncompared).data[0].x) == 1  # a pair not compared yet gets no empty slot
    markdown = render.render_markdown(report)
    assert "paper's improvement" in markdown
    assert "Of these pairs the paper has only vbpr on baby, where it reports +23.0%." in markdown


def test_empty_artifacts_is_a_one_line_error(tmp_path):
    with pytest.raises(MrdibError, match="no finished runs"):
        build_report(tmp_path)
    with pytest.raises(MrdibError, match="no such sweep plan"):
        build_report(tmp_path, sweeps=["missing"])


def test_summary_names_pairs_where_mrdib_did_not_help(tmp_path, fake_run):
    for seed in range(3):
        fake_run(tmp_path, f"b{seed}", seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.2 + seed * 0.01})
        fake_run(tmp_path, f"m{seed}", mrdib=CHOSEN, seed=seed, valid={"recall@5": 0.1},
                 test={"recall@5": 0.1 + seed * 0.02})
    markdown = render.render_markdown(build_report(tmp_path))
    assert "did **not** help" in markdown and "vbpr on toy" in markdown


def test_a_pair_with_one_side_unfinished_is_named_not_averaged(tmp_path, fake_run):
    # A sweep stopped part way: freedom has only its baseline, so no improvement and no
    # "improved every pair" claim may come from it.
    for seed in range(2):
        fake_run(tmp_path, f"b{seed}", seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.2})
        fake_run(tmp_path, f"m{seed}", mrdib=CHOSEN, seed=seed, valid={"recall@5": 0.1},
                 test={"recall@5": 0.19 + seed * 0.001})
        fake_run(tmp_path, f"f{seed}", backbone="freedom", seed=seed, valid={"recall@5": 0.1},
                 test={"recall@5": 0.3})
    markdown = render.render_markdown(build_report(tmp_path))
    assert "over 1 backbone/data pairs" in markdown
    assert "Not compared yet (its sweep is unfinished, or a side has no finished chosen run): freedom on toy." in markdown
    assert "nan" not in markdown.split("## Table 1")[1].split("###")[0]


def test_no_pair_compared_yet_claims_nothing(tmp_path, fake_run):
    fake_run(tmp_path, "b0", seed=0, valid={"recall@5": 0.1}, test={"recall@5": 0.2})
    markdown = render.render_markdown(build_report(tmp_path))
    assert "improved every" not in markdown and "Average improvement" not in markdown
    assert "Not compared yet" in markdown


def test_a_pair_its_sweep_has_not_finished_is_not_compared_even_from_the_runs_table(tmp_path, fake_run):
    # Both sides have runs, but the sweep plan says the +MRdIB grid is still going: the choice
    # may change, so no improvement is claimed, and runs.csv keeps that.
    from mrdib.experiments.sweep_report import mark_in_progress
    from mrdib.results.report import report_from_groups
    from mrdib.results.selection import group_runs
    from mrdib.runs.reader import list_runs

    for seed in range(2):
        fake_run(tmp_path, f"b{seed}", seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.2})
        fake_run(tmp_path, f"m{seed}", mrdib=CHOSEN, seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.3})
    plan = {"points": [{"dataset": "/data/toy", "backbone": "vbpr", "status": "done"},
                       {"dataset": "/data/toy", "backbone": "vbpr", "status": "missing"}]}
    groups = group_runs(list_runs(tmp_path))
    mark_in_progress(groups, [plan])
    report = report_from_groups(groups, "recall@5", [plan])
    assert report.selections[("toy", "vbpr")].mrdib is None
    assert "Not compared yet" in render.render_markdown(report)
    assert report.runs.in_progress.all()
    assert report.unanalysed == []  # its baseline may still change: not worth analysing yet
    out = tmp_path / "runs.csv"
    report.runs.to_csv(out, index=False)
    assert report_from_runs_table(out).selections[("toy", "vbpr")].mrdib is None
    done = {"points": [{"dataset": "/data/toy", "backbone": "vbpr", "status": "done"}]}
    mark_in_progress(groups, [done])
    finished = report_from_groups(groups, "recall@5", [done])
    assert finished.selections[("toy", "vbpr")].mrdib is not None and len(finished.unanalysed) == 4
    render.write_report(finished, tmp_path / "out", png=False)
    assert (tmp_path / "out" / "analyze_chosen.sh").is_file()
    render.write_report(report, tmp_path / "out", png=False)  # nothing to analyse: no stale list left behind
    assert not (tmp_path / "out" / "analyze_chosen.sh").exists()


def test_open_ablations_hold_back_table2_but_not_the_comparison(tmp_path, fake_run):
    """Ablation points choose nothing: while only they are unfinished, Table 1 compares the pair
    and Table 2 leaves the unfinished ablations out, the runs table marking only them in progress."""
    from mrdib.experiments.sweep_report import mark_in_progress
    from mrdib.results.report import report_from_groups
    from mrdib.results.selection import group_runs
    from mrdib.runs.reader import list_runs

    for seed in range(2):
        fake_run(tmp_path, f"b{seed}", seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.2})
        fake_run(tmp_path, f"m{seed}", mrdib=CHOSEN, seed=seed, valid={"recall@5": 0.1}, test={"recall@5": 0.3})
    fake_run(tmp_path, "a0", mrdib=(0.0, 0.01, 0.01), seed=0, valid={"recall@5": 0.1}, test={"recall@5": 0.25})
    plan = {"points": [{"dataset": "/data/toy", "backbone": "vbpr", "stage": "final", "status": "done"},
                       {"dataset": "/data/toy", "backbone": "vbpr", "stage": "ablation", "status": "missing"}]}
    groups = group_runs(list_runs(tmp_path))
    mark_in_progress(groups, [plan])
    assert {g.variant: g.in_progress for g in groups} == {"baseline": False, "full": False, "no_kl_a1": True}
    report = report_from_groups(groups, "recall@5", [plan])
    assert report.selections[("toy", "vbpr")].mrdib is not None
    assert report.table1.loc[report.table1.metric == "recall@5", "improvement_pct"].iloc[0] == pytest.approx(50.0)
    assert report.table2.empty
    assert "Waiting for unfinished ablation runs: vbpr on toy." in render.render_markdown(report)
    plan["points"][1]["status"] = "done"
    mark_in_progress(groups, [plan])
    finished = report_from_groups(groups, "recall@5", [plan])
    assert set(finished.table2.variant) == {"baseline", "full", "no_kl_a1"}
    assert "Waiting for unfinished" not in render.render_markdown(finished)


def test_the_power_sentence_states_the_seed_counts_the_tables_have():
    import pandas as pd

    assert "With n = 5 the test" in render._power_sentence(pd.DataFrame({"n_pairs": [5, 5, float("nan")]}))
    assert "With n = 3 to 5 the test" in render._power_sentence(pd.DataFrame({"n_pairs": [3, 5]}))
    assert "three" not in render._power_sentence(pd.DataFrame({"n_pairs": [5]}))


def test_many_sweep_calls_are_summarised_by_count_span_and_unclean_stops():
    calls = [{"started": f"2026-12-0{d}T1{h}:00:00+00:00", "last_seen": f"2026-12-0{d}T1{h}:30:00+00:00",
              "finished": None, "workers": 1} for d, h in ((7, 8), (7, 9), (8, 0), (8, 1))]
    calls[1]["finished"] = "2026-12-07T19:45:00+00:00"
    line = render._describe_history(calls)
    assert line.startswith("- Wall clock: 4 sweep calls from 2026-12-07 18:00 to at least 2026-12-08 11:30 UTC")
    assert "1 worker each; 3 with no clean stop on record" in line
    assert render._describe_history(calls[1:2]) == (
        "- Wall clock of the sweep calls: 2026-12-07T19:00:00+00:00 to 2026-12-07T19:45:00+00:00 (1 worker).")

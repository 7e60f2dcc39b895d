"""The dose-response command: its plan, its summaries and verdicts, its files, and (trained on a
small synthetic data set) the directions the paper claims for a2 and a1."""

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mrdib.analysis.redundancy import one_thread
from mrdib.commands.main import main
from mrdib.data.synthetic import SyntheticConfig, materialize_synthetic
from mrdib.dose_response.core import (DoseResponseSpec, list_dose_responses, plan_points, read_dose_response,
                                      report_text, run_dose_response, summarise, summary_frame, term_table,
                                      verdict_line, verdicts)
from mrdib.dose_response.core import verdict_frame
from mrdib.figures.dose_response import alpha_positions, dose_response_figure
from mrdib.core.errors import ConfigError, RunError

TRAIN = {"epochs": 20, "patience": 20, "batch_size": 512, "embedding_size": 32}


def test_plan_varies_one_alpha_around_the_base_and_shares_the_base_run():
    spec = DoseResponseSpec(terms=["all"], values=[0.01, 0.0, 0.01], base=[0.001, 0.01, 0.01], seeds=[0, 1])
    assert spec.terms == ["a1", "a2", "a3"] and spec.values == [0.0, 0.01] and spec.name == "synthetic-vbpr-all"
    points = plan_points(spec)
    assert len(points) == 3 * 2 * 2
    assert {p.alphas for p in points if p.term == "a2"} == {(0.001, 0.0, 0.01), (0.001, 0.01, 0.01)}
    # a2 = 0.01 and a3 = 0.01 are both the base setting: one run id per seed.
    base_ids = {p.run_id for p in points if p.alphas == (0.001, 0.01, 0.01)}
    assert len(base_ids) == 2
    assert [p.run_id for p in plan_points(spec)] == [p.run_id for p in points]  # deterministic
    other = plan_points(DoseResponseSpec(terms=["a2"], values=[0.0], train={"epochs": 3}))
    assert other[0].run_id != next(p.run_id for p in points if p.alphas == (0.001, 0.0, 0.01) and p.seed == 0)


@pytest.mark.parametrize("kwargs, message", [({"terms": ["a4"]}, "unknown term"), ({"values": [-1.0]}, ">= 0"),
                                             ({"values": []}, ">= 0"), ({"base": [0.1, 0.1]}, "three alphas"),
                                             ({"seeds": []}, "seed")])
def test_spec_rejects_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DoseResponseSpec(**kwargs)


def fake_rows() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        for value, mi, log_var in ((0.0, 2.0, -2.0), (0.01, 1.5, -1.0), (0.1, 1.4 + 0.2 * seed, -1.5)):
            rows.append({"term": "a2", "value": value, "seed": seed, "run_id": f"r{value}-{seed}",
                         "mi_gaussian_samples": mi, "mi_gaussian_means": 3.0, "mine_samples": np.nan,
                         "valid_recall@5": 0.1, "test_recall@5": 0.09})
            rows.append({"term": "a1", "value": value, "seed": seed, "run_id": f"q{value}-{seed}",
                         "mean_log_var": log_var, "noise_probe_samples": np.nan,
                         "valid_recall@5": 0.1, "test_recall@5": 0.09})
    return pd.DataFrame(rows)


def test_summary_verdicts_and_tables_from_known_rows():
    summary = summarise(fake_rows())
    a2 = summary[summary["term"] == "a2"].set_index("value")
    assert a2.loc[0.1, "mi_gaussian_samples"] == pytest.approx(1.5) and a2.loc[0.1, "mi_gaussian_samples_std"] == pytest.approx(0.1)
    assert (summary["seeds"] == 2).all()
    found = {(v["term"], v["quantity"]): v for v in verdicts(summary)}
    mi = found[("a2", "mi_gaussian_samples")]
    assert mi["low"] == 2.0 and mi["high"] == 1.5 and mi["ratio"] == pytest.approx(0.75)
    assert mi["as_expected"] is True and mi["monotone"] is True  # 2.0, 1.5, 1.5: a flat step is not against it
    means = found[("a2", "mi_gaussian_means")]
    assert means["as_expected"] is False and means["outcome"] == "flat"  # unchanged is not "down"
    assert mi["outcome"] == "as expected" and mi["threshold"] == pytest.approx(0.2)  # 10% of 2.0
    assert found[("a2", "mine_samples")]["as_expected"] is None  # MINE off: not measured
    log_var = found[("a1", "mean_log_var")]
    assert log_var["as_expected"] is True and log_var["monotone"] is False  # -2, -1, -1.5
    assert "rose from -2.000 to -1.500" in verdict_line(log_var) and "as the paper says" in verdict_line(log_var)
    assert "not measured" in verdict_line(found[("a1", "noise_probe_samples")])
    assert "flat (within 0.300)" in verdict_line(means)
    table = term_table(summary, "a2")
    assert list(table.iloc[:, 0]) == [0.0, 0.01, 0.1] and table["mi_gaussian_samples"].iloc[2] == "1.5000 ± 0.1000"
    assert "mine_samples" not in table and "mine_shuffled_samples" not in table  # nothing measured
    figure = dose_response_figure(summary)
    assert isinstance(figure, go.Figure) and {trace.name for trace in figure.data} >= {
        "Gaussian MI between modalities (sample, nats)", "mean posterior log-variance", "valid recall@5"}
    assert "as the paper says" in verdict_frame({"verdicts": verdicts(summary)}).columns


def test_a_drift_within_noise_is_flat_and_a_move_the_wrong_way_is_against():
    rows = pd.DataFrame([{"term": "a2", "value": v, "seed": s, "run_id": f"{v}-{s}", "mi_gaussian_samples": mi}
                         for v, pairs in ((0.0, (1.0, 1.4)), (0.1, (0.8, 1.2))) for s, mi in enumerate(pairs)])
    noisy = {v["quantity"]: v for v in verdicts(summarise(rows))}["mi_gaussian_samples"]
    assert noisy["threshold"] == pytest.approx(0.4) and noisy["outcome"] == "flat"  # 2 x std 0.2 > drop 0.2
    rows["mi_gaussian_samples"] = np.where(rows["value"] > 0, 3.0, 1.0)
    against = {v["quantity"]: v for v in verdicts(summarise(rows))}["mi_gaussian_samples"]
    assert against["outcome"] == "against" and "NOT as the paper says" in verdict_line(against)


def test_alpha_axis_shows_zero_a_decade_below_the_smallest_value():
    x, ticks, labels = alpha_positions([0.0, 0.001, 0.1])
    assert list(x) == [-4.0, -3.0, -1.0] and labels == ["0", "0.001", "0.1"]
    assert alpha_positions([0.01, 1.0])[2] == ["0.01", "1"]


def test_reading_results_names_the_file(tmp_path):
    assert list_dose_responses(tmp_path) == []
    (tmp_path / "dose_response" / "broken").mkdir(parents=True)
    (tmp_path / "dose_response" / "broken" / "dose_response.json").write_text("{not json")
    with pytest.raises(RunError, match="broken/dose_response.json: not valid JSON"):
        read_dose_response(tmp_path / "dose_response" / "broken")
    with pytest.raises(RunError, match="missing"):
        read_dose_response(tmp_path / "nowhere")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """a2 in {0, 0.05} and a1 in {1e-4, 1e-2}, VBPR, one seed, 20 epochs on 600 users x 500 items."""
    root = tmp_path_factory.mktemp("artifacts")
    folder = materialize_synthetic(SyntheticConfig(n_users=600, n_items=500, seed=0), root)
    results = {}
    with one_thread():
        for term, values in (("a2", [0.0, 0.05]), ("a1", [1e-4, 1e-2])):
            spec = DoseResponseSpec(data=str(folder), terms=[term], values=values, train=TRAIN, artifacts=str(root))
            results[term] = run_dose_response(spec, progress=False)
    return root, folder, results


def target(result: dict, column: str) -> dict[float, float]:
    return {row["value"]: row[column] for row in result["summary"]}


def test_results_are_written_and_read_back(trained):
    root, _, results = trained
    result = results["a2"]
    out = root / "dose_response" / result["name"]
    assert {p.name for p in out.iterdir()} >= {"results.csv", "summary.csv", "dose_response.json"}
    assert read_dose_response(out)["verdicts"] == json.loads(json.dumps(result["verdicts"]))
    assert len(list_dose_responses(root)) == 2
    rows = pd.read_csv(out / "results.csv")
    assert list(rows["value"]) == [0.0, 0.05] and rows["run_id"].is_unique
    assert {"mi_gaussian_samples", "mean_log_var", "noise_probe_samples", "standalone_samples/image",
            "valid_recall@5", "test_recall@5"} <= set(rows.columns)
    assert not summary_frame(read_dose_response(out))["mi_gaussian_samples"].isna().any()
    text = report_text(result)
    assert "α2 (MINE redundancy)" in text and "Gaussian MI between modalities (sample, nats)" in text


def test_sample_mi_falls_with_a2(trained):
    mi = target(trained[2]["a2"], "mi_gaussian_samples")
    assert mi[0.05] <= 0.75 * mi[0.0], mi


def test_planted_noise_on_samples_falls_and_the_variance_rises_with_a1(trained):
    noise = target(trained[2]["a1"], "noise_probe_samples")
    assert noise[1e-4] - noise[1e-2] >= 0.15, noise
    log_var = target(trained[2]["a1"], "mean_log_var")
    assert log_var[1e-2] - log_var[1e-4] >= 0.5, log_var


def test_cli_reuses_finished_runs_and_prints_the_table(trained, capsys):
    root, folder, results = trained
    args = ["dose-response", "--data", str(folder), "--term", "a2", "--values", "0", "0.05", "--epochs", "20",
            "--patience", "20", "--batch-size", "512", "--embedding-size", "32", "--artifacts", str(root),
            "--out", str(root / "cli_result"), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "α2 (MINE redundancy)" in out and "as the paper says" in out
    saved = read_dose_response(root / "cli_result")
    assert {run["outcome"] for run in saved["runs"]} == {"skipped"}  # same configs: the runs above
    assert {run["run_id"] for run in saved["runs"]} == {run["run_id"] for run in results["a2"]["runs"]}
    assert (root / "cli_result" / "dose_response.html").is_file()


def test_cli_reports_bad_values_in_one_line(capsys):
    assert main(["dose-response", "--values", "-1", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "values must be finite and >= 0" in error and len(error.strip().splitlines()) == 1


# -- the dashboard page -------------------------------------------------------------------------

def write_fake_result(root, name: str = "fake") -> None:
    from mrdib.dose_response.core import _finite, write_results

    rows = fake_rows()
    summary = summarise(rows)
    spec = DoseResponseSpec(terms=["a1", "a2"], values=[0.0, 0.01, 0.1], seeds=[0, 1], artifacts=str(root), name=name)
    result = _finite({"format_version": 1, "name": name, "created": "2026-12-02T00:00:00+00:00", "spec": spec.to_dict(),
                      "out_dir": str(spec.out_dir),
                      "runs": [{"run_id": r, "outcome": "trained"} for r in rows["run_id"]],
                      "rows": rows.to_dict("records"), "summary": summary.to_dict("records"),
                      "verdicts": verdicts(summary)})
    write_results(spec.out_dir, rows, summary, result)


def open_dose_page(root, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from testing_support import REPO_ROOT

    monkeypatch.setenv("MRDIB_ARTIFACTS", str(root))
    app = AppTest.from_file(str(REPO_ROOT / "app" / "main.py"), default_timeout=60).run()
    app.switch_page("app_pages/dose_response.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_dashboard_page_shows_verdicts_figure_and_tables(tmp_path, monkeypatch):
    write_fake_result(tmp_path)
    (tmp_path / "dose_response" / "broken").mkdir()
    (tmp_path / "dose_response" / "broken" / "dose_response.json").write_text("[]")
    app = open_dose_page(tmp_path, monkeypatch)
    assert app.title[0].value == "Dose-response"
    assert any("broken" in w.value and "not a dose-response result" in w.value for w in app.warning)
    # Dataframes in page order: verdicts, the a1 and a2 tables, the runs.
    verdict_table = app.dataframe[0].value
    assert set(verdict_table["term"]) == {"a1", "a2"} and "✓" in set(verdict_table[""])
    assert len(app.get("plotly_chart")) == 1
    a2_table = app.dataframe[2].value
    assert list(a2_table.iloc[:, 0]) == [0.0, 0.01, 0.1] and "mi_gaussian_samples" in a2_table
    app.toggle(key="dose_all_verdicts").set_value(True).run()
    assert "–" in set(app.dataframe[0].value[""])  # MINE and the noise probe: not measured


def test_dashboard_page_without_results_says_what_to_run(tmp_path, monkeypatch):
    app = open_dose_page(tmp_path, monkeypatch)
    assert app.info and "python -m mrdib dose-response" in app.info[0].value
    assert not app.get("plotly_chart")


@pytest.mark.slow
def test_two_workers_train_the_same_runs_as_one(trained, tmp_path):
    """The check's runs go through the sweep's worker pool: two processes, the same runs and numbers."""
    _, folder, results = trained
    spec = DoseResponseSpec(data=str(folder), terms=["a2"], values=[0.0, 0.05], train=TRAIN, artifacts=str(tmp_path),
                            workers=2)
    pooled = run_dose_response(spec, progress=False)
    assert [run["outcome"] for run in pooled["runs"]] == ["trained", "trained"]
    assert [run["run_id"] for run in pooled["runs"]] == [run["run_id"] for run in results["a2"]["runs"]]
    for column in ("test_recall@5", "mi_gaussian_samples"):
        assert target(pooled, column) == target(results["a2"], column)


@pytest.mark.slow
def test_the_standalone_ranking_of_the_samples_rises_with_a3(tmp_path):
    """a3 trains each modality's posterior samples to rank on their own. At the small test size the
    change is within noise (samples 0.0749 -> 0.0740 for a3 0 -> 1, measured), so this runs on the
    default synthetic set (1500 users x 1000 items), 40 epochs: 0.0411 -> 0.0662 when measured."""
    folder = materialize_synthetic(SyntheticConfig(seed=0), tmp_path)
    spec = DoseResponseSpec(data=str(folder), terms=["a3"], values=[0.0, 1.0], train={"epochs": 40, "patience": 100},
                            artifacts=str(tmp_path))
    with one_thread():
        result = run_dose_response(spec, progress=False)
    samples, means = target(result, "standalone_samples"), target(result, "standalone_means")
    assert samples[1.0] >= 1.25 * samples[0.0], samples
    assert means[1.0] >= means[0.0], means

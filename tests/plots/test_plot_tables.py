"""Result tables on hand-made runs frames whose means, stds and improvements are easy to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mrdib.core.errors import ConfigError
from mrdib.reference import paper_table
from testing_support import identity_columns
from mrdib.figures.charts import ema_smooth
from mrdib.results.tables import (ablation_table, best_mask, chosen_alphas, comparison_table, cost_table, format_numbers,
                                  format_table, latex_escape, metric_names, selections, sensitivity_frame, to_latex,
                                  traces_frame)

REF = (0.001, 0.01, 0.01)


def run(backbone="vbpr", dataset="baby", mrdib=False, alphas=REF, seed=0, recall=0.1, valid=None, status="done",
        seconds=1.0, epochs=60):
    row = {"run_id": f"{backbone}-{dataset}-{mrdib}-{alphas}-{seed}-{status}-{epochs}", "status": status,
           "dataset": dataset, "backbone": backbone, "mrdib": mrdib, "seed": seed, "seconds_per_epoch": seconds,
           **identity_columns(backbone, dataset, mrdib, alphas, setting=epochs), "setting": f"{epochs} epochs",
           "test/recall@5": recall, "test/precision@5": recall / 5, "test/map@5": recall / 2,
           "test/ndcg@5": recall / 1.5, "valid/recall@5": recall if valid is None else valid}
    row.update({a: (v if mrdib else np.nan) for a, v in zip(("a1", "a2", "a3"), alphas)})
    return row


@pytest.fixture()
def runs() -> pd.DataFrame:
    rows = [run(seed=0, recall=0.10), run(seed=1, recall=0.12),
            run(mrdib=True, seed=0, recall=0.12), run(mrdib=True, seed=1, recall=0.14),
            run(mrdib=True, alphas=(0.01, 0.01, 0.01), recall=0.2, valid=0.01),  # best on test, worst on valid
            run(mrdib=True, alphas=(0.0, 0.01, 0.01), recall=0.11),
            run(mrdib=True, alphas=(0.001, 0.0, 0.0), recall=0.09),
            run(mrdib=True, seed=2, recall=0.9, status="running"),  # never counted
            run(mrdib=True, seed=3, recall=0.9, status="failed")]
    return pd.DataFrame(rows)


def test_another_training_setting_is_a_candidate_chosen_on_validation_only(runs):
    # a one-epoch smoke test that happens to score well on test but poorly on validation
    smoke = pd.DataFrame([run(seed=5, recall=0.9, valid=0.01, epochs=1)])
    mixed = pd.concat([runs, smoke], ignore_index=True)
    assert comparison_table(mixed).set_index("variant").loc["baseline", "recall@5"] == pytest.approx(0.11)
    better = pd.DataFrame([run(seed=5, recall=0.05, valid=0.5, epochs=1)])  # best on validation: chosen
    chosen = comparison_table(pd.concat([runs, better], ignore_index=True)).set_index("variant")
    assert chosen.loc["baseline", "recall@5"] == pytest.approx(0.05) and chosen.loc["baseline", "seeds"] == 1


def test_metric_names_follow_the_paper_order():
    assert metric_names((5, 10)) == ["recall@5", "precision@5", "map@5", "ndcg@5",
                                     "recall@10", "precision@10", "map@10", "ndcg@10"]


def test_the_chosen_alphas_are_the_best_on_validation_never_on_test(runs):
    assert chosen_alphas(runs) == {("baby", "vbpr"): REF}  # the 0.2-on-test run is 0.01 on valid
    chosen = selections(runs)[("baby", "vbpr")]
    assert len(chosen.candidates) == 2 and chosen.baseline.seeds == [0, 1]


def test_comparison_means_stds_improvement_and_paper(runs):
    table = comparison_table(runs).set_index("variant")
    assert table.loc["baseline", "recall@5"] == pytest.approx(0.11)
    assert table.loc["baseline", "recall@5 std"] == pytest.approx(np.std([0.10, 0.12], ddof=1))
    assert table.loc["+MRdIB", "recall@5"] == pytest.approx(0.13)
    assert table.loc["+MRdIB", "seeds"] == 2 and table.loc["+MRdIB", "alphas"] == "a1=0.001, a2=0.01, a3=0.01"
    assert table.loc["improvement %", "recall@5"] == pytest.approx((0.13 - 0.11) / 0.11 * 100)
    paper = paper_table("table1")
    reported = paper[(paper["model"] == "VBPR") & (paper["dataset"] == "baby")].set_index("mrdib")
    assert table.loc["baseline", "recall@5 paper"] == reported.loc[0, "recall@5"] == 0.0243
    assert table.loc["+MRdIB", "ndcg@5 paper"] == reported.loc[1, "ndcg@5"]
    assert table.loc["improvement %", "recall@5 paper"] == pytest.approx((0.0299 - 0.0243) / 0.0243 * 100)


def test_comparison_without_paper_numbers_has_no_paper_columns(runs):
    synthetic = runs.assign(dataset="synthetic")
    table = comparison_table(synthetic, ks=(5, 10))
    assert not [c for c in table.columns if c.endswith("paper")]
    assert table["recall@10"].isna().all()  # the frame has no @10 metrics


def test_best_mask_marks_the_better_of_each_pair_and_never_improvements(runs):
    table = comparison_table(runs)
    mask = best_mask(table, metric_names())
    assert list(mask["recall@5"]) == [False, True, False]
    assert list(mask["recall@5 paper"]) == [False, True, False]


def test_format_table_writes_mean_pm_std_and_percent(runs):
    text = format_table(comparison_table(runs), metric_names()).set_index("variant")
    assert text.loc["baseline", "recall@5"] == "0.1100 ± 0.0141"
    assert text.loc["improvement %", "recall@5"] == "+18.2%"
    assert text.loc["baseline", "seeds"] == "2" and text.loc["improvement %", "seeds"] == ""
    assert "recall@5 std" not in text.columns


def test_ablation_variants_are_classified_against_the_reference(runs):
    table = ablation_table(runs).set_index("variant")
    assert table.loc["full", "recall@5"] == pytest.approx(0.13)
    assert table.loc["no_kl_a1", "recall@5"] == pytest.approx(0.11)
    assert table.loc["kl_only", "recall@5"] == pytest.approx(0.09)
    assert table.loc["no_mine_a2", "seeds"] == 0  # no run, but the paper reports it
    assert table.loc["no_mine_a2", "recall@5 paper"] == 0.0298


def test_cost_table_uses_reference_runs_and_paper_overhead(runs):
    runs = runs.copy()
    runs.loc[runs["mrdib"], "seconds_per_epoch"] = 1.5
    row = cost_table(runs).iloc[0]
    assert row["s/epoch baseline"] == 1.0 and row["s/epoch +MRdIB"] == 1.5 and row["overhead %"] == pytest.approx(50)
    assert row["paper overhead %"] == pytest.approx((4.96 / 4.84 - 1) * 100)


def test_sensitivity_lines_hold_the_other_alphas(runs):
    extra = pd.DataFrame([run(mrdib=True, alphas=(0.001, 0.05, 0.01), recall=0.3, valid=0.05)])  # not chosen
    frame = sensitivity_frame(pd.concat([runs, extra], ignore_index=True), "baby", "vbpr")
    recall = frame[frame["metric"] == "recall@5"]
    a1 = recall[recall["alpha"] == "a1"]
    assert list(a1["value"]) == [0.001, 0.01]  # the a1=0 ablation is left off the log axis
    assert list(a1["seeds"]) == [2, 1]
    a2 = recall[recall["alpha"] == "a2"]
    assert list(a2["value"]) == [0.01, 0.05] and a2["mean"].iloc[1] == pytest.approx(0.3)


def test_ema_smoothing_matches_hand_values():
    assert list(ema_smooth([1.0, 2.0, 3.0], 0.0)) == [1.0, 2.0, 3.0]
    assert np.allclose(ema_smooth([5.0] * 4, 0.9), 5.0)  # debiased: no ramp from zero
    assert ema_smooth([0.0, 1.0], 0.5)[1] == pytest.approx(0.5 * 1.0 / 0.75)
    with pytest.raises(ValueError):
        ema_smooth([1.0], 1.0)


def test_traces_frame_flattens_groups():
    frame = traces_frame({"r": [{"epoch": 1, "train_seconds": 0.5, "losses": {"total": 1.0},
                                 "mine_bound": {"image~text": 0.1}, "valid": {"recall@5": 0.2}, "improved": True}]})
    assert set(frame["series"]) == {"losses/total", "mine_bound/image~text", "valid/recall@5", "time/train_seconds"}
    assert frame.set_index("series").loc["mine_bound/image~text", "value"] == 0.1


def test_latex_escapes_and_bolds():
    table = pd.DataFrame({"variant": ["no_kl_a1", "improvement %"], "recall@5": ["0.1 ± 0.01", "+3.0%"]})
    bold = pd.DataFrame({"variant": [False, False], "recall@5": [True, False]})
    latex = to_latex(table, bold, caption="Top-5 & more", label="tab:x")
    assert r"no\_kl\_a1" in latex and r"improvement \%" in latex and r"+3.0\%" in latex
    assert r"\textbf{0.1 $\pm$ 0.01}" in latex and r"\caption{Top-5 \& more}" in latex
    assert latex.count(r" \\") == 3 and r"\begin{tabular}{lr}" in latex
    assert latex_escape("a_b{c}") == r"a\_b\{c\}"


def test_format_numbers_marks_missing():
    assert list(format_numbers(pd.DataFrame({"x": [1.23456, np.nan]}))["x"]) == ["1.235", "–"]


def test_paper_tables_ship_with_the_package():
    assert paper_table("table3_time.csv").shape == (6, 5)
    assert set(paper_table("table2_ablation")["variant"]) >= {"baseline", "full", "kl_only"}
    with pytest.raises(ConfigError, match="unknown paper table"):
        paper_table("table9")


def test_traces_frame_reads_the_mechanism_monitor_one_level_deeper():
    frame = traces_frame({"r": [{"epoch": 2, "mine_bound": {"image~text": 0.02},
                                 "monitor": {"mi_samples": {"image~text": 0.4}, "log_var": {"image": -0.5}}}]})
    values = dict(zip(frame["series"], frame["value"]))
    assert values == {"mine_bound/image~text": 0.02, "monitor/mi_samples/image~text": 0.4,
                      "monitor/log_var/image": -0.5}

"""Model selection sees validation only: a configuration that is best on test but not on
validation is never chosen, and the chosen configuration's test numbers are the ones reported."""

from __future__ import annotations

import inspect

import pytest

from mrdib.experiments.sweep_report import build_report
from mrdib.results.selection import choose, group_runs, select_by_validation
from mrdib.runs.reader import list_runs
from experiment_helpers import fake_run  # noqa: F401 (pytest fixtures)


def test_selection_takes_only_validation_scores():
    parameters = list(inspect.signature(select_by_validation).parameters)
    assert parameters == ["valid_scores"]


def test_best_mean_validation_wins_on_the_shared_seeds():
    scores = {
        "a": {0: 0.30, 1: 0.10, 2: 0.10},  # mean over all seeds 0.167, but 0.30 on the shared seed
        "b": {0: 0.20},
        "c": {0: 0.25},
    }
    assert select_by_validation(scores) == "a"
    assert select_by_validation({"x": {0: 0.2}, "y": {1: 0.3}}) == "y"  # no shared seed: own means
    assert select_by_validation({}) is None


def test_ties_are_broken_deterministically():
    assert select_by_validation({"b": {0: 0.2}, "a": {0: 0.2}}) == "a"
    assert select_by_validation({"a": {0: 0.2}, "b": {0: 0.2, 1: 0.2}}) == "b"  # more seeds first


@pytest.fixture
def valid_vs_test_runs(tmp_path, fake_run):
    """Two +MRdIB configs: A is best on validation, B is best on test (by far)."""
    for seed in (0, 1, 2):
        fake_run(tmp_path, f"base-{seed}", seed=seed, valid={"recall@5": 0.10}, test={"recall@5": 0.100 + 0.001 * seed})
        fake_run(tmp_path, f"a-{seed}", mrdib=(0.001, 0.01, 0.01), seed=seed,
                 valid={"recall@5": 0.20}, test={"recall@5": 0.110 + 0.001 * seed})
        fake_run(tmp_path, f"b-{seed}", mrdib=(0.01, 0.01, 0.01), seed=seed,
                 valid={"recall@5": 0.15}, test={"recall@5": 0.500})
    return tmp_path


def test_the_best_test_configuration_is_not_chosen(valid_vs_test_runs):
    groups = group_runs(list_runs(valid_vs_test_runs))
    assert len(groups) == 3
    chosen = choose(groups)[("toy", "vbpr")]
    assert chosen.mrdib.alphas == (0.001, 0.01, 0.01)
    assert chosen.baseline.variant == "baseline" and len(chosen.candidates) == 2


def test_report_shows_the_validation_choice_test_metrics(valid_vs_test_runs):
    report = build_report(valid_vs_test_runs)
    row = report.table1[(report.table1.metric == "recall@5")].iloc[0]
    assert row.alphas == "0.001/0.01/0.01"
    assert row.mrdib_mean == pytest.approx(0.111)  # A's test mean, not B's 0.5
    assert row.baseline_mean == pytest.approx(0.101)
    assert row.improvement_pct == pytest.approx((0.111 - 0.101) / 0.101 * 100)
    assert row.n_pairs == 3


def test_unfinished_runs_are_left_out(tmp_path, fake_run):
    fake_run(tmp_path, "done", valid={"recall@5": 0.1}, test={"recall@5": 0.1})
    fake_run(tmp_path, "running", seed=1, valid={"recall@5": 0.9}, status="running")
    fake_run(tmp_path, "pruned", seed=2, valid={"recall@5": 0.9}, status="pruned")
    (tmp_path / "runs" / "corrupt").mkdir()
    groups = group_runs(list_runs(tmp_path))
    assert len(groups) == 1 and groups[0].seeds == [0]

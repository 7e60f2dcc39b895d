"""Mean/std over seeds, improvement in percent and the paired test against hand-computed values."""

from __future__ import annotations

import math

import pytest

from mrdib.results.stats import improvement_percent, mean_std, paired_test


def test_mean_std_uses_the_sample_std_and_counts_finite_values():
    stats = mean_std([1.0, 2.0, 3.0, math.nan])
    assert stats.n == 3 and stats.mean == pytest.approx(2.0) and stats.std == pytest.approx(1.0)
    assert stats.format(2) == "2.00 ± 1.00"
    single = mean_std([0.5])
    assert single.n == 1 and math.isnan(single.std) and single.format(1) == "0.5"
    assert mean_std([]).format() == "n/a"


def test_improvement_percent():
    assert improvement_percent(0.02, 0.025) == pytest.approx(25.0)
    assert improvement_percent(0.02, 0.015) == pytest.approx(-25.0)
    assert math.isnan(improvement_percent(0.0, 0.1))


def test_paired_test_matches_a_hand_computed_t_statistic():
    baseline = {0: 0.10, 1: 0.12, 2: 0.11}
    treated = {0: 0.12, 1: 0.13, 2: 0.14, 7: 0.99}  # seed 7 has no partner and is ignored
    result = paired_test(baseline, treated)
    differences = [0.02, 0.01, 0.03]
    mean = sum(differences) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 2)
    t = mean / (sd / math.sqrt(3))
    assert result.n == 3
    assert result.mean_difference == pytest.approx(mean)
    assert result.t_statistic == pytest.approx(t)
    # two-sided p of t = 3.464 with 2 degrees of freedom
    assert result.p_value == pytest.approx(0.0742, abs=1e-3)


def test_paired_test_needs_two_pairs():
    result = paired_test({0: 0.1}, {0: 0.2, 1: 0.3})
    assert result.n == 1 and math.isnan(result.p_value) and result.format_p() == "n/a (n=1)"

"""Statistics over seeds: mean plus/minus std, improvement in percent and a paired t-test.

Seeds pair the runs: baseline and +MRdIB with the same seed share the data split and the
initial sampling order as far as the backbone allows, so a paired test (scipy's ttest_rel)
over the shared seeds is the honest test of "did MRdIB help", and n is always reported
beside the p-value because with a handful of seeds a test has little power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float  # sample standard deviation (ddof=1); nan with one value
    n: int

    def format(self, digits: int = 4) -> str:
        if self.n == 0 or not math.isfinite(self.mean):
            return "n/a"
        if self.n == 1 or not math.isfinite(self.std):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def mean_std(values: Sequence[float]) -> MeanStd:
    array = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if array.size == 0:
        return MeanStd(math.nan, math.nan, 0)
    std = float(array.std(ddof=1)) if array.size > 1 else math.nan
    return MeanStd(float(array.mean()), std, int(array.size))


def improvement_percent(baseline: float, treated: float) -> float:
    """Relative change of the treated mean over the baseline mean, in percent (nan if undefined)."""
    if not (math.isfinite(baseline) and math.isfinite(treated)) or baseline == 0:
        return math.nan
    return (treated - baseline) / abs(baseline) * 100.0


@dataclass(frozen=True)
class PairedTest:
    """A paired t-test over the seeds both sides have."""

    n: int  # number of shared seeds
    mean_difference: float  # treated minus baseline, averaged over the shared seeds
    t_statistic: float
    p_value: float  # two-sided; nan when n < 2 or every difference is identical
    ci_low: float = math.nan  # 95% t interval of the mean difference (treated minus baseline)
    ci_high: float = math.nan

    def format_p(self) -> str:
        if not math.isfinite(self.p_value):
            return f"n/a (n={self.n})"
        return f"{self.p_value:.3f} (n={self.n})" if self.p_value >= 0.001 else f"<0.001 (n={self.n})"


def paired_test(baseline: Mapping[int, float], treated: Mapping[int, float]) -> PairedTest:
    """scipy.stats.ttest_rel over the seeds present on both sides (two-sided)."""
    from scipy import stats

    seeds = sorted(set(baseline) & set(treated))
    base = np.asarray([baseline[s] for s in seeds], dtype=float)
    treat = np.asarray([treated[s] for s in seeds], dtype=float)
    n = len(seeds)
    difference = float((treat - base).mean()) if n else math.nan
    if n < 2 or np.allclose(treat - base, (treat - base)[0]):
        return PairedTest(n, difference, math.nan, math.nan)
    result = stats.ttest_rel(treat, base)
    interval = result.confidence_interval(0.95)
    return PairedTest(n, difference, float(result.statistic), float(result.pvalue),
                      float(interval.low), float(interval.high))

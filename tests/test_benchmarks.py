"""The benchmark scripts run end to end on the built-in synthetic data and print their tables.

Their timings are for reading, never asserted; these tests only keep the scripts working.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(script: str, *args: str) -> list[list[str]]:
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines()]


def numbers(row: list[str]) -> list[float]:
    return [float(cell) for cell in row if cell.replace(".", "", 1).lstrip("-").isdigit()]


@pytest.mark.slow
def test_bench_training_prints_both_variants_and_their_ratio():
    rows = [r for r in run_benchmark("bench_training.py", "--data", "synthetic", "--backbones", "vbpr", "--epochs", "1")
            if r[:2] == ["synthetic", "vbpr"]]
    assert len(rows) == 1
    base, mrdib, ratio, eval_seconds = numbers(rows[0])
    assert base > 0 and mrdib > 0 and eval_seconds > 0
    assert ratio == pytest.approx(mrdib / base, rel=0.05)  # the seconds are printed rounded


@pytest.mark.slow
def test_bench_mrdib_parts_prints_every_part():
    output = " ".join(" ".join(r) for r in run_benchmark("bench_mrdib_parts.py", "--data", "synthetic",
                                                          "--backbone", "vbpr", "--epochs", "1"))
    for part in ("baseline", "bottleneck means", "Gaussian draws", "KL and unique terms", "MINE"):
        assert part in output


@pytest.mark.slow
def test_bench_memory_prints_peaks_above_the_loaded_data():
    rows = [r for r in run_benchmark("bench_memory.py", "--data", "synthetic", "--backbones", "vbpr") if r[:1] == ["vbpr"]]
    assert len(rows) == 1
    loaded, baseline, mrdib, _ = numbers(rows[0])
    assert 0 < loaded <= baseline and loaded <= mrdib


@pytest.mark.slow
def test_bench_allocator_runs_both_sides_in_turns():
    rows = [r for r in run_benchmark("bench_allocator.py", "--data", "synthetic", "--backbones", "vbpr",
                                     "--turns", "2", "--steps", "2") if r[:1] == ["vbpr"]]
    assert len(rows) == 1
    values = numbers(rows[0])
    assert len(values) == 9  # ms x2, ratio, faults x2, peak x2, validation pass x2
    assert values[0] > 0 and values[1] > 0 and values[5] > 0 and values[6] > 0

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


@pytest.mark.slow
def test_bench_overhead_floor_prints_the_floor_beside_the_budgets():
    rows = [r for r in run_benchmark("bench_overhead_floor.py", "--data", "synthetic", "--backbones", "vbpr", "mgcn",
                                     "--steps", "2") if r[:1] in (["vbpr"], ["mgcn"])]
    assert [r[0] for r in rows] == ["vbpr", "mgcn"]
    for row in rows:
        _, base, mrdib, _, _, bottleneck, _, floor, _, terms, budget5, budget3 = numbers(row)[:12]
        assert base > 0 and mrdib > 0 and bottleneck > 0 and 0 < terms < floor
        assert budget5 == pytest.approx(0.05 * base, abs=0.01) and budget3 == pytest.approx(0.03 * base, abs=0.01)
        assert " ".join(row).endswith(("5% below the floor", "3% below the floor", "floor within 3%"))
    vbpr_rows, mgcn_rows = numbers(rows[0])[0], numbers(rows[1])[0]
    assert vbpr_rows < mgcn_rows  # VBPR's bottleneck sees the batch's items, MGCN's every item

"""The demo plan: its first batch fills every dashboard page, run ids are fixed, nothing repeats."""

from __future__ import annotations

from collections import Counter

import pytest

from mrdib.commands.demo import (DemoAnalysis, DemoDoseResponse, DemoRun, command_steps, demo_plan, demo_steps,
                                 first_batch_size)


def test_first_batch_fills_every_page():
    plan = demo_plan(("vbpr", "freedom", "mgcn"))
    first = plan[:first_batch_size()]
    assert {run.backbone for run in first} == {"vbpr"}  # the fastest backbone first
    centre = DemoRun("vbpr", True).alphas
    assert any(not run.mrdib for run in first)  # Metrics, Disentanglement, Traces: a baseline beside +MRdIB
    at_centre = Counter(run.alphas for run in first if run.mrdib)
    assert at_centre[centre] >= 2 and at_centre.most_common(1)[0][0] == centre  # the sensitivity page's centre
    for position in range(3):  # each sensitivity panel draws a line: a second value of its alpha alone
        assert any(run.mrdib and run.alphas[position] != centre[position]
                   and all(run.alphas[i] == centre[i] for i in range(3) if i != position) for run in first)


def test_plan_has_fixed_unique_ids_and_every_variant():
    plan = demo_plan(("vbpr", "freedom", "mgcn"))
    ids = [run.run_id for run in plan]
    assert len(ids) == len(set(ids)) == 25
    assert ids[:2] == ["demo-vbpr-base-s0", "demo-vbpr-mrdib-0.001-0.01-0.01-s0"]
    assert {"demo-vbpr-mrdib-0-0.01-0.01-s0", "demo-vbpr-mrdib-0.001-0-0-s0", "demo-mgcn-base-s1"} <= set(ids)
    assert demo_plan(("vbpr", "freedom", "mgcn")) == plan


def test_a_quiet_demo_logs_a_line_per_run(tmp_path, capsys):
    """The dashboard's background demo writes its output to demo.log: it must fill as runs finish."""
    from mrdib.commands.main import main

    assert main(["demo", "--artifacts", str(tmp_path), "--limit", "1", "--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "demo: 0/1 steps done; training" in out and "demo: 1/1 steps done" in out


def test_the_pid_follows_the_first_batch_and_the_dose_response_check_comes_last():
    """Every page gets data: the PID page from the first pair's analysis right after the first
    batch, the Dose-response page from the last step; a --limit run has no dose-response check."""
    steps = command_steps(None)
    plan = demo_plan()
    assert [s for s in steps if isinstance(s, DemoRun)] == plan
    assert steps[first_batch_size()] == DemoAnalysis((plan[0], plan[1]))
    assert not plan[0].mrdib and plan[1].mrdib and plan[1].alphas == DemoRun("vbpr", True).alphas
    assert isinstance(steps[-1], DemoDoseResponse) and len(steps) == len(plan) + 2
    assert command_steps(first_batch_size()) == [*plan[:first_batch_size()], DemoAnalysis((plan[0], plan[1]))]
    assert command_steps(1) == plan[:1]
    assert demo_steps(plan[:3], dose_response=False)[-1] == DemoAnalysis((plan[0], plan[1]))


@pytest.mark.slow
def test_the_demo_dose_response_step_writes_a_check_the_page_reads(tmp_path):
    from mrdib.commands.demo import build_demo
    from mrdib.dose_response.core import list_dose_responses, read_dose_response

    build_demo(tmp_path, [DemoDoseResponse("vbpr")], epochs=2, threads=1)
    folders = list_dose_responses(tmp_path)
    assert [f.name for f in folders] == ["demo-vbpr-all"]
    result = read_dose_response(folders[0])
    assert {v["term"] for v in result["verdicts"]} == {"a1", "a2", "a3"}

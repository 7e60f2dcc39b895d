"""Sweeps on tiny synthetic data: two stages, resumability, failed runs moved aside, workers, locks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrdib.core.config import RunConfig
from mrdib.experiments.plan import first_stage, sweep_config_from_dict
from mrdib.experiments.sweep import SweepRunner, run_sweep
from mrdib.training.lifecycle import REPLACED_DIR, execute_point, point_lock, run_state
from mrdib.training.runner import train_run
from mrdib.runs.reader import read_metrics, read_run
from mrdib.training.trainer import Callback
from experiment_helpers import tiny_data_dir  # noqa: F401 (pytest fixtures)

FAST_TRAIN = {"epochs": 2, "batch_size": 512, "embedding_size": 16}  # tests/conftest.py's fast_config


def tiny_sweep(data_dir: str, **values):
    raw = {"name": "tiny", "datasets": [data_dir], "backbones": ["vbpr"], "seeds": [0, 1], "selection_seeds": [0],
           "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01], [0.05, 0.05, 0.05]]},
           "ablations": ["a2=a3=0"], "train": dict(FAST_TRAIN)}
    raw.update(values)
    return sweep_config_from_dict(raw)


def test_sweep_runs_both_stages_chooses_on_validation_and_a_rerun_skips_everything(tiny_data_dir, tmp_path, capsys):
    sweep = tiny_sweep(tiny_data_dir)
    result = run_sweep(sweep, tmp_path, progress=True, threads=1)
    assert result.complete and result.counts == {"trained": 7}  # 2 baselines, 2 grid, 1 final seed, 2 ablations
    assert "7/7" in capsys.readouterr().err  # one bar over the whole sweep, its total known up front
    plan = json.loads(result.plan_path.read_text())
    assert plan["finished"] and len(plan["points"]) == 7
    assert all(p["status"] == "done" for p in plan["points"])
    grid = [p for p in plan["points"] if p["stage"] == "grid"]
    valid = {tuple(p["alphas"]): read_run(tmp_path / "runs" / p["run_id"]).summary["valid"]["recall@5"] for p in grid}
    chosen = tuple(plan["selections"][f"{tiny_data_dir}/vbpr"]["alphas"])
    assert valid[chosen] == max(valid.values())
    final = [p for p in plan["points"] if p["stage"] in ("final", "ablation")]
    assert {tuple(p["alphas"]) for p in final if p["stage"] == "final"} == {chosen}
    assert {tuple(p["alphas"]) for p in final if p["stage"] == "ablation"} == {(chosen[0], 0.0, 0.0)}

    again = run_sweep(sweep, tmp_path, progress=False, threads=1)
    assert again.complete and again.counts == {}
    assert len(json.loads(again.plan_path.read_text())["history"]) == 2


def test_baseline_grid_choice_feeds_the_alpha_grid(tiny_data_dir, tmp_path, capsys):
    sweep = tiny_sweep(tiny_data_dir, ablations=[], baseline_grid={"vbpr": {"reg_weight": [0.0001, 0.1]}},
                       mrdib_uses_baseline_choice=True)
    result = run_sweep(sweep, tmp_path, progress=True, threads=1)
    # 2 baseline grid, 1 baseline final seed, 2 alpha grid at the chosen reg_weight, 1 final seed
    assert result.complete and result.counts == {"trained": 6}
    assert "6/6" in capsys.readouterr().err
    plan = json.loads(result.plan_path.read_text())
    reg = {p["params"]["reg_weight"]: read_run(tmp_path / "runs" / p["run_id"]).summary["valid"]["recall@5"]
           for p in plan["points"] if p["stage"] == "baseline_grid"}
    record = plan["selections"][f"{tiny_data_dir}/vbpr"]
    chosen = record["baseline_params"]["reg_weight"]
    assert reg[chosen] == max(reg.values()) and record["alphas"] is not None
    later = [p for p in plan["points"] if p["stage"] in ("baseline_final", "grid", "final")]
    assert len(later) == 4 and all(p["params"] == {"reg_weight": chosen} for p in later)
    configs = [read_run(tmp_path / "runs" / p["run_id"]).config for p in later]
    assert all(c["backbone_params"]["reg_weight"] == chosen for c in configs)

    from mrdib.results.render import render_markdown
    from mrdib.experiments.sweep_report import build_report

    report = build_report(tmp_path, ["tiny"])
    picked = report.selections[(report.table1.dataset[0], "vbpr")]  # the report agrees with the sweep
    assert json.loads(picked.baseline.key)["backbone_params"]["reg_weight"] == chosen
    assert json.loads(picked.mrdib.key)["backbone_params"]["reg_weight"] == chosen
    row = report.budgets.iloc[0]
    assert (row.baseline_configs, row.baseline_runs, row.mrdib_configs, row.mrdib_runs) == (2, 3, 2, 3)
    assert "vbpr over reg_weight [0.0001, 0.1]" in render_markdown(report)


def test_a_sweep_finishes_its_pairs_one_after_another(tiny_data_dir, tmp_path):
    # Stopped part way, a sweep should leave whole comparisons: the first backbone's stage two
    # runs before the second backbone's grid starts, not after every pair's grid.
    sweep = tiny_sweep(tiny_data_dir, backbones=["vbpr", "freedom"], seeds=[0], ablations=[],
                       baseline_grid={"vbpr": {"reg_weight": [0.0001, 0.1]},
                                      "freedom": {"reg_weight": [0.0001, 0.1]}},
                       mrdib_uses_baseline_choice=True)
    order: list[str] = []
    runner = SweepRunner(sweep, tmp_path, progress=False, threads=1, on_outcome=lambda o: order.append(o["run_id"]))
    initial = runner.study.state(enqueue=True)
    assert list(initial.status.values()).count("planned") == 1  # one worker: one trial waits at a time
    assert "due" in initial.status.values()
    from mrdib.experiments.sweep import pair_progress

    progress = pair_progress(sweep, str(tmp_path), initial)
    assert [(r["backbone"], r["done"], r["open"]) for r in progress] == [
        ("vbpr", 0, [("baseline grid", 0, 2)]), ("freedom", 0, [("baseline grid", 0, 2)])]
    result = runner.run()
    assert result.complete and len(order) == 2 * 4  # per backbone: 2 reg_weight points, 2 alpha points
    final = pair_progress(sweep, str(tmp_path), runner.study.state())
    assert [(r["done"], r["planned"], r["open"]) for r in final] == [(4, 4, []), (4, 4, [])]
    backbones = [read_run(tmp_path / "runs" / run_id).config["backbone"] for run_id in order]
    assert backbones == ["vbpr"] * 4 + ["freedom"] * 4
    plan = json.loads(result.plan_path.read_text())
    assert {p["status"] for p in plan["points"]} == {"done"}


def test_with_two_workers_a_pair_due_stage_is_not_queued_behind_the_next_pairs_grid(tiny_data_dir, tmp_path):
    # Two workers finish one after the other: the first frees up while the VBPR grid still runs
    # and takes FREEDOM's first point; the second, finishing the VBPR grid, must get VBPR's next
    # stage, not a FREEDOM point queued ahead of it (Optuna pops the oldest waiting trial).
    from mrdib.experiments.engine import ask
    from mrdib.experiments.sweep import SweepStudy

    sweep = tiny_sweep(tiny_data_dir, backbones=["vbpr", "freedom"], seeds=[0], ablations=[],
                       baseline_grid={"vbpr": {"reg_weight": [0.0001, 0.1]}, "freedom": {"reg_weight": [0.0001, 0.1]}},
                       mrdib_uses_baseline_choice=True)
    runner = SweepRunner(sweep, tmp_path, workers=2, progress=False, threads=1)
    runner.study.state(enqueue=True)  # what SweepRunner.run plans before starting its workers
    job = runner.job
    workers = [SweepStudy(job.sweep, job.artifacts, job.storage, job.heartbeat, job.grace, job.queue_ahead)
               for _ in range(2)]
    trials = [ask(w.study) for w in workers]
    popped = [t.user_attrs["run_id"] for t in trials]
    for i, worker in enumerate(workers):
        assert worker.run_one(trials[i], None, str(tmp_path / "locks"), None)["outcome"] == "trained"
        worker.state(enqueue=True)  # as `SweepStudy.work` does after each point
        popped.append(ask(worker.study).user_attrs["run_id"])
    stages = {p.run_id: (p.backbone, p.stage) for p in runner.study.state().points}
    assert [stages[r] for r in popped] == [("vbpr", "baseline_grid")] * 2 + [("freedom", "baseline_grid"),
                                                                              ("vbpr", "grid")]


def test_a_changed_grid_is_refused_unless_replanned_and_then_keeps_the_shared_runs(tiny_data_dir, tmp_path):
    from optuna.trial import TrialState

    from mrdib.core.errors import MrdibError

    before = tiny_sweep(tiny_data_dir, variants=["baseline"], baseline_grid={"vbpr": {"reg_weight": [0.0001, 0.1]}})
    assert run_sweep(before, tmp_path, progress=False, threads=1).counts == {"trained": 3}  # 2 grid + 1 final seed
    after = tiny_sweep(tiny_data_dir, variants=["baseline"], baseline_grid={"vbpr": {"reg_weight": [0.0001, 0.01]}})
    with pytest.raises(MrdibError, match=r"other settings \(baseline_grid\).*--replan"):
        run_sweep(after, tmp_path, progress=False, threads=1)
    # A trial the old plan left waiting must not be trained after the change.
    stale = SweepRunner(before, tmp_path, progress=False).study
    stale.study.enqueue_trial({}, user_attrs={"run_id": "vbpr-from-the-old-plan"})

    result = run_sweep(after, tmp_path, progress=False, threads=1, replan=True)
    # reg_weight 0.0001 and, if it won again, its seed 1 are shared; 0.01 is new.
    assert result.complete and 1 <= result.counts.get("trained", 0) <= 2 and set(result.counts) == {"trained"}
    plan = json.loads(result.plan_path.read_text())
    assert plan["history"][-1]["replanned"] == ["baseline_grid"]
    assert sorted(p["params"]["reg_weight"] for p in plan["points"] if p["stage"] == "baseline_grid") == [0.0001, 0.01]
    trials = SweepRunner(after, tmp_path, progress=False).study.study.get_trials(deepcopy=False)
    old = [t for t in trials if t.user_attrs.get("run_id") == "vbpr-from-the-old-plan"]
    assert [(t.state, t.user_attrs.get("outcome")) for t in old] == [(TrialState.FAIL, "replanned")]
    with pytest.raises(MrdibError, match="other settings"):  # a machine still on the old config is refused
        run_sweep(before, tmp_path, progress=False, threads=1)


def test_a_call_is_on_record_while_it_runs_so_a_killed_call_still_counts(tiny_data_dir, tmp_path):
    """A sweep killed without a clean stop (SIGKILL, a session's end) never reaches its finally:
    its call must already be in the plan file and the study, bounded by its last outcome."""
    from mrdib.results.render import _describe_call

    sweep = tiny_sweep(tiny_data_dir, ablations=[])
    seen: list[dict] = []

    def look(outcome):
        seen.append(json.loads(runner.path.read_text())["history"][-1])

    runner = SweepRunner(sweep, tmp_path, progress=False, threads=1, on_outcome=look)
    runner.run()
    # look() runs before the outcome's own plan write: the first sees the call as it started.
    assert seen and all(call["finished"] is None for call in seen)
    assert seen[0]["last_seen"] == seen[0]["started"] and seen[-1]["last_seen"] >= seen[0]["started"]
    assert "no clean stop recorded" in _describe_call(seen[-1])
    assert f"to at least {seen[-1]['last_seen']}" in _describe_call(seen[-1])
    final = json.loads(runner.path.read_text())["history"]
    assert len(final) == 1 and final[0]["finished"] and final[0]["counts"] == {"trained": 5}
    assert "no clean stop" not in _describe_call(final[0])
    stored = [v for k, v in runner.study.study.user_attrs.items() if k.startswith("call:")]
    assert [c["finished"] for c in stored] == [final[0]["finished"]]  # one key per call, updated in place


class _StopAfterFirstEpoch(Callback):
    def __init__(self, error: BaseException):
        self.error = error

    def on_epoch_end(self, trainer, record) -> None:
        raise self.error


def _start(point, error: BaseException) -> Path:
    cfg = RunConfig.from_dict({k: v for k, v in point.config.items() if k != "run_id"})
    cfg.run_id = point.run_id
    with pytest.raises(type(error)):
        train_run(cfg, progress=False, callbacks=[_StopAfterFirstEpoch(error)])
    return Path(cfg.artifacts) / "runs" / cfg.run_id


def test_interrupted_runs_resume_and_failed_runs_restart_after_moving_aside(tiny_data_dir, tmp_path):
    sweep = tiny_sweep(tiny_data_dir, variants=["baseline"])
    interrupted, failed = first_stage(sweep, str(tmp_path), tiny_data_dir, "vbpr")
    interrupted_dir = _start(interrupted, KeyboardInterrupt())
    failed_dir = _start(failed, RuntimeError("boom"))
    assert run_state(interrupted_dir) == "interrupted" and run_state(failed_dir) == "broken"

    result = run_sweep(sweep, tmp_path, progress=False, threads=1)
    assert result.counts == {"resumed": 1, "restarted": 1}
    assert [r["epoch"] for r in read_metrics(interrupted_dir)] == [1, 2]  # continued, not started over
    assert read_run(interrupted_dir).status == "done" and read_run(failed_dir).status == "done"
    kept = list((tmp_path / "runs" / REPLACED_DIR).iterdir())
    assert len(kept) == 1 and kept[0].name.startswith(failed.run_id)
    assert read_run(kept[0]).summary["error"] == "RuntimeError: boom"


def test_a_killed_run_with_resume_state_counts_as_interrupted(tiny_data_dir, tmp_path):
    from mrdib.runs.writer import RunWriter

    point = first_stage(tiny_sweep(tiny_data_dir, variants=["baseline"]), str(tmp_path), tiny_data_dir, "vbpr")[0]
    run_dir = _start(point, RuntimeError("killed"))
    RunWriter(run_dir).write_summary({"status": "running"})  # what a SIGKILLed process leaves behind
    assert run_state(run_dir) == "interrupted"
    (run_dir / "last.pt").unlink()
    assert run_state(run_dir) == "broken"
    assert run_state(tmp_path / "nothing") == "new"


def test_a_point_locked_by_another_process_is_left_alone(tiny_data_dir, tmp_path):
    point = first_stage(tiny_sweep(tiny_data_dir, variants=["baseline"]), str(tmp_path), tiny_data_dir, "vbpr")[0]
    locks = tmp_path / "locks"
    with point_lock(locks, point.run_id) as held:
        assert held
        outcome = execute_point(point.config, str(locks))
    assert outcome["outcome"] == "busy" and not (tmp_path / "runs" / point.run_id).exists()


def test_two_worker_processes(tiny_data_dir, tmp_path):
    sweep = tiny_sweep(tiny_data_dir, variants=["baseline"], train={**FAST_TRAIN, "epochs": 1})
    result = run_sweep(sweep, tmp_path, workers=2, progress=False)
    assert result.complete and result.counts == {"trained": 2}
    plan = json.loads(result.plan_path.read_text())
    assert plan["workers"] == 2
    assert all(read_run(tmp_path / "runs" / p["run_id"]).status == "done" for p in plan["points"])
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".tmp", ".lock")]  # nothing left behind


def test_a_double_sigint_stops_the_sweep_cleanly_and_leaves_it_resumable(tiny_data_dir, tmp_path):
    """`timeout` and Ctrl-C signal the main process and then its whole group: the sweep must
    stop its workers, write the plan, exit 130, and leave no process training behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump({
        "name": "long", "datasets": [tiny_data_dir], "backbones": ["vbpr"], "seeds": [0, 1],
        "selection_seeds": [0], "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01]]}, "ablations": [],
        "train": {**FAST_TRAIN, "epochs": 10_000, "patience": 10_000}}))
    artifacts = tmp_path / "artifacts"
    process = subprocess.Popen([sys.executable, "-m", "mrdib", "sweep", str(config), "--workers", "2",
                                "--threads", "1", "--artifacts", str(artifacts), "--quiet"],
                               start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size for p in artifacts.glob("runs/*/metrics.jsonl")):
            assert process.poll() is None and time.monotonic() < deadline, "the sweep never started training"
            time.sleep(0.5)
        os.kill(process.pid, signal.SIGINT)
        time.sleep(0.3)  # the second signal arrives while the sweep is stopping its workers
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    with pytest.raises(ProcessLookupError):  # no worker of the group is left
        for _ in range(50):
            os.killpg(process.pid, 0)
            time.sleep(0.2)
    plan = json.loads((artifacts / "sweeps" / "long.json").read_text())
    assert plan["history"][-1]["interrupted"] is True
    assert {p["status"] for p in plan["points"]} <= {"interrupted", "planned", "missing", "done"}  # missing: never queued
    assert any(p["status"] == "interrupted" for p in plan["points"])


def test_a_released_lock_leaves_no_file_and_a_stale_handle_does_not_hold_it(tmp_path):
    """The lock file goes with a clean release; a process that locked the removed file (it opened
    it just before) must not believe it holds the point while another process locks the new one."""
    import fcntl

    locks = tmp_path / "locks"
    with point_lock(locks, "run") as held:
        assert held and (locks / "run.lock").is_file()
        stale = open(locks / "run.lock", "a")  # opened by a second process while the first holds it
    assert not (locks / "run.lock").exists()
    fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # it now locks the removed file...
    with point_lock(locks, "run") as held_again:  # ...and a third process the new one
        assert held_again
    stale.close()


def test_a_lock_on_a_file_removed_meanwhile_is_not_held(tmp_path, monkeypatch):
    """Between opening the lock file and locking it, the holder released and removed it and a new
    file took its path: the lock taken is on a file nobody else sees, so the point reads busy."""
    import fcntl

    import mrdib.training.lifecycle as lifecycle_module

    locks = tmp_path / "locks"
    locks.mkdir()
    real_flock = fcntl.flock

    def replaced_then_flock(handle, operation):
        if operation & fcntl.LOCK_EX:
            (locks / "run.lock").unlink()
            (locks / "run.lock").touch()  # another process's new lock file
        return real_flock(handle, operation)

    monkeypatch.setattr(lifecycle_module.fcntl, "flock", replaced_then_flock)
    with point_lock(locks, "run") as held:
        assert not held

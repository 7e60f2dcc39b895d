"""Sweeps and tuning studies shared by several worker processes through one study database
(SQLite, and PostgreSQL where `.ci/run` started one: $MRDIB_TEST_POSTGRES_URL).

Three worker commands join the same sweep (or study), as three machines would; one is killed
with SIGKILL while it trains a point. Its point must be taken over and resumed from last.pt,
every point must finish exactly once, and the report read from the storage must equal the one
of a single process training the same points.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from optuna.trial import TrialState

from mrdib.runs.database import plain_storage
from mrdib.experiments.plan import read_sweep_config
from mrdib.experiments.sweep_report import build_report
from mrdib.experiments.sweep import SweepStudy, run_sweep
from mrdib.runs.layout import sweep_study_name as study_name
from mrdib.runs.reader import read_metrics
from experiment_helpers import one_thread, tiny_data_dir  # noqa: F401 (pytest fixtures)

# End-to-end with worker processes: `make test` leaves them to `make test-all` (CI).
pytestmark = pytest.mark.slow

POSTGRES_URL = os.environ.get("MRDIB_TEST_POSTGRES_URL")
TRAIN = {"epochs": 12, "patience": 100, "batch_size": 512, "embedding_size": 16}
ENGINE = ["--heartbeat", "1", "--grace", "4"]  # a dead worker's point is taken over after 4 s
DEADLINE = 240  # seconds for the whole sweep or study; generous for 2 busy cores


def storages() -> list:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="no PostgreSQL server (set MRDIB_TEST_POSTGRES_URL; .ci/run starts one)"))]


def storage_url(kind: str, tmp_path: Path) -> str:
    return POSTGRES_URL if kind == "postgresql" else f"sqlite:///{tmp_path / 'shared.db'}"


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "mrdib", *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_a_worker_mid_run(study: optuna.Study, artifacts: Path, workers: list[subprocess.Popen]) -> str:
    """SIGKILL the worker of a running trial once its run has saved a resume state (last.pt);
    returns the run id it was training."""
    pids = {w.pid for w in workers}
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            run_id, worker = trial.user_attrs.get("run_id"), trial.user_attrs.get("worker", ":")
            pid = int(worker.rsplit(":", 1)[1] or 0)
            folder = artifacts / "runs" / run_id if run_id else None
            # Mid-run: a resume state saved and epochs still to train. (Killed at its last epoch, a
            # worker could finish the run first, and the next worker would only record it: seen
            # once in 10 runs under load before this condition.)
            mid_run = (folder is not None and (folder / "last.pt").is_file()
                       and epochs_recorded(folder) < TRAIN["epochs"] - 2)
            if mid_run and pid in pids:
                os.kill(pid, signal.SIGKILL)
                return run_id
        assert all(w.poll() is None for w in workers), "a worker exited before any could be killed"
        time.sleep(0.05)
    raise AssertionError("no worker was ever caught mid-run")


def epochs_recorded(run_dir: Path) -> int:
    """Epochs in a run's metrics.jsonl so far: a worker is killed only with epochs still to train."""
    path = run_dir / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def wait_all(workers: list[subprocess.Popen]) -> list[str]:
    outputs = []
    try:
        for worker in workers:
            out, _ = worker.communicate(timeout=DEADLINE)
            outputs.append(out)
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    return outputs


def assert_each_run_completed_once(trials: list, killed_run: str, artifacts: Path, kind: str) -> None:
    complete = Counter(t.user_attrs["run_id"] for t in trials if t.state == TrialState.COMPLETE)
    assert complete and set(complete.values()) == {1}, complete  # every point finished exactly once
    assert not [t for t in trials if t.state in (TrialState.WAITING, TrialState.RUNNING)]
    mine = sorted((t for t in trials if t.user_attrs.get("run_id") == killed_run), key=lambda t: t.number)
    states = [t.state for t in mine]
    assert states.count(TrialState.COMPLETE) == 1, states
    # Two workers that see the stale trial at once may both re-queue it: the later copy is closed
    # unrun as a duplicate of the first (seen under load, 1 run in 3), never trained twice.
    later = mine[states.index(TrialState.COMPLETE) + 1:]
    assert all(t.state == TrialState.PRUNED and "duplicate_of" in t.user_attrs for t in later), states
    # Failed by its stale heartbeat, then re-queued. On SQLite (no row locks) a second worker may
    # have popped the same trial and waited on the run folder's lock: it resumes the run as soon as
    # the killed worker's lock is gone, and the trial completes without ever failing (seen once in
    # 12 runs under load). The run is still trained once and resumed, as asserted around this.
    if kind == "postgresql":
        assert any(t.state == TrialState.FAIL for t in mine)
    finished = next(t for t in mine if t.state == TrialState.COMPLETE)
    assert finished.user_attrs["how"] == "resumed"  # from last.pt, not started over
    epochs = [r["epoch"] for r in read_metrics(artifacts / "runs" / killed_run)]
    assert epochs == list(range(1, TRAIN["epochs"] + 1))  # every epoch once, none trained twice


def assert_exit_codes(workers: list[subprocess.Popen], outputs: list[str]) -> None:
    """One worker killed, the others done with code 0; else fail with every worker's whole output
    (an assertion's repr would cut the traceback that says why a survivor exited)."""
    codes = sorted(w.returncode for w in workers)
    if codes != [-signal.SIGKILL, 0, 0]:
        pytest.fail(f"worker exit codes {codes}, expected [-9, 0, 0]; their output:\n"
                    + "\n----\n".join(outputs), pytrace=False)


def assert_nothing_left_behind(artifacts: Path) -> None:
    """No temporary file half written and no lock file once every point has finished."""
    leftovers = [p for p in artifacts.rglob("*") if p.suffix in (".tmp", ".lock") or ".tmp" in p.name]
    assert not leftovers, leftovers


def assert_same_tables(ours, reference) -> None:
    for name in ("table1", "table2", "sensitivity"):
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(reference, name), check_exact=False,
                                      rtol=1e-6, obj=name)
    assert ours.budget["runs"] == reference.budget["runs"] and ours.budget["epochs"] == reference.budget["epochs"]


CLAIM_AND_DIE = """
import os, signal, sys
from mrdib.experiments.engine import ask
from mrdib.experiments.plan import read_sweep_config
from mrdib.experiments.sweep import SweepStudy
study = SweepStudy(read_sweep_config(sys.argv[1]), sys.argv[2], sys.argv[3], heartbeat=1, grace=4)
study.state(enqueue=True)
ask(study.study)  # claimed: the trial is running, and no heartbeat was ever recorded
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", storages())
def test_a_worker_killed_right_after_claiming_is_taken_over(kind, tiny_data_dir, tmp_path):
    """Optuna's stale-trial check only sees trials with a heartbeat: a worker killed between its
    claim and its first heartbeat must not leave its point running for ever."""
    name = f"orphan-{uuid.uuid4().hex[:8]}"
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "name": name, "datasets": [tiny_data_dir], "backbones": ["vbpr"], "variants": ["baseline"],
        "seeds": [0, 1], "ablations": [], "train": {**TRAIN, "epochs": 2}}))
    url, artifacts = storage_url(kind, tmp_path), tmp_path / "shared"
    claim = subprocess.run([sys.executable, "-c", CLAIM_AND_DIE, str(config), str(artifacts), url],
                           capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert claim.returncode == -signal.SIGKILL, claim.stderr
    study = optuna.load_study(study_name=study_name(name), storage=plain_storage(url))
    [orphan] = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    worker = start(["sweep", str(config), "--artifacts", str(artifacts), "--storage", url, "--threads", "1",
                    "--quiet", *ENGINE])
    [output] = wait_all([worker])
    assert worker.returncode == 0, output
    trials = study.get_trials(deepcopy=False)
    assert next(t for t in trials if t.number == orphan.number).state == TrialState.FAIL
    complete = Counter(t.user_attrs["run_id"] for t in trials if t.state == TrialState.COMPLETE)
    assert len(complete) == 2 and set(complete.values()) == {1}, complete
    assert orphan.user_attrs["run_id"] in complete
    assert not [t for t in trials if t.state in (TrialState.WAITING, TrialState.RUNNING)]
    assert_nothing_left_behind(artifacts)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", storages())
def test_three_sweep_workers_one_killed_finish_every_point_once(kind, tiny_data_dir, tmp_path):
    name = f"dist-{uuid.uuid4().hex[:8]}"
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "name": name, "datasets": [tiny_data_dir], "backbones": ["vbpr"], "seeds": [0, 1], "selection_seeds": [0],
        "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01], [0.05, 0.05, 0.05]]}, "ablations": [],
        "train": TRAIN}))
    url, artifacts = storage_url(kind, tmp_path), tmp_path / "shared"
    workers = [start(["sweep", str(config), "--artifacts", str(artifacts), "--storage", url, "--threads", "1",
                      "--quiet", *ENGINE]) for _ in range(3)]
    try:
        sweep = read_sweep_config(config)
        while True:  # the first worker creates the study
            try:
                study = optuna.load_study(study_name=study_name(name), storage=plain_storage(url))
                break
            except KeyError:
                assert all(w.poll() is None for w in workers), wait_all(workers)
                time.sleep(0.2)
        killed_run = kill_a_worker_mid_run(study, artifacts, workers)
    finally:
        outputs = wait_all(workers)
    assert_exit_codes(workers, outputs)

    state = SweepStudy(sweep, str(artifacts), url).state()
    assert state.finished and len(state.points) == 5  # 2 baselines, 2 grid points, the chosen alphas on seed 1
    assert_each_run_completed_once(study.get_trials(deepcopy=False), killed_run, artifacts, kind)
    assert_nothing_left_behind(artifacts)

    single = tmp_path / "single"
    result = run_sweep(sweep, single, progress=False, threads=1)
    assert result.complete and result.counts == {"trained": 5}
    # The report reads the shared storage only: no run folder of the shared artifacts is needed.
    ours = build_report(tmp_path / "elsewhere", [name], storage=url)
    assert_same_tables(ours, build_report(single, [name]))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", storages())
def test_three_tuning_workers_one_killed_finish_every_trial_once(kind, tiny_data_dir, tmp_path):
    name = f"dist-{uuid.uuid4().hex[:8]}"
    url, artifacts = storage_url(kind, tmp_path), tmp_path / "shared"
    train = ["--epochs", str(TRAIN["epochs"]), "--patience", "100", "--batch-size", "512", "--embedding-size", "16",
             "--threads", "1"]
    common = ["tune", "--data", tiny_data_dir, "--study", name, "--storage", url, "--trials", "4", "--no-prune",
              "--startup-trials", "2", "--artifacts", str(artifacts), "--quiet", *train, *ENGINE]
    first = start([*common, "--sampler-seed", "0"])
    try:
        while True:
            try:
                study = optuna.load_study(study_name=name, storage=plain_storage(url))
                break
            except KeyError:
                assert first.poll() is None, wait_all([first])
                time.sleep(0.2)
        workers = [first] + [start([*common, "--sampler-seed", str(seed)]) for seed in (1, 2)]
        killed_run = kill_a_worker_mid_run(study, artifacts, workers)
    finally:
        outputs = wait_all(workers if "workers" in locals() else [first])
    assert_exit_codes(workers, outputs)

    trials = study.get_trials(deepcopy=False)
    assert_each_run_completed_once(trials, killed_run, artifacts, kind)
    assert_nothing_left_behind(artifacts)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) >= 4  # the budget (workers that started a trial together may pass it)

    # The same alphas trained by one process, in a fresh study on its own SQLite file.
    reference = optuna.create_study(study_name="reference", storage=f"sqlite:///{tmp_path / 'reference.db'}",
                                    direction="maximize")
    for trial in complete:
        reference.enqueue_trial(trial.params)
    single = tmp_path / "single"
    from mrdib.commands.main import main

    assert main(["tune", "--data", tiny_data_dir, "--study", "reference", "--storage",
                 f"sqlite:///{tmp_path / 'reference.db'}", "--trials", str(len(complete)), "--no-prune",
                 "--artifacts", str(single), "--quiet", *train]) == 0
    done = [t for t in optuna.load_study(study_name="reference", storage=f"sqlite:///{tmp_path / 'reference.db'}")
            .get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    by_alphas = {tuple(round(t.params[a], 12) for a in ("a1", "a2", "a3")): t for t in done}
    assert len(by_alphas) == len(complete)
    for trial in complete:
        twin = by_alphas[tuple(round(trial.params[a], 12) for a in ("a1", "a2", "a3"))]
        assert trial.value == pytest.approx(twin.value, rel=1e-6)
        assert trial.user_attrs["run"]["summary"]["test"] == pytest.approx(twin.user_attrs["run"]["summary"]["test"],
                                                                          rel=1e-6)
    ours = build_report(tmp_path / "elsewhere", storage=url, studies=[name])
    assert_same_tables(ours, build_report(tmp_path / "elsewhere", storage=f"sqlite:///{tmp_path / 'reference.db'}",
                                          studies=["reference"]))

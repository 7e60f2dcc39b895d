"""Run a sweep on the shared engine (an Optuna study, `mrdib.experiments.engine`).

Every point of the sweep is a trial enqueued in the study `sweep:<name>` (SQLite in
`<artifacts>/sweeps/<name>.db` unless `--storage` names a database several machines share).
Workers, in this process or in many on many machines, pop waiting trials; Optuna hands each to
exactly one. The stage-two points of a (data set, backbone) are enqueued by whichever worker
first sees its grid finished; the choice is made from the validation scores stored with the
trials, so every worker makes the same one, and a point enqueued twice (two workers planning
at once) is trained once: the later trial defers to the earlier and is closed as a duplicate.

The truth about each point's training is still its run folder: `done` is skipped, an
interrupted run (status running, or stopped by Ctrl-C, with a resume state) is resumed, and a
failed or unusable one is moved aside to `runs/.replaced/` and started afresh. The plan, with
the choices made by validation, is mirrored in `<artifacts>/sweeps/<name>.json` (written
atomically) for people and for `mrdib report --sweep NAME`.
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from mrdib.core.errors import MrdibError
from mrdib.core.io import atomic_write_json
from mrdib.experiments.engine import (Heartbeat, OrphanWatch, ask, fail_stale_trials, threads_per_worker, worker_devices,
                                      worker_name)
from mrdib.experiments.plan import (Alphas, SweepConfig, SweepPoint, baseline_stage, check_sweep_runs, first_stage,
                                    planned_size, second_stage, second_stage_size)
from mrdib.experiments.pool import POLL_SECONDS, interrupt_once, pause, run_here, run_pool
from mrdib.results.selection import select_by_validation
from mrdib.runs.database import DEFAULT_GRACE, DEFAULT_HEARTBEAT, open_storage, plain_storage, redact, sqlite_url
from mrdib.runs.layout import locks_dir, sweep_database, sweep_plan_path, sweep_study_name
from mrdib.runs.storage import RUN_ATTR, run_attrs
from mrdib.training.lifecycle import StopOnEvent, execute_point
from mrdib.training.trainer import Callback

# -- the sweep's study -------------------------------------------------------------------------

_FINAL = ("done", "failed")


@dataclass
class SweepResult:
    """What a sweep call did; `plan_path` holds the full record."""

    plan_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    selections: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    unfinished: int = 0  # points still planned or running elsewhere when this call returned
    restored: Any = None  # the RestoreResult of restore_from, if given

    @property
    def complete(self) -> bool:
        return not self.interrupted and not self.failed and self.unfinished == 0


def sweep_storage(artifacts: str | Path, name: str, storage: str | None = None) -> str:
    """The sweep's database: `storage` when given, else SQLite beside its plan file."""
    return storage or sqlite_url(sweep_database(artifacts, name))


def sweep_started(artifacts: str | Path, name: str, storage: str | None = None) -> bool:
    """Whether the sweep's study exists, without creating it (a dry run must not write)."""
    import optuna

    if storage is None and not sweep_database(artifacts, name).is_file():
        return False
    return sweep_study_name(name) in optuna.get_all_study_names(plain_storage(sweep_storage(artifacts, name, storage)))


def point_status(trials: list[Any]) -> str:
    """One point's state from its trials: done, running, planned, failed (by its own error),
    interrupted (stopped by Ctrl-C) or missing (never enqueued, or its worker died and its
    retry is not queued yet). `SweepStudy.state` adds 'due': ready, held back by queue_ahead."""
    from optuna.trial import TrialState

    live = [t for t in trials if t.state != TrialState.PRUNED]  # pruned: closed as a duplicate
    if any(t.state == TrialState.COMPLETE for t in live):
        return "done"
    if any(t.state == TrialState.RUNNING for t in live):
        return "running"
    if any(t.state == TrialState.WAITING for t in live):
        return "planned"
    finished = sorted((t for t in live if t.state == TrialState.FAIL), key=lambda t: t.number)
    if finished and finished[-1].user_attrs.get("outcome") in ("failed", "interrupted"):
        return finished[-1].user_attrs["outcome"]
    return "missing"


def _sweep_identity(sweep: SweepConfig) -> dict[str, Any]:
    """The settings every worker of one sweep must share (not where each keeps its files)."""
    identity = asdict(sweep)
    for key in ("artifacts", "notes"):
        identity.pop(key, None)
    # Settings added later are left out at their defaults, so studies stored before them still match.
    for key, default in (("baseline_grid", {}), ("mrdib_uses_baseline_choice", False)):
        if identity.get(key) == default:
            identity.pop(key, None)
    return identity


@dataclass
class SweepState:
    """The sweep as the study holds it right now."""

    points: list[SweepPoint]  # every point known so far, stage one first
    status: dict[str, str]  # run id -> point_status
    selections: dict[str, Any]
    pending_pairs: list[tuple[str, str]]  # (data set, backbone) whose grid is not finished yet
    waiting: int  # trials a worker could pop

    @property
    def finished(self) -> bool:
        return not self.pending_pairs and all(self.status[p.run_id] in _FINAL for p in self.points)


# Stages in the order a pair goes through them, with the names progress lines give them.
STAGE_NAMES: dict[str, str] = {"baseline_grid": "baseline grid", "baseline": "baselines", "grid": "+MRdIB grid",
                               "baseline_final": "seeds", "control": "control", "final": "seeds",
                               "ablation": "ablations"}


def pair_progress(sweep: SweepConfig, artifacts: str, state: SweepState) -> list[dict[str, Any]]:
    """Per (data set, backbone): runs done, running and planned (an upper bound until its later
    stages are known), and each known stage with points still to run as (name, done, size);
    `open` is empty once the pair is finished."""
    rows = []
    for dataset, backbone in [(d, b) for d in sweep.datasets for b in sweep.backbones]:
        mine = [p for p in state.points if (p.dataset, p.backbone) == (dataset, backbone)]
        status = [state.status[p.run_id] for p in mine]
        open_stages = []
        for stage in dict.fromkeys(STAGE_NAMES.values()):
            points = [state.status[p.run_id] for p in mine if STAGE_NAMES.get(p.stage) == stage]
            if any(s not in _FINAL for s in points):
                open_stages.append((stage, points.count("done"), len(points)))
        rows.append({"dataset": dataset, "backbone": backbone, "done": status.count("done"),
                     "running": status.count("running"), "failed": status.count("failed"),
                     "planned": max(len(mine), planned_size(sweep, artifacts, dataset, backbone)),
                     "open": open_stages})
    return rows


class SweepStudy:
    """A sweep's points as trials of one Optuna study: planning, claiming and recording them."""

    def __init__(self, sweep: SweepConfig, artifacts: str, storage: str | None = None,
                 heartbeat: int = DEFAULT_HEARTBEAT, grace: int = DEFAULT_GRACE, queue_ahead: int | None = None):
        import optuna

        self.sweep, self.artifacts = sweep, str(artifacts)
        # At most this many trials wait in the queue; the rest of what is due stays 'due' and is
        # queued in plan order (pair by pair) as workers free up, so the first (data set,
        # backbone) pairs finish, stage two included, before later pairs start: a sweep stopped
        # part way leaves whole comparisons, not every pair's grid half done. None: queue all.
        self.queue_ahead = queue_ahead
        self.url = sweep_storage(artifacts, sweep.name, storage)
        self.heartbeat = heartbeat
        self.storage = open_storage(self.url, heartbeat, grace)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(study_name=sweep_study_name(sweep.name), storage=self.storage,
                                         direction="maximize", load_if_exists=True)
        self.pairs = [(d, b) for d in sweep.datasets for b in sweep.backbones]
        self._first: dict[tuple[str, str], list[SweepPoint]] = {}
        self._middle: dict[tuple[tuple[str, str], str], list[SweepPoint]] = {}
        self._second: dict[tuple[tuple[str, str], Alphas, str], list[SweepPoint]] = {}
        self.grace = grace
        self.orphans = OrphanWatch(grace)  # trials whose worker died before its first heartbeat

    def check_config(self, replan: bool = False) -> list[str]:
        """The first caller records the sweep's settings; a worker with different ones is refused,
        unless `replan`: then the new settings replace the stored ones and the settings that
        changed are returned. Points both plans share keep their results (run ids are hashes of
        the runs' configs); trials still waiting from the old plan are closed unrun, so no worker
        trains a point the new plan dropped. Workers still on the old config are refused after."""
        from optuna.trial import TrialState

        mine = _sweep_identity(self.sweep)
        stored = self.study.user_attrs.get("sweep")
        if stored is None:
            self.study.set_user_attr("sweep", mine)
            self.study.set_user_attr("kind", "sweep")
            return []
        differing = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
        if not differing:
            return []
        if not replan:
            raise MrdibError(f"storage {redact(self.url)}: sweep '{self.sweep.name}' is already stored with other "
                             f"settings ({', '.join(differing)}); use the same config on every machine, rename "
                             "it, or rerun with --replan to replace the stored plan (shared finished runs are kept)")
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            self.storage.set_trial_user_attr(trial._trial_id, "outcome", "replanned")
            self.storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        self.study.set_user_attr("sweep", mine)
        return differing

    def _trials_by_run(self) -> dict[str, list[Any]]:
        by_run: dict[str, list[Any]] = {}
        for trial in self.study.get_trials(deepcopy=False):
            run_id = trial.user_attrs.get("run_id")
            if run_id is not None:
                by_run.setdefault(run_id, []).append(trial)
        return by_run

    def _enqueue(self, point: SweepPoint) -> None:
        self.study.enqueue_trial({}, user_attrs={"run_id": point.run_id,
                                                 "point": {**point.to_dict(), "config": point.config}})

    def _valid_scores(self, points: list[SweepPoint], key_of: Callable[[SweepPoint], str],
                      by_run: dict[str, list[Any]]) -> dict[str, dict[int, float]]:
        """{candidate key: {seed: validation score}} from the finished trials of `points`."""
        from optuna.trial import TrialState

        scores: dict[str, dict[int, float]] = {}
        for point in points:
            for trial in by_run.get(point.run_id, []):
                if trial.state == TrialState.COMPLETE:
                    value = trial.user_attrs.get(RUN_ATTR, {}).get("summary", {}).get("valid", {}).get(self.sweep.metric)
                    if value is not None:
                        scores.setdefault(key_of(point), {})[point.seed] = float(value)
        return scores

    def _select(self, pair: tuple[str, str], grid: list[SweepPoint], by_run: dict[str, list[Any]]
                ) -> tuple[Alphas | None, dict[str, Any]]:
        """Choose the alphas of one (data set, backbone) from its grid trials' validation scores."""
        scores = self._valid_scores(grid, lambda p: repr(p.alphas), by_run)
        key = select_by_validation(scores)
        record: dict[str, Any] = {"dataset": pair[0], "backbone": pair[1], "metric": self.sweep.metric,
                                  "grid_points": len({repr(p.alphas) for p in grid}), "scored_points": len(scores)}
        chosen = next((p.alphas for p in grid if repr(p.alphas) == key), None) if key else None
        if chosen is not None:
            record["alphas"] = list(chosen)
            record["valid_mean"] = sum(scores[key].values()) / len(scores[key])
        else:
            record.update(alphas=None, reason="no grid point finished")
        return chosen, record

    def _select_baseline(self, grid: list[SweepPoint], by_run: dict[str, list[Any]]
                         ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Choose the baseline's settings from its grid trials' validation scores, like the alphas."""
        def key_of(point: SweepPoint) -> str:
            return json.dumps(point.params, sort_keys=True, default=str)

        scores = self._valid_scores(grid, key_of, by_run)
        key = select_by_validation(scores)
        record: dict[str, Any] = {"baseline_grid_points": len({key_of(p) for p in grid}),
                                  "baseline_scored_points": len(scores)}
        chosen = next((dict(p.params) for p in grid if key_of(p) == key), None) if key else None
        record["baseline_params"] = chosen
        if chosen is not None:
            record["baseline_valid_mean"] = sum(scores[key].values()) / len(scores[key])
        return chosen, record

    def _first_stage(self, pair: tuple[str, str]) -> list[SweepPoint]:
        if pair not in self._first:  # resolving a point's config reads YAML: once per worker
            self._first[pair] = first_stage(self.sweep, self.artifacts, *pair)
        return self._first[pair]

    def _baseline_stage(self, pair: tuple[str, str], params: dict[str, Any]) -> list[SweepPoint]:
        key = (pair, json.dumps(params, sort_keys=True, default=str))
        if key not in self._middle:
            self._middle[key] = baseline_stage(self.sweep, self.artifacts, *pair, params)
        return self._middle[key]

    def _second_stage(self, pair: tuple[str, str], chosen: Alphas, params: dict[str, Any] | None) -> list[SweepPoint]:
        key = (pair, chosen, json.dumps(params, sort_keys=True, default=str))
        if key not in self._second:
            self._second[key] = second_stage(self.sweep, self.artifacts, *pair, chosen, params)
        return self._second[key]

    def planned_total(self, state: "SweepState") -> int:
        """Runs known so far plus, for each unfinished pair, the ones its later stages will add."""
        known: dict[tuple[str, str], int] = {}
        for point in state.points:
            known[(point.dataset, point.backbone)] = known.get((point.dataset, point.backbone), 0) + 1
        later = 0
        for pair in state.pending_pairs:
            planned = len(self._first_stage(pair)) + second_stage_size(self.sweep, *pair)
            later += max(0, planned - known.get(pair, 0))
        return len(state.points) + later

    def state(self, enqueue: bool = False, retry_failed: bool = False, settled: float | None = None) -> SweepState:
        """Read the sweep from the study; with `enqueue`, also queue every point that has no live
        trial (new, interrupted, or whose worker died), failed ones too with `retry_failed`, and
        stage two of every pair whose grid has finished; with `queue_ahead`, only until that many
        wait, in plan order (the rest is reported as 'due').

        With `settled`, a point is queued only once what made it due (its last trial ending, or
        its grid finishing) is `settled` seconds old: idle workers are the backup of the worker
        that finished that trial, which plans at once, so they rarely queue a point twice.
        """
        from datetime import timedelta

        from optuna.trial import TrialState

        by_run = self._trials_by_run()
        points: dict[str, SweepPoint] = {}
        status: dict[str, str] = {}
        selections: dict[str, Any] = {}
        pending: list[tuple[str, str]] = []
        cutoff = None if settled is None else datetime.now() - timedelta(seconds=settled)  # Optuna's local time
        room = None
        if enqueue and self.queue_ahead is not None:
            room = self.queue_ahead - sum(t.state == TrialState.WAITING for ts in by_run.values() for t in ts)

        def last_end(run_ids: list[str]) -> datetime | None:
            ends = [t.datetime_complete for r in run_ids for t in by_run.get(r, []) if t.datetime_complete]
            return max(ends, default=None)

        def add(planned: list[SweepPoint], due_since: datetime | None = None) -> None:
            nonlocal room
            for point in planned:
                if point.run_id in points:
                    continue
                points[point.run_id] = point
                status[point.run_id] = point_status(by_run.get(point.run_id, []))
                retry = retry_failed and status[point.run_id] == "failed"  # a rerun retries them all at once
                needs = status[point.run_id] in ("missing", "interrupted") or retry
                since = last_end([point.run_id]) or due_since
                if enqueue and needs and (cutoff is None or since is None or since < cutoff):
                    if room is not None and room <= 0 and not retry:
                        status[point.run_id] = "due"
                        continue
                    self._enqueue(point)
                    status[point.run_id] = "planned"
                    if room is not None:
                        room -= 1

        def finished(planned: list[SweepPoint]) -> bool:
            return all(status[p.run_id] in _FINAL for p in planned)

        for pair in self.pairs:
            first = self._first_stage(pair)
            add(first)
            if not finished(first):
                pending.append(pair)
                continue
            grid, params = [p for p in first if p.stage == "grid"], None
            baseline_record: dict[str, Any] = {}
            if self.sweep.baseline_settings(pair[1]) and "baseline" in self.sweep.variants:
                params, baseline_record = self._select_baseline(
                    [p for p in first if p.stage == "baseline_grid"], by_run)
                selections[f"{pair[0]}/{pair[1]}"] = {"dataset": pair[0], "backbone": pair[1],
                                                      "metric": self.sweep.metric, "alphas": None,
                                                      "reason": "alpha grid not finished", **baseline_record}
                if params is None:
                    selections[f"{pair[0]}/{pair[1]}"]["reason"] = "no baseline grid point finished"
                    continue
                middle = self._baseline_stage(pair, params)
                add(middle, last_end([p.run_id for p in first]))
                if self.sweep.waits_for_baseline(pair[1]):
                    grid = [p for p in middle if p.stage == "grid"]
                    if not finished(grid):
                        pending.append(pair)
                        continue
                else:
                    params = None  # the alpha grid ran at the sweep's own backbone settings
            if "mrdib" not in self.sweep.variants:
                if baseline_record:
                    selections[f"{pair[0]}/{pair[1]}"]["reason"] = "no +MRdIB in this sweep"
                continue
            chosen, record = self._select(pair, grid, by_run)
            selections[f"{pair[0]}/{pair[1]}"] = {**record, **baseline_record}
            if chosen is not None:
                add(self._second_stage(pair, chosen, params), last_end([p.run_id for p in first + grid]))
        if enqueue:
            for key, record in selections.items():
                if self.study.user_attrs.get(f"selection:{key}") != record:
                    self.study.set_user_attr(f"selection:{key}", record)
        waiting = len(self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
        return SweepState(list(points.values()), status, selections, pending, waiting)

    # -- one worker's part ---------------------------------------------------------------------
    def run_one(self, trial: Any, device: str | None, lock_dir: str, stop: Any) -> dict[str, Any]:
        """Train the point of a popped trial (or close it as a duplicate) and record the result."""
        import optuna
        from optuna.trial import TrialState

        run_id = trial.user_attrs["run_id"]
        trial.set_user_attr("worker", worker_name())
        with Heartbeat(self.storage, trial._trial_id, self.heartbeat) as beat:
            earlier = [t for t in self.study.get_trials(deepcopy=False)
                       if t.user_attrs.get("run_id") == run_id and t.number != trial.number
                       and (t.state == TrialState.COMPLETE
                            or (t.state in (TrialState.WAITING, TrialState.RUNNING) and t.number < trial.number))]
            if earlier:
                trial.set_user_attr("duplicate_of", earlier[0].number)
                self.study.tell(trial, state=TrialState.PRUNED)
                return {"run_id": run_id, "outcome": "duplicate", "error": None, "seconds": 0.0}
            config = dict(trial.user_attrs["point"]["config"])
            config.update(artifacts=self.artifacts, run_id=run_id)  # this machine's folder
            if device:
                config["train"] = {**config["train"], "device": device}
            callbacks: list[Callback] = [StopOnEvent(beat.lost)]  # `stop` itself is checked by execute_point
            while True:
                outcome = execute_point(config, lock_dir, callbacks, stop=stop)
                if outcome["outcome"] != "busy" or beat.lost.is_set():
                    break
                # Another sweep on this machine is training the same run folder: wait for it.
                if pause(stop, POLL_SECONDS * 5):
                    outcome = {**outcome, "outcome": "interrupted", "error": "interrupted"}
                    break
            lost = {**outcome, "outcome": "lost", "error": "heartbeat lost"}
            if beat.lost.is_set():  # declared dead by another worker, which has taken the point over
                return lost
            try:
                self._record(trial, outcome)
            except optuna.exceptions.UpdateFinishedTrialError:  # declared dead a moment ago
                return lost
        return outcome

    def _record(self, trial: Any, outcome: dict[str, Any]) -> None:
        """Store what became of the point with its trial and finish the trial."""
        from optuna.trial import TrialState

        kind = outcome["outcome"]
        trial.set_user_attr("outcome", kind if kind in ("failed", "interrupted") else "done")
        trial.set_user_attr("how", kind)  # trained, resumed, restarted, skipped, ...
        if kind in ("failed", "interrupted"):
            if outcome.get("error"):
                trial.set_user_attr("error", str(outcome["error"])[:2000])
            self.study.tell(trial, state=TrialState.FAIL)
            return
        attrs = run_attrs(outcome["run_dir"])
        trial.set_user_attr(RUN_ATTR, attrs)
        value = attrs["summary"].get("valid", {}).get(self.sweep.metric)
        self.study.tell(trial, float(value) if value is not None else 0.0)

    def work(self, device: str | None = None, stop: Any = None,
             on_outcome: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Pop and train points until the whole sweep has finished (points running on other
        workers included: one of them may die and leave its point to this one) or `stop` is set."""
        import sqlalchemy

        try:
            self._work(device, stop, on_outcome)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MrdibError(f"storage {redact(self.url)}: lost the database ({reason}); "
                             "rerun the same command to continue (finished points are kept)")

    def _work(self, device: str | None, stop: Any, on_outcome: Callable[[dict[str, Any]], None] | None) -> None:
        from optuna.trial import TrialState

        lock_dir = str(locks_dir(self.artifacts))
        just_finished = False  # the caller (SweepRunner.run) has just planned the sweep
        while stop is None or not stop.is_set():
            fail_stale_trials(self.study, self.orphans)
            state = self.state(enqueue=True, settled=None if just_finished else self.grace)
            just_finished = False
            if state.waiting == 0:
                if state.finished:
                    return
                pause(stop, POLL_SECONDS)
                continue
            if stop is not None and stop.is_set():
                return
            trial = ask(self.study)
            if "run_id" not in trial.user_attrs:  # another worker popped the last one first
                trial.set_user_attr("idle", True)
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            outcome = self.run_one(trial, device, lock_dir, stop)
            just_finished = True
            if on_outcome is not None:
                on_outcome(outcome)
            if outcome["outcome"] == "interrupted":
                return


@dataclass
class WorkerJob:
    """What one worker process needs to join a sweep (picklable, for spawn)."""

    sweep: SweepConfig
    artifacts: str
    storage: str
    device: str | None
    threads: int
    heartbeat: int
    grace: int
    queue_ahead: int | None = None


def sweep_worker(job: WorkerJob, stop: Any, report: Any) -> None:
    """One worker (a pool process): join the study and work until the sweep is finished."""
    SweepStudy(job.sweep, job.artifacts, job.storage, job.heartbeat, job.grace, job.queue_ahead).work(
        job.device, stop, report)


class SweepRunner:
    """Joins (or starts) a sweep's study with `workers` processes and keeps the plan file current."""

    def __init__(self, sweep: SweepConfig, artifacts: str | Path, workers: int = 1, progress: bool | None = None,
                 command: str | None = None, config_path: str | None = None,
                 on_outcome: Callable[[dict[str, Any]], None] | None = None, threads: int | None = None,
                 device: str | None = None, storage: str | None = None, heartbeat: int = DEFAULT_HEARTBEAT,
                 grace: int = DEFAULT_GRACE, replan: bool = False, restore_from: str | Path | None = None):
        self.sweep, self.artifacts = sweep, str(artifacts)
        self.restore_from = restore_from  # a committed runs.csv: its runs count as done (mrdib.experiments.restore)
        self.replan, self.replanned = replan, []  # see SweepStudy.check_config
        self.workers = max(1, int(workers))
        self.threads = threads_per_worker(self.workers, threads)
        self.devices = worker_devices(device, self.workers)  # not part of a run's identity
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.command = command  # the shell command, for the report; None when called from Python
        self.config_path = config_path
        self.on_outcome = on_outcome
        self.path = sweep_plan_path(self.artifacts, sweep.name)
        # The first plan queues one trial per worker; afterwards each worker queues only its own
        # next one as it frees up (queue_ahead=1). Optuna pops waiting trials oldest first, so a
        # trial queued ahead for nobody in particular would jump the queue later: a pair's stage
        # two, due when its grid ends, would wait behind the next pair's grid point.
        self.study = SweepStudy(sweep, self.artifacts, storage, heartbeat, grace, queue_ahead=self.workers)
        self.job = WorkerJob(sweep, self.artifacts, self.study.url, None, self.threads, heartbeat, grace,
                             queue_ahead=1)
        self.counts: dict[str, int] = {}
        self.failed: list[dict[str, Any]] = []
        self.worker_errors: list[str] = []
        self.history: list[dict[str, Any]] = self._previous_history()
        self.call: dict[str, Any] = {}  # this call's history entry, set by run()
        self.restored: Any = None  # the RestoreResult of --restore-from, set by run()
        self.bar: Any = None

    # -- plan file -------------------------------------------------------------------------
    def _previous_history(self) -> list[dict[str, Any]]:
        import json

        try:
            return list(json.loads(self.path.read_text()).get("history", []))
        except (OSError, ValueError):
            return []

    def write_plan(self, state: SweepState, finished: bool = False) -> None:
        atomic_write_json(self.path, {
            "name": self.sweep.name,
            "config_path": self.config_path,
            "config": asdict(self.sweep),
            "artifacts": self.artifacts,
            "storage": redact(self.study.url),
            "study": sweep_study_name(self.sweep.name),
            "workers": self.workers,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finished": finished,
            "history": self.history,
            "selections": state.selections,
            "points": [{**p.to_dict(), "status": state.status[p.run_id]} for p in state.points],
        })

    def _publish_call(self) -> None:
        """Every machine's calls, for a report read from the storage (one key per call: no race)."""
        call = {**self.call, "counts": dict(self.counts), "host": worker_name()}
        self.study.study.set_user_attr(f"call:{worker_name()}:{call['started']}", call)

    def _total(self, state: SweepState) -> int:
        return self.study.planned_total(state)

    # -- running ---------------------------------------------------------------------------
    def run(self) -> SweepResult:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.replanned = self.study.check_config(self.replan)
        if self.restore_from is not None:
            from mrdib.experiments.restore import restore_from_runs_table

            self.restored = restore_from_runs_table(self.study, self.restore_from)
        state = self.study.state(enqueue=True, retry_failed=True)  # a rerun restarts failed points
        # The call is on record from its start and its last_seen moves with every outcome, so a
        # call killed without a clean stop (SIGKILL, a lost machine) still counts in the report.
        self.call = {"started": started_at, "command": self.command, "finished": None, "last_seen": started_at,
                     "workers": self.workers, "counts": self.counts, "interrupted": None}
        if self.replanned:
            self.call["replanned"] = list(self.replanned)  # the settings this call changed
        if self.restored is not None:
            self.call["restored"] = self.restored.to_dict()
        self.history.append(self.call)
        self._publish_call()
        self.write_plan(state)
        if self.progress:
            from tqdm.auto import tqdm

            done = sum(1 for s in state.status.values() if s == "done")
            # initial= makes the rate (and so the time-left estimate) count only runs done in this call.
            self.bar = tqdm(total=self._total(state), initial=done, desc=f"sweep {self.sweep.name}", unit="run",
                            smoothing=0.1)
        previous_handler = interrupt_once()
        interrupted = False
        try:
            if self.workers == 1:
                interrupted = self._run_here()
            else:
                interrupted = self._run_processes()
        finally:
            if self.bar is not None:
                self.bar.close()
            state = self.study.state()
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.call.update(finished=now, last_seen=now, counts=dict(self.counts), interrupted=interrupted)
            self.write_plan(state, finished=state.finished and not interrupted)
            self._publish_call()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        if self.worker_errors and not interrupted:
            raise MrdibError(self.worker_errors[0])
        unfinished = sum(1 for s in state.status.values() if s not in _FINAL) + len(state.pending_pairs)
        return SweepResult(self.path, dict(self.counts), list(self.failed), dict(state.selections), interrupted,
                           unfinished, self.restored)

    def _run_here(self) -> bool:
        result = run_here(lambda job, stop, report: self.study.work(job, stop, report), self.devices[0],
                          self.threads, self._record)
        self.worker_errors += result.worker_errors
        return result.interrupted or self.counts.get("interrupted", 0) > 0

    def _run_processes(self) -> bool:
        jobs = [replace(self.job, device=device) for device in self.devices]
        result = run_pool(sweep_worker, jobs, self.threads, self._record, name="mrdib-sweep-worker")
        self.worker_errors += result.worker_errors
        return result.interrupted

    def _record(self, outcome: dict[str, Any]) -> None:
        kind = outcome["outcome"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "failed":
            self.failed.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if self.bar is not None:
            if kind in ("trained", "resumed", "restarted", "skipped", "failed"):
                self.bar.update(1)
            state = self.study.state()
            self.bar.total = max(self.bar.n, self._total(state))
            self.bar.set_postfix(failed=len(self.failed), last=f"{kind} {str(outcome['run_id'])[:40]}", refresh=True)
        else:
            state = self.study.state()
        self.call["last_seen"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.write_plan(state)
        self._publish_call()


def run_sweep(sweep: SweepConfig, artifacts: str | Path, workers: int = 1, progress: bool | None = None,
              command: str | None = None, config_path: str | None = None, threads: int | None = None,
              device: str | None = None, storage: str | None = None, heartbeat: int = DEFAULT_HEARTBEAT,
              grace: int = DEFAULT_GRACE, replan: bool = False, restore_from: str | Path | None = None
              ) -> SweepResult:
    """Run (or join, or continue) a sweep; finished runs are skipped, interrupted ones resumed.

    `threads` per worker defaults to cores // workers; `device` (cpu, cuda, cuda:N, auto)
    overrides the config's train.device for every run, and plain `cuda` spreads the workers over
    the visible GPUs. `storage` is the study's database URL (default SQLite in the artifacts
    folder); every machine that runs the same sweep against the same URL shares its points.
    `replan` accepts a config whose settings differ from the stored sweep's (a changed grid).
    `restore_from` (a runs.csv a report wrote) closes the points its rows match as done first,
    so a machine without the sweep's artifacts trains only what the table lacks.
    """
    if workers < 1:
        raise MrdibError(f"--workers must be at least 1, got {workers}")
    if threads is not None and threads < 1:
        raise MrdibError(f"--threads must be at least 1, got {threads}")
    check_sweep_runs(sweep, str(artifacts), device)
    return SweepRunner(sweep, artifacts, workers, progress, command, config_path, threads=threads,
                       device=device, storage=storage, heartbeat=heartbeat, grace=grace, replan=replan,
                       restore_from=restore_from).run()

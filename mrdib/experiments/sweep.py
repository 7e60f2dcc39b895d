"""Run a sweep: resumable, several worker processes, one progress bar over the whole sweep.

The truth about each point is its run folder: `done` is skipped, an interrupted run (status
running, or stopped by Ctrl-C, with a resume state) is resumed, and a failed or unusable one
is moved aside to `runs/.replaced/` and started afresh. The plan, with the choices made by
validation, is kept in `<artifacts>/sweeps/<name>.json` (written atomically) for people and
for `mrdib report --sweep NAME`.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from mrdib.errors import MrdibError, RunError
from mrdib.experiments.plan import (Alphas, SweepConfig, SweepPoint, first_stage, second_stage,
                                    second_stage_size)
from mrdib.experiments.selection import select_by_validation
from mrdib.io import atomic_write_json
from mrdib.runs.reader import read_run
from mrdib.runs.writer import RESUME_FILE
from mrdib.training.trainer import Callback

REPLACED_DIR = ".replaced"
LOCK_DIR = ".locks"
_DATA_CACHE: dict[tuple[str, str], Any] = {}
_STOP_EVENT: Any = None  # set in worker processes by init_worker


def utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


# -- the state of one point, read from its run folder --------------------------------------------

def run_state(run_dir: Path) -> str:
    """'new', 'done', 'interrupted' (resumable) or 'broken' (failed, pruned, corrupt: start again)."""
    if not run_dir.exists():
        return "new"
    try:
        record = read_run(run_dir)
    except RunError:
        return "broken"
    status = record.status
    if status == "done" and record.summary.get("test"):
        return "done"
    stopped_by_user = status == "failed" and str(record.summary.get("error", "")).startswith("KeyboardInterrupt")
    if (status == "running" or stopped_by_user) and (run_dir / RESUME_FILE).is_file():
        return "interrupted"
    return "broken"


def move_aside(run_dir: Path) -> Path:
    """Keep a failed run's folder for inspection instead of deleting it; the reader skips dot folders."""
    target = run_dir.parent / REPLACED_DIR / f"{run_dir.name}-{utc_stamp()}-{os.getpid()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(run_dir), str(target))
    return target


@contextmanager
def point_lock(lock_dir: Path, run_id: str) -> Iterator[bool]:
    """An exclusive, non-blocking lock per run id, so two sweeps never train the same folder.

    The OS drops the lock when its process dies, so a killed worker leaves nothing stale.
    """
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{run_id}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- the work one worker does ------------------------------------------------------------------

def init_worker(threads: int, stop_event: Any = None) -> None:
    """Each worker gets its share of the cores, so N workers do not fight over them.

    Workers ignore Ctrl-C: the main process catches it and sets `stop_event`, which every
    worker checks between batches, so an interrupted run stops cleanly (resumable) and no
    queued run starts, instead of workers dying mid-write or finishing queued runs.
    """
    import torch

    global _STOP_EVENT
    torch.set_num_threads(max(1, threads))
    if stop_event is not None:
        _STOP_EVENT = stop_event
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt_once() -> Any:
    """Make only the first SIGINT raise KeyboardInterrupt in this (main) process; return the old handler.

    `timeout` and a terminal's Ctrl-C signal the main process and then its whole group, so a
    second SIGINT could land inside the clean-up that stops the workers and records the plan,
    leaving queued runs to be trained after the command has said it stopped.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    state = {"raised": False}

    def handler(signum: int, frame: Any) -> None:
        if not state["raised"]:
            state["raised"] = True
            raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, handler)


class StopOnEvent(Callback):
    """Raises KeyboardInterrupt in the trainer once the sweep asks its workers to stop."""

    def __init__(self, event: Any):
        self.event = event

    def on_batch_end(self, trainer: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt("sweep stopped")


def _cached_data(spec: str, artifacts: str):
    from mrdib.data import load_dataset

    key = (spec, artifacts)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # one data set at a time per worker is enough and bounds memory
        _DATA_CACHE[key] = load_dataset(spec, Path(artifacts))
    return _DATA_CACHE[key]


def execute_point(config: dict[str, Any], lock_dir: str) -> dict[str, Any]:
    """Bring one point to `done`: skip, resume, restart or train; never raises (returns the outcome)."""
    from mrdib.config import RunConfig
    from mrdib.runner import resume_run, runs_root, train_run

    cfg = RunConfig.from_dict({k: v for k, v in config.items() if k != "run_id"})
    cfg.run_id = config["run_id"]
    run_dir = runs_root(cfg) / cfg.run_id
    started = time.perf_counter()
    outcome: dict[str, Any] = {"run_id": cfg.run_id, "run_dir": str(run_dir), "moved_to": None, "error": None}
    if _STOP_EVENT is not None and _STOP_EVENT.is_set():
        return {**outcome, "outcome": "interrupted", "error": "interrupted", "seconds": 0.0}
    callbacks = [StopOnEvent(_STOP_EVENT)] if _STOP_EVENT is not None else []
    with point_lock(Path(lock_dir), cfg.run_id) as acquired:
        if not acquired:
            return {**outcome, "outcome": "busy", "seconds": 0.0}
        try:
            state = run_state(run_dir)
            if state == "done":
                outcome["outcome"] = "skipped"
            elif state == "interrupted":
                resume_run(run_dir, progress=False, callbacks=callbacks, device=cfg.train.device)
                outcome["outcome"] = "resumed"
            else:
                if state == "broken":
                    outcome["moved_to"] = str(move_aside(run_dir))
                train_run(cfg, progress=False, data=_cached_data(cfg.data, cfg.artifacts), callbacks=callbacks)
                outcome["outcome"] = "restarted" if state == "broken" else "trained"
        except KeyboardInterrupt:
            outcome.update(outcome="interrupted", error="interrupted")
        except Exception as error:  # one failed point must not stop the sweep
            outcome.update(outcome="failed", error=f"{type(error).__name__}: {error}")
    return {**outcome, "seconds": time.perf_counter() - started}


# -- the sweep ---------------------------------------------------------------------------------

@dataclass
class SweepResult:
    """What a sweep call did; `plan_path` holds the full record."""

    plan_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    selections: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return not self.interrupted and not self.failed and self.counts.get("busy", 0) == 0


def plan_path(artifacts: str | Path, name: str) -> Path:
    return Path(artifacts) / "sweeps" / f"{name}.json"


class _Pool:
    """A process pool (spawn) for several workers, or the calling process for one."""

    def __init__(self, workers: int, threads: int):
        self.executor = None
        self.stop_event = None
        self.previous_threads: int | None = None
        if workers > 1:
            context = multiprocessing.get_context("spawn")
            self.stop_event = context.Event()
            self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                initializer=init_worker, initargs=(threads, self.stop_event))
        else:
            import torch

            self.previous_threads = torch.get_num_threads()  # restored on close: the caller's process
            init_worker(threads)

    def submit(self, config: dict[str, Any], lock_dir: str) -> Future:
        if self.executor is not None:
            return self.executor.submit(execute_point, config, lock_dir)
        future: Future = Future()
        future.set_result(execute_point(config, lock_dir))
        return future

    def close(self, cancel: bool = False) -> None:
        if cancel and self.stop_event is not None:
            self.stop_event.set()  # running runs stop after their current batch, queued ones never start
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=cancel)
        if self.previous_threads is not None:
            init_worker(self.previous_threads)


class SweepRunner:
    """Schedules the two stages of every (data set, backbone) and keeps the plan file current."""

    def __init__(self, sweep: SweepConfig, artifacts: str | Path, workers: int = 1, progress: bool | None = None,
                 command: str | None = None, config_path: str | None = None,
                 on_outcome: Callable[[dict[str, Any]], None] | None = None, threads: int | None = None,
                 device: str | None = None):
        self.sweep, self.artifacts = sweep, str(artifacts)
        self.device = device  # where every run trains; not part of a run's identity
        self.workers = max(1, int(workers))
        # Each worker gets its share of the cores unless told otherwise (oversubscribed threads
        # slow CPU training down by an order of magnitude).
        self.threads = threads or max(1, (os.cpu_count() or 1) // self.workers)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.command = command  # the shell command, for the report; None when called from Python
        self.config_path = config_path
        self.on_outcome = on_outcome
        self.runs_dir = Path(self.artifacts) / "runs"
        self.lock_dir = str(Path(self.artifacts) / "sweeps" / LOCK_DIR)
        self.path = plan_path(self.artifacts, sweep.name)
        self.points: dict[str, SweepPoint] = {}
        self.status: dict[str, str] = {}
        self.selections: dict[str, Any] = {}
        self.pairs = [(d, b) for d in sweep.datasets for b in sweep.backbones]
        self.first: dict[tuple[str, str], list[str]] = {}
        self.second_planned: set[tuple[str, str]] = set()
        self.counts: dict[str, int] = {}
        self.failed: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = self._previous_history()

    # -- plan file -------------------------------------------------------------------------
    def _previous_history(self) -> list[dict[str, Any]]:
        import json

        try:
            return list(json.loads(self.path.read_text()).get("history", []))
        except (OSError, ValueError):
            return []

    def write_plan(self, finished: bool = False) -> None:
        from dataclasses import asdict

        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        atomic_write_json(self.path, {
            "name": self.sweep.name,
            "config_path": self.config_path,
            "config": asdict(self.sweep),
            "artifacts": self.artifacts,
            "workers": self.workers,
            "updated": now,
            "finished": finished,
            "history": self.history,
            "selections": self.selections,
            "points": [{**p.to_dict(), "status": self.status.get(p.run_id, "planned")} for p in self.points.values()],
        })

    # -- stages ----------------------------------------------------------------------------
    def _add(self, points: list[SweepPoint]) -> list[SweepPoint]:
        added = [p for p in points if p.run_id not in self.points]
        for point in added:
            self.points[point.run_id] = point
            self.status[point.run_id] = "done" if run_state(self.runs_dir / point.run_id) == "done" else "planned"
        return added

    def _select(self, pair: tuple[str, str]) -> Alphas | None:
        """Choose the alphas of one (data set, backbone) from its grid runs' validation scores."""
        dataset, backbone = pair
        grid = [self.points[r] for r in self.first[pair] if self.points[r].stage == "grid"]
        scores: dict[str, dict[int, float]] = {}
        for point in grid:
            if self.status.get(point.run_id) != "done":
                continue
            summary = read_run(self.runs_dir / point.run_id).summary
            value = summary.get("valid", {}).get(self.sweep.metric)
            if value is not None:
                scores.setdefault(repr(point.alphas), {})[point.seed] = float(value)
        key = select_by_validation(scores)
        record: dict[str, Any] = {"dataset": dataset, "backbone": backbone, "metric": self.sweep.metric,
                                  "grid_points": len({repr(p.alphas) for p in grid}),
                                  "scored_points": len(scores)}
        chosen = next((p.alphas for p in grid if repr(p.alphas) == key), None) if key else None
        if chosen is not None:
            record["alphas"] = list(chosen)
            record["valid_mean"] = sum(scores[key].values()) / len(scores[key])
        else:
            record["alphas"] = None
            record["reason"] = "no grid point finished"
        self.selections[f"{dataset}/{backbone}"] = record
        return chosen

    def _stage_one_finished(self, pair: tuple[str, str]) -> bool:
        """Every grid point of the pair is done or failed (a point busy elsewhere holds the choice back)."""
        return all(self.status.get(r) in ("done", "failed") for r in self.first[pair])

    # -- running ---------------------------------------------------------------------------
    def run(self) -> SweepResult:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for pair in self.pairs:
            self.first[pair] = [p.run_id for p in self._add(first_stage(self.sweep, self.artifacts, *pair))]
        expected_total = len(self.points) + sum(second_stage_size(self.sweep, *pair) for pair in self.pairs)
        self.write_plan()
        bar = self._progress_bar(expected_total)
        pool = _Pool(self.workers, self.threads)
        previous_handler = _interrupt_once()
        running: dict[Future, str] = {}
        interrupted = False
        raise_after: BaseException | None = None

        def submit_pending() -> None:
            for run_id, point in self.points.items():
                if self.status[run_id] == "planned":
                    self.status[run_id] = "running"
                    config = point.config
                    if self.device:
                        config = {**config, "train": {**config["train"], "device": self.device}}
                    running[pool.submit(config, self.lock_dir)] = run_id

        def plan_second_stages() -> None:
            for pair in self.pairs:
                if pair in self.second_planned or not self._stage_one_finished(pair):
                    continue
                self.second_planned.add(pair)
                chosen = self._select(pair) if "mrdib" in self.sweep.variants else None
                planned = second_stage(self.sweep, self.artifacts, *pair, chosen) if chosen else []
                added = self._add(planned)
                missing = second_stage_size(self.sweep, *pair) - len(added)
                if bar is not None:
                    bar.total = max(bar.n, bar.total - missing)
                    bar.update(sum(1 for p in added if self.status[p.run_id] == "done"))
                self.write_plan()

        try:
            plan_second_stages()
            submit_pending()
            while running:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    run_id = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        raise MrdibError(f"{self.path}: a worker process died (out of memory?); "
                                         "rerun the same command to resume the sweep")
                    self._record(run_id, outcome, bar)
                    if outcome["outcome"] == "interrupted":
                        raise KeyboardInterrupt
                self.write_plan()
                plan_second_stages()
                submit_pending()
        except (KeyboardInterrupt, MrdibError):
            interrupted = True
            raise_after = sys.exc_info()[1]
            for future in running:
                future.cancel()
            for run_id in running.values():
                if self.status[run_id] == "running":
                    self.status[run_id] = "interrupted"
        finally:
            pool.close(cancel=interrupted)
            if bar is not None:
                bar.close()
                bar = None
            for future, run_id in running.items():  # runs stopped by the interruption, now settled
                if future.done() and not future.cancelled() and future.exception() is None:
                    self._record(run_id, future.result(), None)
            self.history.append({"started": started_at, "command": self.command,
                                 "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "workers": self.workers, "counts": dict(self.counts), "interrupted": interrupted})
            complete = not interrupted and all(s == "done" for s in self.status.values())
            self.write_plan(finished=complete)
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        if isinstance(raise_after, MrdibError):
            raise raise_after
        return SweepResult(self.path, dict(self.counts), list(self.failed), dict(self.selections), interrupted)

    def _record(self, run_id: str, outcome: dict[str, Any], bar) -> None:
        kind = outcome["outcome"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.status[run_id] = {"failed": "failed", "busy": "busy", "interrupted": "interrupted"}.get(kind, "done")
        if kind == "failed":
            self.failed.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if bar is not None:
            if kind not in ("interrupted",):
                bar.update(1)
            bar.set_postfix(failed=len(self.failed), last=f"{kind} {run_id[:40]}", refresh=False)

    def _progress_bar(self, total: int):
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        already = sum(1 for s in self.status.values() if s == "done")
        # initial= makes the rate (and so the time-left estimate) count only runs done in this call.
        return tqdm(total=total, initial=already, desc=f"sweep {self.sweep.name}", unit="run", smoothing=0.1)


def run_sweep(sweep: SweepConfig, artifacts: str | Path, workers: int = 1, progress: bool | None = None,
              command: str | None = None, config_path: str | None = None, threads: int | None = None,
              device: str | None = None) -> SweepResult:
    """Run (or continue) a sweep; finished runs are skipped, interrupted ones resumed.

    `threads` per worker defaults to cores // workers; `device` (cpu, cuda, auto) overrides the
    config's train.device for every run (several workers may share one GPU).
    """
    if workers < 1:
        raise MrdibError(f"--workers must be at least 1, got {workers}")
    if threads is not None and threads < 1:
        raise MrdibError(f"--threads must be at least 1, got {threads}")
    return SweepRunner(sweep, artifacts, workers, progress, command, config_path, threads=threads,
                       device=device).run()

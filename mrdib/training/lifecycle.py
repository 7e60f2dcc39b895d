"""The life of one run folder, shared by every command that trains many runs (sweep, tune,
dose-response): its state read from the folder, a lock per run id so two workers never train one
folder, and `execute_point`, which brings a run to `done` by skipping, resuming, restarting or
training it.

The truth about a run is its folder: `done` (with test metrics) is skipped, an interrupted run
(status running, or stopped by Ctrl-C, with a resume state) is resumed, and a failed or unusable
one is moved aside to `runs/.replaced/` and started afresh.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from mrdib.core.errors import RunError
from mrdib.runs.reader import read_run
from mrdib.runs.writer import RESUME_FILE
from mrdib.training.trainer import Callback

REPLACED_DIR = ".replaced"
_DATA_CACHE: dict[tuple[str, str], Any] = {}


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
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = run_dir.parent / REPLACED_DIR / f"{run_dir.name}-{stamp}-{os.getpid()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(run_dir), str(target))
    return target


@contextmanager
def point_lock(lock_dir: Path, run_id: str) -> Iterator[bool]:
    """An exclusive, non-blocking lock per run id, so two workers never train the same folder.

    The OS drops the lock when its process dies, so a killed worker leaves nothing stale; a clean
    release removes the file too, while still holding the lock. A process that locked a file just
    removed that way holds a lock nobody else can see, so it checks that the path still names its
    file and otherwise reports the point busy (it is tried again).
    """
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{run_id}.lock"
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current != os.fstat(handle.fileno()).st_ino:
                yield False
                return
            try:
                yield True
            finally:
                path.unlink(missing_ok=True)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class StopOnEvent(Callback):
    """Raises KeyboardInterrupt in the trainer once `event` is set (a worker told to let go)."""

    def __init__(self, event: Any):
        self.event = event

    def on_batch_end(self, trainer: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt("stopped")


def _cached_data(spec: str, artifacts: str):
    from mrdib.data import load_dataset

    key = (spec, artifacts)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # one data set at a time per worker is enough and bounds memory
        _DATA_CACHE[key] = load_dataset(spec, Path(artifacts))
    return _DATA_CACHE[key]


def execute_point(config: dict[str, Any], lock_dir: str | Path, callbacks: list[Callback] | None = None,
                  stop: Any = None, data: Any = None, raise_errors: bool = False) -> dict[str, Any]:
    """Bring one run to `done`: skip, resume, restart or train, and return the outcome (trained,
    resumed, restarted, skipped, busy (another worker holds its lock), interrupted or failed).
    `stop` (anything with is_set) stops the run after its current batch, resumable. Extra
    `callbacks` run in the trainer; `data` saves loading the data set again. An error in training
    is an outcome, or, with `raise_errors` (a tuning trial, whose pruning is an exception), raised."""
    from mrdib.core.config import RunConfig
    from mrdib.training.runner import resume_run, runs_root, train_run

    cfg = RunConfig.from_dict({k: v for k, v in config.items() if k != "run_id"})
    cfg.run_id = config["run_id"]
    run_dir = runs_root(cfg) / cfg.run_id
    started = time.perf_counter()
    outcome: dict[str, Any] = {"run_id": cfg.run_id, "run_dir": str(run_dir), "moved_to": None, "error": None}
    if stop is not None and stop.is_set():
        return {**outcome, "outcome": "interrupted", "error": "interrupted", "seconds": 0.0}
    callbacks = [*(callbacks or []), *([StopOnEvent(stop)] if stop is not None else [])]
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
                train_run(cfg, progress=False, data=data if data is not None else _cached_data(cfg.data, cfg.artifacts),
                          callbacks=callbacks)
                outcome["outcome"] = "restarted" if state == "broken" else "trained"
        except KeyboardInterrupt:
            outcome.update(outcome="interrupted", error="interrupted")
        except Exception as error:  # one failed point must not stop the others
            if raise_errors:
                raise
            outcome.update(outcome="failed", error=f"{type(error).__name__}: {error}")
    return {**outcome, "seconds": time.perf_counter() - started}

"""The engine under `mrdib sweep` and `mrdib tune`: an Optuna study in a database.

A sweep's points are trials enqueued in a study; a tuning study's trials are proposed by TPE.
Either way any number of worker processes on any machines join the same study (SQLite in the
artifacts folder on one machine, e.g. PostgreSQL across machines). Optuna pops each waiting
trial for exactly one worker; every running trial records a heartbeat, and a trial whose
heartbeat stops for `grace` seconds (its worker was killed, its machine is gone) is failed by
the next worker that looks and re-queued by `RetryHeartbeatStaleTrialCallback` with the same
user attributes, so it keeps its run id and is resumed from the run folder's last.pt.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any


def fail_stale_trials(study: Any, orphans: "OrphanWatch | None" = None) -> None:
    """Fail (and so re-queue) the trials of dead workers; Optuna does the work for those with a
    heartbeat, `orphans` for those whose worker died before its first one."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    if orphans is not None:
        orphans.fail_overdue(study)


def running_without_heartbeat(study: Any) -> set[int]:
    """Ids of the study's running trials that never recorded a heartbeat (an RDB storage's tables
    read directly: Optuna has no public call for it; empty for other storages)."""
    from optuna.storages import RDBStorage
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from optuna.trial import TrialState

    storage = getattr(study._storage, "_backend", study._storage)  # a study wraps it in a cache
    if not isinstance(storage, RDBStorage):
        return set()
    with _create_scoped_session(storage.scoped_session) as session:
        rows = (session.query(models.TrialModel.trial_id)
                .outerjoin(models.TrialHeartbeatModel,
                           models.TrialHeartbeatModel.trial_id == models.TrialModel.trial_id)
                .filter(models.TrialModel.study_id == study._study_id,
                        models.TrialModel.state == TrialState.RUNNING,
                        models.TrialHeartbeatModel.trial_heartbeat_id.is_(None))
                .all())
    return {int(row[0]) for row in rows}


class OrphanWatch:
    """Fails running trials that have had no heartbeat for `grace` seconds of this worker's own
    watching: a worker killed between claiming a trial and its first heartbeat left them, and
    Optuna's stale-trial check only sees trials that have one. Timed by this process's monotonic
    clock, so machines whose clocks disagree cannot fail each other's trials early."""

    def __init__(self, grace: float):
        self.grace = grace
        self.first_seen: dict[int, float] = {}

    def fail_overdue(self, study: Any) -> list[int]:
        import optuna
        from optuna.trial import TrialState

        now = time.monotonic()
        waiting = running_without_heartbeat(study)
        self.first_seen = {trial_id: self.first_seen.get(trial_id, now) for trial_id in waiting}
        storage, failed = study._storage, []
        for trial_id, seen in self.first_seen.items():
            if now - seen < self.grace:
                continue
            try:
                if storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                    failed.append(trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:  # finished or failed meanwhile
                pass
        callback = storage.get_heartbeat_stale_trial_callback() if hasattr(
            storage, "get_heartbeat_stale_trial_callback") else None
        for trial_id in failed:
            self.first_seen.pop(trial_id, None)
            if callback is not None:
                callback(study, storage.get_trial(trial_id))
        return failed


class Heartbeat:
    """Records a running trial's heartbeat every `interval` seconds in a background thread.

    `lost` is set once the trial is no longer running in the storage (another worker declared
    it dead after a long pause): the training loop then stops, so two workers never write to
    one run folder.
    """

    def __init__(self, storage: Any, trial_id: int, interval: float):
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{trial_id}")

    def _beat(self) -> None:
        from optuna.trial import TrialState

        while not self._stop.is_set():
            try:
                if self.storage.get_trial(self.trial_id).state != TrialState.RUNNING:
                    self.lost.set()
                    return
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # a database hiccup: try again next time; a long outage ends in `lost`
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> "Heartbeat":
        self.storage.record_heartbeat(self.trial_id)  # at once: a trial without one is never detected
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def worker_devices(device: str | None, workers: int) -> list[str | None]:
    """The device of each of `workers` workers: plain `cuda` spreads them over the visible GPUs
    (cuda:0, cuda:1, ..., round robin); anything else is the same for all."""
    if device == "cuda" and workers > 1:
        import torch

        count = torch.cuda.device_count()
        if count > 1:
            return [f"cuda:{index % count}" for index in range(workers)]
    return [device] * workers


def threads_per_worker(workers: int, threads: int | None = None) -> int:
    """Torch threads of each worker: its share of this machine's cores unless told otherwise
    (oversubscribed threads slow CPU training down by an order of magnitude)."""
    if threads is not None:
        return max(1, threads)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def ask(study: Any) -> Any:
    """study.ask(), without Optuna's warning that heartbeats are meant for optimize(): the sweep's
    workers record them themselves (`Heartbeat`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        return study.ask()


def worker_name() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"

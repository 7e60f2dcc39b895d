"""The one worker pool behind every command that trains many runs (sweep, tune, dose-response).

`run_pool` starts one spawned process per job, each with its share of the cores, and relays what
the workers report to the caller. Ctrl-C in the command sets a stop flag that every worker's
trainer checks between batches, so a running run stops resumable and no queued one starts; a
worker whose command dies (killed, terminal closed) stops the same way. `run_here` runs one job in
the calling process instead, with the same thread setting, for a single worker.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from mrdib.core.errors import MrdibError

POLL_SECONDS = 1.0  # how often a waiting worker, or the command, looks again
Report = Callable[[dict[str, Any]], None]
Target = Callable[[Any, Any, Report], None]  # target(job, stop, report)


class StopFlag:
    """Tells worker processes to stop, without locks: a multiprocessing.Event cannot be used, as a
    worker that exits or is killed while waiting on one leaves its set() waiting forever for it."""

    def __init__(self, context: Any):
        self._value = context.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)


def pause(stop: Any, seconds: float) -> bool:
    """Sleep `seconds`, or less once `stop` is set; True when it is."""
    deadline = time.monotonic() + seconds
    while stop is None or not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(0.1, left))
    return True


def set_threads(threads: int) -> int:
    """Give this process `threads` torch threads (its share of the cores); returns the previous count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    return previous


def interrupt_once() -> Any:
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


def _stop_when_orphaned(stop: Any) -> None:
    parent = os.getppid()
    while not pause(stop, POLL_SECONDS):
        if os.getppid() != parent:
            stop.set()


def _worker_main(target: Target, job: Any, threads: int, stop: Any, outcomes: Any) -> None:
    """A worker process: ignores Ctrl-C (the command sets `stop` instead), stops when orphaned."""
    set_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_stop_when_orphaned, args=(stop,), daemon=True).start()
    try:
        target(job, stop, outcomes.put)
    except MrdibError as error:
        outcomes.put({"run_id": None, "outcome": "worker-error", "error": str(error)})


@dataclass
class PoolResult:
    interrupted: bool = False
    exit_codes: list[int] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)


def run_pool(target: Target, jobs: list[Any], threads: int, on_outcome: Report | None = None,
             name: str = "mrdib-worker") -> PoolResult:
    """Run `target(job, stop, report)` in one spawned process per job until all have returned;
    every reported outcome reaches `on_outcome` in this process (a worker's MrdibError arrives as a
    'worker-error' outcome and is collected in the result instead)."""
    context = multiprocessing.get_context("spawn")
    stop, outcomes = StopFlag(context), context.Queue()
    result = PoolResult()
    processes = [context.Process(target=_worker_main, name=f"{name}-{index}",
                                 args=(target, job, threads, stop, outcomes)) for index, job in enumerate(jobs)]

    def relay(timeout: float) -> None:
        while True:
            try:
                outcome = outcomes.get(timeout=timeout)
            except queue.Empty:
                return
            if outcome.get("outcome") == "worker-error":
                result.worker_errors.append(outcome["error"])
            elif on_outcome is not None:
                on_outcome(outcome)

    for process in processes:
        process.start()
    try:
        while True:
            try:
                relay(POLL_SECONDS)
                if not any(p.is_alive() for p in processes):
                    break
            except KeyboardInterrupt:
                result.interrupted = True
                stop.set()  # running runs stop after their current batch, queued ones never start
    finally:
        stop.set()
        for process in processes:
            process.join()
        relay(0.2)
    result.exit_codes = [int(p.exitcode or 0) for p in processes]
    return result


def run_here(target: Target, job: Any, threads: int, on_outcome: Report | None = None) -> PoolResult:
    """One worker in this process (Ctrl-C raises here as usual); the thread count is restored after."""
    previous = set_threads(threads)
    result = PoolResult()

    def report(outcome: dict[str, Any]) -> None:
        if on_outcome is not None:
            on_outcome(outcome)

    try:
        target(job, None, report)
    except KeyboardInterrupt:
        result.interrupted = True
    except MrdibError as error:
        result.worker_errors.append(str(error))
    finally:
        set_threads(previous)
    return result

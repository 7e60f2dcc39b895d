"""Automatic alpha tuning with Optuna: TPE over log-uniform alphas, objective = best valid Recall@5.

The paper names its three-way alpha grid (125 runs per backbone and data set) as its main
cost. Here TPE proposes (a1, a2, a3), every trial is an ordinary run folder, and a trainer
callback reports the validation metric each epoch so that hopeless trials are pruned early
(their folders get status "pruned"). The study lives on the shared engine
(`mrdib.experiments.engine`): SQLite in the artifacts folder by default, or e.g. PostgreSQL so
that several machines can run workers on one study. A running trial records heartbeats; one
whose worker died is re-queued with its alphas and run id and resumed from its last epoch by
the next worker. Test metrics are never shown to the tuner.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import optuna

from mrdib.core.config import RunConfig, resolve_config
from mrdib.core.errors import ConfigError, MrdibError
from mrdib.core.io import atomic_write_json
from mrdib.experiments.engine import OrphanWatch, fail_stale_trials, threads_per_worker, worker_devices, worker_name
from mrdib.experiments.plan import ALPHA_NAMES, dataset_label
from mrdib.experiments.pool import run_pool
from mrdib.runs.database import DEFAULT_GRACE, DEFAULT_HEARTBEAT, open_storage, redact, sqlite_url
from mrdib.runs.layout import locks_dir, runs_dir, sweep_plan_path, tuning_database, tuning_summary_path
from mrdib.runs.reader import read_run
from mrdib.runs.storage import RUN_ATTR, run_attrs
from mrdib.training.runner import check_run_config
from mrdib.training.trainer import Callback, EpochRecord


class RunPruned(optuna.TrialPruned):
    """Optuna's pruning signal; `run_status` makes the run folder say "pruned", not "failed"."""

    run_status = "pruned"


class PruningCallback(Callback):
    """Reports the best validation metric so far after every epoch and stops the run when told to."""

    def __init__(self, trial: optuna.Trial, metric: str = "recall@5"):
        self.trial, self.metric = trial, metric

    def on_epoch_end(self, trainer: Any, record: EpochRecord) -> None:
        best_so_far = max(trainer.stop.best_value, record.valid[self.metric])
        self.trial.report(best_so_far, record.epoch)
        if self.trial.should_prune():
            raise RunPruned(f"trial {self.trial.number} pruned after epoch {record.epoch} "
                            f"(best {self.metric} {best_so_far:.4f})")


@dataclass
class TuneConfig:
    """One tuning job; the alpha range defaults to the paper's grid range [1e-4, 0.05]."""

    data: str = "synthetic"
    backbone: str = "vbpr"
    study: str | None = None  # default "<data>-<backbone>"
    storage: str | None = None  # default sqlite in <artifacts>/studies/<study>.db
    trials: int | None = 30  # study-wide budget (complete + pruned), shared by every worker
    minutes: float | None = None  # this worker's wall-clock budget
    low: float = 1e-4
    high: float = 0.05
    seed: int = 0  # training seed of every trial
    sampler_seed: int | None = None  # TPE's own seed; give each worker a different one
    startup_trials: int = 10  # random trials before TPE models the results
    prune: bool = True
    # Prune a trial whose best score so far is in the bottom `prune_percentile` percent of the
    # earlier trials at the same epoch. Early learning curves are steep and noisy, so a median
    # rule after 3 epochs threw away good alphas in our synthetic test; the bottom quartile after
    # 5 epochs keeps them while still stopping clearly bad trials (e.g. a large a1) early.
    prune_percentile: float = 25.0
    prune_startup_trials: int = 5  # trials that always run to the end before pruning starts
    prune_warmup_epochs: int = 5  # epochs every trial runs before it can be pruned
    metric: str = "recall@5"
    run_values: dict[str, Any] = field(default_factory=dict)  # train / backbone_params / mrdib overrides
    artifacts: str = "artifacts"
    heartbeat: int = DEFAULT_HEARTBEAT  # seconds between a running trial's heartbeats
    grace: int = DEFAULT_GRACE  # seconds of silence before another worker takes a trial over

    @property
    def study_name(self) -> str:
        return self.study or f"{dataset_label(self.data)}-{self.backbone}"

    def storage_url(self) -> str:
        if self.storage:
            return self.storage
        return sqlite_url(tuning_database(self.artifacts, self.study_name))


def validate(cfg: TuneConfig) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", cfg.study_name):
        raise ConfigError(f"study name '{cfg.study_name}' may hold only letters, digits, '_', '.' and '-'")
    if not 0 < cfg.low < cfg.high:
        raise ConfigError(f"alpha range needs 0 < low < high (log-uniform), got [{cfg.low}, {cfg.high}]")
    if cfg.trials is None and cfg.minutes is None:
        raise ConfigError("give a budget: --trials N and/or --minutes M")
    if cfg.prune and not 0 < cfg.prune_percentile < 100:
        raise ConfigError(f"--prune-percentile must be in (0, 100), got {cfg.prune_percentile}")
    if cfg.trials is not None and cfg.trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {cfg.trials}")
    reserved = {"enabled", *ALPHA_NAMES} & set(cfg.run_values.get("mrdib", {}))
    if reserved:
        raise ConfigError(f"mrdib.{sorted(reserved)[0]} is chosen by the tuner; remove it from the config")
    # The trials' runs could not start (an unknown backbone, a bad setting): refused before the study opens.
    check_run_config(trial_run_config(cfg, {name: cfg.low for name in ALPHA_NAMES}))


def open_study(cfg: TuneConfig) -> optuna.Study:
    """Create or join the study (several workers and machines may share one)."""
    sampler = optuna.samplers.TPESampler(seed=cfg.sampler_seed, n_startup_trials=cfg.startup_trials)
    # Optuna's percentile is the share of trials *kept* (25 keeps the top quarter); ours is the share pruned.
    pruner = (optuna.pruners.PercentilePruner(100.0 - cfg.prune_percentile, n_startup_trials=cfg.prune_startup_trials,
                                              n_warmup_steps=cfg.prune_warmup_epochs)
              if cfg.prune else optuna.pruners.NopPruner())
    storage = open_storage(cfg.storage_url(), cfg.heartbeat, cfg.grace)
    try:
        return optuna.create_study(study_name=cfg.study_name, storage=storage, sampler=sampler,
                                   pruner=pruner, direction="maximize", load_if_exists=True)
    except (ImportError, ValueError, optuna.exceptions.OptunaError) as exc:
        raise ConfigError(f"storage '{redact(cfg.storage_url())}': cannot open the study ({exc})")


def finished_elsewhere(error: ValueError) -> bool:
    """Optuna's "Cannot tell a COMPLETE trial": SQLite, which has no row locks, let two workers pop
    the same waiting trial, and the other one told it first. The run was trained once (the run
    folder's lock), so this worker just goes on."""
    return str(error).startswith("Cannot tell a ")


def _counted(study: optuna.Study) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def trial_run_config(cfg: TuneConfig, alphas: dict[str, float]) -> RunConfig:
    """The run one trial trains: the job's settings with MRdIB on at `alphas`."""
    values = json.loads(json.dumps(cfg.run_values))  # deep copy
    values.update({"data": cfg.data, "backbone": cfg.backbone, "artifacts": cfg.artifacts})
    values["mrdib"] = {**values.get("mrdib", {}), "enabled": True, **alphas}
    values["train"] = {**values.get("train", {}), "seed": cfg.seed, "stop_metric": cfg.metric}
    return resolve_config(cfg.backbone, {}, values)


def make_objective(cfg: TuneConfig, data: Any, stop: Any = None) -> Callable[[optuna.Trial], float]:
    """The objective: train one +MRdIB run with the proposed alphas, return its best valid metric.

    A trial re-queued after its worker died carries the dead trial's alphas and run id: its run
    folder is resumed from the last finished epoch when this machine has it (a shared artifacts
    path), kept when it had finished, and trained afresh otherwise.
    """
    from mrdib.training.lifecycle import execute_point
    from mrdib.training.runner import runs_root


    def objective(trial: optuna.Trial) -> float:
        alphas = {name: trial.suggest_float(name, cfg.low, cfg.high, log=True) for name in ALPHA_NAMES}
        run_cfg = trial_run_config(cfg, alphas)
        run_cfg.run_id = (trial.user_attrs.get("run_id")
                          or f"tune-{cfg.study_name}-t{trial.number:04d}-{secrets.token_hex(2)}")
        trial.set_user_attr("run_id", run_cfg.run_id)
        trial.set_user_attr("worker", worker_name())
        callbacks = [PruningCallback(trial, cfg.metric)] if cfg.prune else []
        run_dir = runs_root(run_cfg) / run_cfg.run_id
        config = {**run_cfg.to_dict(), "run_id": run_cfg.run_id}
        while True:
            # The run lifecycle's lock per run folder: on SQLite two workers can pop the same
            # waiting trial (it has no row locks) and must not train one folder at once; the
            # second waits, then finds the run done. Errors and pruning reach Optuna as raised.
            outcome = execute_point(config, locks_dir(cfg.artifacts), callbacks, stop=stop, data=data,
                                    raise_errors=True)
            if outcome["outcome"] != "busy":
                break
            time.sleep(1.0)
        if outcome["outcome"] == "interrupted":
            raise KeyboardInterrupt
        # On SQLite a second worker that popped the same trial finds the run done once the first
        # lets go of its lock: its "skipped" must not overwrite how the first one trained it.
        if outcome["outcome"] != "skipped" or "how" not in trial.user_attrs:
            trial.set_user_attr("how", outcome["outcome"])
        attrs = run_attrs(run_dir)
        trial.set_user_attr("epochs_run", attrs["summary"].get("epochs_run", 0))
        trial.set_user_attr(RUN_ATTR, attrs)
        return float(attrs["summary"]["valid"][cfg.metric])

    return objective


def run_tuning(cfg: TuneConfig, progress: bool = False, stop: Any = None) -> dict[str, Any]:
    """Run this worker's share of the study's budget and return (and save) the study summary;
    `stop` (set by the worker pool on Ctrl-C) stops the running trial after its current batch."""
    from mrdib.data import load_dataset

    validate(cfg)
    optuna.logging.set_verbosity(optuna.logging.INFO if progress else optuna.logging.WARNING)
    study = open_study(cfg)
    data = load_dataset(cfg.data, Path(cfg.artifacts))
    deadline = None if cfg.minutes is None else time.monotonic() + cfg.minutes * 60
    objective = make_objective(cfg, data, stop)
    catch = (FloatingPointError, RuntimeError, MrdibError)
    remaining = None if cfg.trials is None else max(0, cfg.trials - _counted(study))
    if remaining != 0:
        callbacks = []
        if cfg.trials is not None:  # stops this worker once all workers together reach the budget
            callbacks.append(optuna.study.MaxTrialsCallback(
                cfg.trials, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)))
        while True:
            try:
                study.optimize(objective, n_trials=remaining, timeout=None if deadline is None else
                               max(1.0, deadline - time.monotonic()), callbacks=callbacks, catch=catch,
                               show_progress_bar=progress)
                break
            except ValueError as error:
                if not finished_elsewhere(error):
                    raise
                remaining = None if cfg.trials is None else max(0, cfg.trials - _counted(study))
                if remaining == 0 or (deadline is not None and time.monotonic() >= deadline):
                    break
    _settle(study, objective, catch, deadline, OrphanWatch(cfg.grace))
    summary = study_summary(study, cfg)
    atomic_write_json(tuning_summary_path(cfg.artifacts, cfg.study_name), summary)
    return summary


def tune_worker(job: TuneConfig, stop: Any, report: Any) -> None:
    """One tuning worker (a pool process) on the shared study."""
    try:
        run_tuning(job, stop=stop)
    except KeyboardInterrupt:  # told to stop: the running trial is failed, its run folder resumable
        pass


def run_tuning_workers(cfg: TuneConfig, workers: int = 1, progress: bool = False) -> dict[str, Any]:
    """`workers` processes on this machine work on one study, each with its share of the cores
    (and, for `--device cuda`, its own GPU round robin) and its own sampler seed."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        return run_tuning(cfg, progress)
    validate(cfg)
    study = open_study(cfg)  # created once here, before the workers race to create it
    train = cfg.run_values.get("train", {})
    threads = threads_per_worker(workers, train.get("num_threads") or None)
    jobs = []
    for index, device in enumerate(worker_devices(train.get("device"), workers)):
        values = json.loads(json.dumps(cfg.run_values))
        values["train"] = {**values.get("train", {}), "num_threads": threads, **({"device": device} if device else {})}
        seed = None if cfg.sampler_seed is None else cfg.sampler_seed + index
        jobs.append(replace(cfg, run_values=values, sampler_seed=seed))
    result = run_pool(tune_worker, jobs, threads, name="mrdib-tune-worker")
    summary = study_summary(study, cfg)
    atomic_write_json(tuning_summary_path(cfg.artifacts, cfg.study_name), summary)
    if result.interrupted:
        raise KeyboardInterrupt
    failed = [code for code in result.exit_codes if code != 0]
    if failed or result.worker_errors:
        detail = f": {result.worker_errors[0]}" if result.worker_errors else ""
        raise MrdibError(f"study {cfg.study_name}: {len(failed) + len(result.worker_errors)} of {workers} workers "
                         f"failed (exit codes {', '.join(map(str, failed)) or 'none'}){detail}; rerun to continue")
    return summary


def _settle(study: optuna.Study, objective: Callable[[optuna.Trial], float], catch: tuple, deadline: float | None,
            orphans: OrphanWatch | None = None, poll: float = 1.0) -> None:
    """Before leaving, wait for the trials other workers are running: if one of them dies, its
    trial is re-queued once its heartbeat is stale, and this worker finishes it, so no trial of
    the budget is left behind."""
    waiting_or_running = (optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING)
    while deadline is None or time.monotonic() < deadline:
        fail_stale_trials(study, orphans)
        trials = study.get_trials(deepcopy=False, states=waiting_or_running)
        if not trials:
            return
        if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
            try:
                study.optimize(objective, n_trials=1, catch=catch)
            except ValueError as error:
                if not finished_elsewhere(error):
                    raise
        else:
            time.sleep(poll)


def study_summary(study: optuna.Study, cfg: TuneConfig) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    states = {}
    for trial in trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    summary: dict[str, Any] = {"study": cfg.study_name, "storage": redact(cfg.storage_url()), "data": cfg.data,
                               "backbone": cfg.backbone, "metric": cfg.metric, "seed": cfg.seed,
                               "range": [cfg.low, cfg.high], "trials": states, "best": None}
    if complete:
        best = study.best_trial
        summary["best"] = {"trial": best.number, "valid": best.value, "alphas": dict(best.params),
                           "run_id": best.user_attrs.get("run_id")}
    return summary


# -- how many trials to match a grid ------------------------------------------------------------

def trials_to_match(values: list[float | None], target: float) -> int | None:
    """1-based count of trials (pruned and failed ones count: they cost time) until one reaches `target`."""
    for index, value in enumerate(values, start=1):
        if value is not None and math.isfinite(value) and value >= target:
            return index
    return None


def compare_with_sweep(study: optuna.Study, cfg: TuneConfig, artifacts: str | Path, sweep_name: str,
                       tolerance: float = 0.01) -> dict[str, Any]:
    """Trials (and epochs) the tuner needed to reach the best validation score of a sweep's grid,
    exactly and within `tolerance` (relative: top grid points often differ by less than noise).

    Only grid points of the same data set, backbone and training seed count, so both searches
    train the same runs up to the alphas. Pruned and failed trials count: they cost time.
    """
    plan_file = sweep_plan_path(artifacts, sweep_name)
    try:
        plan = json.loads(plan_file.read_text())
    except (OSError, ValueError) as exc:
        raise MrdibError(f"{plan_file}: cannot read the sweep plan ({exc}); run `mrdib sweep` first")
    grid = []
    for point in plan.get("points", []):
        if (point.get("stage") != "grid" or point.get("dataset") != cfg.data or point.get("backbone") != cfg.backbone
                or point.get("seed") != cfg.seed):
            continue
        try:
            record = read_run(runs_dir(artifacts) / point["run_id"])
        except MrdibError:
            continue
        if record.status == "done" and cfg.metric in record.summary.get("valid", {}):
            grid.append((record.summary["valid"][cfg.metric], int(record.summary.get("epochs_run", 0)), point))
    if not grid:
        raise MrdibError(f"{plan_file}: no finished grid run for data '{cfg.data}', backbone '{cfg.backbone}', "
                         f"seed {cfg.seed}")
    best_value, _, best_point = max(grid, key=lambda item: item[0])
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    values = [t.value if t.state == optuna.trial.TrialState.COMPLETE else None for t in trials]
    needed = trials_to_match(values, best_value)
    near = trials_to_match(values, best_value * (1 - tolerance))
    epochs = [int(t.user_attrs.get("epochs_run") or (t.last_step or 0)) for t in trials]
    return {
        "sweep": sweep_name, "grid_points": len(grid), "grid_epochs": sum(e for _, e, _ in grid),
        "grid_best_valid": best_value, "grid_best_alphas": best_point.get("alphas"),
        "tuner_trials": len(trials), "tuner_epochs": sum(epochs),
        "tuner_best_valid": max((v for v in values if v is not None), default=None),
        "trials_to_match": needed, "epochs_to_match": sum(epochs[:needed]) if needed else None,
        "tolerance": tolerance, "trials_to_near_match": near,
        "epochs_to_near_match": sum(epochs[:near]) if near else None,
    }

"""Builds and runs one training run from a RunConfig: data, backbone, MRdIB, trainer, run folder."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from mrdib.backbones import get_backbone
from mrdib.core.config import RunConfig, validate_train_config
from mrdib.data import check_data_spec, load_dataset
from mrdib.data.dataset import InteractionData
from mrdib.core.device import resolve_device
from mrdib.core.errors import RunError
from mrdib.objective.plugin import MRdIB, check_settings
from mrdib.runs.layout import runs_dir
from mrdib.runs.writer import CONFIG_FILE, RESUME_FILE, RunWriter, environment_info, new_run_id, utc_now
from mrdib.training.callbacks import ProgressCallback, RunFolderCallback
from mrdib.training.monitor import MechanismMonitor
from mrdib.training.trainer import Callback, Trainer, TrainResult


def build_model(cfg: RunConfig, data: InteractionData) -> MRdIB:
    """Seeded construction, so the same config gives the same initial weights."""
    torch.manual_seed(cfg.train.seed)
    backbone_cls = get_backbone(cfg.backbone)
    backbone = backbone_cls(data, embedding_size=cfg.train.embedding_size, **cfg.backbone_params)
    return MRdIB(backbone, cfg.mrdib)


def build_trainer(cfg: RunConfig, data: InteractionData, callbacks: list[Callback] | None = None) -> Trainer:
    """The model and its trainer; a +MRdIB run's mechanism monitor runs first, so the run-folder
    writer among `callbacks` records what it adds to each epoch's logs."""
    model = build_model(cfg, data)
    monitor = [MechanismMonitor(cfg.mrdib.monitor_every, cfg.mrdib.critic_beaten_epochs, cfg.train.seed,
                                cfg.run_id)] if cfg.mrdib.enabled else []
    return Trainer(model, data, cfg.train, critic_lr=cfg.mrdib.critic_lr, callbacks=[*monitor, *(callbacks or [])])


def check_run_config(cfg: RunConfig, check_data: bool = True) -> None:
    """Every check that needs no data loaded, each a one-line MrdibError: the data folder exists
    (unless `check_data` is False: the caller holds the data already), and the training settings,
    device, backbone name and MRdIB settings are valid. Commands that plan many runs (sweep, tune,
    dose-response, demo) call it on each before they write anything; train_run calls it before its
    run folder exists."""
    if check_data:
        check_data_spec(cfg.data)
    validate_train_config(cfg.train)
    resolve_device(cfg.train.device)
    get_backbone(cfg.backbone)
    check_settings(cfg.mrdib)


def runs_root(cfg: RunConfig) -> Path:
    return runs_dir(cfg.artifacts)


def _fit(trainer: Trainer, folder_callback: RunFolderCallback) -> TrainResult:
    try:
        return trainer.fit()
    except BaseException as error:  # record the failure, then let it propagate
        folder_callback.on_failure(trainer, error)
        raise


def train_run(cfg: RunConfig, progress: bool | None = None,
              data: InteractionData | None = None,
              callbacks: list[Callback] | None = None) -> tuple[Path, TrainResult]:
    """Train one run and write its folder; returns (run folder, result).

    Extra `callbacks` run after the run-folder writer (e.g. the tuner's pruning callback).
    """
    # A refused run writes nothing: every check (settings, device, backbone name, the model's own
    # construction) comes before the run folder exists.
    check_run_config(cfg, check_data=data is None)  # data handed in needs no folder on disk
    data = data if data is not None else load_dataset(cfg.data, Path(cfg.artifacts))
    if not cfg.run_id:
        cfg.run_id = new_run_id(data.name, cfg.backbone, cfg.mrdib.enabled, cfg.train.seed)
    run_dir = runs_root(cfg) / cfg.run_id
    if (run_dir / CONFIG_FILE).exists():
        raise RunError(f"{run_dir}: a run with this id already exists (use --resume to continue it)")
    trainer = build_trainer(cfg, data)
    threads = cfg.train.num_threads if cfg.train.num_threads > 0 else None  # None: the process's own setting
    config = {"run_id": cfg.run_id, "created": utc_now(), **cfg.to_dict(),
              "dataset": data.describe(), "env": environment_info(threads)}
    writer = RunWriter(run_dir)
    writer.write_config(config)
    folder_callback = RunFolderCallback(writer, config)
    trainer.callbacks += [folder_callback, ProgressCallback(progress), *(callbacks or [])]
    return run_dir, _fit(trainer, folder_callback)


def resume_run(run_dir: str | Path, progress: bool | None = None,
               callbacks: list[Callback] | None = None, device: str | None = None) -> tuple[Path, TrainResult]:
    """Continue an interrupted run from its last completed epoch (extra `callbacks` as in train_run).

    `device` overrides the one the run started on (a GPU run may be finished on a CPU).
    """
    run_dir = Path(run_dir)
    config_path, resume_path = run_dir / CONFIG_FILE, run_dir / RESUME_FILE
    if not config_path.is_file():
        raise RunError(f"{run_dir}: not a run folder (no {CONFIG_FILE})")
    if not resume_path.is_file():
        raise RunError(f"{run_dir}: nothing to resume from (no {RESUME_FILE}; the run never finished an epoch)")
    try:
        config = json.loads(config_path.read_text())
        state = torch.load(resume_path, weights_only=True, map_location="cpu")
    except (json.JSONDecodeError, RuntimeError, EOFError) as exc:
        raise RunError(f"{run_dir}: corrupt run folder ({exc})")
    raw = {k: v for k, v in config.items() if k not in ("run_id", "created", "dataset", "env", "format_version")}
    cfg = RunConfig.from_dict(raw)
    cfg.run_id = config["run_id"]
    if device:
        cfg.train.device = device
    data = load_dataset(cfg.data, Path(cfg.artifacts))
    writer = RunWriter(run_dir)
    folder_callback = RunFolderCallback(writer, config)
    trainer = build_trainer(cfg, data, [folder_callback, ProgressCallback(progress), *(callbacks or [])])
    trainer.load_resume_state(state)
    writer.truncate_metrics(trainer.stop.epoch)
    return run_dir, _fit(trainer, folder_callback)

"""Callbacks: the run folder writer and the progress bars."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from mrdib.backbones.base import Encoded
from mrdib.runs.writer import RunWriter
from mrdib.training.trainer import Callback, EpochRecord, TrainResult

if TYPE_CHECKING:
    from mrdib.training.trainer import Trainer


def epoch_log_record(record: EpochRecord) -> dict:
    """Turns the trainer's flat logs into the metrics.jsonl layout (docs/run_format.md)."""
    grouped: dict[str, dict[str, float]] = {"losses": {}, "mine_bound": {}, "kl": {}, "unique": {}}
    # monitor/<quantity>/<name> (mrdib.training.monitor) nests one level deeper.
    for key, value in record.logs.items():
        group, _, name = key.partition("/")
        if group == "monitor":
            quantity, _, name = name.partition("/")
            grouped.setdefault("monitor", {}).setdefault(quantity, {})[name] = value
            continue
        grouped.setdefault(group, {})[name] = value
    return {"epoch": record.epoch, "train_seconds": record.train_seconds, "eval_seconds": record.eval_seconds,
            **grouped, "valid": record.valid, "improved": record.improved}


class RunFolderCallback(Callback):
    """Keeps the run folder current: metrics per epoch, best checkpoint, resume state, summary."""

    def __init__(self, writer: RunWriter, config: dict):
        self.writer, self.config = writer, config

    def _summary(self, trainer: "Trainer", status: str, test: dict | None = None,
                 stopped_early: bool = False, error: str | None = None) -> dict:
        stop = trainer.stop
        return {"status": status, "epochs_run": stop.epoch, "best_epoch": stop.best_epoch,
                "valid": stop.best_valid, "test": test or {},
                "seconds_per_epoch": stop.train_seconds_total / max(stop.epoch, 1),
                "stopped_early": stopped_early, "error": error, "warnings": list(stop.warnings)}

    def on_train_start(self, trainer: "Trainer") -> None:
        self.writer.write_summary(self._summary(trainer, "running"))

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None:
        self.writer.append_metrics(epoch_log_record(record))
        if record.improved:
            self.writer.save_checkpoint({"model": trainer.model.state_dict(), "config": self.config,
                                         "epoch": record.epoch})
        self.writer.save_resume_state(trainer.resume_state())
        self.writer.write_summary(self._summary(trainer, "running"))

    def on_train_end(self, trainer: "Trainer", result: TrainResult) -> None:
        self.writer.save_embeddings(export_embeddings(trainer))
        self.writer.write_summary(self._summary(trainer, "done", test=result.test,
                                                stopped_early=result.stopped_early))

    def on_failure(self, trainer: "Trainer", error: BaseException) -> None:
        # An exception may name its own status (the tuner's pruning exception says "pruned").
        status = getattr(error, "run_status", "failed")
        self.writer.write_summary(self._summary(trainer, status, error=f"{type(error).__name__}: {error}"))


@torch.no_grad()
def export_embeddings(trainer: "Trainer") -> dict[str, np.ndarray]:
    """Representations in evaluation mode (bottleneck means) of the model as it stands, and for
    +MRdIB the posterior log-variance of every item's z."""
    model = trainer.model
    model.eval()
    log_vars = {}
    if model.enabled:  # the posterior's spread too, so any tool can draw z ~ q(z|x) without the model
        means, modal_log_vars, extras = model.posterior()
        encoded = Encoded(means, extras)  # evaluation's z is the posterior mean
        fused = model.backbone.fuse(encoded)
        log_vars = {f"modal_log_var/{m}": log_var.float().cpu().numpy() for m, log_var in modal_log_vars.items()}
    else:
        encoded, fused = model.representations()
    model.train()
    arrays = {
        "item_ids": np.arange(trainer.data.n_items),
        "user_ids": np.arange(trainer.data.n_users),
        "fused/items": fused.items.float().cpu().numpy(),
        "fused/users": fused.users.float().cpu().numpy(),
    }
    for modality, reps in encoded.modal_items.items():
        arrays[f"modal/{modality}"] = reps.float().cpu().numpy()
    return {**arrays, **log_vars}


class ProgressCallback(Callback):
    """Epoch and batch progress bars on a terminal; silent when output is not a TTY."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.epoch_bar = self.batch_bar = None

    def on_train_start(self, trainer: "Trainer") -> None:
        if not self.enabled:
            return
        self.epoch_bar = tqdm(total=trainer.cfg.epochs, initial=trainer.stop.epoch, desc="epochs",
                              unit="ep", position=0)
        self._new_batch_bar(trainer)

    def _new_batch_bar(self, trainer: "Trainer") -> None:
        if self.batch_bar is not None:
            self.batch_bar.close()
        self.batch_bar = tqdm(total=len(trainer.sampler), desc="batches", unit="b", leave=False, position=1)

    def on_batch_end(self, trainer: "Trainer") -> None:
        if self.batch_bar is not None:
            self.batch_bar.update(1)

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None:
        if self.epoch_bar is None:
            return
        metric = trainer.cfg.stop_metric
        self.epoch_bar.set_postfix(loss=f"{record.logs.get('losses/total', float('nan')):.4f}",
                                   **{metric: f"{record.valid[metric]:.4f}"},
                                   best=f"{trainer.stop.best_value:.4f}@{trainer.stop.best_epoch}")
        self.epoch_bar.update(1)
        self._new_batch_bar(trainer)

    def on_train_end(self, trainer: "Trainer", result: TrainResult) -> None:
        for bar in (self.batch_bar, self.epoch_bar):
            if bar is not None:
                bar.close()

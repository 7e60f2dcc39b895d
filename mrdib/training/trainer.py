"""The training loop: BPR epochs, validation, early stopping, test at the best epoch.

Side effects (run folders, progress bars, embedding dumps) live in callbacks; the loop
itself only trains, evaluates and keeps the best weights.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from mrdib.training.allocator import retain_freed_memory
from mrdib.core.config import TrainConfig
from mrdib.data.dataset import InteractionData
from mrdib.core.device import resolve_device
from mrdib.evaluation.ranking import EvalConfig, RankingEvaluator
from mrdib.backbones.base import BPRBatch
from mrdib.objective.plugin import MRdIB
from mrdib.training.sampler import BPRSampler


@dataclass
class EpochRecord:
    epoch: int
    train_seconds: float
    eval_seconds: float
    logs: dict[str, float]
    valid: dict[str, float]
    improved: bool


@dataclass
class TrainResult:
    best_epoch: int
    epochs_run: int
    valid: dict[str, float]
    test: dict[str, float]
    seconds_per_epoch: float
    stopped_early: bool
    history: list[EpochRecord] = field(default_factory=list)


@dataclass
class StopState:
    """Early-stopping bookkeeping, saved with the resume state."""

    epoch: int = 0
    best_epoch: int = 0
    best_value: float = float("-inf")
    bad_epochs: int = 0
    train_seconds_total: float = 0.0
    best_valid: dict[str, float] = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)  # {"epoch", "code", "message"}, e.g. a beaten critic


class Callback:
    """Hooks the trainer calls; subclasses override what they need."""

    def on_train_start(self, trainer: "Trainer") -> None: ...

    def on_batch_end(self, trainer: "Trainer") -> None: ...

    def on_epoch_end(self, trainer: "Trainer", record: EpochRecord) -> None: ...

    def on_train_end(self, trainer: "Trainer", result: TrainResult) -> None: ...


class Trainer:
    def __init__(self, model: MRdIB, data: InteractionData, cfg: TrainConfig, critic_lr: float = 1e-4,
                 callbacks: Sequence[Callback] = ()):
        self.model, self.data, self.cfg = model, data, cfg
        self.callbacks = list(callbacks)
        self.device = resolve_device(cfg.device)
        retain_freed_memory()  # steps reuse freed host memory instead of faulting in fresh pages
        model.to(self.device)  # before the optimizers, which keep their state beside the parameters
        # fused Adam: one kernel per step, several times faster on CPU than the default loop.
        self.optimizer = torch.optim.Adam(model.model_parameters(), lr=cfg.learning_rate, fused=True)
        critic_params = model.critic_parameters()
        self.critic_optimizer = torch.optim.Adam(critic_params, lr=critic_lr, fused=True) if critic_params else None
        self.sampler = BPRSampler(data, cfg.batch_size)
        eval_cfg = EvalConfig(topk=tuple(cfg.topk), batch_size=cfg.eval_batch_size)
        self.valid_evaluator = RankingEvaluator(data, "valid", eval_cfg, device=self.device)
        self.test_evaluator = RankingEvaluator(data, "test", eval_cfg, device=self.device)
        self.stop = StopState()
        self.best_model_state: dict[str, torch.Tensor] | None = None

    # -- evaluation -----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, split: str) -> dict[str, float]:
        """Full-ranking metrics, recomputing representations in evaluation mode (bottleneck means)."""
        self.model.eval()
        _, fused = self.model.representations()
        evaluator = self.valid_evaluator if split == "valid" else self.test_evaluator
        metrics = evaluator.evaluate(lambda users: self.model.score(fused, users))
        self.model.train()
        return metrics

    # -- training -------------------------------------------------------------------------
    def train_step(self, batch: BPRBatch) -> dict[str, torch.Tensor]:
        """One optimisation step (both players of the min-max) on a batch; returns its logs."""
        if self.device.type != "cpu":  # the sampler draws on the CPU (seeded, device-independent); the batch moves
            batch = BPRBatch(*(t.to(self.device, non_blocking=True) for t in
                               (batch.users, batch.pos_items, batch.neg_items)))
        step = self.model.training_step(batch)
        self.optimizer.zero_grad(set_to_none=True)
        if self.critic_optimizer is not None:
            self.critic_optimizer.zero_grad(set_to_none=True)
        step.loss.backward()
        if step.critic_loss is not None:
            step.critic_loss.backward()
        self.optimizer.step()
        if self.critic_optimizer is not None:
            self.critic_optimizer.step()
            if step.critic_refresh is not None:
                # Extra critic-only updates on the step's detached z (MRdIBConfig.critic_steps).
                for _ in range(self.model.cfg.critic_steps - 1):
                    self.critic_optimizer.zero_grad(set_to_none=True)
                    step.critic_refresh().backward()
                    self.critic_optimizer.step()
        return step.logs

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.model.backbone.pre_epoch(epoch)
        sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(()))
        n_batches = 0
        for batch in self.sampler.epoch():
            for key, value in self.train_step(batch).items():
                sums[key] = sums[key] + value
            n_batches += 1
            for callback in self.callbacks:
                callback.on_batch_end(self)
        logs = {key: float(value) / max(n_batches, 1) for key, value in sums.items()}
        if not all(torch.isfinite(torch.tensor(list(logs.values())))):
            raise FloatingPointError(f"non-finite training loss at epoch {epoch}: {logs}")
        return logs

    def fit(self) -> TrainResult:
        if self.cfg.num_threads > 0:
            torch.set_num_threads(self.cfg.num_threads)
        for callback in self.callbacks:
            callback.on_train_start(self)
        history: list[EpochRecord] = []
        stopped_early = False
        while self.stop.epoch < self.cfg.epochs:
            epoch = self.stop.epoch + 1
            started = time.perf_counter()
            logs = self.train_epoch(epoch)
            train_seconds = time.perf_counter() - started
            started = time.perf_counter()
            valid = self.evaluate("valid")
            eval_seconds = time.perf_counter() - started
            value = valid[self.cfg.stop_metric]
            improved = value > self.stop.best_value
            self.stop.epoch = epoch
            self.stop.train_seconds_total += train_seconds
            if improved:
                self.stop.best_value, self.stop.best_epoch, self.stop.bad_epochs = value, epoch, 0
                self.stop.best_valid = dict(valid)
                self.best_model_state = copy.deepcopy(self.model.state_dict())
            else:
                self.stop.bad_epochs += 1
            record = EpochRecord(epoch, train_seconds, eval_seconds, logs, valid, improved)
            history.append(record)
            for callback in self.callbacks:
                callback.on_epoch_end(self, record)
            if self.stop.bad_epochs >= self.cfg.patience:
                stopped_early = True
                break
        if self.best_model_state is not None:
            self.model.load_state_dict(self.best_model_state)
        test = self.evaluate("test")
        result = TrainResult(
            best_epoch=self.stop.best_epoch,
            epochs_run=self.stop.epoch,
            valid=dict(self.stop.best_valid),
            test=test,
            seconds_per_epoch=self.stop.train_seconds_total / max(self.stop.epoch, 1),
            stopped_early=stopped_early,
            history=history,
        )
        for callback in self.callbacks:
            callback.on_train_end(self, result)
        return result

    # -- resume ---------------------------------------------------------------------------
    def resume_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this epoch ended (a plain dict)."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "stop": vars(self.stop).copy(),
            "rng": torch.get_rng_state(),
            "best_model": self.best_model_state,
        }
        generator_state = self.model.generator_state() if self.model.enabled else None
        if generator_state is not None:
            state["mrdib_generator"] = generator_state
        if self.critic_optimizer is not None:
            state["critic_optimizer"] = self.critic_optimizer.state_dict()
        return state

    def load_resume_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.critic_optimizer is not None and "critic_optimizer" in state:
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.stop = StopState(**state["stop"])
        self.best_model_state = state.get("best_model")
        torch.set_rng_state(state["rng"])
        if self.model.enabled:
            self.model.set_generator_state(state.get("mrdib_generator"))

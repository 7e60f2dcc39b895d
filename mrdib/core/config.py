"""Run configuration: dataclasses with layered loading (defaults, backbone file, config file, CLI)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mrdib.core.errors import ConfigError
from mrdib.core.names import metric_keys


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading `1e-5` as a float as YAML 1.2 and JSON do.

    PyYAML follows YAML 1.1, where a float needs a dot (`1.0e-5`), so `reg_weight: 1e-5` would
    arrive as the string '1e-5' and fail only inside the first training step."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text safely (no arbitrary objects), with YAML 1.2's exponent floats."""
    return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass
class MRdIBConfig:
    """Weights of the MRdIB terms and the settings of its bottleneck and critic; `enabled=False`
    leaves the backbone untouched. The defaults were chosen by measurement: docs/mechanism.md."""

    enabled: bool = False
    a1: float = 0.001  # KL compression weight
    a2: float = 0.01  # MINE redundancy weight
    a3: float = 0.01  # per-modality (unique) BPR weight
    critic_hidden: int = 64
    critic_lr: float = 3e-3
    critic_steps: int = 5  # critic updates per encoder step (the extra ones on the step's detached z)
    critic_warmup_steps: int = 100  # steps the critic trains alone (a2 then ramps up over as many)
    critic_standardise: bool = True  # the critic sees z standardised per batch (no learned scale)
    mine_bound: str = "dv"  # "dv" (the paper's Donsker-Varadhan, MINE-corrected) or "nwj"
    mine_batch_size: int = 512  # item pairs per step for the MINE bound
    # Triples per step for the KL and unique terms (0: the whole batch). A uniform random subset
    # has the same expected gradient at a fraction of the cost; see docs/performance.md.
    aux_batch_size: int = 0
    # Initial posterior log-variance: relative to the log of the variance of each modality's
    # initial mean (so -2 is noise with ~0.37 the signal's std, whatever the backbone's scale),
    # unless init_log_var gives an absolute value (the earlier default was -5).
    init_relative_log_var: float = -2.0
    init_log_var: float | None = None
    min_log_var: float = -10.0  # the posterior log-variance's floor (its clamp), relative to the prior's
    # The prior N(0, s^2 I): "unit" (s = 1, the paper's N(0, I)) or "relative" (s^2 the representation's
    # mean variance at initialisation). Chosen per backbone on validation (mrdib/configs/<backbone>.yaml;
    # docs/mechanism.md): relative where the unit prior drowned small representations in noise (MGCN),
    # unit where the relative one collapsed representations that grow from a tiny start (MMGCN).
    prior_scale: str = "unit"
    # The posterior mean: "identity" (the backbone's own representation; the bottleneck adds only
    # the log-variance head and the noise) or "linear" (the earlier design: a trainable linear mean
    # head, and MRdIB's draws from the global generator; for reproducing results made with it).
    mean_head: str = "identity"
    posterior_noise: bool = True  # False: z is the posterior mean in training too (a diagnostic)
    log_var_scale: float = 10.0  # the log-variance head learns this many times faster (see bottleneck.py)
    mine_ema_rate: float = 0.01
    unique_mode: str = "standalone"  # the a3 term: "standalone" (the paper's) or "conditional" (plugin.py)
    monitor_every: int = 1  # epochs between fresh redundancy estimates on posterior samples (0: never)
    critic_beaten_epochs: int = 3  # epochs of bound <= 0 (with redundancy left) before the warning


@dataclass
class TrainConfig:
    seed: int = 0
    epochs: int = 100
    patience: int = 20  # MMRec's stopping_step
    batch_size: int = 2048
    learning_rate: float = 1e-3
    embedding_size: int = 64
    eval_batch_size: int = 4096  # users per validation batch at most; fewer where their scores pass 64 MB
    topk: tuple[int, ...] = (5, 10, 20)
    stop_metric: str = "recall@5"
    num_threads: int = 0  # 0 keeps torch's default
    device: str = "cpu"  # "cpu", "cuda", "cuda:1", or "auto" (cuda when available); CPU runs are bit-reproducible


@dataclass
class RunConfig:
    """Everything that determines a run; saved resolved in the run's config.json."""

    data: str = "synthetic"
    backbone: str = "vbpr"
    backbone_params: dict[str, Any] = field(default_factory=dict)
    mrdib: MRdIBConfig = field(default_factory=MRdIBConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    artifacts: str = "artifacts"
    run_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["train"]["topk"] = list(self.train.topk)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RunConfig":
        """A saved config (a run's config.json, a sweep point). One written before the plug-in's
        redesign (2026-12-07) has no `mrdib.mean_head`: it ran the earlier design, which it gets back,
        so its folder can still be resumed, analysed and reproduced."""
        mrdib = raw.get("mrdib")
        if isinstance(mrdib, dict) and mrdib.get("enabled") and "mean_head" not in mrdib:
            raw = {**raw, "mrdib": {"mean_head": "linear", "prior_scale": "unit", **mrdib}}
        cfg = cls()
        apply_overrides(cfg, raw)
        return cfg


# Settings that are a number or None (None: the documented automatic choice).
_OPTIONAL_NUMBERS = ("init_log_var",)


def _update_dataclass(target: Any, values: dict[str, Any], where: str) -> None:
    names = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown setting '{key}' (known: {', '.join(names)})")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: '{key}' must be a mapping")
            _update_dataclass(current, value, f"{where}.{key}")
        elif key == "topk":
            values_k = value if isinstance(value, (list, tuple)) else [value]
            try:
                setattr(target, key, tuple(int(k) for k in values_k))
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: 'topk' must be a list of integers, got {value!r}") from None
        elif isinstance(current, dict):
            merged = dict(current)
            merged.update(value or {})
            setattr(target, key, merged)
        elif isinstance(current, bool):
            setattr(target, key, bool(value))
        elif isinstance(current, (int, float)) and not isinstance(value, (int, float)) or (
                key in _OPTIONAL_NUMBERS and value is not None and not isinstance(value, (int, float))):
            raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}")
        elif isinstance(current, float):
            setattr(target, key, float(value))
        else:
            setattr(target, key, value)


def apply_overrides(cfg: RunConfig, values: dict[str, Any], where: str = "config") -> RunConfig:
    """Merge a (possibly partial, nested) mapping into `cfg` in place, rejecting unknown keys."""
    values = {k: v for k, v in values.items() if k not in ("format_version", "created", "env")}
    _update_dataclass(cfg, values, where)
    return cfg


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text()
        raw = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({exc})")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def backbone_defaults(backbone: str) -> dict[str, Any]:
    """The published defaults of a backbone, from mrdib/configs/<backbone>.yaml."""
    resource = resources.files("mrdib") / "configs" / f"{backbone}.yaml"
    if not resource.is_file():
        return {}
    raw = load_yaml(resource.read_text()) or {}
    return raw


def resolve_config(
    backbone: str,
    file_values: dict[str, Any] | None = None,
    cli_values: dict[str, Any] | None = None,
) -> RunConfig:
    """Layer: dataclass defaults < backbone config file < user config file < command line."""
    file_values = dict(file_values or {})
    cli_values = dict(cli_values or {})
    name = cli_values.get("backbone") or file_values.get("backbone") or backbone
    cfg = RunConfig(backbone=name)
    apply_overrides(cfg, backbone_defaults(name), f"mrdib/configs/{name}.yaml")
    apply_overrides(cfg, file_values, "config file")
    apply_overrides(cfg, cli_values, "command line")
    validate_train_config(cfg.train)
    return cfg


def validate_train_config(train: TrainConfig) -> None:
    """Settings that would only fail after an epoch of training (or train nothing) fail here, in one
    line: counts and sizes must be positive, and the stop metric one that the `topk` cut-offs produce."""
    positive = {"epochs": train.epochs, "batch_size": train.batch_size, "eval_batch_size": train.eval_batch_size,
                "embedding_size": train.embedding_size}
    for name, value in positive.items():
        if value < 1:
            raise ConfigError(f"train.{name} must be at least 1, got {value}")
    if train.patience < 0:
        raise ConfigError(f"train.patience must be >= 0, got {train.patience}")
    if train.num_threads < 0:
        raise ConfigError(f"train.num_threads must be >= 0 (0: torch's default), got {train.num_threads}")
    if not (math.isfinite(train.learning_rate) and train.learning_rate > 0):
        raise ConfigError(f"train.learning_rate must be a positive number, got {train.learning_rate}")
    if not train.topk or any(k < 1 for k in train.topk):
        raise ConfigError(f"train.topk must be one or more positive integers, got {list(train.topk)}")
    produced = metric_keys(train.topk)
    if train.stop_metric not in produced:
        raise ConfigError(f"train.stop_metric '{train.stop_metric}' is not among the metrics train.topk "
                          f"{list(train.topk)} produces ({', '.join(produced)}); set --stop-metric to one of "
                          "them or add its cut-off to --topk")

"""Sweep configs and the points they expand to.

A sweep names data sets x backbones x {baseline, +MRdIB} x an alpha grid x ablations x seeds.
It runs in two stages per (data set, backbone): first the baselines and the alpha grid (on the
selection seeds), then, once validation has chosen the alphas, the chosen alphas on the
remaining seeds and the ablations at the chosen alphas. Every point carries a deterministic
run id (a hash of its resolved config), so a rerun finds exactly the runs it already has.

A `baseline_grid` gives the baseline the same treatment as the alphas: its own settings (e.g.
reg_weight) are tried on the selection seeds, and the one validation chooses runs on the other
seeds (`baseline_final`). With `mrdib_uses_baseline_choice` the alpha grid waits for that choice
and runs at the baseline's chosen settings, so +MRdIB is tuned on top of a tuned baseline.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from mrdib.core.config import RunConfig, read_config_file, resolve_config
from mrdib.core.errors import ConfigError, MrdibError
from mrdib.core.names import ALPHA_NAMES
from mrdib.core.variants import (  # noqa: F401
    ABLATION_ALIASES,
    ABLATIONS,
    CONTROL,
    Alphas,
    ablate,
    alphas_of,
    canonical_ablation,
    variant_of,
)
from mrdib.runs.identity import config_hash
from mrdib.training.runner import check_run_config

# The paper's grid for each alpha ("Influence of Hyperparameters").
PAPER_ALPHA_GRID: tuple[float, ...] = (0.0001, 0.001, 0.005, 0.01, 0.05)
GRID_MODES = ("full", "one_at_a_time", "points")
BASELINE_GRID_MODES = ("full", "one_at_a_time")
VARIANTS = ("baseline", "mrdib")

@dataclass
class AlphaGrid:
    """Which alpha triples stage one tries.

    `full`: every combination of the three lists (the paper's 5^3 grid by default);
    `one_at_a_time`: `base`, then each alpha over its list with the other two at `base`
    (the paper's sensitivity curves; 13 points with the default lists);
    `points`: exactly the triples in `points`.
    """

    mode: str = "full"
    a1: list[float] = field(default_factory=lambda: list(PAPER_ALPHA_GRID))
    a2: list[float] = field(default_factory=lambda: list(PAPER_ALPHA_GRID))
    a3: list[float] = field(default_factory=lambda: list(PAPER_ALPHA_GRID))
    base: list[float] = field(default_factory=lambda: [0.001, 0.01, 0.01])
    points: list[list[float]] = field(default_factory=list)

    def triples(self) -> list[Alphas]:
        if self.mode == "full":
            combos = itertools.product(self.a1, self.a2, self.a3)
        elif self.mode == "one_at_a_time":
            base = tuple(self.base)
            combos = [base]
            for position, values in enumerate((self.a1, self.a2, self.a3)):
                for value in values:
                    triple = list(base)
                    triple[position] = value
                    combos.append(tuple(triple))
        else:
            combos = [tuple(point) for point in self.points]
        unique: dict[Alphas, None] = {}
        for combo in combos:
            unique[tuple(float(v) for v in combo)] = None  # type: ignore[index]
        return list(unique)


@dataclass
class SweepConfig:
    """A sweep as written in configs/sweeps/*.yaml; unset fields take the paper's defaults."""

    name: str = "sweep"
    datasets: list[str] = field(default_factory=lambda: ["synthetic"])
    backbones: list[str] = field(default_factory=lambda: ["vbpr"])
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    selection_seeds: list[int] | None = None  # seeds the grid runs on; None: all seeds
    alphas: AlphaGrid = field(default_factory=AlphaGrid)
    ablations: list[str] = field(default_factory=lambda: list(ABLATIONS))
    ablation_backbones: list[str] | None = None  # None: every backbone
    ablation_datasets: list[str] | None = None  # None: every data set
    metric: str = "recall@5"  # validation metric that selects the alphas
    train: dict[str, Any] = field(default_factory=dict)  # fixed overrides: epochs, patience, batch_size...
    mrdib: dict[str, Any] = field(default_factory=dict)  # e.g. critic_lr; alphas come from the grid
    backbone_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per backbone name
    # Per backbone, settings to choose on validation for the baseline: {name: [values]}; several
    # names: every combination. A name is a backbone_params key, or `train.<field>` for a training
    # setting. E.g. {vbpr: {reg_weight: [1e-5, 1e-4]}, dualgnn: {train.learning_rate: [1e-4, 1e-3]}}.
    baseline_grid: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    # "full": every combination of the baseline grid's lists; "one_at_a_time": each list's first
    # value is the centre, and each setting varies over its list with the others at the centre (as
    # the alphas do): with two lists of 7, 13 configurations, the alpha grid's budget.
    baseline_grid_mode: str = "full"
    mrdib_uses_baseline_choice: bool = False  # the alpha grid runs at the baseline's chosen settings
    control: bool = False  # +MRdIB with a1 = a2 = a3 = 0 at the baseline's choice, on every seed
    artifacts: str | None = None
    notes: str = ""  # copied verbatim into the report

    @property
    def grid_seeds(self) -> list[int]:
        return list(self.selection_seeds) if self.selection_seeds else list(self.seeds)

    def baseline_settings(self, backbone: str) -> list[dict[str, Any]]:
        """The baseline_grid of one backbone as a list of settings; [] when it has none."""
        grid = self.baseline_grid.get(backbone) or {}
        if not grid:
            return []
        names = list(grid)
        if self.baseline_grid_mode == "full":
            return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
        centre = {n: grid[n][0] for n in names}
        settings = [centre] + [{**centre, n: value} for n in names for value in grid[n][1:]]
        return list({json.dumps(s, sort_keys=True, default=str): s for s in settings}.values())

    def waits_for_baseline(self, backbone: str) -> bool:
        """Whether this backbone's alpha grid runs only after the baseline's settings are chosen."""
        return (self.mrdib_uses_baseline_choice and "mrdib" in self.variants and "baseline" in self.variants
                and bool(self.baseline_settings(backbone)))

    def runs_ablations(self, dataset: str, backbone: str) -> bool:
        return ("mrdib" in self.variants and bool(self.ablations)
                and (self.ablation_backbones is None or backbone in self.ablation_backbones)
                and (self.ablation_datasets is None or dataset in self.ablation_datasets))


def _check_keys(where: str, raw: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    unknown = [key for key in raw if key not in allowed]
    if unknown:
        raise ConfigError(f"{where}: unknown setting '{unknown[0]}' (known: {', '.join(allowed)})")


def _float_list(where: str, values: Any) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: expected a non-empty list of numbers")
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected numbers, got {values!r}")


TRAIN_PREFIX = "train."
# Training settings a baseline grid may vary (the seed and the stopping metric are the sweep's own).
GRID_TRAIN_FIELDS: tuple[str, ...] = ("learning_rate", "batch_size", "embedding_size", "epochs", "patience")


def split_grid_params(params: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A baseline grid's settings as (train overrides, backbone_params)."""
    train = {k.removeprefix(TRAIN_PREFIX): v for k, v in (params or {}).items() if k.startswith(TRAIN_PREFIX)}
    backbone = {k: v for k, v in (params or {}).items() if not k.startswith(TRAIN_PREFIX)}
    return train, backbone


def _baseline_grid(where: str, raw: Any) -> dict[str, dict[str, list[Any]]]:
    """{backbone: {param: [values]}} with every list non-empty and free of repeats."""
    if not isinstance(raw or {}, dict):
        raise ConfigError(f"{where}: 'baseline_grid' must map backbone names to {{param: [values]}}")
    grid: dict[str, dict[str, list[Any]]] = {}
    for backbone, params in (raw or {}).items():
        if not isinstance(params, dict) or not params:
            raise ConfigError(f"{where}: baseline_grid.{backbone} must be a non-empty mapping {{param: [values]}}, "
                              "e.g. {reg_weight: [0.0001, 0.001]}")
        grid[str(backbone)] = {}
        for name, values in params.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}: baseline_grid.{backbone}.{name} must be a non-empty list of values")
            field_name = str(name).removeprefix(TRAIN_PREFIX)
            if str(name).startswith(TRAIN_PREFIX) and field_name not in GRID_TRAIN_FIELDS:
                raise ConfigError(f"{where}: baseline_grid.{backbone}.{name}: '{field_name}' is not a training "
                                  f"setting a baseline can be tuned over (known: {', '.join(GRID_TRAIN_FIELDS)})")
            grid[str(backbone)][str(name)] = list(dict.fromkeys(values))
    return grid


def sweep_config_from_dict(raw: dict[str, Any], where: str = "sweep config") -> SweepConfig:
    """Validate and build a SweepConfig; every problem is one ConfigError naming `where`."""
    _check_keys(where, raw, [f.name for f in fields(SweepConfig)])
    values = dict(raw)
    grid_raw = values.pop("alphas", None) or {}
    if not isinstance(grid_raw, dict):
        raise ConfigError(f"{where}: 'alphas' must be a mapping (mode, a1, a2, a3, base, points)")
    _check_keys(f"{where}: alphas", grid_raw, [f.name for f in fields(AlphaGrid)])
    grid = AlphaGrid(**{k: v for k, v in grid_raw.items() if k == "mode"})
    if grid.mode not in GRID_MODES:
        raise ConfigError(f"{where}: alphas.mode '{grid.mode}' is not one of {', '.join(GRID_MODES)}")
    for name in ("a1", "a2", "a3"):
        if name in grid_raw:
            setattr(grid, name, _float_list(f"{where}: alphas.{name}", grid_raw[name]))
    if "base" in grid_raw:
        grid.base = _float_list(f"{where}: alphas.base", grid_raw["base"])
        if len(grid.base) != 3:
            raise ConfigError(f"{where}: alphas.base needs three values [a1, a2, a3]")
    if "points" in grid_raw:
        grid.points = [_float_list(f"{where}: alphas.points", p) for p in grid_raw["points"] or []]
        if any(len(p) != 3 for p in grid.points):
            raise ConfigError(f"{where}: every alphas.points entry needs three values [a1, a2, a3]")
    if grid.mode == "points" and not grid.points:
        raise ConfigError(f"{where}: alphas.mode is 'points' but alphas.points is empty")
    if any(v < 0 for triple in grid.triples() for v in triple):
        raise ConfigError(f"{where}: alphas must be >= 0")
    cfg = SweepConfig(alphas=grid)
    for key, value in values.items():
        if key in ("datasets", "backbones", "variants", "ablations", "ablation_backbones", "ablation_datasets"):
            if value is not None and not isinstance(value, list):
                value = [value]
            value = None if value is None else [str(v) for v in value]
        elif key in ("seeds", "selection_seeds"):
            if value is not None and not isinstance(value, list):
                value = [value]
            try:
                value = None if value is None else [int(v) for v in value]
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: '{key}' must be a list of integers")
        elif key in ("train", "mrdib", "backbone_params"):
            if not isinstance(value or {}, dict):
                raise ConfigError(f"{where}: '{key}' must be a mapping")
            value = dict(value or {})
        elif key == "baseline_grid":
            value = _baseline_grid(where, value)
        elif key in ("mrdib_uses_baseline_choice", "control"):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        elif key == "baseline_grid_mode":
            if value not in BASELINE_GRID_MODES:
                raise ConfigError(f"{where}: baseline_grid_mode '{value}' is not one of "
                                  f"{', '.join(BASELINE_GRID_MODES)}")
        elif key in ("name", "metric", "notes", "artifacts") and value is not None:
            value = str(value)
        setattr(cfg, key, value)
    _validate(cfg, where)
    return cfg


def _validate(cfg: SweepConfig, where: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", cfg.name):
        raise ConfigError(f"{where}: name '{cfg.name}' may hold only letters, digits, '_', '.' and '-'")
    for key in ("datasets", "backbones", "variants", "seeds"):
        if not getattr(cfg, key):
            raise ConfigError(f"{where}: '{key}' is empty")
    for variant in cfg.variants:
        if variant not in VARIANTS:
            raise ConfigError(f"{where}: variant '{variant}' is not one of {', '.join(VARIANTS)}")
    try:
        cfg.ablations = list(dict.fromkeys(canonical_ablation(a) for a in cfg.ablations))
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}")
    reserved = {"enabled", "a1", "a2", "a3"} & set(cfg.mrdib)
    if reserved:
        raise ConfigError(f"{where}: mrdib.{sorted(reserved)[0]} is set by the sweep itself; "
                          "put alphas under 'alphas' and switch MRdIB with 'variants'")
    for key in ("seed", "stop_metric"):
        if key in cfg.train:
            raise ConfigError(f"{where}: train.{key} is set by the sweep itself (use 'seeds' / 'metric')")
    for key in ("backbone_params", "baseline_grid"):
        unknown = [name for name in getattr(cfg, key) if name not in cfg.backbones]
        if unknown:
            raise ConfigError(f"{where}: {key} is keyed by backbone name; '{unknown[0]}' is not in "
                              f"backbones ({', '.join(cfg.backbones)})")
    if cfg.baseline_grid and "baseline" not in cfg.variants:
        raise ConfigError(f"{where}: baseline_grid is set but variants has no 'baseline'")
    if cfg.control and not (cfg.mrdib_uses_baseline_choice and "mrdib" in cfg.variants):
        raise ConfigError(f"{where}: control runs at the baseline's choice: it needs mrdib_uses_baseline_choice "
                          "and the mrdib variant")
    if cfg.mrdib_uses_baseline_choice and not cfg.baseline_grid:
        raise ConfigError(f"{where}: mrdib_uses_baseline_choice needs a baseline_grid to choose from")
    for key in ("ablation_backbones", "ablation_datasets"):
        subset = getattr(cfg, key)
        pool = cfg.backbones if key == "ablation_backbones" else cfg.datasets
        missing = [name for name in subset or [] if name not in pool]
        if missing:
            raise ConfigError(f"{where}: {key} names '{missing[0]}', which the sweep does not run")
    if cfg.selection_seeds and not set(cfg.selection_seeds) <= set(cfg.seeds):
        raise ConfigError(f"{where}: selection_seeds must be a subset of seeds")


def read_sweep_config(path: str | Path) -> SweepConfig:
    """Read a sweep YAML; its name defaults to the file's stem."""
    path = Path(path)
    raw = read_config_file(path)
    raw.setdefault("name", path.stem)
    return sweep_config_from_dict(raw, str(path))


# -- points -------------------------------------------------------------------------------------

@dataclass
class SweepPoint:
    """One run of a sweep: what it is (for people) and its resolved config (for the runner)."""

    run_id: str
    stage: str  # "baseline" | "grid" | "final" | "ablation"
    dataset: str
    backbone: str
    variant: str  # "baseline" | "full" | ablation name
    seed: int
    alphas: Alphas | None
    config: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)  # backbone settings from the baseline grid

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "stage": self.stage, "dataset": self.dataset, "backbone": self.backbone,
                "variant": self.variant, "seed": self.seed,
                "alphas": list(self.alphas) if self.alphas is not None else None,
                **({"params": dict(self.params)} if self.params else {})}


def dataset_label(spec: str) -> str:
    """A short, file-name-safe name for a data spec ('synthetic' or a folder's name)."""
    name = Path(str(spec).rstrip("/")).name or "data"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def point_run_id(cfg: RunConfig, variant: str) -> str:
    short = {"baseline": "base", "full": "mrdib"}.get(variant, variant)
    return f"{dataset_label(cfg.data)}-{cfg.backbone}-{short}-s{cfg.train.seed}-{config_hash(cfg.to_dict())}"


def make_point(sweep: SweepConfig, artifacts: str, dataset: str, backbone: str, stage: str, seed: int,
               alphas: Alphas | None, params: dict[str, Any] | None = None) -> SweepPoint:
    """Resolve one point's RunConfig the way `mrdib train` would (backbone defaults < sweep values
    < `params`, the baseline grid's settings)."""
    mrdib: dict[str, Any] = dict(sweep.mrdib)
    if alphas is None:
        mrdib["enabled"] = False
    else:
        mrdib.update({"enabled": True, **dict(zip(ALPHA_NAMES, alphas))})
    train_params, backbone_params = split_grid_params(params)
    values = {
        "data": dataset, "backbone": backbone, "artifacts": artifacts,
        "train": {**sweep.train, **train_params, "seed": seed, "stop_metric": sweep.metric},
        "mrdib": mrdib,
        "backbone_params": {**sweep.backbone_params.get(backbone, {}), **backbone_params},
    }
    cfg = resolve_config(backbone, {}, values)
    variant = variant_of(cfg.to_dict()["mrdib"])
    cfg.run_id = point_run_id(cfg, variant)
    return SweepPoint(cfg.run_id, stage, dataset, backbone, variant, seed, alphas, cfg.to_dict(), dict(params or {}))


def first_stage(sweep: SweepConfig, artifacts: str, dataset: str, backbone: str) -> list[SweepPoint]:
    """What can run at once: the baselines (on every seed, or their grid on the selection seeds)
    and the alpha grid on the selection seeds, unless it waits for the baseline's choice."""
    points = []
    if "baseline" in sweep.variants:
        settings = sweep.baseline_settings(backbone)
        if settings:
            points += [make_point(sweep, artifacts, dataset, backbone, "baseline_grid", seed, None, params)
                       for params in settings for seed in sweep.grid_seeds]
        else:
            points += [make_point(sweep, artifacts, dataset, backbone, "baseline", seed, None)
                       for seed in sweep.seeds]
    if "mrdib" in sweep.variants and not sweep.waits_for_baseline(backbone):
        points += alpha_grid(sweep, artifacts, dataset, backbone)
    return _unique(points)


def check_sweep_runs(sweep: SweepConfig, artifacts: str, device: str | None = None) -> None:
    """Refuse a sweep whose runs could not start before it writes anything: every first-stage point
    (on `device`, the --device override, when given) goes through `mrdib train`'s checks."""
    for dataset in sweep.datasets:
        for backbone in sweep.backbones:
            try:
                for point in first_stage(sweep, artifacts, dataset, backbone):
                    check_run_config(RunConfig.from_dict({**point.config, "train": {
                        **point.config["train"], **({"device": device} if device else {})}}))
            except MrdibError as error:
                raise ConfigError(f"sweep {sweep.name}: {dataset} / {backbone}: {error}") from None


def alpha_grid(sweep: SweepConfig, artifacts: str, dataset: str, backbone: str,
               params: dict[str, Any] | None = None) -> list[SweepPoint]:
    """The alpha grid on the selection seeds, at `params` (the baseline's choice) when given."""
    return _unique([make_point(sweep, artifacts, dataset, backbone, "grid", seed, alphas, params)
                    for alphas in sweep.alphas.triples() for seed in sweep.grid_seeds])


def baseline_stage(sweep: SweepConfig, artifacts: str, dataset: str, backbone: str,
                   params: dict[str, Any]) -> list[SweepPoint]:
    """Once the baseline grid has chosen `params`: the baseline there on the seeds the grid skipped,
    the control (every alpha 0) there on every seed when asked, and the alpha grid at `params` when
    +MRdIB uses the baseline's choice."""
    points = [make_point(sweep, artifacts, dataset, backbone, "baseline_final", seed, None, params)
              for seed in sweep.seeds if seed not in sweep.grid_seeds]
    if sweep.control and sweep.waits_for_baseline(backbone):
        points += [make_point(sweep, artifacts, dataset, backbone, "control", seed, (0.0, 0.0, 0.0), params)
                   for seed in sweep.seeds]
    if sweep.waits_for_baseline(backbone):
        points += alpha_grid(sweep, artifacts, dataset, backbone, params)
    return _unique(points)


def second_stage(sweep: SweepConfig, artifacts: str, dataset: str, backbone: str,
                 chosen: Alphas, params: dict[str, Any] | None = None) -> list[SweepPoint]:
    """The chosen alphas on the seeds the grid skipped, and the ablations at the chosen alphas
    (at `params`, the backbone settings the alpha grid ran at)."""
    if "mrdib" not in sweep.variants:
        return []
    points = [make_point(sweep, artifacts, dataset, backbone, "final", seed, chosen, params)
              for seed in sweep.seeds if seed not in sweep.grid_seeds]
    if sweep.runs_ablations(dataset, backbone):
        points += [make_point(sweep, artifacts, dataset, backbone, "ablation", seed, ablate(chosen, ablation), params)
                   for ablation in sweep.ablations for seed in sweep.seeds]
    return _unique(points)


def second_stage_size(sweep: SweepConfig, dataset: str, backbone: str) -> int:
    """How many runs the later stages will add after `first_stage` (an upper bound, for the
    progress bar's total and `--dry-run`)."""
    extra_seeds = len([s for s in sweep.seeds if s not in sweep.grid_seeds])
    size = 0
    if "baseline" in sweep.variants and sweep.baseline_settings(backbone):
        size += extra_seeds
        if sweep.waits_for_baseline(backbone):
            size += len(sweep.alphas.triples()) * len(sweep.grid_seeds)
            size += len(sweep.seeds) if sweep.control else 0
    if "mrdib" not in sweep.variants:
        return size
    ablations = len(sweep.ablations) * len(sweep.seeds) if sweep.runs_ablations(dataset, backbone) else 0
    return size + extra_seeds + ablations


def planned_size(sweep: SweepConfig, artifacts: str, dataset: str, backbone: str) -> int:
    """Every run the sweep will have for one (data set, backbone) once finished (an upper bound:
    an ablation that coincides with a grid point is trained once)."""
    return len(first_stage(sweep, artifacts, dataset, backbone)) + second_stage_size(sweep, dataset, backbone)


def _unique(points: list[SweepPoint]) -> list[SweepPoint]:
    seen: dict[str, SweepPoint] = {}
    for point in points:
        seen.setdefault(point.run_id, point)
    return list(seen.values())

"""Group finished runs into configurations and choose among them by validation only.

MMRec reports, per model, the configuration with the best *test* score; that flatters every
method and hides how much of an improvement is tuning on the test set. Here the choice sees
validation scores and nothing else: `select_by_validation` receives only them, so it cannot
peek at test even by accident, and the caller reports the chosen configuration's test metrics.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from mrdib.core.variants import ABLATIONS, Alphas, alphas_of
from mrdib.runs.reader import RunRecord, runs_frame
from mrdib.runs.table import row_values


@dataclass
class ConfigResults:
    """One configuration (everything but the seed) and its finished runs, seed by seed."""

    key: str
    dataset: str
    backbone: str
    variant: str  # "baseline" | "full" | ablation name | "other"
    mrdib: dict[str, Any]
    train: dict[str, Any]
    valid: dict[int, dict[str, float]] = field(default_factory=dict)
    test: dict[int, dict[str, float]] = field(default_factory=dict)
    seconds_per_epoch: dict[int, float] = field(default_factory=dict)
    epochs_run: dict[int, int] = field(default_factory=dict)
    run_dirs: dict[int, Path] = field(default_factory=dict)
    budgets: dict[int, dict[str, float]] = field(default_factory=dict)  # runs read from a study's storage
    mechanism: dict[int, dict[str, float]] = field(default_factory=dict)  # "quantity:where" from analysis.json
    in_progress: bool = False  # its (data set, backbone) still has unfinished points in its sweep

    @property
    def alphas(self) -> Alphas:
        return alphas_of(self.mrdib)

    @property
    def seeds(self) -> list[int]:
        return sorted(self.valid)

    @property
    def capped_seeds(self) -> list[int]:
        """Seeds whose run stopped at the epoch cap: early stopping never fired, so more epochs might
        have moved the metric, and a comparison with this configuration may only show who trains faster."""
        cap = int(self.train.get("epochs") or 0)
        return sorted(seed for seed, epochs in self.epochs_run.items() if cap and epochs >= cap)

    def valid_scores(self, metric: str) -> dict[int, float]:
        return {seed: float(m[metric]) for seed, m in self.valid.items() if metric in m}

    def test_scores(self, metric: str) -> dict[int, float]:
        return {seed: float(m[metric]) for seed, m in self.test.items() if metric in m}

    def without(self, *names: str) -> str:
        """This configuration's key with some alphas set to zero (to find its ablations)."""
        raw = json.loads(self.key)
        for name in names:
            raw["mrdib"][name] = 0.0
        return json.dumps(raw, sort_keys=True, default=str)


def groups_from_frame(frame: pd.DataFrame) -> list[ConfigResults]:
    """Finished runs of a tidy runs frame (`mrdib.runs.reader.runs_frame`, or a committed runs.csv)
    grouped by configuration (the `config` column); runs not done, or without test metrics, are
    left out. Two finished runs of one configuration and seed (possible after copying folders
    around) keep the newer one. A runs.csv row carries its budget and mechanism values; a folder's
    row its run_dir, whose analysis.json `attach_mechanism` reads later."""
    if frame.empty:
        return []
    done = frame
    if "status" in done:
        tested = [c for c in done.columns if c.startswith("test/")]
        finished = done["status"].eq("done")
        done = done[finished & done[tested].notna().any(axis=1)] if tested else done.iloc[0:0]
    if "updated" in done:
        done = done.assign(_order=done["updated"].fillna("").astype(str)).sort_values("_order", kind="stable")
    groups: dict[str, ConfigResults] = {}
    for row in done.to_dict("records"):
        key = str(row["config"])
        if key not in groups:
            raw = json.loads(key)
            groups[key] = ConfigResults(key=key, dataset=str(row["dataset"]), backbone=str(row["backbone"]),
                                        variant=str(row["variant"]), mrdib=dict(raw.get("mrdib", {})),
                                        train=dict(raw.get("train", {})))
        group, seed = groups[key], int(row["seed"]) if not pd.isna(row["seed"]) else 0
        group.valid[seed], group.test[seed] = row_values(row, "valid/"), row_values(row, "test/")
        group.seconds_per_epoch[seed] = _number(row.get("seconds_per_epoch"), math.nan)
        group.epochs_run[seed] = int(_number(row.get("epochs_run"), 0))
        if isinstance(row.get("run_dir"), str):
            group.run_dirs[seed] = Path(row["run_dir"])
        if not pd.isna(row.get("budget_epochs", math.nan)):
            group.budgets[seed] = {"epochs": int(row["budget_epochs"]), "seconds": float(row["budget_seconds"])}
        else:
            group.budgets.pop(seed, None)
        mechanism = row_values(row, "mechanism/")
        if mechanism:  # restored from a runs table; an analysis.json, if any, replaces it later
            group.mechanism[seed] = mechanism
        else:
            group.mechanism.pop(seed, None)
        if "in_progress" in row:
            group.in_progress = str(row["in_progress"]).strip().lower() == "true"
    return list(groups.values())


def _number(value: Any, default: float) -> float:
    return default if value is None or pd.isna(value) else float(value)


def group_runs(records: Iterable[RunRecord], run_ids: set[str] | None = None) -> list[ConfigResults]:
    """Finished runs grouped by configuration (`groups_from_frame` of their runs frame); with
    `run_ids`, only those runs count (e.g. one sweep's)."""
    records = [r for r in records if run_ids is None or r.run_id in run_ids]
    return groups_from_frame(runs_frame(records))


def select_by_validation(valid_scores: Mapping[str, Mapping[int, float]]) -> str | None:
    """Key of the candidate with the best mean validation score; None when there is none.

    Candidates are compared on the seeds they all share (the grid's selection seeds, when
    the chosen point later ran more seeds), so an extra lucky seed cannot win the choice;
    with no seed in common each candidate's own mean counts. Ties go to the candidate with
    more seeds, then to the smaller key, so the choice is deterministic.
    """
    candidates = {key: dict(scores) for key, scores in valid_scores.items() if scores}
    if not candidates:
        return None
    common = set.intersection(*(set(scores) for scores in candidates.values()))

    def mean_on_compared_seeds(key: str) -> float:
        scores = candidates[key]
        values = [scores[s] for s in (common or set(scores)) if math.isfinite(scores[s])]
        return sum(values) / len(values) if values else -math.inf

    ranked = sorted(candidates, key=lambda k: (-mean_on_compared_seeds(k), -len(candidates[k]), k))
    return ranked[0]


@dataclass
class Selection:
    """The configurations chosen for one (data set, backbone)."""

    dataset: str
    backbone: str
    baseline: ConfigResults | None
    mrdib: ConfigResults | None
    candidates: list[ConfigResults]  # every full +MRdIB configuration seen
    control: ConfigResults | None = None  # +MRdIB with every alpha 0 at the baseline's settings


def _without_mrdib(key: str) -> dict[str, Any]:
    return {k: v for k, v in json.loads(key).items() if k != "mrdib"}


def control_of(baseline: ConfigResults | None, groups: Iterable[ConfigResults]) -> ConfigResults | None:
    """The control (variant 'control') trained at the baseline's own settings, if any; where several
    (other MRdIB settings), the one with the most seeds."""
    if baseline is None:
        return None
    settings = _without_mrdib(baseline.key)
    matches = [g for g in groups if g.variant == "control" and _without_mrdib(g.key) == settings]
    return max(matches, key=lambda g: (len(g.seeds), g.key), default=None)


def choose(groups: list[ConfigResults], metric: str = "recall@5") -> dict[tuple[str, str], Selection]:
    """Per (data set, backbone): the baseline and the full +MRdIB configuration, each by validation."""
    selections: dict[tuple[str, str], Selection] = {}
    pairs = sorted({(g.dataset, g.backbone) for g in groups})
    for dataset, backbone in pairs:
        mine = [g for g in groups if (g.dataset, g.backbone) == (dataset, backbone)]
        picked = {}
        for variant in ("baseline", "full"):
            candidates = {g.key: g for g in mine if g.variant == variant}
            key = select_by_validation({k: g.valid_scores(metric) for k, g in candidates.items()})
            picked[variant] = candidates.get(key) if key else None
        selections[(dataset, backbone)] = Selection(
            dataset, backbone, picked["baseline"], picked["full"], [g for g in mine if g.variant == "full"],
            control_of(picked["baseline"], mine))
    return selections


def ablation_groups(selection: Selection, groups: list[ConfigResults], metric: str
                    ) -> dict[str, tuple[ConfigResults, bool]]:
    """Per ablation, its configuration at the chosen alphas (True) or, failing that, the best one
    by validation among that ablation's runs (False: the other alphas differ from the chosen)."""
    mine = [g for g in groups if (g.dataset, g.backbone) == (selection.dataset, selection.backbone)]
    by_key = {g.key: g for g in mine}
    found: dict[str, tuple[ConfigResults, bool]] = {}
    for ablation, switched_off in ABLATIONS.items():
        exact = by_key.get(selection.mrdib.without(*switched_off)) if selection.mrdib else None
        if exact is not None and not exact.in_progress:  # an unfinished ablation waits for its seeds
            found[ablation] = (exact, True)
            continue
        candidates = {g.key: g for g in mine if g.variant == ablation and not g.in_progress}
        key = select_by_validation({k: g.valid_scores(metric) for k, g in candidates.items()})
        if key is not None:
            found[ablation] = (candidates[key], False)
    return found

"""Alpha tuning with Optuna on tiny data: trials are run folders, the budget is study-wide,
pruned trials are marked in their folders, and the grid comparison counts trials correctly."""

from __future__ import annotations

import json

import optuna
import pytest

from mrdib.data import load_dataset
from mrdib.core.errors import ConfigError, MrdibError
from mrdib.experiments.tune import (TuneConfig, compare_with_sweep, make_objective, open_study, run_tuning,
                                    trials_to_match)
from mrdib.runs.reader import read_run
from experiment_helpers import fake_run, one_thread, tiny_data_dir  # noqa: F401 (pytest fixtures)

FAST_TRAIN = {"epochs": 2, "batch_size": 512, "embedding_size": 16}  # tests/conftest.py's fast_config


def tiny_tune(data_dir: str, artifacts, **values) -> TuneConfig:
    return TuneConfig(data=data_dir, backbone="vbpr", study="tiny", artifacts=str(artifacts), sampler_seed=0,
                      run_values={"train": dict(FAST_TRAIN)}, **values)


def test_tuning_runs_the_budget_once_across_calls(tiny_data_dir, tmp_path):
    cfg = tiny_tune(tiny_data_dir, tmp_path, trials=3, startup_trials=2)
    summary = run_tuning(cfg)
    assert summary["trials"] == {"complete": 3}
    assert (tmp_path / "studies" / "tiny.db").is_file()
    assert json.loads((tmp_path / "studies" / "tiny.json").read_text())["best"] == summary["best"]
    study = open_study(cfg)
    for trial in study.trials:
        record = read_run(tmp_path / "runs" / trial.user_attrs["run_id"])
        assert record.status == "done" and record.mrdib_enabled
        for name in ("a1", "a2", "a3"):
            assert cfg.low <= record.mrdib[name] <= cfg.high
            assert record.mrdib[name] == pytest.approx(trial.params[name])
        assert record.summary["valid"]["recall@5"] == pytest.approx(trial.value)  # validation, never test
    assert summary["best"]["valid"] == max(t.value for t in study.trials)
    assert run_tuning(cfg)["trials"] == {"complete": 3}  # the budget is the study's, already spent


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_a_pruned_trial_is_marked_pruned_in_its_run_folder(tiny_data_dir, tmp_path):
    cfg = tiny_tune(tiny_data_dir, tmp_path, trials=1)
    study = optuna.create_study(direction="maximize", pruner=_AlwaysPrune())
    study.optimize(make_objective(cfg, load_dataset(tiny_data_dir, tmp_path)), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED and trial.last_step == 1
    record = read_run(tmp_path / "runs" / trial.user_attrs["run_id"])
    assert record.status == "pruned" and record.summary["error"].startswith("RunPruned: trial 0 pruned after epoch 1")
    assert record.summary["epochs_run"] == 1 and record.summary["test"] == {}


def test_trials_to_match_counts_pruned_and_failed_trials():
    assert trials_to_match([0.1, None, 0.2, 0.3], 0.2) == 3
    assert trials_to_match([0.1, None], 0.2) is None


def test_compare_with_sweep(tmp_path, fake_run):
    plan_points = []
    for index, (alphas, valid) in enumerate((((0.001, 0.01, 0.01), 0.20), ((0.01, 0.01, 0.01), 0.30))):
        fake_run(tmp_path, f"g{index}", mrdib=alphas, valid={"recall@5": valid}, test={"recall@5": 0.1}, epochs=4)
        plan_points.append({"run_id": f"g{index}", "stage": "grid", "dataset": "synthetic", "backbone": "vbpr",
                            "seed": 0, "alphas": list(alphas)})
    plan_points.append({"run_id": "g9", "stage": "grid", "dataset": "synthetic", "backbone": "vbpr", "seed": 1,
                        "alphas": [0.05, 0.05, 0.05]})  # another seed: not comparable, ignored
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "grid.json").write_text(json.dumps({"points": plan_points}))
    study = optuna.create_study(direction="maximize")
    distribution = optuna.distributions.FloatDistribution(1e-4, 0.05, log=True)
    for value, epochs in ((0.25, 4), (0.31, 3), (0.5, 4)):
        study.add_trial(optuna.trial.create_trial(params={"a1": 0.01}, distributions={"a1": distribution},
                                                  value=value, user_attrs={"epochs_run": epochs}))
    match = compare_with_sweep(study, TuneConfig(), tmp_path, "grid")
    assert match["grid_points"] == 2 and match["grid_epochs"] == 8 and match["grid_best_valid"] == 0.30
    assert match["grid_best_alphas"] == [0.01, 0.01, 0.01]
    assert match["trials_to_match"] == 2 and match["epochs_to_match"] == 7 and match["tuner_best_valid"] == 0.5
    assert match["tuner_epochs"] == 11
    near = compare_with_sweep(study, TuneConfig(), tmp_path, "grid", tolerance=0.2)
    assert near["trials_to_near_match"] == 1 and near["epochs_to_near_match"] == 4  # 0.25 >= 0.8 * 0.30
    with pytest.raises(MrdibError, match="cannot read the sweep plan"):
        compare_with_sweep(study, TuneConfig(), tmp_path, "missing")


@pytest.mark.parametrize("values, fragment", [
    ({"low": 0.0}, "0 < low < high"),
    ({"trials": None}, "give a budget"),
    ({"run_values": {"mrdib": {"a1": 0.1}}}, "chosen by the tuner"),
    ({"study": "a/b"}, "may hold only"),
    ({"prune_percentile": 100.0}, "prune-percentile"),
])
def test_bad_tuning_configs(tmp_path, values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        run_tuning(TuneConfig(artifacts=str(tmp_path), **values))


def test_the_pruner_stops_only_the_bottom_quartile(tmp_path):
    cfg = TuneConfig(artifacts=str(tmp_path), study="prune", prune_percentile=25.0, prune_startup_trials=4,
                     prune_warmup_epochs=5)
    study = open_study(cfg)
    for value in (0.1, 0.2, 0.3, 0.4):
        trial = study.ask()
        trial.report(value, 5)
        study.tell(trial, value)
    middling, bad = study.ask(), study.ask()
    middling.report(0.2, 5)  # above the 25th percentile (0.175), below the median: kept
    bad.report(0.15, 5)  # in the bottom quartile: pruned
    assert not middling.should_prune() and bad.should_prune()

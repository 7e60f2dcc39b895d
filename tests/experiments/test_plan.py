"""Sweep configs: the paper's defaults, validation, grids, deterministic run ids, the two stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrdib.core.errors import ConfigError
from mrdib.experiments.plan import (PAPER_ALPHA_GRID, ablate, baseline_stage, canonical_ablation, first_stage,
                                    make_point, planned_size, read_sweep_config, second_stage, second_stage_size,
                                    sweep_config_from_dict, variant_of)

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_the_papers_grid_and_ablations():
    sweep = sweep_config_from_dict({"name": "x"})
    assert sweep.alphas.triples()[:2] == [(0.0001, 0.0001, 0.0001), (0.0001, 0.0001, 0.001)]
    assert len(sweep.alphas.triples()) == len(PAPER_ALPHA_GRID) ** 3 == 125
    assert sweep.ablations == ["no_kl_a1", "no_mine_a2", "no_unique_a3", "kl_only"]
    assert sweep.variants == ["baseline", "mrdib"]


def test_one_at_a_time_grid_varies_each_alpha_around_the_base():
    sweep = sweep_config_from_dict({"alphas": {"mode": "one_at_a_time", "base": [0.001, 0.01, 0.01]}})
    triples = sweep.alphas.triples()
    assert len(triples) == 13  # base + 3 x 4 new values (the base value appears once per alpha)
    assert triples[0] == (0.001, 0.01, 0.01)
    for triple in triples:
        assert sum(a != b for a, b in zip(triple, (0.001, 0.01, 0.01))) <= 1


def test_ablation_aliases_map_to_the_papers_names():
    assert canonical_ablation("a2=a3=0") == "kl_only"
    assert canonical_ablation("a1 = 0") == "no_kl_a1"
    assert ablate((0.1, 0.2, 0.3), "kl_only") == (0.1, 0.0, 0.0)
    assert variant_of({"enabled": True, "a1": 0.1, "a2": 0.0, "a3": 0.0}) == "kl_only"
    assert variant_of({"enabled": True, "a1": 0.0, "a2": 0.0, "a3": 0.1}) == "other"
    assert variant_of({"enabled": False, "a1": 0.0}) == "baseline"


@pytest.mark.parametrize("raw, fragment", [
    ({"bogus": 1}, "unknown setting 'bogus'"),
    ({"ablations": ["a4=0"]}, "unknown ablation"),
    ({"mrdib": {"a1": 0.1}}, "mrdib.a1 is set by the sweep"),
    ({"train": {"seed": 3}}, "train.seed"),
    ({"backbone_params": {"reg_weight": 0.1}}, "keyed by backbone name"),
    ({"alphas": {"mode": "spiral"}}, "alphas.mode"),
    ({"alphas": {"mode": "points"}}, "alphas.points is empty"),
    ({"selection_seeds": [7]}, "subset of seeds"),
    ({"name": "a b"}, "may hold only"),
    ({"ablation_backbones": ["soil"]}, "does not run"),
    ({"baseline_grid": {"mgcn": {"reg_weight": [0.1]}}}, "baseline_grid is keyed by backbone name"),
    ({"baseline_grid": {"vbpr": {"reg_weight": []}}}, "baseline_grid.vbpr.reg_weight must be a non-empty list"),
    ({"baseline_grid": {"vbpr": [0.1]}}, "baseline_grid.vbpr must be a non-empty mapping"),
    ({"baseline_grid": {"vbpr": {"train.seed": [0, 1]}}}, "'seed' is not a training setting"),
    ({"variants": ["mrdib"], "baseline_grid": {"vbpr": {"reg_weight": [0.1]}}}, "variants has no 'baseline'"),
    ({"mrdib_uses_baseline_choice": True}, "needs a baseline_grid"),
    ({"baseline_grid": {"vbpr": {"reg_weight": [0.1]}}, "mrdib_uses_baseline_choice": "yes"}, "true or false"),
])
def test_bad_configs_fail_with_one_line_naming_the_problem(raw, fragment):
    with pytest.raises(ConfigError, match=fragment) as info:
        sweep_config_from_dict(raw, "sweeps/x.yaml")
    assert "\n" not in str(info.value) and "sweeps/x.yaml" in str(info.value)


def test_run_ids_are_deterministic_and_depend_only_on_what_the_run_computes(tmp_path):
    sweep = sweep_config_from_dict({"train": {"epochs": 2}})
    point = make_point(sweep, "a", "synthetic", "vbpr", "grid", 0, (0.001, 0.01, 0.01))
    again = make_point(sweep, str(tmp_path), "synthetic", "vbpr", "grid", 0, (0.001, 0.01, 0.01))
    assert point.run_id == again.run_id  # the artifacts folder is not part of the identity
    assert point.run_id.startswith("synthetic-vbpr-mrdib-s0-")
    threads = sweep_config_from_dict({"train": {"epochs": 2, "num_threads": 4}})
    assert make_point(threads, "a", "synthetic", "vbpr", "grid", 0, (0.001, 0.01, 0.01)).run_id == point.run_id
    assert make_point(sweep, "a", "synthetic", "vbpr", "grid", 1, (0.001, 0.01, 0.01)).run_id != point.run_id
    assert make_point(sweep, "a", "synthetic", "vbpr", "grid", 0, (0.005, 0.01, 0.01)).run_id != point.run_id
    longer = sweep_config_from_dict({"train": {"epochs": 3}})
    assert make_point(longer, "a", "synthetic", "vbpr", "grid", 0, (0.001, 0.01, 0.01)).run_id != point.run_id
    assert point.config["train"]["epochs"] == 2 and point.config["mrdib"]["enabled"] is True
    assert point.config["backbone_params"]["reg_weight"] == 0.0001  # the backbone's published default


def test_baseline_points_ignore_alpha_settings():
    one = sweep_config_from_dict({"mrdib": {"critic_lr": 0.001}})
    two = sweep_config_from_dict({"mrdib": {"critic_lr": 0.01}})
    base_one = make_point(one, "a", "synthetic", "vbpr", "baseline", 0, None)
    base_two = make_point(two, "a", "synthetic", "vbpr", "baseline", 0, None)
    assert base_one.run_id == base_two.run_id and base_one.variant == "baseline"


def test_stages_grid_on_selection_seeds_then_final_seeds_and_ablations_at_the_chosen_alphas():
    sweep = sweep_config_from_dict({
        "seeds": [0, 1, 2], "selection_seeds": [0], "ablations": ["a1=0", "a2=a3=0"],
        "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01], [0.01, 0.01, 0.01]]},
        "backbone_params": {"vbpr": {"reg_weight": 0.001}}})
    first = first_stage(sweep, "a", "synthetic", "vbpr")
    assert [p.stage for p in first].count("baseline") == 3
    assert sorted((p.alphas, p.seed) for p in first if p.stage == "grid") == [
        ((0.001, 0.01, 0.01), 0), ((0.01, 0.01, 0.01), 0)]
    assert all(p.config["backbone_params"]["reg_weight"] == 0.001 for p in first)
    second = second_stage(sweep, "a", "synthetic", "vbpr", (0.01, 0.01, 0.01))
    assert len(second) == second_stage_size(sweep, "synthetic", "vbpr") == 2 + 2 * 3
    assert sorted(p.seed for p in second if p.stage == "final") == [1, 2]
    assert {(p.variant, p.alphas) for p in second if p.stage == "ablation"} == {
        ("no_kl_a1", (0.0, 0.01, 0.01)), ("kl_only", (0.01, 0.0, 0.0))}


def test_baseline_grid_is_chosen_like_the_alphas_and_mrdib_can_wait_for_its_choice():
    raw = {"seeds": [0, 1, 2], "selection_seeds": [0], "ablations": ["a1=0"],
           "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01], [0.01, 0.01, 0.01]]},
           "baseline_grid": {"vbpr": {"reg_weight": [0.0001, 0.01]}}}
    plain = sweep_config_from_dict(raw)
    first = first_stage(plain, "a", "synthetic", "vbpr")
    grid = [p for p in first if p.stage == "baseline_grid"]
    assert sorted((p.params["reg_weight"], p.seed) for p in grid) == [(0.0001, 0), (0.01, 0)]
    assert {p.config["backbone_params"]["reg_weight"] for p in grid} == {0.0001, 0.01}
    # reg_weight 0.0001 is VBPR's default: that grid point is the very run an untuned sweep trains.
    untuned = make_point(sweep_config_from_dict({}), "a", "synthetic", "vbpr", "baseline", 0, None)
    assert untuned.run_id in {p.run_id for p in grid}
    assert [p.stage for p in first].count("grid") == 2  # not waiting: the alphas run at once, at the default
    assert all(p.config["backbone_params"]["reg_weight"] == 0.0001 for p in first if p.stage == "grid")
    middle = baseline_stage(plain, "a", "synthetic", "vbpr", {"reg_weight": 0.01})
    assert [(p.stage, p.seed, p.params) for p in middle] == [
        ("baseline_final", 1, {"reg_weight": 0.01}), ("baseline_final", 2, {"reg_weight": 0.01})]

    waiting = sweep_config_from_dict({**raw, "mrdib_uses_baseline_choice": True})
    first = first_stage(waiting, "a", "synthetic", "vbpr")
    assert {p.stage for p in first} == {"baseline_grid"}
    middle = baseline_stage(waiting, "a", "synthetic", "vbpr", {"reg_weight": 0.01})
    assert sorted(p.stage for p in middle) == ["baseline_final"] * 2 + ["grid"] * 2
    assert all(p.config["backbone_params"]["reg_weight"] == 0.01 for p in middle)
    second = second_stage(waiting, "a", "synthetic", "vbpr", (0.01, 0.01, 0.01), {"reg_weight": 0.01})
    assert all(p.config["backbone_params"]["reg_weight"] == 0.01 for p in second)
    assert len(first) + len(middle) + len(second) == planned_size(waiting, "a", "synthetic", "vbpr") == 2 + 4 + 5
    # Equal budgets: both sides try two configurations on the selection seed, then run three seeds.
    assert len(first) == len([p for p in middle if p.stage == "grid"])


def test_a_baseline_grid_over_a_training_setting_sets_it_on_every_later_point():
    # DualGNN's reg_weight barely moves its loss, so its baseline is tuned over the learning rate.
    raw = {"seeds": [0, 1], "selection_seeds": [0], "ablations": [], "mrdib_uses_baseline_choice": True,
           "alphas": {"mode": "points", "points": [[0.001, 0.01, 0.01]]}, "train": {"learning_rate": 0.005},
           "baseline_grid": {"vbpr": {"train.learning_rate": [0.0001, 0.001]}}}
    sweep = sweep_config_from_dict(raw)
    grid = first_stage(sweep, "a", "synthetic", "vbpr")
    assert sorted(p.config["train"]["learning_rate"] for p in grid) == [0.0001, 0.001]
    assert all("train.learning_rate" not in p.config["backbone_params"] for p in grid)
    assert all(p.config["backbone_params"]["reg_weight"] == 0.0001 for p in grid)  # VBPR's default, untouched
    plain = make_point(sweep_config_from_dict({"train": {"learning_rate": 0.001}}), "a", "synthetic", "vbpr",
                       "baseline", 0, None)
    assert plain.run_id in {p.run_id for p in grid}  # the same run as a plain baseline at that rate
    chosen = {"train.learning_rate": 0.0001}
    later = baseline_stage(sweep, "a", "synthetic", "vbpr", chosen) + second_stage(
        sweep, "a", "synthetic", "vbpr", (0.001, 0.01, 0.01), chosen)
    assert {p.stage for p in later} == {"baseline_final", "grid", "final"}
    assert all(p.config["train"]["learning_rate"] == 0.0001 and p.config["train"]["seed"] == p.seed for p in later)


def test_ablations_only_for_the_named_backbones():
    sweep = sweep_config_from_dict({"backbones": ["vbpr", "mgcn"], "ablation_backbones": ["vbpr"]})
    assert sweep.runs_ablations("synthetic", "vbpr") and not sweep.runs_ablations("synthetic", "mgcn")
    assert second_stage_size(sweep, "synthetic", "mgcn") == 0


@pytest.mark.parametrize("name", ["reproduction_tiktok", "reproduction_baby", "ablation_baby", "smoke_synthetic",
                                  "tune_vs_grid_synthetic", "fair_tiktok", "fair_baby"])
def test_shipped_sweep_configs_parse(name):
    sweep = read_sweep_config(REPO / "configs" / "sweeps" / f"{name}.yaml")
    assert sweep.name == name
    if name.startswith("reproduction"):
        assert sweep.backbones == ["vbpr", "mmgcn", "dualgnn", "freedom", "mgcn", "soil"]
        assert len(sweep.seeds) >= 3 and sweep.train["epochs"] <= 60


@pytest.mark.parametrize("name, backbones, ablated", [
    ("fair_tiktok", ["vbpr", "freedom", "dualgnn", "mgcn", "mmgcn", "soil"], ["vbpr", "mgcn"]),
    ("fair_baby", ["vbpr", "freedom", "mgcn"], [])])
def test_fair_sweeps_tune_both_sides_as_issue_15_asks(name, backbones, ablated):
    sweep = read_sweep_config(REPO / "configs" / "sweeps" / f"{name}.yaml")
    assert sweep.backbones == backbones and sweep.mrdib_uses_baseline_choice
    assert sweep.train["patience"] == 20 and sweep.train["epochs"] >= 100
    for backbone in backbones:
        settings = sweep.baseline_settings(backbone)
        lr_tuned = backbone == "dualgnn" or (name == "fair_tiktok" and backbone == "mmgcn")
        if lr_tuned:  # their reg_weight is inert: the learning rate instead, half-decades around 1e-3
            assert [s["train.learning_rate"] for s in settings] == pytest.approx([1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
        else:
            start = 1e-4 if backbone == "vbpr" else 1e-5  # five decades around each default
            assert [s["reg_weight"] for s in settings] == pytest.approx([start * 10 ** k for k in range(5)])
        assert sweep.waits_for_baseline(backbone)
        assert sweep.runs_ablations(sweep.datasets[0], backbone) == (backbone in ablated)
    triples = sweep.alphas.triples()
    for position in range(3):  # Figure 4: each alpha over the paper's five values, the others at the centre
        line = {t[position] for t in triples if all(t[o] == sweep.alphas.base[o] for o in range(3) if o != position)}
        assert line == set(PAPER_ALPHA_GRID)


def test_the_baby_sweeps_share_their_common_runs():
    reproduction = read_sweep_config(REPO / "configs" / "sweeps" / "reproduction_baby.yaml")
    ablation = read_sweep_config(REPO / "configs" / "sweeps" / "ablation_baby.yaml")
    for backbone in ablation.backbones:
        shared = {p.run_id for p in first_stage(ablation, "a", ablation.datasets[0], backbone)}
        assert shared == {p.run_id for p in first_stage(reproduction, "b", reproduction.datasets[0], backbone)}


def test_a_one_at_a_time_baseline_grid_and_a_control_give_both_sides_the_same_budget():
    raw = {"seeds": [0, 1, 2], "selection_seeds": [0], "ablations": [], "mrdib_uses_baseline_choice": True,
           "control": True, "baseline_grid_mode": "one_at_a_time",
           "baseline_grid": {"vbpr": {"reg_weight": [0.0001, 0.01, 0.1], "train.learning_rate": [0.001, 0.0003]}}}
    sweep = sweep_config_from_dict(raw)
    settings = sweep.baseline_settings("vbpr")
    assert settings == [{"reg_weight": 0.0001, "train.learning_rate": 0.001},
                        {"reg_weight": 0.01, "train.learning_rate": 0.001},
                        {"reg_weight": 0.1, "train.learning_rate": 0.001},
                        {"reg_weight": 0.0001, "train.learning_rate": 0.0003}]
    chosen = {"reg_weight": 0.01, "train.learning_rate": 0.001}
    middle = baseline_stage(sweep, "a", "synthetic", "vbpr", chosen)
    control = [p for p in middle if p.stage == "control"]
    assert sorted(p.seed for p in control) == [0, 1, 2]
    assert all(p.variant == "control" and p.alphas == (0.0, 0.0, 0.0) for p in control)
    assert all(p.config["backbone_params"]["reg_weight"] == 0.01 and p.config["mrdib"]["enabled"] for p in control)
    first = first_stage(sweep, "a", "synthetic", "vbpr")
    second = second_stage(sweep, "a", "synthetic", "vbpr", (0.001, 0.01, 0.01), chosen)
    assert len(first) + len(middle) + len(second) == planned_size(sweep, "a", "synthetic", "vbpr")
    assert variant_of({"enabled": True, "a1": 0.0, "a2": 0.0, "a3": 0.0}) == "control"


@pytest.mark.parametrize("raw, fragment", [
    ({"control": True}, "control runs at the baseline's choice"),
    ({"baseline_grid_mode": "random", "baseline_grid": {"vbpr": {"reg_weight": [0.1]}}}, "baseline_grid_mode"),
])
def test_control_and_grid_mode_are_checked(raw, fragment):
    with pytest.raises(ConfigError, match=fragment):
        sweep_config_from_dict(raw)


@pytest.mark.parametrize("name", ["plugin_baby", "plugin_tiktok"])
def test_the_plugin_comparison_gives_both_sides_13_configurations_and_five_seeds(name):
    """Issue 31: equal budgets, a control per pair, five seeds, a raised epoch cap."""
    sweep = read_sweep_config(REPO / "configs" / "sweeps" / f"{name}.yaml")
    assert sweep.control and sweep.mrdib_uses_baseline_choice and sweep.seeds == [0, 1, 2, 3, 4]
    assert sweep.train["epochs"] >= 300 and sweep.train["patience"] == 20
    assert len(sweep.alphas.triples()) == 13
    for backbone in sweep.backbones:
        assert len(sweep.baseline_settings(backbone)) == 13, backbone

"""MRdIB is a plug-in: with its terms off and its noise off, a +MRdIB run is the backbone's run.

Every difference a user sees between baseline and +MRdIB must come from the objective, not from
a changed architecture or a shifted stream of random numbers (issue 31)."""

from __future__ import annotations

import pytest
import torch

from mrdib.backbones import available_backbones
from mrdib.training.runner import build_trainer
from testing_support import backbone_config

BACKBONES = available_backbones()
AT_ZERO = dict(enabled=True, a1=0.0, a2=0.0, a3=0.0, posterior_noise=False, monitor_every=0)


def train_logs(cfg, data, epochs: int) -> tuple[list[float], list[dict[str, float]]]:
    """Per-step backbone losses and per-epoch validation metrics of a short run."""
    trainer = build_trainer(cfg, data)
    losses, valid = [], []
    for epoch in range(1, epochs + 1):
        trainer.model.train()
        trainer.model.backbone.pre_epoch(epoch)
        for batch in trainer.sampler.epoch():
            losses.append(float(trainer.train_step(batch)["losses/backbone"]))
        valid.append(trainer.evaluate("valid"))
    return losses, valid


@pytest.mark.parametrize("name", BACKBONES)
def test_terms_and_noise_off_train_exactly_the_backbone(name, small_data, tmp_path):
    baseline = backbone_config(name, tmp_path, enabled=False)
    plugged = backbone_config(name, tmp_path, **AT_ZERO)
    base_losses, base_valid = train_logs(baseline, small_data, epochs=2)
    plug_losses, plug_valid = train_logs(plugged, small_data, epochs=2)
    assert len(base_losses) == len(plug_losses) > 2
    assert torch.allclose(torch.tensor(plug_losses), torch.tensor(base_losses), rtol=1e-5, atol=1e-7), name
    for base, plug in zip(base_valid, plug_valid):
        assert plug == pytest.approx(base, rel=1e-5, abs=1e-7), name


def test_the_earlier_linear_mean_head_is_not_the_backbone(small_data, tmp_path):
    """The check above can fail: the earlier design (a trainable mean head) trains another model."""
    baseline = backbone_config("vbpr", tmp_path, enabled=False)
    linear = backbone_config("vbpr", tmp_path, **AT_ZERO, mean_head="linear")
    base_losses, _ = train_logs(baseline, small_data, epochs=1)
    linear_losses, _ = train_logs(linear, small_data, epochs=1)
    assert not torch.allclose(torch.tensor(linear_losses), torch.tensor(base_losses), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["vbpr", "dualgnn"])
def test_mrdib_leaves_the_global_generator_alone(name, small_data, tmp_path):
    """Building a +MRdIB model and taking noisy steps with every term on draws nothing from the
    global generator: the sampler and the backbone's own randomness see the baseline's stream."""
    states = []
    for mrdib in ({"enabled": False}, {"enabled": True, "a1": 0.01, "a2": 0.1, "a3": 0.1,
                                       "critic_warmup_steps": 0, "aux_batch_size": 32}):
        trainer = build_trainer(backbone_config(name, tmp_path, **mrdib), small_data)
        states.append([torch.get_rng_state()])
        for _, batch in zip(range(3), trainer.sampler.epoch()):
            trainer.train_step(batch)
        states[-1].append(torch.get_rng_state())
    for base, plugged in zip(*states):
        assert torch.equal(base, plugged), name


def test_unknown_mean_head_is_a_config_error(small_data, tmp_path):
    from mrdib.core.errors import ConfigError

    with pytest.raises(ConfigError, match="mrdib.mean_head"):
        build_trainer(backbone_config("vbpr", tmp_path, enabled=True, mean_head="mlp"), small_data)


def test_a_config_saved_before_the_redesign_gets_the_earlier_design_back():
    """A run folder written before `mean_head` existed trained the linear mean head: resuming or
    analysing it must rebuild that model, not the new one."""
    from mrdib.core.config import RunConfig

    old = RunConfig.from_dict({"backbone": "vbpr", "mrdib": {"enabled": True, "a1": 0.001}})
    assert (old.mrdib.mean_head, old.mrdib.prior_scale) == ("linear", "unit")
    new = RunConfig.from_dict({"backbone": "vbpr", "mrdib": {"enabled": True, "mean_head": "identity",
                                                             "prior_scale": "relative"}})
    assert (new.mrdib.mean_head, new.mrdib.prior_scale) == ("identity", "relative")
    assert RunConfig.from_dict({"mrdib": {"enabled": False}}).mrdib.mean_head == "identity"

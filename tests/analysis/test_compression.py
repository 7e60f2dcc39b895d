"""Compression statistics of bottleneck posteriors against values computed by hand."""

import math

import numpy as np
import pytest
import torch

from mrdib.analysis.compression import Posteriors, posterior_statistics, posteriors_of
from mrdib.backbones import get_backbone
from mrdib.core.config import MRdIBConfig
from mrdib.objective.plugin import MRdIB


def test_kl_log_variance_and_channel_information_from_known_posteriors():
    # 10 items, mean 0 and log_var (-3, -3, 0, 0) everywhere: two dimensions clearly below the prior.
    means = {"image": torch.zeros(10, 4)}
    log_vars = {"image": torch.tensor([-3.0, -3.0, 0.0, 0.0]).expand(10, 4)}
    stats = posterior_statistics(Posteriors(means, log_vars, model=None, extras={}))
    per_dim = 0.5 * (math.exp(-3.0) + 3.0 - 1.0)
    assert stats["image"]["dims"] == 4
    assert stats["image"]["mean_log_var"] == pytest.approx(-1.5)
    # Means that do not vary over items pass no information, however small the variance.
    assert stats["image"]["channel_information"] == 0.0 and stats["image"]["informative_dims"] == 0
    assert stats["image"]["kl"] == pytest.approx(2 * per_dim, rel=1e-5)
    assert stats["image"]["kl_per_dim"] == pytest.approx([per_dim, per_dim, 0.0, 0.0], abs=1e-5)
    assert stats["image"]["posterior_variance_per_dim"] == pytest.approx([math.exp(-3.0)] * 2 + [1.0] * 2, abs=1e-5)


def test_channel_information_by_hand_and_its_response_to_the_variance():
    # Means +-1 over items (variance 1) in both dims; posterior variance e^0 = 1 and e^-2.
    means = {"text": torch.tensor([[1.0, 1.0], [-1.0, -1.0]]).repeat(5, 1)}
    log_vars = {"text": torch.tensor([0.0, -2.0]).expand(10, 2)}
    stats = posterior_statistics(Posteriors(means, log_vars, model=None, extras={}), informative_nats=0.5)["text"]
    expected = [0.5 * math.log(2.0), 0.5 * math.log(1.0 + math.exp(2.0))]
    assert stats["channel_information_per_dim"] == pytest.approx(expected, abs=1e-6)
    assert stats["channel_information"] == pytest.approx(sum(expected), abs=1e-6)
    assert stats["informative_dims"] == 1  # 0.35 nats is under 0.5, 1.06 over
    noisier = posterior_statistics(Posteriors(means, {"text": log_vars["text"] + 2.0}, None, {}))["text"]
    assert noisier["channel_information"] < stats["channel_information"]
    assert noisier["mean_log_var"] == pytest.approx(1.0)


def test_posteriors_from_saved_log_variances_sample_without_the_checkpoint(small_data, tmp_path):
    from mrdib.analysis.compression import run_posteriors

    config = {"mrdib": {"enabled": True}, "backbone": "vbpr", "train": {"embedding_size": 4}}
    rng = np.random.default_rng(0)
    embeddings = {"modal/image": rng.standard_normal((small_data.n_items, 4)).astype(np.float32),
                  "modal_log_var/image": np.full((small_data.n_items, 4), -2.0, dtype=np.float32)}
    posteriors = run_posteriors(config, small_data, tmp_path, embeddings)  # tmp_path holds no checkpoint
    assert posteriors.source == "embeddings.npz" and posteriors.model is None
    assert "checkpoint.pt" in posteriors.model_problem
    samples, fused = posteriors.sample(seed=1)
    assert fused is None
    noise = (samples["image"] - embeddings["modal/image"]) / math.exp(-1.0)
    assert abs(noise.std() - 1.0) < 0.05
    assert (posteriors.sample(seed=1)[0]["image"] == samples["image"]).all()


def test_posteriors_of_a_model_are_its_bottleneck_outputs(small_data):
    model = MRdIB(get_backbone("vbpr")(small_data, embedding_size=4), MRdIBConfig(enabled=True)).eval()
    posteriors = posteriors_of(model)
    with torch.no_grad():
        features = model.backbone.encode().modal_items["text"]
        _, mean, log_var = model.bottlenecks["text"](features)
    assert torch.equal(posteriors.means["text"], mean) and torch.equal(posteriors.log_vars["text"], log_var)


def test_a_checkpoint_that_does_not_fit_is_reported_with_its_keys(small_data, tmp_path):
    from mrdib.analysis.compression import rebuild_model
    from mrdib.core.config import RunConfig
    from mrdib.core.errors import RunError
    from mrdib.runs.writer import RunWriter

    cfg = RunConfig(mrdib=MRdIBConfig(enabled=True))
    cfg.train.embedding_size = 4
    RunWriter(tmp_path).save_checkpoint({"model": {"backbone.old_weight": torch.zeros(1)}})
    with pytest.raises(RunError, match="missing .*unexpected backbone.old_weight"):
        rebuild_model(cfg.to_dict(), small_data, tmp_path)


def test_baseline_model_has_no_posteriors(small_data):
    model = MRdIB(get_backbone("vbpr")(small_data, embedding_size=4), MRdIBConfig(enabled=False))
    assert posteriors_of(model) is None


def test_posterior_samples_follow_the_posterior(small_data):
    model = MRdIB(get_backbone("vbpr")(small_data, embedding_size=4), MRdIBConfig(enabled=True))
    posteriors = posteriors_of(model)
    samples, fused_items = posteriors.sample(seed=0)
    image = torch.from_numpy(samples["image"])
    standardised = (image - posteriors.means["image"]) / (0.5 * posteriors.log_vars["image"]).exp()
    assert abs(float(standardised.mean())) < 0.1 and abs(float(standardised.std()) - 1.0) < 0.1
    assert fused_items.shape[0] == small_data.n_items
    again, _ = posteriors.sample(seed=0)
    assert (again["image"] == samples["image"]).all()

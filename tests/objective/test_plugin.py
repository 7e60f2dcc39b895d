"""The MRdIB wrapper: terms, ablations, the min-max game and the bottleneck."""

from __future__ import annotations

import itertools

import pytest
import torch

from mrdib.backbones import get_backbone
from mrdib.backbones.base import bpr_loss
from mrdib.core.config import MRdIBConfig
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic
from mrdib.objective.bottleneck import VariationalBottleneck, gaussian_kl
from mrdib.objective.mine import MineEstimator
from mrdib.objective.plugin import MRdIB, distinct_rows
from mrdib.training.sampler import BPRSampler


def wrapped_vbpr(data, **mrdib) -> MRdIB:
    torch.manual_seed(0)
    backbone = get_backbone("vbpr")(data, embedding_size=16)
    return MRdIB(backbone, MRdIBConfig(enabled=True, **mrdib))


def first_batch(data, size=256):
    torch.manual_seed(1)
    return next(iter(BPRSampler(data, size).epoch()))


def test_gaussian_kl_matches_closed_form():
    mean = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    log_var = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    # 0.5 * sum(mu^2 + s^2 - log s^2 - 1): row 0 -> 0.5; row 1 -> 0.5*(4+e-1-1 + 1+e^-1+1-1)
    expected = torch.tensor([0.5, 0.5 * (4 + torch.e - 2 + 1 + torch.exp(torch.tensor(-1.0)))])
    assert torch.allclose(gaussian_kl(mean, log_var), expected)


def test_bottleneck_samples_in_training_and_returns_the_mean_in_evaluation():
    torch.manual_seed(0)
    bottleneck = VariationalBottleneck(8)
    x = torch.randn(32, 8)
    z, mean, _ = bottleneck(x)
    assert not torch.allclose(z, mean)
    bottleneck.eval()
    z_eval, mean_eval, _ = bottleneck(x)
    assert torch.equal(z_eval, mean_eval) and torch.allclose(mean_eval, mean)


def test_log_variance_is_clamped_with_the_clamp_gradient():
    """Values beyond the bounds are clamped and pass no gradient; values inside pass it unchanged."""
    bottleneck = VariationalBottleneck(2, min_log_var=-1.0, max_log_var=1.0, log_var_scale=1.0).eval()
    with torch.no_grad():
        bottleneck.log_var_head.weight.copy_(torch.eye(2))  # raw log-variance = x
        bottleneck.log_var_head.bias.zero_()
    x = torch.tensor([[-3.0, 0.5], [2.0, -0.25]], requires_grad=True)
    _, _, log_var = bottleneck(x)
    assert torch.equal(log_var, x.detach().clamp(-1.0, 1.0))
    log_var.sum().backward()
    assert torch.equal(x.grad, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))


def test_distinct_rows_equals_torch_unique():
    torch.manual_seed(0)
    for items in (torch.randint(0, 50, (200,)), torch.tensor([3, 3, 3]), torch.tensor([49, 0, 7, 0])):
        rows, inverse = distinct_rows(items, 50)
        expected_rows, expected_inverse = torch.unique(items, return_inverse=True)
        assert torch.equal(rows, expected_rows) and torch.equal(inverse, expected_inverse)
        assert torch.equal(rows[inverse], items)


def test_disabled_wrapper_owns_nothing(small_data):
    backbone = get_backbone("vbpr")(small_data, embedding_size=16)
    wrapper = MRdIB(backbone, MRdIBConfig(enabled=False, a1=1.0, a2=1.0, a3=1.0))
    assert sum(p.numel() for p in wrapper.parameters()) == sum(p.numel() for p in backbone.parameters())
    assert wrapper.critic_parameters() == []
    step = wrapper.training_step(first_batch(small_data))
    assert step.critic_loss is None and set(step.logs) == {"losses/total", "losses/backbone"}


def test_total_is_the_weighted_sum_of_the_logged_terms(small_data):
    model = wrapped_vbpr(small_data, a1=0.3, a2=0.2, a3=0.1, critic_warmup_steps=0)
    logs = model.training_step(first_batch(small_data)).logs
    expected = logs["losses/backbone"] + 0.3 * logs["losses/kl"] + 0.2 * logs["losses/mine"] + 0.1 * logs["losses/unique"]
    assert torch.allclose(logs["losses/total"], expected, atol=1e-5)
    assert torch.allclose(logs["losses/kl"], logs["kl/image"] + logs["kl/text"])


@pytest.mark.parametrize("alphas", [(0.0, 0.1, 0.1), (0.1, 0.0, 0.1), (0.1, 0.1, 0.0), (0.1, 0.0, 0.0)])
def test_each_ablation_removes_exactly_its_term(small_data, alphas):
    a1, a2, a3 = alphas
    model = wrapped_vbpr(small_data, a1=a1, a2=a2, a3=a3, critic_warmup_steps=0)
    step = model.training_step(first_batch(small_data))
    logs = step.logs
    expected = logs["losses/backbone"] + a1 * logs["losses/kl"] + a2 * logs["losses/mine"] + a3 * logs["losses/unique"]
    # The loss's value is the encoders' objective; the critics' share of the game adds none.
    assert torch.allclose(step.loss.detach(), expected, atol=1e-5)
    assert step.critic_loss is None


def critic_and_z_gradients(model, z_a, z_b, permutation):
    """Gradients on the critic and on z_a of the plugin's one-pass game for one pair."""
    from mrdib.objective.plugin import reverse_gradient

    estimator = model.estimators["image~text"]
    weight = model.redundancy_weight()
    inputs = (reverse_gradient(z_a, weight), reverse_gradient(z_b, weight)) if weight > 0 else (z_a.detach(), z_b)
    surrogate, bound = estimator.objective(*inputs, permutation, update_average=False)
    game = -surrogate
    loss = weight * bound.detach() + (game - game.detach())
    critic_grads = torch.autograd.grad(loss, list(estimator.parameters()), retain_graph=True)
    z_grad = torch.autograd.grad(loss, z_a, allow_unused=True)[0]
    return critic_grads, z_grad


def test_min_max_critic_ascends_and_encoders_descend(small_data):
    """The critic receives -d(bound)/d(critic) at unit scale, z receives +a2 * d(bound)/dz."""
    a2 = 0.5
    model = wrapped_vbpr(small_data, a1=0.0, a2=a2, a3=0.0, critic_warmup_steps=0)
    estimator = model.estimators["image~text"]
    torch.manual_seed(0)
    z_a, z_b = torch.randn(64, 16, requires_grad=True), torch.randn(64, 16)
    permutation = torch.randperm(64)
    critic_grads, z_grad = critic_and_z_gradients(model, z_a, z_b, permutation)
    reference, _ = estimator.objective(z_a, z_b, permutation, update_average=False)
    ref_critic = torch.autograd.grad(reference, list(estimator.parameters()), retain_graph=True)
    ref_z = torch.autograd.grad(reference, z_a)[0]
    for grad, grad_up in zip(critic_grads, ref_critic):
        assert torch.allclose(grad, -grad_up, atol=1e-6)  # the critic's optimizer ascends the bound
    assert torch.allclose(z_grad, a2 * ref_z, atol=1e-6)  # the encoders descend a2 * bound


def test_critic_warm_up_keeps_a2_from_the_encoders_then_releases_it(small_data):
    model = wrapped_vbpr(small_data, a1=0.0, a2=0.5, a3=0.0, critic_warmup_steps=2)
    batch = first_batch(small_data)
    weights = [float(model.training_step(batch).logs["losses/redundancy_weight"]) for _ in range(6)]
    assert weights == [0.0, 0.0, 0.0, 0.25, 0.5, 0.5]  # two steps alone, then a linear ramp to a2
    # The count survives a checkpoint, so a resumed run does not warm up again.
    restored = wrapped_vbpr(small_data, a1=0.0, a2=0.5, a3=0.0, critic_warmup_steps=2)
    restored.load_state_dict(model.state_dict())
    assert restored.steps_done == 6 and restored.redundancy_weight() == 0.5


def test_critic_learns_during_warm_up_and_encoders_feel_nothing(small_data):
    model = wrapped_vbpr(small_data, a1=0.0, a2=0.5, a3=0.0, critic_warmup_steps=10)
    torch.manual_seed(0)
    z_a, z_b = torch.randn(64, 16, requires_grad=True), torch.randn(64, 16)
    critic_grads, z_grad = critic_and_z_gradients(model, z_a, z_b, torch.randperm(64))
    assert z_grad is None and any(g.abs().sum() > 0 for g in critic_grads)


def test_extra_critic_steps_update_only_the_critic(small_data):
    from mrdib.training.trainer import Trainer
    from mrdib.core.config import TrainConfig

    model = wrapped_vbpr(small_data, a1=0.1, a2=0.1, a3=0.1, critic_steps=3, critic_warmup_steps=0)
    trainer = Trainer(model, small_data, TrainConfig(batch_size=256), critic_lr=1e-3)
    calls = []
    step = model.training_step(first_batch(small_data))
    refresh = step.critic_refresh
    assert refresh is not None
    encoder_before = [p.detach().clone() for p in model.model_parameters()]
    loss = refresh()
    loss.backward()
    assert all(p.grad is None for p in model.model_parameters())  # detached z: encoders untouched
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.critic_parameters())
    trainer.critic_optimizer.zero_grad(set_to_none=True)
    original = trainer.critic_optimizer.step
    trainer.critic_optimizer.step = lambda *a, **k: calls.append(1) or original(*a, **k)
    trainer.train_step(first_batch(small_data))
    assert len(calls) == 3  # the joint step, then two critic-only ones
    assert any(not torch.equal(b, p) for b, p in zip(encoder_before, model.model_parameters()))


def test_standardised_critic_cannot_be_fooled_by_rescaling():
    """Rescaling z leaves the standardised critic's bound unchanged (an unstandardised one's moves)."""
    torch.manual_seed(0)
    estimator = MineEstimator(8, 8, hidden=16, standardise_inputs=True)
    a = torch.randn(256, 8)
    b = a + 0.5 * torch.randn(256, 8)
    permutation = torch.randperm(256)
    _, bound = estimator.objective(a, b, permutation, update_average=False)
    _, shrunk = estimator.objective(0.05 * a, 20.0 * b, permutation, update_average=False)
    assert torch.allclose(bound, shrunk, atol=1e-4)
    plain = MineEstimator(8, 8, hidden=16)
    plain.load_state_dict(estimator.state_dict())
    _, plain_bound = plain.objective(a, b, permutation, update_average=False)
    _, plain_shrunk = plain.objective(0.05 * a, 20.0 * b, permutation, update_average=False)
    assert not torch.allclose(plain_bound, plain_shrunk, atol=1e-4)


def test_unknown_bound_and_critic_steps_are_config_errors(small_data):
    from mrdib.core.errors import ConfigError

    with pytest.raises(ConfigError, match="mine_bound"):
        wrapped_vbpr(small_data, mine_bound="infonce")
    with pytest.raises(ConfigError, match="critic_steps"):
        wrapped_vbpr(small_data, critic_steps=0)


def test_initial_log_variance_is_relative_to_each_modality_scale(small_data):
    """Log sigma^2 starts at init_relative_log_var + log Var(mu) for large and small representations alike."""
    torch.manual_seed(0)
    for scale in (1.0, 0.05):  # VBPR-like and graph-like representations
        bottleneck = VariationalBottleneck(16)
        x = scale * torch.randn(500, 16)
        start = bottleneck.start_relative_to(x, -2.0)
        with torch.no_grad():
            spread = bottleneck.mean(x).var(0).mean()
            log_var = bottleneck.eval()(x)[2]
        assert abs(start - (-2.0 + float(spread.log()))) < 1e-4
        assert torch.allclose(log_var, torch.full_like(log_var, start), atol=0.1)  # small weights: ~0.01 spread
    absolute = wrapped_vbpr(small_data, init_log_var=-5.0)
    with torch.no_grad():
        x = absolute.backbone.encode().modal_items["image"]
        assert torch.allclose(absolute.bottlenecks["image"].eval()(x)[2], torch.tensor(-5.0), atol=0.05)


def test_log_variance_head_moves_log_var_scale_times_faster():
    """Same function at initialisation; under Adam the log-variance moves ~log_var_scale times further."""
    moved = {}
    for scale in (1.0, 10.0):
        torch.manual_seed(0)
        bottleneck = VariationalBottleneck(8, init_log_var=-3.0, log_var_scale=scale)
        optimizer = torch.optim.Adam(bottleneck.parameters(), lr=1e-3)
        x = torch.randn(128, 8)
        with torch.no_grad():
            before = bottleneck(x)[2].mean()
        for _ in range(50):
            _, mean, log_var = bottleneck(x)
            optimizer.zero_grad()
            gaussian_kl(mean, log_var).mean().backward()
            optimizer.step()
        with torch.no_grad():
            moved[scale] = float(bottleneck(x)[2].mean() - before)
    assert moved[1.0] > 0 and moved[10.0] > 5 * moved[1.0], moved


def test_redundancy_penalty_lowers_the_mutual_information_between_posterior_samples():
    """Trained with a2 > 0, posterior samples of the modalities' z share less information (held-out
    Gaussian MI on samples, the z of the paper's equations) than with a2 = 0."""
    from mrdib.objective.estimators import gaussian_cca_mi
    from mrdib.training.monitor import posterior_samples

    data = generate_synthetic(SyntheticConfig(n_users=300, n_items=200, dim_redundant=8, dim_unique=2,
                                              strength_redundant=2.0, seed=3))
    estimates = {}
    for a2 in (0.0, 0.5):
        model = wrapped_vbpr(data, a1=0.001, a2=a2, a3=0.0, mine_batch_size=256, critic_warmup_steps=20)
        optimizer = torch.optim.Adam(model.model_parameters(), lr=3e-3)
        critic_optimizer = torch.optim.Adam(model.critic_parameters(), lr=1e-3)
        sampler = BPRSampler(data, 256)
        for _ in range(15):
            for batch in sampler.epoch():
                step = model.training_step(batch)
                optimizer.zero_grad(set_to_none=True)
                critic_optimizer.zero_grad(set_to_none=True)
                step.loss.backward()
                optimizer.step()
                critic_optimizer.step()
        samples, _ = posterior_samples(model, seed=0)
        estimates[a2] = gaussian_cca_mi(samples["image"].numpy(), samples["text"].numpy())["mean"]
    assert estimates[0.5] < 0.75 * estimates[0.0], estimates


def test_three_modalities_give_three_pairs():
    data = generate_synthetic(SyntheticConfig(n_users=200, n_items=150, n_modalities=3, seed=0))
    model = wrapped_vbpr(data, a1=0.1, a2=0.1, a3=0.1)
    logs = model.training_step(first_batch(data, 128)).logs
    pairs = {f"{a}~{b}" for a, b in itertools.combinations(data.modalities, 2)}
    assert {k.split("/", 1)[1] for k in logs if k.startswith("mine_bound/")} == pairs
    assert {k.split("/", 1)[1] for k in logs if k.startswith("kl/")} == set(data.modalities)


def test_row_mode_matches_full_mode_in_evaluation(small_data):
    """VBPR's batch-rows shortcut changes training cost only, not the evaluated representations."""
    model = wrapped_vbpr(small_data)
    model.eval()
    with torch.no_grad():
        encoded, fused = model.representations()
        x = model.backbone.encode().modal_items
        for m, z in encoded.modal_items.items():
            assert torch.allclose(z, model.bottlenecks[m].mean(x[m]))


def test_aux_subset_as_large_as_the_batch_changes_nothing(small_data):
    batch = first_batch(small_data)
    torch.manual_seed(5)
    full = wrapped_vbpr(small_data).training_step(batch).logs
    torch.manual_seed(5)
    same = wrapped_vbpr(small_data, aux_batch_size=len(batch.users)).training_step(batch).logs
    assert all(torch.equal(full[k], same[k]) for k in full)


def test_aux_subset_estimates_the_full_batch_terms_without_bias(small_data):
    """Averaged over many random subsets, the KL and unique terms equal their full-batch values."""
    batch = first_batch(small_data)
    full_model = wrapped_vbpr(small_data).eval()  # eval: the bottleneck's mean, so only the subset varies
    sub_model = wrapped_vbpr(small_data, aux_batch_size=32).eval()
    full = full_model.training_step(batch).logs
    draws = [sub_model.training_step(batch).logs for _ in range(300)]
    for key in ("losses/kl", "losses/unique"):
        values = torch.stack([d[key] for d in draws])
        assert not torch.allclose(values, values[0].expand_as(values))  # the subsets differ
        standard_error = values.std() / len(values) ** 0.5
        assert abs(values.mean() - full[key]) < 4 * standard_error + 1e-6, key


def test_aux_subset_leaves_the_mine_pairs_alone(small_data, monkeypatch):
    batch = first_batch(small_data, 256)
    model = wrapped_vbpr(small_data, aux_batch_size=16, mine_batch_size=100)
    seen = []
    for estimator in model.estimators.values():
        original = estimator.scores
        monkeypatch.setattr(estimator, "scores", lambda a, b, p, *rest, original=original:
                            seen.append(len(a)) or original(a, b, p, *rest))
    model.training_step(batch)
    assert seen and all(n == 100 for n in seen)



def _unique_scores(small_data, monkeypatch, mode):
    """(pos, neg) the plugin hands bpr_loss for each modality's unique term, and the batch's z."""
    import mrdib.objective.plugin as plugin

    model = wrapped_vbpr(small_data, a1=0.0, a2=0.0, a3=1.0, unique_mode=mode)
    captured, z_seen = [], {}
    monkeypatch.setattr(plugin, "bpr_loss", lambda pos, neg: captured.append((pos, neg)) or bpr_loss(pos, neg))
    original = model._bottleneck
    monkeypatch.setattr(model, "_bottleneck", lambda items: z_seen.update(original(items)[0]) or (z_seen, {
        m: model.bottlenecks[m](x)[1:] for m, x in items.items()}))
    torch.manual_seed(3)
    model.training_step(first_batch(small_data))
    return dict(zip(small_data.modalities, captured)), z_seen


def test_conditional_unique_term_adds_the_other_modalities_scores_as_fixed_offsets(small_data, monkeypatch):
    standalone, _ = _unique_scores(small_data, monkeypatch, "standalone")
    conditional, z = _unique_scores(small_data, monkeypatch, "conditional")
    image_pos, text_pos = standalone["image"][0], standalone["text"][0]
    assert torch.allclose(conditional["image"][0], image_pos + text_pos, atol=1e-5)
    grad_text = torch.autograd.grad(conditional["image"][0].sum(), z["text"], allow_unused=True)[0]
    grad_image = torch.autograd.grad(conditional["image"][0].sum(), z["image"], allow_unused=True)[0]
    assert grad_text is None and grad_image is not None and grad_image.abs().sum() > 0


def test_unknown_unique_mode_is_a_config_error(small_data):
    from mrdib.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unique_mode"):
        wrapped_vbpr(small_data, unique_mode="partial")

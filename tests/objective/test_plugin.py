"""The MRdIB wrapper: terms, ablations, the min-max game and the bottleneck."""

from __future__ import annotations

import itertools

import pytest
import torch

from mrdib.backbones import get_backbone
from mrdib.config import MRdIBConfig
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic
from mrdib.objective.bottleneck import VariationalBottleneck, gaussian_kl
from mrdib.objective.mine import MineEstimator, fit_mine
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
    bottleneck = VariationalBottleneck(2, min_log_var=-1.0, max_log_var=1.0).eval()
    with torch.no_grad():
        bottleneck.heads.weight.zero_()
        bottleneck.heads.bias.zero_()
        bottleneck.heads.weight[2:] = torch.eye(2)  # raw log-variance = x
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
    model = wrapped_vbpr(small_data, a1=0.3, a2=0.2, a3=0.1)
    logs = model.training_step(first_batch(small_data)).logs
    expected = logs["losses/backbone"] + 0.3 * logs["losses/kl"] + 0.2 * logs["losses/mine"] + 0.1 * logs["losses/unique"]
    assert torch.allclose(logs["losses/total"], expected, atol=1e-5)
    assert torch.allclose(logs["losses/kl"], logs["kl/image"] + logs["kl/text"])


@pytest.mark.parametrize("alphas", [(0.0, 0.1, 0.1), (0.1, 0.0, 0.1), (0.1, 0.1, 0.0), (0.1, 0.0, 0.0)])
def test_each_ablation_removes_exactly_its_term(small_data, alphas):
    a1, a2, a3 = alphas
    model = wrapped_vbpr(small_data, a1=a1, a2=a2, a3=a3)
    step = model.training_step(first_batch(small_data))
    logs = step.logs
    expected = logs["losses/backbone"] + a1 * logs["losses/kl"] + a2 * logs["losses/mine"] + a3 * logs["losses/unique"]
    assert torch.allclose(step.loss.detach(), expected, atol=1e-5)
    # With a2 = 0 the critic still learns (for the logs) but from its own, separate loss.
    assert (step.critic_loss is not None) == (a2 == 0)


def test_min_max_critic_gradient_is_reversed_and_scaled(small_data):
    """Backward of +a2 * bound leaves -d(bound)/d(critic) on the critic and +a2 * d(bound)/dz on z."""
    a2 = 0.5
    model = wrapped_vbpr(small_data, a1=0.0, a2=a2, a3=0.0)
    estimator = model.estimators["image~text"]
    reference = MineEstimator(16, 16, hidden=model.cfg.critic_hidden)
    reference.load_state_dict(estimator.state_dict())  # same weights, no hooks
    torch.manual_seed(0)
    z_a, z_b = torch.randn(64, 16, requires_grad=True), torch.randn(64, 16)
    perm = torch.randperm(64)

    surrogate, _ = estimator.corrected_bound(*estimator.scores(z_a, z_b, perm), update_average=False)
    (a2 * surrogate).backward()
    ref_surrogate, _ = reference.corrected_bound(*reference.scores(z_a, z_b, perm), update_average=False)
    ref_critic = torch.autograd.grad(ref_surrogate, list(reference.parameters()), retain_graph=True)
    ref_z = torch.autograd.grad(ref_surrogate, z_a)[0]
    for param, grad_up in zip(estimator.parameters(), ref_critic):
        assert torch.allclose(param.grad, -grad_up, atol=1e-6)  # the critic's optimizer ascends
    assert torch.allclose(z_a.grad, a2 * ref_z, atol=1e-6)  # the encoders descend


def test_redundancy_penalty_lowers_the_mutual_information_between_modalities():
    """Trained with a2 > 0, the modalities' z share less information (by a fresh critic) than with a2 = 0."""
    data = generate_synthetic(SyntheticConfig(n_users=300, n_items=200, dim_redundant=8, dim_unique=2,
                                              strength_redundant=2.0, seed=3))
    estimates = {}
    for a2 in (0.0, 1.0):
        model = wrapped_vbpr(data, a1=0.0, a2=a2, a3=0.0, mine_batch_size=256, critic_lr=1e-3)
        optimizer = torch.optim.Adam(model.model_parameters(), lr=3e-3)
        critic_optimizer = torch.optim.Adam(model.critic_parameters(), lr=1e-3)
        sampler = BPRSampler(data, 256)
        for _ in range(15):
            for batch in sampler.epoch():
                step = model.training_step(batch)
                optimizer.zero_grad(set_to_none=True)
                critic_optimizer.zero_grad(set_to_none=True)
                step.loss.backward()
                if step.critic_loss is not None:
                    step.critic_loss.backward()
                optimizer.step()
                critic_optimizer.step()
        model.eval()
        with torch.no_grad():
            z = model.representations()[0].modal_items
        standardise = lambda t: (t - t.mean(0)) / (t.std(0) + 1e-6)  # noqa: E731
        estimates[a2] = fit_mine(standardise(z["image"]), standardise(z["text"]), steps=600, batch_size=128,
                                 lr=3e-3)
    assert estimates[1.0] < estimates[0.0] - 0.1, estimates


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
        monkeypatch.setattr(estimator, "scores", lambda a, b, p, original=original: seen.append(len(a)) or original(a, b, p))
    model.training_step(batch)
    assert seen and all(n == 100 for n in seen)

"""The MINE estimator against mutual information known in closed form."""

import math

import pytest
import torch

from mrdib.objective.mine import MineEstimator, donsker_varadhan_bound, fit_mine


def correlated_gaussians(n: int, dim: int, rho: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(n, dim, generator=generator)
    noise = torch.randn(n, dim, generator=generator)
    return a, rho * a + math.sqrt(1 - rho**2) * noise


def gaussian_mutual_information(dim: int, rho: float) -> float:
    # I(A; B) for per-dimension correlation rho, dimensions independent: -dim/2 log(1 - rho^2)
    return -0.5 * dim * math.log(1 - rho**2)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_mine_recovers_known_mutual_information(rho):
    a, b = correlated_gaussians(8000, 2, rho)
    truth = gaussian_mutual_information(2, rho)
    estimate = fit_mine(a, b, steps=800, batch_size=256, lr=3e-3)
    # DV is a lower bound: close to, and not far above, the truth.
    assert truth * 0.75 < estimate < truth * 1.1, (estimate, truth)


def test_mine_near_zero_for_independent_variables():
    a, b = correlated_gaussians(8000, 2, 0.0)
    assert abs(fit_mine(a, b, steps=600, batch_size=256, lr=3e-3)) < 0.05


def test_corrected_bound_value_equals_dv_and_gradient_uses_moving_average():
    torch.manual_seed(0)
    estimator = MineEstimator(3, 3, hidden=8, ema_rate=0.5)
    a, b = torch.randn(64, 3), torch.randn(64, 3)
    perm = torch.randperm(64)
    t_joint, t_marginal = estimator.scores(a, b, perm)
    surrogate, bound = estimator.corrected_bound(t_joint, t_marginal, update_average=True)
    assert torch.allclose(surrogate, bound)
    assert torch.allclose(bound, donsker_varadhan_bound(t_joint, t_marginal))
    # Pretend the moving average is 4x the batch mean: the log-term gradient shrinks 4x.
    estimator.log_ema.fill_(float(torch.logsumexp(t_marginal.detach(), 0) - math.log(64) + math.log(4.0)))
    t_joint, t_marginal = estimator.scores(a, b, perm)
    surrogate, _ = estimator.corrected_bound(t_joint, t_marginal, update_average=False)
    log_term_grad = torch.autograd.grad(t_joint.mean() - surrogate, t_marginal, retain_graph=True)[0]
    plain_grad = torch.softmax(t_marginal, 0)  # gradient of log mean exp
    assert torch.allclose(log_term_grad, plain_grad / 4.0, atol=1e-6)


def test_fused_scores_equal_two_critic_calls():
    torch.manual_seed(0)
    estimator = MineEstimator(5, 3, hidden=8)
    a, b = torch.randn(20, 5, requires_grad=True), torch.randn(20, 3, requires_grad=True)
    permutation = torch.randperm(20)
    joint, marginal = estimator.scores(a, b, permutation)
    assert torch.allclose(joint, estimator.critic(a, b), atol=1e-6)
    assert torch.allclose(marginal, estimator.critic(a, b[permutation]), atol=1e-6)
    fused_grads = torch.autograd.grad((joint - marginal.exp()).sum(), [a, b, *estimator.parameters()])
    plain = estimator.critic(a, b) - estimator.critic(a, b[permutation]).exp()
    plain_grads = torch.autograd.grad(plain.sum(), [a, b, *estimator.parameters()])
    for fused, reference in zip(fused_grads, plain_grads):
        assert torch.allclose(fused, reference, atol=1e-5)


@pytest.mark.parametrize("standardise", [True, False])
def test_inputs_prepared_once_give_the_same_objective_as_raw_inputs(standardise):
    """The critic's extra updates standardise the step's fixed z once (MineEstimator.prepare):
    that must be the very objective the raw z give, bit for bit, and leave the same average."""
    torch.manual_seed(0)
    raw, ready = (MineEstimator(6, 6, hidden=8, standardise_inputs=standardise) for _ in range(2))
    ready.load_state_dict(raw.state_dict())
    a, b = correlated_gaussians(64, 6, 0.8)
    a, b = 3.0 * a + 1.0, 0.1 * b  # scales standardisation changes
    for step in range(3):
        permutation = torch.randperm(64, generator=torch.Generator().manual_seed(step))
        expected = raw.objective(a, b, permutation)
        got = ready.objective(*ready.prepare(a, b), permutation, standardised=True)
        assert all(torch.equal(x, y) for x, y in zip(expected, got))
    assert torch.equal(raw.log_ema, ready.log_ema)
    if standardise:  # prepared inputs are not the raw ones: skipping the preparation would change the bound
        assert not torch.equal(ready.objective(a, b, permutation, standardised=True)[1], expected[1])

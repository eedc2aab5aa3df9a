"""The deviation loss and its reference moments."""

import numpy as np
import pytest
import torch
from scipy import stats

from wvad.model.deviation import (
    DeviationNetwork,
    StackedDeviationNetworks,
    deviation_loss,
    reference_moments,
)


def test_reference_moments_follow_the_law_of_the_draws_they_stand_for():
    """Mean and sd of n N(0, 1) draws: the mean is N(0, 1/n), (n - 1) sd^2 is chi-square
    with n - 1 degrees of freedom. Drawn directly, both laws must hold (KS tests)."""
    n, rngs = 50, [np.random.default_rng(s) for s in range(4000)]
    moments = reference_moments(n, rngs)
    assert stats.kstest(moments[:, 0] * np.sqrt(n), "norm").pvalue > 0.01
    assert stats.kstest((n - 1) * moments[:, 1] ** 2, stats.chi2(n - 1).cdf).pvalue > 0.01
    draws = np.random.default_rng(0).standard_normal((4000, n))
    sd = draws.std(axis=1, ddof=1)  # what drawing the reference itself would give
    assert stats.ks_2samp(sd, moments[:, 1]).pvalue > 0.01


def test_reference_moments_use_each_generator_alone():
    a = reference_moments(5000, [np.random.default_rng(1), np.random.default_rng(2)])
    b = reference_moments(5000, [np.random.default_rng(2)])
    assert np.array_equal(a[1], b[0]) and not np.array_equal(a[0], a[1])


def test_deviation_loss_is_each_networks_mean_summed():
    scores = torch.tensor([[0.0, 6.0, 1.0], [2.0, -1.0, 5.5]])
    target = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    moments = torch.tensor([[0.0, 1.0], [1.0, 0.5]])
    # net 0: |0|, max(0, 5 - 6), max(0, 5 - 1); net 1: |2|, |-4|, max(0, 5 - 9)
    expected = (0 + 0 + 4) / 3 + (2 + 4 + 0) / 3
    assert deviation_loss(scores, target, 5.0, moments).item() == pytest.approx(expected)


def _autograd_loss(networks, x, target, margin, moments, l2):
    """The stacked loss as plain autograd takes it: the hidden layers as batched products,
    each output layer alone, `deviation_loss`, then the L2 term network by network."""
    h = x
    for depth in range(len(networks[0].widths())):
        layers = [net.hidden[2 * depth] for net in networks]
        weight = torch.stack([m.weight for m in layers])
        bias = torch.stack([m.bias for m in layers])
        h = torch.relu(torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2)))
    scores = torch.stack([net.out(h[i]) for i, net in enumerate(networks)]).squeeze(-1)
    loss = deviation_loss(scores, target, margin, moments)
    kernels = [m.weight for net in networks for m in net.hidden if isinstance(m, torch.nn.Linear)]
    return loss + l2 * sum((w**2).sum() for w in kernels)


@pytest.mark.parametrize(
    ("widths", "rows", "l2"), [((20,), 512, 0.01), ((7, 5), 300, 0.0), ((), 64, 0.01)]
)
def test_stacked_loss_gradients_are_autograds_bit_for_bit(widths, rows, l2):
    """The hand-written backward must give the gradients autograd gives, to the last bit,
    so training with it is training with autograd (labeled anomalies inside and beyond
    the margin, rows on both sides of every ReLU)."""
    torch.manual_seed(0)
    make = lambda: [DeviationNetwork(6, widths) for _ in range(3)]  # noqa: E731
    ours = make()
    theirs = make()
    for a, b in zip(ours, theirs, strict=True):
        b.load_state_dict(a.state_dict())
    x = torch.randn(3, rows, 6)
    target = (torch.rand(3, rows) < 0.5).float()
    moments = torch.tensor([[0.01, 1.02], [-0.02, 0.97], [0.0, 1.0]])
    margin = float(ours[0](x[0]).detach().median())  # anomalies on both sides of it
    stack = StackedDeviationNetworks(ours)
    loss = stack.loss(x, target, margin, moments, l2)
    reference = _autograd_loss(theirs, x, target, margin, moments, l2)
    loss.backward()
    reference.backward()
    assert torch.equal(loss, reference)
    linears = [[m for m in net.modules() if isinstance(m, torch.nn.Linear)] for net in theirs]
    for depth, (weight, bias) in enumerate(zip(stack.weights, stack.biases, strict=True)):
        assert weight.grad.abs().sum(dim=(1, 2)).min() > 0  # every network gets a gradient
        for i, network in enumerate(linears):
            assert torch.equal(weight.grad[i], network[depth].weight.grad)
            assert torch.equal(bias.grad[i], network[depth].bias.grad)

"""The deviation loss and its reference moments."""

import numpy as np
import pytest
import torch
from scipy import stats

from wvad.model.deviation import deviation_loss, reference_moments


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

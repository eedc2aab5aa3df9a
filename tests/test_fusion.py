import numpy as np
import torch
from scipy.stats import norm

from wvad.fusion import (
    NORMAL_IQR,
    TAIL_START,
    fit_quantiles,
    gaussianize,
    gaussianize_tensor,
    merge_ties,
    robust_standardize,
)


def test_gaussianized_training_rows_look_standard_normal():
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.exponential(size=5000), rng.standard_t(2, size=5000)])
    g = gaussianize(values, fit_quantiles(values, 1000))
    assert np.allclose(np.median(g, axis=0), 0.0, atol=0.05)
    assert np.allclose(np.percentile(g, 84.13, axis=0), 1.0, atol=0.08)


def test_gaussianize_is_monotone_and_keeps_order_beyond_the_range():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 1))
    quantiles = fit_quantiles(train, 1000)
    probe = np.linspace(-50, 50, 2001)[:, None]
    g = gaussianize(probe, quantiles)[:, 0]
    assert np.all(np.diff(g) >= 0)
    assert np.all(np.diff(g[probe[:, 0] > train.max()]) > 0)  # no ties in the upper tail
    top = norm.ppf((len(quantiles) - 0.5) / len(quantiles))
    near = (probe[:, 0] > train.max()) & (g < TAIL_START)
    slope = np.diff(g[near]) / np.diff(probe[near, 0])
    assert np.allclose(slope, NORMAL_IQR)  # 1 unit beyond the max adds about 1.35 sigma
    assert TAIL_START < g[-1] < TAIL_START + np.log1p(50 * NORMAL_IQR)  # then logarithmic
    assert np.allclose(g[probe[:, 0] < train.min()], -top)  # below the range: the lowest score


def test_gaussianized_values_are_bounded_for_every_finite_input():
    quantiles = fit_quantiles(np.random.default_rng(2).normal(size=(500, 1)), 1000)
    huge = np.array([[-np.finfo(float).max], [0.0], [np.finfo(float).max]])
    g = gaussianize(huge, quantiles)[:, 0]
    assert np.isfinite(g).all() and g[2] <= TAIL_START + np.log1p(np.finfo(float).max)
    values = torch.tensor(huge[:, 0], requires_grad=True)
    t = gaussianize_tensor(values, quantiles[:, 0])
    assert np.allclose(t.detach().numpy(), g)
    t.sum().backward()
    assert torch.isfinite(values.grad).all()


def test_a_spread_of_rounding_noise_is_not_divided_by():
    """An evenly spaced column's neighbour distance: one value on most rows, up to float32
    rounding; a few rows at the ends differ."""
    values = np.full(200, np.float32(-4.7055182), dtype=np.float64)
    values[::7] += 4.7e-7  # float32 noise
    values[:3] += 0.5  # the rows at the ends of the ramp
    center, scale = robust_standardize(values)
    assert scale > 1e-3  # the mean absolute deviation, not the noise
    assert np.abs((values - center) / scale).max() < 100
    assert robust_standardize(np.full(50, 3.0))[1] == 1.0  # no spread at all: 1


def test_quantile_grid_is_bounded_and_standardisation_is_robust():
    values = np.arange(10_000, dtype=float)[:, None]
    assert fit_quantiles(values, 1000).shape == (1000, 1)
    assert fit_quantiles(values[:20], 1000).shape == (20, 1)
    center, scale = robust_standardize(np.array([[1.0, 5.0], [1.0, 7.0], [1.0, 9.0]]))
    assert np.allclose(center, [1.0, 7.0]) and np.allclose(scale, [1.0, 2.0])


def test_tied_quantiles_become_one_point_at_their_mean_score():
    grid = np.array([0.0, 1.0, 1.0, 1.0 + 1e-9, 2.0])
    normal = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    merged, scores = merge_ties(grid, normal, np.full(5, 1e-6))
    assert merged.tolist() == [0.0, 1.0, 2.0]
    assert scores.tolist() == [-2.0, 0.0, 2.0]  # the three near-equal: their mean
    alone, same = merge_ties(grid, normal, np.zeros(5))  # no noise: exact ties only
    assert alone.tolist() == [0.0, 1.0, 1.0 + 1e-9, 2.0] and same[1] == -0.5


def test_a_value_the_training_rows_repeat_maps_without_a_jump():
    """Most training rows share one value (a saturated piece): rounding noise around it
    must not move the Gaussianised score by more than noise times a bounded slope."""
    from wvad.config import FusionSettings
    from wvad.fused import Standardiser

    rng = np.random.default_rng(0)
    values = np.r_[np.full(900, 0.25), rng.normal(size=100)].astype(np.float32).astype(float)
    split = Standardiser.fit(values, FusionSettings(ties="split"))
    merged = Standardiser.fit(values, FusionSettings())
    near = np.array([0.25 - 1e-7, 0.25, 0.25 + 1e-7])
    assert np.ptp(split(near)) > 1.0  # the jump, sigmas wide, that merging removes
    assert np.ptp(merged(near)) < 0.01  # continuous: a slope the data sets, no step
    assert np.allclose(merged.tensor(torch.as_tensor(near)).numpy(), merged(near))
    order = np.argsort(values, kind="stable")
    assert (np.diff(merged(values[order])) >= 0).all()  # still monotone

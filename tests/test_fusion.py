import numpy as np
from scipy.stats import norm

from wvad.fusion import fit_quantiles, gaussianize, robust_standardize


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
    assert np.all(np.diff(g[probe[:, 0] > train.max()]) > 0)  # no ties in the tail
    top = norm.ppf((len(quantiles) - 0.5) / len(quantiles))
    assert g[-1] > top + 40  # 1 unit beyond the max adds about 1.35 sigma


def test_quantile_grid_is_bounded_and_standardisation_is_robust():
    values = np.arange(10_000, dtype=float)[:, None]
    assert fit_quantiles(values, 1000).shape == (1000, 1)
    assert fit_quantiles(values[:20], 1000).shape == (20, 1)
    center, scale = robust_standardize(np.array([[1.0, 5.0], [1.0, 7.0], [1.0, 9.0]]))
    assert np.allclose(center, [1.0, 7.0]) and np.allclose(scale, [1.0, 2.0])

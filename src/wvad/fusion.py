"""Putting WVAD's pieces of evidence on one scale before they are added up.

Each piece (the score estimator's logit, log f_r, the negative ELBO, ...) has its own
distribution, and its heavy upper tail is where anomalies sit. Adding them after a linear
standardisation lets whichever piece has the longest tail drown the others: on pendigits a
negative ELBO of 100 inter-quartile ranges outvoted a score estimator that ranked the test
anomalies almost perfectly. Mapping each piece through its own empirical distribution on the
unlabeled training rows and then to a standard normal ("Gaussianising") gives every piece
the same scale where most rows lie, and the linear tail beyond the observed range keeps the
order of rows more extreme than any training row.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtri
from torch import Tensor

__all__ = ["fit_quantiles", "gaussianize", "gaussianize_tensor", "robust_standardize"]

#: A standard normal's inter-quartile range: one IQR beyond the range is this many sigmas.
NORMAL_IQR = 1.3489795


def robust_standardize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and inter-quartile range per column (a zero range counts as 1)."""
    q25, median, q75 = np.percentile(values, [25, 50, 75], axis=0)
    return median, np.where(q75 > q25, q75 - q25, 1.0)


def _levels(n_levels: int) -> np.ndarray:
    return (np.arange(n_levels) + 0.5) / n_levels


def fit_quantiles(values: np.ndarray, max_quantiles: int) -> np.ndarray:
    """Per-column quantiles at levels (i + 0.5) / Q, i < Q = min(rows, max_quantiles):
    enough for a smooth distribution, and a fixed size for any table."""
    return np.quantile(values, _levels(min(len(values), max_quantiles)), axis=0)


def gaussianize(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Map each column through its empirical distribution (the `quantiles`) to a standard
    normal score, piecewise linear between quantiles; beyond the outermost ones continue
    linearly, one inter-quartile range of the (standardised) input per NORMAL_IQR sigmas, so
    extreme rows stay ordered."""
    # the normal scores of the quantile levels; between two quantiles we interpolate these
    # directly, which equals the CDF route at every quantile and saves an inverse CDF per row
    normal = ndtri(_levels(len(quantiles)))
    out = np.empty_like(values, dtype=np.float64)
    for j in range(values.shape[1]):
        grid, column = quantiles[:, j], values[:, j]
        out[:, j] = np.interp(column, grid, normal)
        above, below = column > grid[-1], column < grid[0]
        out[above, j] = normal[-1] + (column[above] - grid[-1]) * NORMAL_IQR
        out[below, j] = normal[0] - (grid[0] - column[below]) * NORMAL_IQR
    return out


def gaussianize_tensor(values: Tensor, quantiles: np.ndarray) -> Tensor:
    """`gaussianize` of one column on a tensor, differentiable in `values` (piecewise
    linear, as the numpy version): what gradient-based explanations go through."""
    grid = torch.as_tensor(quantiles, dtype=values.dtype, device=values.device)
    normal = torch.as_tensor(
        ndtri(_levels(len(quantiles))), dtype=values.dtype, device=values.device
    )
    above = normal[-1] + (values - grid[-1]) * NORMAL_IQR
    below = normal[0] - (grid[0] - values) * NORMAL_IQR
    if len(grid) < 2:
        return torch.where(values > grid[-1], above, below)
    # right=True: at a value the grid repeats, np.interp takes the last repeat, as here
    right = torch.searchsorted(grid, values.detach(), right=True).clamp(1, len(grid) - 1)
    x0, x1, y0, y1 = grid[right - 1], grid[right], normal[right - 1], normal[right]
    slope = torch.where(x1 > x0, (y1 - y0) / (x1 - x0).clamp_min(1e-300), torch.zeros_like(x0))
    inside = y0 + (values - x0) * slope
    return torch.where(values > grid[-1], above, torch.where(values < grid[0], below, inside))

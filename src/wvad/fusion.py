"""Putting WVAD's pieces of evidence on one scale before they are added up.

Each piece (the score estimator's logit, log f_r, the negative ELBO, ...) has its own
distribution, and its heavy upper tail is where anomalies sit. Adding them after a linear
standardisation lets whichever piece has the longest tail drown the others: on pendigits a
negative ELBO of 100 inter-quartile ranges outvoted a score estimator that ranked the test
anomalies almost perfectly. Mapping each piece through its own empirical distribution on the
unlabeled training rows and then to a standard normal ("Gaussianising") gives every piece
the same scale where most rows lie, and the linear tail above the observed range keeps the
order of rows more extreme than any training row. Below the range there is no tail: being
more typical than the most typical training row is no further evidence of being normal,
and such values come from a piece extrapolating (a network's linear growth far outside
the data), not from the data; without a floor, a row with one value far outside the
training range was scored normal by the supervised pieces' extrapolation.

Two guards keep every piece on a bounded scale whatever the table: a spread that is only
rounding noise (a piece with one value on most rows, as the neighbour distance on an
evenly spaced column) is never divided by (`robust_standardize` falls back to a wider
measure of spread, and to 1 where there is none), and beyond `TAIL_START` sigmas a
Gaussianised value grows with the logarithm of its distance, so no finite input can give
a piece more than about `TAIL_START` + 710 sigmas.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from scipy.special import ndtri
from torch import Tensor

__all__ = [
    "TAIL_START",
    "bounded_tail",
    "fit_quantiles",
    "float32_noise",
    "gaussianize",
    "gaussianize_tensor",
    "merge_ties",
    "normal_levels",
    "robust_standardize",
    "rounding_noise",
]

#: A standard normal's inter-quartile range: one IQR beyond the range is this many sigmas.
NORMAL_IQR = 1.3489795
#: A spread of at most this many float32 rounding steps of the values' magnitude is noise:
#: the pieces are computed in float32.
NOISE_STEPS = 64
#: Gaussianised values beyond this many sigmas grow logarithmically (`bounded_tail`).
TAIL_START = 20.0
#: The largest excess over the top quantile the linear tail takes (beyond it would overflow).
_MAX_EXCESS = 1e300


def float32_noise(values: np.ndarray) -> np.ndarray:
    """The float32 rounding noise of `values`: NOISE_STEPS rounding steps of their
    magnitude, at least of 1 (the pieces are computed in float32)."""
    return NOISE_STEPS * np.finfo(np.float32).eps * np.maximum(np.abs(values), 1.0)


def robust_standardize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and spread per column: the inter-quartile range; where that is rounding
    noise (most values tied), the mean absolute deviation from the median; where that is
    too, the standard deviation; and 1 where every value is the same up to rounding."""
    q25, median, q75 = np.percentile(values, [25, 50, 75], axis=0)
    noise = float32_noise(median)
    spread = np.ones_like(median, dtype=np.float64)
    fallbacks = (
        lambda: q75 - q25,
        lambda: np.abs(values - median).mean(axis=0),
        lambda: values.std(axis=0),
    )
    settled = np.zeros(np.shape(median), dtype=bool)
    for measure in fallbacks:
        candidate = measure()
        usable = ~settled & (candidate > noise)
        spread = np.where(usable, candidate, spread)
        settled |= usable
    return median, spread


def bounded_tail(values: np.ndarray) -> np.ndarray:
    """Identity up to +-TAIL_START; beyond, TAIL_START + log(1 + excess): monotone, so
    rows keep their order, and bounded for every finite input."""
    excess = np.abs(values) - TAIL_START
    far = excess > 0
    if not far.any():
        return values
    out = np.array(values, dtype=np.float64)
    out[far] = np.sign(values[far]) * (TAIL_START + np.log1p(excess[far]))
    return out


def _levels(n_levels: int) -> np.ndarray:
    return (np.arange(n_levels) + 0.5) / n_levels


def normal_levels(n_levels: int) -> np.ndarray:
    """The standard normal scores of the `n_levels` quantile levels `fit_quantiles` uses."""
    return ndtri(_levels(n_levels))


def fit_quantiles(values: np.ndarray, max_quantiles: int) -> np.ndarray:
    """Per-column quantiles at levels (i + 0.5) / Q, i < Q = min(rows, max_quantiles):
    enough for a smooth distribution, and a fixed size for any table."""
    return np.quantile(values, _levels(min(len(values), max_quantiles)), axis=0)


def rounding_noise(z: np.ndarray, center: float, scale: float) -> np.ndarray:
    """Per standardised value z = (v - center) / scale, `float32_noise` of v in units of
    z: values closer than this are equal up to rounding."""
    return float32_noise(z * scale + center) / scale


def merge_ties(
    grid: np.ndarray, normal: np.ndarray, noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One column's quantiles (`grid`, ascending) with the normal scores of their levels,
    where each run of quantiles within `noise` (per point) of the run's first is one point
    at the run's first value and the mean of its scores: the mid-rank of tied values.

    Without this the map jumps at a value the training rows repeat (np.interp takes the
    last repeat there, the first just below), so rounding noise in a piece's evidence,
    such as a float32 product summed in another order for another batch of rows, could
    move a score by sigmas."""
    starts = [0]
    for i in range(1, len(grid)):
        if grid[i] - grid[starts[-1]] > noise[starts[-1]]:
            starts.append(i)
    bounds = np.append(starts, len(grid))
    means = np.array([normal[a:b].mean() for a, b in itertools.pairwise(bounds)])
    return grid[starts], means


def gaussianize(
    values: np.ndarray,
    quantiles: np.ndarray,
    tails: str = "bounded",
    normal: np.ndarray | None = None,
) -> np.ndarray:
    """Map each column through its empirical distribution (the `quantiles`) to a standard
    normal score, piecewise linear between quantiles. With `tails` "bounded": above the top
    quantile continue linearly, one inter-quartile range of the (standardised) input per
    NORMAL_IQR sigmas, so extreme rows stay ordered (`bounded_tail` beyond TAIL_START);
    below the lowest one, stay at its score. With "linear" (models saved before the bound):
    continue linearly on both sides, unbounded. `normal` gives each quantile's score
    (default: the normal scores of their levels; `merge_ties` gives merged ones)."""
    # the normal scores of the quantile levels; between two quantiles we interpolate these
    # directly, which equals the CDF route at every quantile and saves an inverse CDF per row
    if normal is None:
        normal = normal_levels(len(quantiles))
    out = np.empty_like(values, dtype=np.float64)
    for j in range(values.shape[1]):
        grid, column = quantiles[:, j], values[:, j]
        out[:, j] = np.interp(column, grid, normal)
        above = column > grid[-1]
        excess = np.minimum(column[above] - grid[-1], _MAX_EXCESS)  # no overflow to inf
        out[above, j] = normal[-1] + excess * NORMAL_IQR
        if tails == "linear":
            below = column < grid[0]
            out[below, j] = normal[0] - (grid[0] - column[below]) * NORMAL_IQR
    return out if tails == "linear" else bounded_tail(out)


def gaussianize_tensor(
    values: Tensor,
    quantiles: np.ndarray,
    tails: str = "bounded",
    normal_scores: np.ndarray | None = None,
) -> Tensor:
    """`gaussianize` of one column on a tensor, differentiable in `values` (piecewise
    linear, as the numpy version): what gradient-based explanations go through."""
    grid = torch.as_tensor(quantiles, dtype=values.dtype, device=values.device)
    if normal_scores is None:
        normal_scores = normal_levels(len(quantiles))
    normal = torch.as_tensor(normal_scores, dtype=values.dtype, device=values.device)
    above = normal[-1] + (values - grid[-1]).clamp_max(_MAX_EXCESS) * NORMAL_IQR
    if tails == "linear":
        below = normal[0] - (grid[0] - values) * NORMAL_IQR
        bound = _no_bound
    else:
        below, bound = torch.zeros_like(values) + normal[0], _bounded_tail_tensor
    if len(grid) < 2:
        return bound(torch.where(values > grid[-1], above, below))
    # right=True: at a value the grid repeats, np.interp takes the last repeat, as here
    right = torch.searchsorted(grid, values.detach(), right=True).clamp(1, len(grid) - 1)
    x0, x1, y0, y1 = grid[right - 1], grid[right], normal[right - 1], normal[right]
    slope = torch.where(x1 > x0, (y1 - y0) / (x1 - x0).clamp_min(1e-300), torch.zeros_like(x0))
    inside = y0 + (values - x0) * slope
    outside = torch.where(values < grid[0], below, inside)
    return bound(torch.where(values > grid[-1], above, outside))


def _no_bound(values: Tensor) -> Tensor:
    return values


def _bounded_tail_tensor(values: Tensor) -> Tensor:
    """`bounded_tail` on a tensor, differentiable."""
    excess = (values.abs() - TAIL_START).clamp_min(0.0)
    return values.sign() * (values.abs().clamp_max(TAIL_START) + excess.log1p())

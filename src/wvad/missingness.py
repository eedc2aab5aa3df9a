"""Whether a column's missing values carry information: a test of "missing completely at
random" (MCAR) against the table's other columns.

A "was missing" column helps where missingness is itself evidence (a value not measured
because nothing was suspected, a sensor that reads nothing beyond its range) and is a noise
dimension to the mixture and the neighbour distance where cells are missing at random
(docs/method.md, "Tables with categories and missing values"). Under MCAR the rows missing
a value are a random sample of the rows, so every other column is distributed alike among
them and among the rest; `informative_missing` flags a column where some other column is
not: a rank-sum (Mann-Whitney) test per other number column, computed for every pair at
once from ranks, and a chi-square test per categorical column, with a Bonferroni bound over
the other columns (after Little's MCAR test, JASA 1988, pairwise).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2_contingency, norm, rankdata

__all__ = ["MCAR_ALPHA", "MIN_GROUP", "informative_missing"]

#: A column's missingness is taken as informative where its smallest p-value over the other
#: columns is below MCAR_ALPHA divided by their number (a family-wise error of MCAR_ALPHA
#: per column). Fixed before any measurement, not tuned.
MCAR_ALPHA = 0.001
#: Rows each side of a test (missing, present) below which the pair is not tested.
MIN_GROUP = 5


def informative_missing(numbers: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
    """Per number column of `numbers` (rows x columns, NaN = missing), whether its missing
    values are not completely at random given the other number columns and the categorical
    columns `codes` (one int array per column, -1 = missing). A column without a missing
    value, or with too few of either kind to test, is False."""
    missing = np.isnan(numbers)
    p_numbers = _rank_sum_p(numbers, missing)
    p_categories = _chi_square_p(missing, codes)
    p = np.hstack([p_numbers, p_categories])
    tested = np.isfinite(p).sum(axis=1)
    smallest = np.where(tested > 0, np.nanmin(np.where(np.isfinite(p), p, np.inf), axis=1), 1.0)
    return smallest < MCAR_ALPHA / np.maximum(tested, 1)


def _rank_sum_p(numbers: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """p[j, k]: the two-sided rank-sum p-value of column k between the rows missing column
    j and the others, among the rows where k is present (NaN where untested, and on j = k);
    the normal approximation without a tie correction (so, if anything, conservative)."""
    observed = ~missing
    ranks = np.zeros(numbers.shape)
    for k in range(numbers.shape[1]):
        ranks[observed[:, k], k] = rankdata(numbers[observed[:, k], k])
    m = missing.astype(np.float64)
    rank_sum = m.T @ ranks  # [j, k]: ranks of k summed over rows missing j
    n1 = m.T @ observed.astype(np.float64)  # rows missing j with k present
    n2 = observed.sum(axis=0)[None, :] - n1
    n = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        u = rank_sum - n1 * (n1 + 1) / 2
        z = (u - n1 * n2 / 2) / np.sqrt(n1 * n2 * (n + 1) / 12)
    p = 2 * norm.sf(np.abs(z))
    untested = (n1 < MIN_GROUP) | (n2 < MIN_GROUP) | np.eye(len(p), dtype=bool)
    return np.where(untested, np.nan, p)


def _chi_square_p(missing: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
    """p[j, c]: the chi-square p-value of independence between column j's missingness and
    categorical column c (its missing values a category of their own); NaN where untested."""
    p = np.full((missing.shape[1], len(codes)), np.nan)
    levels = [np.unique(code, return_inverse=True) for code in codes]  # once per column
    for j in np.flatnonzero(missing.any(axis=0)):
        absent = missing[:, j]
        if min(absent.sum(), (~absent).sum()) < MIN_GROUP:
            continue
        for c, (values, index) in enumerate(levels):
            if len(values) < 2:
                continue
            table = np.zeros((2, len(values)))
            np.add.at(table, (absent.astype(np.int64), index), 1.0)
            p[j, c] = chi2_contingency(table)[1]
    return p

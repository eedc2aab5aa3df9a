"""ADBench's weak-supervision protocol: a stratified split with a few labeled anomalies.

The split is a pure function of (X, y, parameters, seed), so every detector in a benchmark
sees the same rows, the same scaling and the same known anomalies for a given seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from wvad.checks import Int, Real
from wvad.encoding import read_table
from wvad.validation import check_target, check_X

__all__ = ["WeakSplit", "is_mixed_table", "weak_split"]


@dataclass(frozen=True, eq=False)
class WeakSplit:
    """One weakly-supervised train/test split.

    ``y_train_weak`` is what a detector may see (1 for the labeled rows, 0 for the rest);
    ``y_train`` and ``y_test`` are the true labels, for evaluation only. ``labeled_idx``
    indexes the labeled rows of ``X_train``; ``train_idx`` and ``test_idx`` index the rows
    of the original X.
    """

    X_train: Any  # float64 array; a DataFrame for a mixed table
    y_train_weak: np.ndarray
    y_train: np.ndarray
    X_test: Any
    y_test: np.ndarray
    labeled_idx: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    known_normal: np.ndarray | None = None  # training rows marked as known normal

    @property
    def n_noisy(self) -> int:
        """How many labeled rows are in truth normal (non-zero only with label noise)."""
        return int(np.sum(self.y_train[self.labeled_idx] == 0))


#: The split's arguments, checked by the same rules as every setting (`wvad.checks`).
RATIO = Real(0.0, 1.0, open_low=True)
SHARE = Real(0.0, 1.0)
TEST_SIZE = Real(0.0, 1.0, open_low=True, open_high=True)
COUNT = Int(1)
SEED = Int(0, 2**32 - 1)
NOISE_COLUMNS = Real(0.0, 10.0)
MISSING_SHARE = Real(0.0, 1.0, open_high=True)


def weak_split(
    X: Any,
    y: Any,
    *,
    labeled_ratio: float | None = None,
    seed: int,
    n_labeled: int | None = None,
    test_size: float = 0.3,
    label_noise: float = 0.0,
    known_normal_share: float = 0.0,
    duplicate_anomalies: int = 1,
    noise_features: float = 0.0,
    missing_cells: float = 0.0,
    missing_largest: float = 0.0,
) -> WeakSplit:
    """Split (X, y) as ADBench does for weakly-supervised detection.

    1. ``train_test_split(test_size=test_size, stratify=y, shuffle=True, random_state=seed)``.
    2. A MinMaxScaler fitted on the training rows scales both parts. A mixed table (a
       DataFrame with text columns or missing values, `is_mixed_table`) is kept as two
       DataFrames instead: each model reads it its own way (`wvad.bench.tables`).
    3. ``int(labeled_ratio * n_train_anomalies)`` training anomalies (or, given
       ``n_labeled`` instead, that many, capped by how many there are), drawn without
       replacement by ``numpy.random.default_rng(seed)``, get weak label 1; all other
       training rows get 0.
    4. With ``label_noise > 0``, ``int(label_noise * n_labeled)`` of those labeled anomalies,
       drawn at random, are swapped for as many randomly drawn *normal* training rows that
       are labeled 1 instead. The number of labels stays the same; a fraction
       ``label_noise`` of them is wrong. The clean labeled set is drawn first, so for a given
       seed the noisy labels replace part of the noise-free ones.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), 1 for anomalies and 0 for normal rows.
    labeled_ratio : float in (0, 1], the fraction of training anomalies that are labeled.
    seed : int, drives the split and the label draws.
    n_labeled : int >= 1, the number of labeled anomalies instead of a fraction (a user has
        "a handful", not a percentage); exactly one of the two is given.
    test_size : float in (0, 1), the fraction of rows held out for testing.
    label_noise : float in [0, 1], the fraction of weak labels that mark normal rows.
    known_normal_share : float in [0, 1], the fraction of the normal training rows marked
        known normal (`WeakSplit.known_normal`), drawn from a generator of their own so
        that the split and the anomaly labels are those of the same seed without them.
    duplicate_anomalies : int >= 1, how many times each training anomaly appears in the
        training part (ADBench's "duplicated anomalies"; its copies share its weak label).
    noise_features : float >= 0, irrelevant columns of uniform noise in [0, 1] added to
        both parts, as a share of the table's columns (ADBench's "irrelevant features").
    missing_cells : float in [0, 1), the share of cells of both parts removed (NaN)
        completely at random.
    missing_largest : float in [0, 1), per column, the cells above its training part's
        1 - missing_largest quantile removed in both parts: missing not at random, as a
        sensor that reads nothing beyond its range.
    The corruptions draw from generators of their own, so the split and labels stay those
    of the same seed without them.
    """
    mixed = is_mixed_table(X)
    if mixed:
        X = X.reset_index(drop=True)
        read_table(X)  # refuses what no model could read, before any split
    else:
        X, _ = check_X(X)
    y = check_target(y, X.shape[0])
    labeled_ratio, n_labeled = _check_label_amount(labeled_ratio, n_labeled)
    label_noise = SHARE.check("label_noise", label_noise)
    known_normal_share = SHARE.check("known_normal_share", known_normal_share)
    test_size = TEST_SIZE.check("test_size", test_size)
    seed = SEED.check("seed", seed)
    split = _table_split(X, y, test_size, seed) if mixed else _scaled_split(X, y, test_size, seed)
    if mixed and (duplicate_anomalies != 1 or noise_features != 0):
        raise ValueError("duplicated anomalies and noise columns are for numeric tables")
    labeled_idx = _labeled_rows(split.y_train, labeled_ratio, n_labeled, label_noise, seed)
    split = _with_labels(split, labeled_idx, known_normal_share, seed)
    _check_corruptions(duplicate_anomalies, noise_features)
    split = _with_noise_columns(split, noise_features, seed)
    split = _with_missing_cells(split, missing_cells, missing_largest, seed, mixed)
    return _with_duplicates(split, duplicate_anomalies)


def _check_label_amount(
    labeled_ratio: float | None, n_labeled: int | None
) -> tuple[float | None, int | None]:
    """(labeled_ratio, n_labeled) checked, exactly one of them given."""
    if (labeled_ratio is None) == (n_labeled is None):
        raise ValueError("give exactly one of labeled_ratio and n_labeled")
    if labeled_ratio is not None:
        return RATIO.check("labeled_ratio", labeled_ratio), n_labeled
    return labeled_ratio, COUNT.check("n_labeled", n_labeled)


def is_mixed_table(X: Any) -> bool:
    """A DataFrame with a column that is not numbers, or a missing value: a table each
    model reads its own way (`wvad.bench.tables`), not one min-max scaled matrix."""
    if not (hasattr(X, "columns") and hasattr(X, "dtypes")):
        return False
    numeric = all(getattr(dt, "kind", "O") in "biuf" for dt in X.dtypes)
    return not numeric or bool(X.isna().to_numpy().any())


def _table_split(X: Any, y: np.ndarray, test_size: float, seed: int) -> WeakSplit:
    """`_scaled_split` for a mixed table: the same rows, the parts kept as DataFrames and
    left unscaled (each model scales and encodes its training part itself)."""
    train_idx, test_idx = _split_rows(y, test_size, seed)
    return WeakSplit(
        X_train=X.iloc[train_idx].reset_index(drop=True),
        y_train_weak=np.zeros_like(y[train_idx]),
        y_train=y[train_idx],
        X_test=X.iloc[test_idx].reset_index(drop=True),
        y_test=y[test_idx],
        labeled_idx=np.empty(0, dtype=np.int64),
        train_idx=train_idx.astype(np.int64),
        test_idx=test_idx.astype(np.int64),
    )


def _scaled_split(X: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> WeakSplit:
    """Steps 1 and 2 of `weak_split`: the stratified split, both parts scaled by a
    MinMaxScaler fitted on the training rows, with no row labeled yet."""
    train_idx, test_idx = _split_rows(y, test_size, seed)
    y_train = y[train_idx]
    scaler = MinMaxScaler().fit(X[train_idx])
    return WeakSplit(
        X_train=scaler.transform(X[train_idx]),
        y_train_weak=np.zeros_like(y_train),
        y_train=y_train,
        X_test=scaler.transform(X[test_idx]),
        y_test=y[test_idx],
        labeled_idx=np.empty(0, dtype=np.int64),
        train_idx=train_idx.astype(np.int64),
        test_idx=test_idx.astype(np.int64),
    )


def _split_rows(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 of `weak_split`: the training and test rows, stratified by y."""
    n_anomalies = int(y.sum())
    n_normal = y.size - n_anomalies
    if n_anomalies < 2 or n_normal < 2:
        raise ValueError(
            f"y needs at least 2 anomalies and 2 normal rows for a stratified split; "
            f"it has {n_anomalies} anomalies and {n_normal} normal rows"
        )
    try:
        train_idx, test_idx = train_test_split(
            np.arange(y.size), test_size=test_size, stratify=y, random_state=seed, shuffle=True
        )
    except ValueError as exc:
        raise ValueError(
            f"cannot split {y.size} rows with test_size={test_size:g} and both classes on "
            f"each side: {exc}"
        ) from None
    return train_idx, test_idx


def _labeled_rows(
    y_train: np.ndarray,
    labeled_ratio: float | None,
    n_labeled: int | None,
    label_noise: float,
    seed: int,
) -> np.ndarray:
    """Steps 3 and 4 of `weak_split`: the sorted training rows that get weak label 1, all
    drawn by ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    train_anomalies = np.flatnonzero(y_train == 1)
    if labeled_ratio is None:
        n_labeled = min(int(n_labeled), train_anomalies.size)
    else:
        n_labeled = int(labeled_ratio * train_anomalies.size)
    if n_labeled == 0:
        raise ValueError(
            f"labeled_ratio={labeled_ratio:g} of {train_anomalies.size} training anomalies "
            "gives no labeled anomaly; raise labeled_ratio"
        )
    labeled = rng.choice(train_anomalies, size=n_labeled, replace=False)
    labeled = _with_wrong_labels(labeled, y_train, label_noise, rng)
    return np.sort(labeled).astype(np.int64)


def _with_wrong_labels(
    labeled: np.ndarray, y_train: np.ndarray, label_noise: float, rng: np.random.Generator
) -> np.ndarray:
    """`labeled` with int(label_noise * its size) of its rows swapped for as many random
    normal training rows (the clean set is drawn first, so noise replaces part of it)."""
    n_labeled = labeled.size
    n_wrong = int(label_noise * n_labeled)
    if label_noise > 0 and n_wrong == 0:
        warnings.warn(
            f"label_noise={label_noise:g} of {n_labeled} labels rounds down to no wrong label",
            UserWarning,
            stacklevel=4,  # weak_split's caller
        )
    if not n_wrong:
        return labeled
    train_normals = np.flatnonzero(y_train == 0)
    if n_wrong > train_normals.size:
        raise ValueError(
            f"label_noise needs {n_wrong} normal training rows; there are {train_normals.size}"
        )
    kept = rng.choice(labeled, size=n_labeled - n_wrong, replace=False)
    wrong = rng.choice(train_normals, size=n_wrong, replace=False)
    return np.concatenate([kept, wrong])


def _with_labels(
    split: WeakSplit, labeled_idx: np.ndarray, known_normal_share: float, seed: int
) -> WeakSplit:
    """`split` with weak label 1 on `labeled_idx` and `known_normal_share` of its normal
    training rows marked known normal, drawn by a generator of their own ([seed, 1])."""
    y_train = split.y_train
    y_train_weak = np.zeros_like(y_train)
    y_train_weak[labeled_idx] = 1
    known_normal = np.zeros(len(y_train), dtype=bool)
    candidates = np.flatnonzero((y_train == 0) & (y_train_weak == 0))
    n_known = int(known_normal_share * np.sum(y_train == 0))
    if n_known:
        known_normal[
            np.random.default_rng([seed, 1]).choice(candidates, n_known, replace=False)
        ] = True
    return replace(
        split, y_train_weak=y_train_weak, labeled_idx=labeled_idx, known_normal=known_normal
    )


def _check_corruptions(duplicate_anomalies: Any, noise_features: Any) -> None:
    """Check the corruption arguments (after the labels, so label errors come first)."""
    COUNT.check("duplicate_anomalies", duplicate_anomalies)
    NOISE_COLUMNS.check("noise_features", noise_features)


def _with_noise_columns(split: WeakSplit, share: float, seed: int) -> WeakSplit:
    """`split` with int(share * columns) (at least one for share > 0) uniform [0, 1)
    noise columns appended to both parts (already on the min-max scale of the others)."""
    if share == 0:
        return split
    X_train, X_test = split.X_train, split.X_test
    n = max(1, int(share * X_train.shape[1]))
    rng = np.random.default_rng([seed, 2])
    noise = rng.random((len(X_train) + len(X_test), n))
    return replace(
        split,
        X_train=np.hstack([X_train, noise[: len(X_train)]]),
        X_test=np.hstack([X_test, noise[len(X_train) :]]),
    )


def _with_missing_cells(
    split: WeakSplit, at_random: float, largest: float, seed: int, mixed: bool
) -> WeakSplit:
    """`split` with cells removed (NaN): `at_random` of them drawn by a generator of their
    own ([seed, 3]), and per column those above its training part's 1 - `largest`
    quantile."""
    at_random = MISSING_SHARE.check("missing_cells", at_random)
    largest = MISSING_SHARE.check("missing_largest", largest)
    if at_random == 0 and largest == 0:
        return split
    if mixed:
        raise ValueError("missing cells are injected into numeric tables only")
    X_train, X_test = split.X_train.copy(), split.X_test.copy()
    if largest > 0:
        ceiling = np.quantile(X_train, 1.0 - largest, axis=0)
        X_train[X_train > ceiling] = np.nan
        X_test[X_test > ceiling] = np.nan
    if at_random > 0:
        rng = np.random.default_rng([seed, 3])
        X_train[rng.random(X_train.shape) < at_random] = np.nan
        X_test[rng.random(X_test.shape) < at_random] = np.nan
    return replace(split, X_train=X_train, X_test=X_test)


def _with_duplicates(split: WeakSplit, duplicate_anomalies: int) -> WeakSplit:
    """`split` with each training anomaly appearing `duplicate_anomalies` times."""
    if duplicate_anomalies <= 1:
        return split
    # the copies go after the rows; their weak labels follow
    y_train, y_train_weak = split.y_train, split.y_train_weak
    copies = np.repeat(np.flatnonzero(y_train == 1), duplicate_anomalies - 1)
    n_train = len(y_train)
    y_train_weak = np.r_[y_train_weak, y_train_weak[copies]]
    labeled_copies = n_train + np.flatnonzero(y_train_weak[n_train:] == 1)
    return replace(
        split,
        X_train=np.vstack([split.X_train, split.X_train[copies]]),
        y_train=np.r_[y_train, y_train[copies]],
        y_train_weak=y_train_weak,
        known_normal=np.r_[split.known_normal, np.zeros(len(copies), dtype=bool)],
        train_idx=np.r_[split.train_idx, split.train_idx[copies]],
        labeled_idx=np.r_[split.labeled_idx, labeled_copies],
    )

"""ADBench's weak-supervision protocol: a stratified split with a few labeled anomalies.

The split is a pure function of (X, y, parameters, seed), so every detector in a benchmark
sees the same rows, the same scaling and the same known anomalies for a given seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from wvad.checks import Int, Real
from wvad.validation import check_target, check_X

__all__ = ["WeakSplit", "weak_split"]


@dataclass(frozen=True, eq=False)
class WeakSplit:
    """One weakly-supervised train/test split.

    ``y_train_weak`` is what a detector may see (1 for the labeled rows, 0 for the rest);
    ``y_train`` and ``y_test`` are the true labels, for evaluation only. ``labeled_idx``
    indexes the labeled rows of ``X_train``; ``train_idx`` and ``test_idx`` index the rows
    of the original X.
    """

    X_train: np.ndarray
    y_train_weak: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
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
) -> WeakSplit:
    """Split (X, y) as ADBench does for weakly-supervised detection.

    1. ``train_test_split(test_size=test_size, stratify=y, shuffle=True, random_state=seed)``.
    2. A MinMaxScaler fitted on the training rows scales both parts.
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
    The corruptions draw from generators of their own, so the split and labels stay those
    of the same seed without them.
    """
    X, _ = check_X(X)
    y = check_target(y, X.shape[0])
    if (labeled_ratio is None) == (n_labeled is None):
        raise ValueError("give exactly one of labeled_ratio and n_labeled")
    if labeled_ratio is not None:
        labeled_ratio = RATIO.check("labeled_ratio", labeled_ratio)
    else:
        n_labeled = COUNT.check("n_labeled", n_labeled)
    label_noise = SHARE.check("label_noise", label_noise)
    known_normal_share = SHARE.check("known_normal_share", known_normal_share)
    test_size = TEST_SIZE.check("test_size", test_size)
    seed = SEED.check("seed", seed)

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
    y_train, y_test = y[train_idx], y[test_idx]

    scaler = MinMaxScaler().fit(X[train_idx])
    X_train = scaler.transform(X[train_idx])
    X_test = scaler.transform(X[test_idx])

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

    n_wrong = int(label_noise * n_labeled)
    if label_noise > 0 and n_wrong == 0:
        warnings.warn(
            f"label_noise={label_noise:g} of {n_labeled} labels rounds down to no wrong label",
            UserWarning,
            stacklevel=2,
        )
    if n_wrong:
        train_normals = np.flatnonzero(y_train == 0)
        if n_wrong > train_normals.size:
            raise ValueError(
                f"label_noise needs {n_wrong} normal training rows; there are {train_normals.size}"
            )
        kept = rng.choice(labeled, size=n_labeled - n_wrong, replace=False)
        wrong = rng.choice(train_normals, size=n_wrong, replace=False)
        labeled = np.concatenate([kept, wrong])

    labeled_idx = np.sort(labeled).astype(np.int64)
    y_train_weak = np.zeros_like(y_train)
    y_train_weak[labeled_idx] = 1
    known_normal = np.zeros(len(y_train), dtype=bool)
    candidates = np.flatnonzero((y_train == 0) & (y_train_weak == 0))
    n_known = int(known_normal_share * np.sum(y_train == 0))
    if n_known:
        known_normal[
            np.random.default_rng([seed, 1]).choice(candidates, n_known, replace=False)
        ] = True
    _check_corruptions(duplicate_anomalies, noise_features)
    X_train, X_test = _with_noise_columns(X_train, X_test, noise_features, seed)
    if duplicate_anomalies > 1:  # the copies go after the rows; their weak labels follow
        copies = np.repeat(np.flatnonzero(y_train == 1), duplicate_anomalies - 1)
        n_train = len(y_train)
        X_train, y_train = np.vstack([X_train, X_train[copies]]), np.r_[y_train, y_train[copies]]
        y_train_weak = np.r_[y_train_weak, y_train_weak[copies]]
        known_normal = np.r_[known_normal, np.zeros(len(copies), dtype=bool)]
        train_idx = np.r_[train_idx, train_idx[copies]]
        labeled_idx = np.r_[labeled_idx, n_train + np.flatnonzero(y_train_weak[n_train:] == 1)]
    return WeakSplit(
        X_train=X_train,
        y_train_weak=y_train_weak,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        labeled_idx=labeled_idx,
        train_idx=train_idx.astype(np.int64),
        test_idx=test_idx.astype(np.int64),
        known_normal=known_normal,
    )


def _check_corruptions(duplicate_anomalies: Any, noise_features: Any) -> None:
    COUNT.check("duplicate_anomalies", duplicate_anomalies)
    NOISE_COLUMNS.check("noise_features", noise_features)


def _with_noise_columns(
    X_train: np.ndarray, X_test: np.ndarray, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Both parts with int(share * columns) (at least one for share > 0) uniform [0, 1)
    noise columns appended (already on the min-max scale of the others)."""
    if share == 0:
        return X_train, X_test
    n = max(1, int(share * X_train.shape[1]))
    rng = np.random.default_rng([seed, 2])
    noise = rng.random((len(X_train) + len(X_test), n))
    return np.hstack([X_train, noise[: len(X_train)]]), np.hstack([X_test, noise[len(X_train) :]])

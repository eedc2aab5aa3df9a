"""A small weak-supervision problem shared by the peer tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.preprocessing import MinMaxScaler

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def weak_data() -> dict[str, np.ndarray]:
    """~600 rows x 6 features: 3 normal clusters, scattered anomalies, 10 of them labeled.

    Returns X_train, y_weak (1 = labeled anomaly, 0 = unlabeled, contaminated), and a
    held-out X_test / y_test with true labels. Scaled to [0, 1] on the training part.
    """
    rng = np.random.default_rng(0)
    normal, _ = make_blobs(
        n_samples=560,
        n_features=6,
        centers=3,
        cluster_std=1.0,
        center_box=(-6.0, 6.0),
        random_state=0,
    )
    # anomalies: two small clusters off the normal data plus a few scattered points, so
    # that a handful of labeled anomalies says something about the unlabeled ones
    centers = rng.uniform(-6.0, 6.0, size=(2, 6)) + np.array([[9.0] * 6, [-9.0] * 6]) * 0.6
    clustered = np.vstack([c + rng.normal(0.0, 0.8, size=(25, 6)) for c in centers])
    lo, hi = normal.min(axis=0), normal.max(axis=0)
    cand = rng.uniform(lo - 1.0, hi + 1.0, size=(4000, 6))
    dist = np.sqrt(((cand[:, None, :] - normal[None, :, :]) ** 2).sum(-1)).min(axis=1)
    anomalies = np.vstack([clustered, cand[dist > 2.5][:10]])
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(len(normal)), np.ones(len(anomalies))].astype(int)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    n_train = 420
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    y_weak = np.zeros(n_train, dtype=int)
    y_weak[rng.choice(np.flatnonzero(y_train == 1), 10, replace=False)] = 1
    return {
        "X_train": X_train,
        "y_weak": y_weak,
        "X_test": X_test,
        "y_test": y_test,
        "y_train": y_train,
    }

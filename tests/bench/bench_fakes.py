"""Tiny stand-ins for the dataset loader, the weak split and the detectors.

Kept in an importable module (not in the test files) so joblib's worker processes can
unpickle them by reference.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np


def load_tiny(name: str):
    """Two small tables with 10% shifted anomalies; any other name is unknown."""
    seeds = {"blobs": 0, "rings": 1}
    if name not in seeds:
        raise ValueError(f"unknown dataset {name!r}")
    rng = np.random.default_rng(seeds[name])
    normal = rng.normal(size=(90, 3))
    anomalies = rng.normal(loc=3.0, size=(10, 3))
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(90, dtype=int), np.ones(10, dtype=int)]
    return X, y


def split_tiny(X, y, *, seed: int, labeled_ratio: float | None = None, n_labeled=None):
    """Stratified 70/30 split; int(ratio * train anomalies) of them labeled (at least 1),
    or `n_labeled` of them (capped)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        cut = round(0.7 * idx.size)
        train.append(idx[:cut])
        test.append(idx[cut:])
    train, test = np.concatenate(train), np.concatenate(test)
    y_weak = np.zeros(train.size, dtype=int)
    anomalies = np.flatnonzero(y[train] == 1)
    if n_labeled is None:
        n_labeled = max(1, int(labeled_ratio * anomalies.size))
    n_labeled = min(n_labeled, anomalies.size)
    y_weak[rng.choice(anomalies, n_labeled, replace=False)] = 1
    return SimpleNamespace(X_train=X[train], y_train_weak=y_weak, X_test=X[test], y_test=y[test])


class MeanDistance:
    """Scores by distance to the training mean."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        return self

    def decision_function(self, X):
        return np.linalg.norm(X - self.mean_, axis=1)


class NoisyMean(MeanDistance):
    """Distance to the mean plus seeded noise, so the seed changes the result."""

    def decision_function(self, X):
        noise = np.random.default_rng(self.random_state).normal(scale=1.0, size=len(X))
        return super().decision_function(X) + noise


class Broken(MeanDistance):
    def fit(self, X, y):
        raise RuntimeError("this model always fails")


class Sleepy(MeanDistance):
    def fit(self, X, y):
        time.sleep(0.05)
        return super().fit(X, y)


FAKES = {"mean": MeanDistance, "noisy": NoisyMean, "broken": Broken, "sleepy": Sleepy}


def fake_factory(name: str, random_state: int):
    return FAKES[name](random_state=random_state)


class CountingFactory:
    """Builds fakes and counts calls; raises KeyboardInterrupt on call number `interrupt_at`."""

    def __init__(self, interrupt_at: int | None = None):
        self.calls: list[tuple[str, int]] = []
        self.interrupt_at = interrupt_at

    def __call__(self, name: str, random_state: int):
        if self.interrupt_at is not None and len(self.calls) + 1 >= self.interrupt_at:
            raise KeyboardInterrupt
        self.calls.append((name, random_state))
        return fake_factory(name, random_state)

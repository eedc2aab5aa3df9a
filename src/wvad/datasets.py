"""Synthetic tables with known anomalies, for demos, tests and quick experiments."""

from __future__ import annotations

import numpy as np

__all__ = ["make_multimodal"]


def make_multimodal(
    n_samples: int = 3000,
    n_features: int = 8,
    n_clusters: int = 4,
    contamination: float = 0.05,
    labeled_ratio: float = 0.1,
    random_state: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several Gaussian clusters of different shapes and sizes, plus two kinds of anomaly.

    Half the anomalies are scattered uniformly over the data's bounding box (widened by 10%);
    the other half lie between pairs of clusters, where no cluster has mass: the case a
    single-mode density model misses and a mixture should catch.

    Returns X (n_samples x n_features), y (1 = anomaly) and weak labels y_weak, in which
    `int(labeled_ratio * n_anomalies)` (at least one when labeled_ratio > 0) randomly chosen
    anomalies are 1 and every other row is 0.
    """
    if n_samples < 20 or n_features < 2 or n_clusters < 1:
        raise ValueError("make_multimodal needs n_samples >= 20, n_features >= 2, n_clusters >= 1")
    if not 0.0 < contamination < 0.5:
        raise ValueError(f"contamination must be in (0, 0.5); got {contamination!r}")
    if not 0.0 <= labeled_ratio <= 1.0:
        raise ValueError(f"labeled_ratio must be in [0, 1]; got {labeled_ratio!r}")
    rng = np.random.default_rng(random_state)
    n_anomalies = max(2, round(contamination * n_samples))
    n_normal = n_samples - n_anomalies

    centers = _spread_centers(rng, n_clusters, n_features, min_distance=8.0)
    shares = rng.dirichlet(np.full(n_clusters, 2.0)) * 0.7 + 0.3 / n_clusters
    sizes = np.floor(shares * n_normal).astype(int)
    sizes[: n_normal - sizes.sum()] += 1
    normal = []
    for center, size in zip(centers, sizes, strict=True):
        basis = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
        spread = rng.uniform(0.4, 1.2, size=n_features)
        normal.append(center + (rng.normal(size=(size, n_features)) * spread) @ basis)
    normal = np.vstack(normal)

    n_scattered = n_anomalies // 2
    lo, hi = normal.min(axis=0), normal.max(axis=0)
    pad = 0.1 * (hi - lo)
    scattered = rng.uniform(lo - pad, hi + pad, size=(n_scattered, n_features))
    n_between = n_anomalies - n_scattered
    if n_clusters > 1:
        pairs = np.array([rng.choice(n_clusters, size=2, replace=False) for _ in range(n_between)])
        t = rng.uniform(0.35, 0.65, size=(n_between, 1))
        between = centers[pairs[:, 0]] + t * (centers[pairs[:, 1]] - centers[pairs[:, 0]])
        between += rng.normal(scale=0.3, size=between.shape)
    else:
        direction = rng.normal(size=(n_between, n_features))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        between = centers[0] + direction * rng.uniform(5.0, 7.0, size=(n_between, 1))

    X = np.vstack([normal, scattered, between])
    y = np.r_[np.zeros(n_normal, dtype=np.int64), np.ones(n_anomalies, dtype=np.int64)]
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]

    y_weak = np.zeros(n_samples, dtype=np.int64)
    n_labeled = int(labeled_ratio * n_anomalies)
    if labeled_ratio > 0:
        n_labeled = max(1, n_labeled)
    y_weak[rng.choice(np.flatnonzero(y == 1), size=n_labeled, replace=False)] = 1
    return X, y, y_weak


def _spread_centers(rng: np.random.Generator, k: int, d: int, *, min_distance: float) -> np.ndarray:
    """k cluster centres at least `min_distance` apart (rejection sampling in a growing box)."""
    centers: list[np.ndarray] = []
    box = 10.0
    while len(centers) < k:
        candidate = rng.uniform(-box, box, size=d)
        if all(np.linalg.norm(candidate - c) >= min_distance for c in centers):
            centers.append(candidate)
        else:
            box *= 1.01
    return np.asarray(centers)

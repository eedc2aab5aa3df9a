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
    """The scenario WVAD is built for: a many-modal normal class and two kinds of anomaly
    that a global detector misses.

    Normal rows come from `n_clusters` well separated clusters of different sizes. Each is
    thin: its rows spread widely along a few random directions (about a third of the
    features) and barely at all along the others, as measurements bound by a relation do.
    The anomalies, half of each kind:

    - *between clusters*: near the segment joining two cluster centres, where no cluster
      has mass but every column's value is ordinary;
    - *off a cluster's local structure*: inside a dense cluster's region (its centre plus
      an ordinary spread along its wide directions) but displaced along its thin
      directions, by far more than its rows ever are. Each column alone still looks
      normal, so a detector that isolates rows column by column (IsolationForest) ranks
      them with the normal rows.

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
    sizes = _cluster_sizes(rng, n_clusters, n_normal)
    clusters = [_ThinCluster.draw(rng, center, n_features) for center in centers]
    normal = np.vstack([c.sample(rng, size) for c, size in zip(clusters, sizes, strict=True)])
    anomalies = _anomalies(rng, clusters, sizes, centers, n_anomalies)

    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(n_normal, dtype=np.int64), np.ones(n_anomalies, dtype=np.int64)]
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    return X, y, _weak_labels(rng, y, labeled_ratio, n_anomalies)


def _cluster_sizes(rng: np.random.Generator, n_clusters: int, n_normal: int) -> np.ndarray:
    """Rows per cluster, summing to `n_normal`: Dirichlet shares, each at least 0.3 / k."""
    shares = rng.dirichlet(np.full(n_clusters, 2.0)) * 0.7 + 0.3 / n_clusters
    sizes = np.floor(shares * n_normal).astype(int)
    sizes[: n_normal - sizes.sum()] += 1
    return sizes


def _anomalies(
    rng: np.random.Generator,
    clusters: list[_ThinCluster],
    sizes: np.ndarray,
    centers: np.ndarray,
    n_anomalies: int,
) -> np.ndarray:
    """`n_anomalies` rows: half off a cluster's local structure (hosts drawn in proportion
    to the cluster sizes), then the rest between clusters."""
    n_features = centers.shape[1]
    n_off = n_anomalies // 2
    n_between = n_anomalies - n_off
    hosts = rng.choice(len(clusters), size=n_off, p=sizes / sizes.sum())
    off = np.vstack([clusters[k].off_structure(rng) for k in hosts]).reshape(-1, n_features)
    between = _between(rng, centers, n_between)
    return np.vstack([off, between])


def _weak_labels(
    rng: np.random.Generator, y: np.ndarray, labeled_ratio: float, n_anomalies: int
) -> np.ndarray:
    """1 on int(labeled_ratio * n_anomalies) random anomalies (at least one for a ratio
    above 0), 0 on every other row."""
    y_weak = np.zeros(len(y), dtype=np.int64)
    n_labeled = int(labeled_ratio * n_anomalies)
    if labeled_ratio > 0:
        n_labeled = max(1, n_labeled)
    y_weak[rng.choice(np.flatnonzero(y == 1), size=n_labeled, replace=False)] = 1
    return y_weak


#: Spread of a cluster's rows along its thin directions, and how far off-structure
#: anomalies lie along them (about 7 to 12 of those spreads).
THIN_SPREAD = 0.12
OFF_DISTANCE = (0.8, 1.4)


class _ThinCluster:
    """A cluster spread along `wide` directions (scales `spread`) and thin along the rest."""

    def __init__(self, center: np.ndarray, wide: np.ndarray, thin: np.ndarray, spread):
        self.center, self.wide, self.thin, self.spread = center, wide, thin, spread

    @classmethod
    def draw(cls, rng: np.random.Generator, center: np.ndarray, d: int) -> _ThinCluster:
        rank = max(1, d // 3)
        basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
        return cls(center, basis[:, :rank], basis[:, rank:], rng.uniform(1.0, 2.0, size=rank))

    def _on_structure(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.center + (rng.normal(size=(n, len(self.spread))) * self.spread) @ self.wide.T

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        noise = rng.normal(scale=THIN_SPREAD, size=(n, self.thin.shape[1]))
        return self._on_structure(rng, n) + noise @ self.thin.T

    def off_structure(self, rng: np.random.Generator) -> np.ndarray:
        if self.thin.shape[1] == 0:  # no thin direction: step out along the widest one
            return self._on_structure(rng, 1) + 4.0 * self.spread.max() * self.wide[:, 0]
        direction = rng.normal(size=self.thin.shape[1])
        direction /= np.linalg.norm(direction)
        offset = rng.uniform(*OFF_DISTANCE) * direction @ self.thin.T
        return self._on_structure(rng, 1) + offset


def _between(rng: np.random.Generator, centers: np.ndarray, n: int) -> np.ndarray:
    """Rows near the middle of the segments joining two cluster centres (or, with one
    cluster, in a shell around it)."""
    k, d = centers.shape
    if k > 1:
        pairs = np.array([rng.choice(k, size=2, replace=False) for _ in range(n)]).reshape(-1, 2)
        t = rng.uniform(0.35, 0.65, size=(n, 1))
        rows = centers[pairs[:, 0]] + t * (centers[pairs[:, 1]] - centers[pairs[:, 0]])
        return rows + rng.normal(scale=0.3, size=rows.shape)
    direction = rng.normal(size=(n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return centers[0] + direction * rng.uniform(5.0, 7.0, size=(n, 1))


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

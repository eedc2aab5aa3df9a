"""The proximity piece: how close a row lies to the labeled anomalies.

A labeled anomaly says where anomalies are even when it cannot be held out: with one label
nothing can be cross-fitted, so the supervised pieces earn no weight, yet an anomaly class
that forms a tight group is found by distance to the one member the user named. The
evidence is minus the log of the mean Euclidean distance (scaled rows) to the m nearest
labeled anomalies, m = min(3, n - 1) and at least 1. Copies of one labeled anomaly count
once (as in cross-fitting, `wvad.evidence.base.twin_groups`): n counts distinct labeled rows,
and a labeled row is measured against the others, not itself or a copy of itself (a copy
would put it at distance 0 and make its own label look like evidence); with one distinct
label it is measured against itself, the closest a row can be. Above
`fusion.max_reference` distinct labeled anomalies it keeps a seeded sample of that many (as
the neighbour distance does with its reference rows), so scoring costs at most that many
distances a row however many labels there are. It is weighed by a prior from its settings
(`FusionSettings.proximity_weight`, 0.5 by default: chosen on the tuning tables,
docs/method.md; 0 leaves it out).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wvad.config import Config
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust, twin_groups
from wvad.training import TrainedMixture

__all__ = ["KnownAnomalyProximity"]

#: Labeled anomalies a row's distance is averaged over (fewer when there are fewer).
NEAREST = 3
#: A distance below this counts as this: a row on a labeled anomaly stays finite.
MIN_DISTANCE = 1e-6


class KnownAnomalyProximity(Evidence):
    """-log mean distance from a row to its nearest labeled anomalies (scaled rows)."""

    name = "proximity"
    trust = Trust.PRIOR

    def __init__(self, anomalies: Tensor, own_anomaly: np.ndarray | None = None) -> None:
        self.anomalies = anomalies
        # per training row, the index in `anomalies` of the labeled row it is or copies
        # (-1: none); known right after fit
        self._own_anomaly = own_anomaly

    @classmethod
    def applies(cls, config: Config, data: TrainingData) -> bool:
        return config.fusion.proximity_weight > 0 and data.n_labeled > 0

    @classmethod
    def prior_weight(cls, config: Config, n_labeled: int) -> float:
        return config.fusion.proximity_weight

    @classmethod
    def max_weight(cls, config: Config) -> float | None:
        fusion = config.fusion
        return None if fusion.proximity_grows else fusion.proximity_weight

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> KnownAnomalyProximity:
        groups = twin_groups(data.X, np.flatnonzero(data.y == 1))
        kept = np.arange(len(groups))
        limit = config.fusion.max_reference
        if len(groups) > limit:
            kept = np.sort(
                np.random.default_rng(data.seed).choice(len(groups), limit, replace=False)
            )
        own = np.full(len(data.y), -1, dtype=np.int64)
        for index, group in enumerate(kept):
            own[groups[group]] = index
        rows = np.array([groups[g][0] for g in kept], dtype=np.int64)
        anomalies = torch.as_tensor(data.X[rows], dtype=torch.float32, device=data.device)
        return cls(anomalies, own)

    def score(self, rows: Rows) -> Tensor:
        return self._closeness(rows.x, _distances(rows.x, self.anomalies))

    def score_training(self, rows: Rows) -> Tensor:
        if self._own_anomaly is None:
            raise RuntimeError("training rows are scored right after fit only")
        distance = _distances(rows.x, self.anomalies)
        which = self._own_anomaly[rows.start : rows.start + len(rows)]
        own = np.flatnonzero(which >= 0)
        if len(own) and len(self.anomalies) > 1:  # a labeled row is not its own neighbour
            distance[own, which[own]] = float("inf")
        return self._closeness(rows.x, distance)

    def _closeness(self, x: Tensor, distance: Tensor) -> Tensor:
        """From each row's distances to the labeled anomalies: m = min(NEAREST, n - 1) of
        them, at least 1, for every row alike (a labeled row has n - 1 others)."""
        nearest = max(1, min(NEAREST, len(self.anomalies) - 1))
        kept = distance.topk(nearest, dim=1, largest=False).values
        return -kept.mean(dim=1).clamp_min(MIN_DISTANCE).log()

    def state(self) -> dict[str, Tensor]:
        return {"anomalies": self.anomalies.detach().cpu()}

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> KnownAnomalyProximity:
        return cls(state["anomalies"].to(device))


def _distances(rows: Tensor, anomalies: Tensor) -> Tensor:
    """Euclidean distances, each pair computed alone (not through a matrix product, whose
    rounding would depend on the rows scored alongside)."""
    return torch.cdist(rows, anomalies, compute_mode="donot_use_mm_for_euclid_dist")

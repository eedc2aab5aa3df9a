"""A cross-fitted piece scored by its fold models instead of one more fit.

Cross-fitting already fits a piece once per fold, each time without that fold; the mean of
those fold models scores a new row as well as a refit on all rows would, varies less from
one label draw to the next, and costs no further fit (`FusionSettings.bagged`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wvad.config import Config
from wvad.evidence.base import Evidence, Rows, TrainingData
from wvad.persistence import prefixed
from wvad.training import TrainedMixture

__all__ = ["Bag"]


class Bag(Evidence):
    """The mean score of `members`, fold models of one piece; it keeps their name."""

    def __init__(self, members: list[Evidence]) -> None:
        if not members:
            raise ValueError("a bag needs at least one fitted member")
        self.members = members
        first = type(members[0])
        self.name, self.trust, self.cleans = first.name, first.trust, first.cleans

    @classmethod
    def fit(cls, data: TrainingData, config: Config, mixture: TrainedMixture | None) -> Bag:
        raise TypeError("a bag is made of cross-fitted fold models, not fitted itself")

    def score(self, rows: Rows) -> Tensor:
        return torch.stack([m.score(rows) for m in self.members]).mean(dim=0)

    def exact_shares(self, X: np.ndarray) -> tuple[np.ndarray, str] | None:
        """The members' mean exact shares, where every member has them."""
        shares = [m.exact_shares(X) for m in self.members]
        if any(s is None for s in shares):
            return None
        return np.mean([s for s, _ in shares], axis=0), shares[0][1]

    def with_missing(self, X: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
        return self.members[0].with_missing(X, missing)

    def state(self) -> dict[str, Tensor]:
        tensors = {"bag_size": torch.tensor(len(self.members))}
        for i, member in enumerate(self.members):
            tensors.update({f"{i}.{k}": v for k, v in member.state().items()})
        return tensors

    @classmethod
    def from_members_state(
        cls, piece: type[Evidence], state: dict[str, Tensor], config: Config, device
    ) -> Bag:
        """Rebuild a bag of `piece` models from `state()`'s tensors."""
        size = int(state["bag_size"])
        return cls(
            [piece.from_state(prefixed(state, f"{i}."), config, device) for i in range(size)]
        )

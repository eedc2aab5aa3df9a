"""The pieces of evidence the trained mixture gives: the score estimator's logit, the log
relative reconstruction error and the negative ELBO at the latent mean.

All three read the mixture's features of a chunk (`Rows.features`, one encoder and decoder
pass for the three). The mixture itself is the estimator's (`WVAD.mixture_`); only the
score estimator's weights belong to a piece.
"""

from __future__ import annotations

import torch
from torch import Tensor

from wvad.config import Config
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.model.score_head import ScoreHead
from wvad.training import TrainedMixture

__all__ = ["HeadLogit", "LogReconstruction", "NegativeElbo"]

#: f_r below this counts as this: log f_r stays finite for a perfectly reconstructed row.
MIN_F_R = 1e-30


class HeadLogit(Evidence):
    """The score estimator's logit: the paper's score (`score_mode="head"`)."""

    name = "head"
    trust = Trust.LABEL_COUNT
    readouts = ("stacked", "fusion", "head")

    def __init__(self, head: ScoreHead, groups: tuple[str, ...]) -> None:
        self.head = head.eval()
        self.groups = groups

    @classmethod
    def applies(cls, config: Config, data: TrainingData) -> bool:
        return data.n_labeled > 0  # no labels, no score estimator

    @classmethod
    def fit(cls, data: TrainingData, config: Config, mixture: TrainedMixture | None) -> HeadLogit:
        if mixture is None or mixture.head is None:
            raise ValueError("the score estimator is trained with the mixture, on labels")
        return cls(mixture.head, config.head_features)

    def score(self, rows: Rows) -> Tensor:
        return self.head(rows.features.stack(self.groups))

    def state(self) -> dict[str, Tensor]:
        return {k: v.detach().cpu() for k, v in self.head.state_dict().items()}

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> HeadLogit:
        head = ScoreHead(int(state["net.0.weight"].shape[1]), config.head_hidden_dims)
        head.load_state_dict(state)
        return cls(head.to(device), config.head_features)


class _MixtureReading(Evidence):
    """A piece read straight off the mixture's features: nothing of its own to fit."""

    trust = Trust.UNSUPERVISED

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None
    ) -> _MixtureReading:
        return cls()


class LogReconstruction(_MixtureReading):
    """log f_r: how badly the mixture reconstructs the row, relative to its norm."""

    name = "log_f_r"
    readouts = ("stacked", "fusion", "reconstruction")

    def score(self, rows: Rows) -> Tensor:
        return rows.features.f_r.clamp_min(MIN_F_R).log()


class NegativeElbo(_MixtureReading):
    """The negative ELBO at the latent mean: how little the mixture explains the row."""

    name = "neg_elbo"
    readouts = ("stacked", "fusion", "elbo")

    def score(self, rows: Rows) -> Tensor:
        return rows.features.f_d

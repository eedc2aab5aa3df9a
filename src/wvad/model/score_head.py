"""WVAD's anomaly score estimator: an MLP over the mixture's features, ending in a sigmoid."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from wvad.model.layers import mlp

__all__ = ["ScoreHead"]


class ScoreHead(nn.Module):
    """Maps the feature vector [y; z; f_e; f_r; f_c] to an anomaly logit.

    `forward` returns the logit (the sigmoid's input): training uses the numerically stable
    BCE-with-logits and scoring ranks by the logit, which keeps order where the sigmoid
    would saturate.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int]) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden_dims, 1)

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features).squeeze(1)

"""WVAD's anomaly score estimator: an MLP over the mixture's features, ending in a sigmoid."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wvad.model.layers import mlp

__all__ = ["ScoreHead"]


class ScoreHead(nn.Module):
    """Maps the feature vector [y; z; f_e; f_r; f_c] to an anomaly logit.

    `forward` returns the logit (the sigmoid's input): training uses the numerically stable
    BCE-with-logits and scoring ranks by the logit, which keeps order where the sigmoid
    would saturate. `probability` applies the sigmoid.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], *, normalize: bool = False) -> None:
        super().__init__()
        # Features live on unrelated scales (probabilities, latent coordinates, an ELBO);
        # batch normalisation without affine terms puts them on one before the first layer.
        self.norm = nn.BatchNorm1d(in_dim, affine=False) if normalize else nn.Identity()
        self.net = mlp(in_dim, hidden_dims, 1)

    def forward(self, features: Tensor) -> Tensor:
        return self.net(self.norm(features)).squeeze(1)

    def probability(self, features: Tensor) -> Tensor:
        return torch.sigmoid(self.forward(features))

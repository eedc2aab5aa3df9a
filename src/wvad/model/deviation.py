"""The deviation network (Pang, Shen and van den Hengel, KDD 2019): module and loss.

G. Pang, C. Shen, A. van den Hengel. "Deep Anomaly Detection with Deviation Networks".
KDD 2019. An MLP maps a row to a scalar score; the deviation loss pulls the scores of
unlabeled rows to the mean of a N(0, 1) reference and pushes labeled anomalies at least
`margin` reference standard deviations above it. The default score's deviation piece
(`wvad.evidence.deviation`) and the DevNet peer both train this module with this loss.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "DeviationNetwork",
    "StackedDeviationNetworks",
    "deviation_loss",
    "reference_moments",
]


def reference_moments(n_ref: int, rngs: list[np.random.Generator]) -> np.ndarray:
    """For each generator, the mean and sample standard deviation of `n_ref` N(0, 1)
    reference draws, drawn from their exact joint law instead of from the draws: the mean
    is N(0, 1 / n_ref), (n_ref - 1) sd^2 is chi-square with n_ref - 1 degrees of freedom,
    and the two are independent. Returns an (len(rngs), 2) array. Two draws a step instead
    of `n_ref`, and the loss of several networks in one expression (`deviation_loss`)."""
    moments = np.empty((len(rngs), 2))
    for i, rng in enumerate(rngs):
        moments[i, 0] = rng.standard_normal() / math.sqrt(n_ref)
        moments[i, 1] = math.sqrt(rng.chisquare(n_ref - 1) / (n_ref - 1))
    return moments


def deviation_loss(
    scores: torch.Tensor, target: torch.Tensor, margin: float, moments: torch.Tensor
) -> torch.Tensor:
    """Deviation loss of Pang et al. (KDD 2019), eq. (4)-(5), summed over networks.

    `scores` and `target` are (networks, rows); `moments` (networks, 2) holds each
    network's reference mean and standard deviation (`reference_moments`). dev = (score -
    mean) / sd; unlabeled rows pay |dev|, labeled anomalies max(0, margin - dev); each
    network's loss is its rows' mean.
    """
    dev = (scores - moments[:, :1]) / moments[:, 1:]
    paid = torch.where(target > 0, (margin - dev).clamp_min(0.0), dev.abs())
    return paid.mean(dim=1).sum()


class DeviationNetwork(nn.Module):
    """Row -> hidden ReLU layers -> linear scalar score."""

    def __init__(self, n_features: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x)).squeeze(-1)

    def kernels(self) -> list[torch.Tensor]:
        """The hidden layers' weight matrices (the L2 penalty's terms)."""
        return [m.weight for m in self.hidden if isinstance(m, nn.Linear)]

    def widths(self) -> tuple[int, ...]:
        """The hidden widths, which rebuild the module for a saved state."""
        return tuple(m.out_features for m in self.hidden if isinstance(m, nn.Linear))


class StackedDeviationNetworks(nn.Module):
    """k deviation networks of one shape run as one: each layer's k weight matrices are
    stacked into one (k, out, in) tensor per forward pass, so one batched matrix product
    steps all k. Rows come in as (k, n, features), one batch per network, and scores
    leave as (k, n).

    The networks keep their own parameters (an optimiser, gradient clipping and saving
    see k ordinary networks), and network i's arithmetic is that of network i alone: the
    batched products of the hidden layers compute each slice as the unbatched ones do.
    """

    def __init__(self, networks: list[DeviationNetwork]) -> None:
        super().__init__()
        if not networks:
            raise ValueError("a stack needs at least one network")
        self.networks = nn.ModuleList(networks)
        self._layers = [_linears(net) for net in networks]  # found once, not every step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, outputs = zip(*self._layers, strict=True)
        for stacked in hidden:
            weight = torch.stack([layer.weight for layer in stacked])
            bias = torch.stack([layer.bias for layer in stacked])
            x = torch.relu(torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2)))
        # one output unit: a batched product rounds unlike the matrix-vector one a single
        # network takes, so each network's last layer runs alone
        return torch.stack([out(x[i]) for i, out in enumerate(outputs)]).squeeze(-1)

    def kernels(self) -> list[torch.Tensor]:
        """Every network's hidden weight matrices (the L2 penalty's terms)."""
        return [w for net in self.networks for w in net.kernels()]


def _linears(network: DeviationNetwork) -> list[nn.Linear]:
    """A deviation network's linear layers, input to output."""
    return [m for m in network.modules() if isinstance(m, nn.Linear)]

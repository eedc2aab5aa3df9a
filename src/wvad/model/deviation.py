"""The deviation network (Pang, Shen and van den Hengel, KDD 2019): module and loss.

G. Pang, C. Shen, A. van den Hengel. "Deep Anomaly Detection with Deviation Networks".
KDD 2019. An MLP maps a row to a scalar score; the deviation loss pulls the scores of
unlabeled rows to the mean of a N(0, 1) reference and pushes labeled anomalies at least
`margin` reference standard deviations above it. The default score's deviation piece
(`wvad.evidence.deviation`) and the DevNet peer both train this module with this loss.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DeviationNetwork", "StackedDeviationNetworks", "deviation_loss"]


def deviation_loss(
    scores: torch.Tensor,
    target: torch.Tensor,
    margin: float,
    n_ref: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Deviation loss of Pang et al. (KDD 2019), eq. (4)-(5).

    dev = (score - mean(r)) / std(r) with r ~ N(0, 1) (`n_ref` draws, fresh each call,
    from `generator`, else torch's global one); unlabeled rows pay |dev|, labeled
    anomalies max(0, margin - dev).
    """
    ref = torch.randn(n_ref, device=scores.device, dtype=scores.dtype, generator=generator)
    dev = (scores - ref.mean()) / ref.std()
    inlier = dev.abs()
    outlier = (margin - dev).clamp_min(0.0)
    return torch.mean((1.0 - target) * inlier + target * outlier)


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = [_linears(net) for net in self.networks]
        *hidden, outputs = zip(*layers, strict=True)
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

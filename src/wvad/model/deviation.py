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

__all__ = ["DeviationNetwork", "deviation_loss"]


def deviation_loss(
    scores: torch.Tensor, target: torch.Tensor, margin: float, n_ref: int
) -> torch.Tensor:
    """Deviation loss of Pang et al. (KDD 2019), eq. (4)-(5).

    dev = (score - mean(r)) / std(r) with r ~ N(0, 1) (`n_ref` draws, fresh each call,
    from torch's generator); unlabeled rows pay |dev|, labeled anomalies max(0, margin - dev).
    """
    ref = torch.randn(n_ref, device=scores.device, dtype=scores.dtype)
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

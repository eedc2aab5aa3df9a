"""The deviation network (Pang, Shen and van den Hengel, KDD 2019): module and loss.

G. Pang, C. Shen, A. van den Hengel. "Deep Anomaly Detection with Deviation Networks".
KDD 2019. An MLP maps a row to a scalar score; the deviation loss pulls the scores of
unlabeled rows to the mean of a N(0, 1) reference and pushes labeled anomalies at least
`margin` reference standard deviations above it. The default score's deviation piece
(`wvad.evidence.deviation`) and the DevNet peer both train this module with this loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

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

    def widths(self) -> tuple[int, ...]:
        """The hidden widths, which rebuild the module for a saved state."""
        return tuple(m.out_features for m in self.hidden if isinstance(m, nn.Linear))


class StackedDeviationNetworks(nn.Module):
    """k deviation networks of one shape trained as one: each layer's k weight matrices
    (and biases) are one (k, out, in) parameter, so one batched matrix product steps all k.
    Rows come in as (k, n, features), one batch per network; `write_back` puts the trained
    values into the networks.

    Network i's arithmetic is that of network i alone: the batched products of the hidden
    layers compute each slice as the unbatched ones do, each output layer runs alone, an
    optimiser's element-wise steps do not care how tensors are stacked, and the gradient
    clip takes each network's tensor alone (`train`'s `clip_slices`). The loss (`loss`)
    has a hand-written backward (`_StackedDeviationLoss`): autograd's graph of about forty
    small operations a step cost more than the arithmetic; the written one computes the
    same gradients, operation for operation, so the trained weights are bit for bit those
    of autograd on k separate networks (tests/model/test_deviation.py).
    """

    def __init__(self, networks: list[DeviationNetwork]) -> None:
        super().__init__()
        if not networks:
            raise ValueError("a stack needs at least one network")
        self._layers = list(zip(*(_linears(net) for net in networks), strict=True))
        self.weights = nn.ParameterList(_stacked(m.weight for m in ms) for ms in self._layers)
        self.biases = nn.ParameterList(_stacked(m.bias for m in ms) for ms in self._layers)

    def loss(self, x: Tensor, target: Tensor, margin: float, moments: Tensor, l2: float) -> Tensor:
        """`deviation_loss` of every network's scores of its rows x[i], plus `l2` times the
        squared hidden weight matrices, as one scalar whose backward is written out."""
        shape = _StackShape(len(self.weights), float(margin), float(l2))
        return _StackedDeviationLoss.apply(x, target, moments, shape, *self.weights, *self.biases)

    @torch.no_grad()
    def write_back(self) -> None:
        """Copy each network's slice of the stacked parameters into the network."""
        for modules, weight, bias in zip(self._layers, self.weights, self.biases, strict=True):
            for i, module in enumerate(modules):
                module.weight.copy_(weight[i])
                module.bias.copy_(bias[i])


def _stacked(tensors: Iterable[Tensor]) -> nn.Parameter:
    return nn.Parameter(torch.stack([t.detach() for t in tensors]))


def _linears(network: DeviationNetwork) -> list[nn.Linear]:
    """A deviation network's linear layers, input to output."""
    return [m for m in network.modules() if isinstance(m, nn.Linear)]


@dataclass(frozen=True)
class _StackShape:
    """What `_StackedDeviationLoss` needs besides tensors: the linear layers per network
    (hidden ones and the output), the loss's margin and L2 factor."""

    depth: int
    margin: float
    l2: float


class _StackedDeviationLoss(torch.autograd.Function):
    """The stacked networks' summed deviation loss (+ L2) with its gradient written out.

    Each line of `backward` is the derivative torch's autograd takes of the matching line
    of `forward` (baddbmm, ReLU, addmm, where, clamp_min, abs, mean, pow), with the same
    kernels on tensors of the same layout, so the gradients agree bit for bit."""

    @staticmethod
    def forward(ctx, x, target, moments, shape: _StackShape, *params):  # type: ignore[override]
        stacked, biases = params[: shape.depth], params[shape.depth :]
        hidden = [x]
        for weight, bias in zip(stacked[:-1], biases[:-1], strict=True):
            pre = torch.baddbmm(bias.unsqueeze(1), hidden[-1], weight.mT)
            hidden.append(torch.relu(pre))
        # one output unit: a batched product rounds unlike the matrix-vector one a single
        # network takes, so each network's last layer runs alone
        h, out_w, out_b = hidden[-1], stacked[-1], biases[-1]
        scores = torch.stack(
            [nn.functional.linear(h[i], out_w[i], out_b[i]) for i in range(len(h))]
        )
        scores = scores.squeeze(-1)
        loss = deviation_loss(scores, target, shape.margin, moments)
        if shape.l2 and shape.depth > 1:  # no hidden layer, no L2 term
            loss = loss + shape.l2 * _sum_of_squares(stacked[:-1])
        ctx.shape = shape
        ctx.save_for_backward(scores, target, moments, *hidden, *stacked)
        return loss

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        shape: _StackShape = ctx.shape
        scores, target, moments, *rest = ctx.saved_tensors
        hidden, stacked = rest[: shape.depth], rest[shape.depth :]
        g_scores = _score_gradient(grad, scores, target, shape.margin, moments)
        # the output layers: weight, bias, and the last hidden activations' gradient
        g_weights = [g_scores.unsqueeze(1).bmm(hidden[-1])]
        g_biases = [g_scores.sum(dim=1, keepdim=True)]
        g_hidden = g_scores.unsqueeze(2) * stacked[-1]
        for j in reversed(range(shape.depth - 1)):
            g_pre = torch.ops.aten.threshold_backward(g_hidden, hidden[j + 1], 0)
            g_weight = hidden[j].mT.bmm(g_pre).mT
            if shape.l2:
                g_weight = g_weight + (2 * stacked[j]) * (grad * shape.l2)
            g_weights.insert(0, g_weight)
            g_biases.insert(0, g_pre.sum(dim=1))
            if j:
                g_hidden = g_pre.bmm(stacked[j])
        return None, None, None, None, *g_weights, *g_biases


def _sum_of_squares(weights: list[Tensor]) -> Tensor:
    """The L2 term's sum: every network's squared hidden weights, added network by network
    and layer by layer within one, as the sum over each network's own kernels adds them."""
    per_layer = [(w**2).sum(dim=(1, 2)) for w in weights]  # (k,) each
    total = torch.zeros((), dtype=weights[0].dtype, device=weights[0].device)
    for network in zip(*(s.unbind(0) for s in per_layer), strict=True):
        for term in network:
            total = total + term
    return total


def _score_gradient(
    grad: Tensor, scores: Tensor, target: Tensor, margin: float, moments: Tensor
) -> Tensor:
    """d `deviation_loss` / d scores: each network's mean over its n rows of max(0, margin
    - dev) on the labeled anomalies and |dev| on the rest, dev = (score - mean) / sd; so
    -1, 0 or sign(dev) times (1 / n) / sd (a zero keeps the sign autograd gives it)."""
    sd = moments[:, 1:]
    dev = (scores - moments[:, :1]) / sd
    step = grad / scores.shape[1] / sd
    past_margin = (dev > margin).to(scores.dtype) - 1.0  # -1 inside the margin, +0 beyond
    return torch.where(target > 0, past_margin, dev.sgn()) * step

"""Small building blocks shared by the model modules."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["mlp"]


def mlp(
    in_dim: int, hidden_dims: Sequence[int], out_dim: int, *, bias: bool = True
) -> nn.Sequential:
    """Fully-connected stack: Linear + LeakyReLU per hidden layer, then a linear output."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden_dims:
        layers += [nn.Linear(width, int(h), bias=bias), nn.LeakyReLU(0.1)]
        width = int(h)
    layers.append(nn.Linear(width, out_dim, bias=bias))
    return nn.Sequential(*layers)

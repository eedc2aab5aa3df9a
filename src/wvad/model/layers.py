"""Small building blocks shared by the model modules."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["mlp", "xavier_init"]


def mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int) -> nn.Sequential:
    """Fully-connected stack: Linear + LeakyReLU per hidden layer, then a linear output."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden_dims:
        layers += [nn.Linear(width, int(h)), nn.LeakyReLU(0.1)]
        width = int(h)
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def xavier_init(module: nn.Module) -> None:
    """Keras' ``glorot_normal`` kernels and zero biases, for the networks first written in
    Keras (the deviation network and the peers that came from Keras code)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)

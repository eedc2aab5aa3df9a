"""The column scaling WVAD fits on its training rows: min-max (default), standard or none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Scaler"]


@dataclass(frozen=True)
class Scaler:
    """x -> (x - offset) * factor per column; a constant column maps to 0."""

    offset: np.ndarray
    factor: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, method: str) -> Scaler:
        if method == "minmax":
            offset = X.min(axis=0)
            span = X.max(axis=0) - offset
        elif method == "standard":
            offset = X.mean(axis=0)
            span = X.std(axis=0)
        else:
            offset = np.zeros(X.shape[1])
            span = np.ones(X.shape[1])
        return cls(offset, 1.0 / np.where(span > 0, span, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.offset) * self.factor

    def on(self, device: torch.device) -> Callable[[Tensor], Tensor]:
        """The same map on float64 tensors of `device` (chunk by chunk: no copy of X)."""
        offset = torch.as_tensor(self.offset, device=device)
        factor = torch.as_tensor(self.factor, device=device)
        return lambda rows: (rows - offset) * factor

    def state(self) -> dict[str, Tensor]:
        return {"offset": torch.as_tensor(self.offset), "factor": torch.as_tensor(self.factor)}

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> Scaler:
        return cls(state["offset"].numpy(), state["factor"].numpy())

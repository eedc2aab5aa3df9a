"""The column scaling WVAD fits on its training rows: min-max (default), standard or none.

Scaled values are clipped to +-`limit`: a new row far outside the training range (a 1e300,
an overflow to inf in the subtraction) becomes an extreme but finite input, and a column
whose training range overflowed (scale factor 0) reads as 0, never as 0 * inf = NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Scaler"]


@dataclass(frozen=True)
class Scaler:
    """x -> (x - offset) * factor per column, clipped to +-limit; a constant column maps
    to 0."""

    offset: np.ndarray
    factor: np.ndarray
    limit: float

    @classmethod
    def fit(cls, X: np.ndarray, method: str, limit: float) -> Scaler:
        # an overflowing range or spread (inf, or NaN from inf - inf) gives factor 0 or a
        # non-finite offset, which `training_rows` refuses by column
        with np.errstate(over="ignore", invalid="ignore"):
            if method == "minmax":
                offset = X.min(axis=0)
                span = X.max(axis=0) - offset
            elif method == "standard":
                offset = X.mean(axis=0)
                span = X.std(axis=0)
            else:
                offset = np.zeros(X.shape[1])
                span = np.ones(X.shape[1])
            span = np.where(np.isnan(span), np.inf, span)
            factor = 1.0 / np.where(span > 0, span, 1.0)
        return cls(offset, factor, float(limit))

    def training_rows(self, X: np.ndarray, names: list[str] | None = None) -> np.ndarray:
        """The training rows scaled; refuses a column whose range or spread overflows
        float64 (it would scale to 0: silently dropped), and values beyond the limit, which
        no later clipping should hide (possible with scaling "standard" or "none")."""
        overflow = ~np.isfinite(self.offset) | (self.factor == 0)
        _refuse_first(overflow, names, lambda j: (
            f"spans more than float64 can hold (from {X[:, j].min():.3g} to "
            f"{X[:, j].max():.3g}, its range or spread overflows); divide it by a large "
            "power of ten first"
        ))  # fmt: skip
        scaled = self._scaled(X)
        _refuse_first(np.abs(scaled).max(axis=0) > self.limit, names, lambda j: (
            f"scales to values beyond +-{self.limit:g} (up to {np.abs(scaled[:, j]).max():.3g}); "
            "use scaling='minmax', or bring the column to a smaller range"
        ))  # fmt: skip
        return scaled

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.clip(self._scaled(X), -self.limit, self.limit)

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.nan_to_num((X - self.offset) * self.factor, nan=0.0)

    def on(self, device: torch.device) -> Callable[[Tensor], Tensor]:
        """The same map on float64 tensors of `device` (chunk by chunk: no copy of X)."""
        offset = torch.as_tensor(self.offset, device=device)
        factor = torch.as_tensor(self.factor, device=device)
        limit = self.limit
        return lambda rows: ((rows - offset) * factor).nan_to_num(nan=0.0).clamp(-limit, limit)

    def state(self) -> dict[str, Tensor]:
        return {
            "offset": torch.as_tensor(self.offset),
            "factor": torch.as_tensor(self.factor),
            "limit": torch.tensor(self.limit, dtype=torch.float64),
        }

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> Scaler:
        return cls(state["offset"].numpy(), state["factor"].numpy(), float(state["limit"]))


def _refuse_first(bad: np.ndarray, names: list[str] | None, why: Callable[[int], str]) -> None:
    """A ValueError naming the first column `bad` marks and `why` it is refused."""
    if bad.any():
        column = int(np.flatnonzero(bad)[0])
        label = repr(names[column]) if names else str(column)
        raise ValueError(f"X's column {label} {why(column)}")

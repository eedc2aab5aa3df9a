"""What the neural peers share around the training loop: device, seed and the fit frame."""

from __future__ import annotations

import numpy as np

from wvad.base import BaseDetector
from wvad.runtime import resolve_device, resolve_seed, seeded

__all__ = ["NeuralPeer"]


class NeuralPeer(BaseDetector):
    """Base of the torch peers: resolves device and seed, then fits under `seeded(seed)`.

    Subclasses implement ``_fit_torch(X, y, rng)``; the numpy Generator `rng` drives every
    sampling decision, torch's (forked, seeded) global generator everything else.
    """

    def _fit(self, X: np.ndarray, y: np.ndarray, normal: np.ndarray) -> None:
        self.device_ = resolve_device(self.device)
        self.seed_ = resolve_seed(self.random_state)
        rng = np.random.default_rng(self.seed_)
        with seeded(self.seed_):
            self._fit_torch(X, y, rng)

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        raise NotImplementedError

"""Isolation Forest (Liu, Ting and Zhou, ICDM 2008), the unsupervised reference.

F. T. Liu, K. M. Ting, Z.-H. Zhou. "Isolation Forest". ICDM 2008. scikit-learn's
implementation with its defaults (100 trees, 256-row subsamples); labels are ignored.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest

from wvad.base import BaseDetector, store_params
from wvad.runtime import resolve_seed

__all__ = ["IForest"]


class IForest(BaseDetector):
    """scikit-learn IsolationForest; score = -score_samples (higher = more anomalous).

    Unsupervised: `y` is accepted and ignored, and fitting without labels is allowed.
    `device` and `verbose` exist only for a uniform peer interface.
    """

    requires_labels = False

    def __init__(
        self,
        n_estimators: int = 100,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        n_jobs: int | None = None,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit(self, X: np.ndarray, y: np.ndarray, normal: np.ndarray) -> None:
        self.seed_ = resolve_seed(self.random_state)
        self.model_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            n_jobs=self.n_jobs,
            random_state=self.seed_,
        ).fit(X)
        self.history_: list[float] = []

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.model_.score_samples(X)

"""XGBOD through PyOD (Zhao and Hryniewicki, IJCNN 2018).

Y. Zhao, M. K. Hryniewicki. "XGBOD: Improving Supervised Outlier Detection with
Unsupervised Representation Learning". IJCNN 2018. The outlier scores of a bank of
unsupervised detectors (KNN, LOF, HBOS, OCSVM, IForest with several settings) are
appended to the features and an XGBoost classifier is trained on the weak labels
(labeled anomalies = 1, unlabeled rows = 0). PyOD's defaults are kept (max_depth 3,
learning_rate 0.1, 100 trees), as in ADBench.
"""

from __future__ import annotations

import warnings

import numpy as np

from wvad.base import BaseDetector, store_params
from wvad.runtime import resolve_seed

__all__ = ["XGBOD"]


def _import_xgbod():
    try:
        from pyod.models import xgbod as pyod_xgbod
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "XGBOD needs the optional benchmark dependencies pyod and xgboost; "
            "install them with `pip install wvad[bench]`"
        ) from exc
    return pyod_xgbod.XGBOD


class XGBOD(BaseDetector):
    """PyOD's XGBOD on the weak labels; higher score = higher anomaly probability.

    Parameters
    ----------
    max_depth, learning_rate, n_estimators : XGBoost settings (PyOD defaults 3, 0.1, 100).
    n_jobs : threads for XGBoost (1).
    `device` is accepted for a uniform peer interface; XGBOD always runs on the CPU.
    """

    def __init__(
        self,
        max_depth: int = 3,
        learning_rate: float = 0.1,
        n_estimators: int = 100,
        n_jobs: int = 1,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit(self, X: np.ndarray, y: np.ndarray, normal: np.ndarray) -> None:
        cls = _import_xgbod()
        self.seed_ = resolve_seed(self.random_state)
        model = cls(
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            n_estimators=self.n_estimators,
            n_jobs=self.n_jobs,
            random_state=self.seed_,
        )
        with warnings.catch_warnings():
            # PyOD warns that its unsupervised base detectors receive y, and passes
            # XGBoost the retired `silent` flag; both are harmless here.
            warnings.filterwarnings("ignore", message="y should not be presented")
            warnings.filterwarnings("ignore", message="(?s).*silent")
            model.fit(X, y)
        self.model_ = model
        self.history_: list[float] = []

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.decision_function(X), dtype=np.float64)

"""The detectors WVAD is benchmarked against: weakly-supervised peers on one shared training
loop, boosted classifiers on the weak labels, and IsolationForest.

Every peer is a :class:`wvad.base.BaseDetector`: ``fit(X, y)`` with y = 1 for labeled
anomalies and 0 for unlabeled rows, ``decision_function`` higher = more anomalous.
See docs/peers.md for citations, defaults and deviations from the papers.
"""

from __future__ import annotations

from wvad.peers.boosted import CatBoost, LightGBM
from wvad.peers.deepsad import DeepSAD
from wvad.peers.devnet import DevNet
from wvad.peers.feawad import FeaWAD
from wvad.peers.iforest import IForest
from wvad.peers.prenet import PReNet
from wvad.peers.rosas import RoSAS
from wvad.peers.xgbod import XGBOD

__all__ = [
    "PEERS",
    "XGBOD",
    "CatBoost",
    "DeepSAD",
    "DevNet",
    "FeaWAD",
    "IForest",
    "LightGBM",
    "PReNet",
    "RoSAS",
]

PEERS: dict[str, type] = {
    "devnet": DevNet,
    "deepsad": DeepSAD,
    "prenet": PReNet,
    "feawad": FeaWAD,
    "rosas": RoSAS,
    "xgbod": XGBOD,
    "catboost": CatBoost,
    "lightgbm": LightGBM,
    "iforest": IForest,
}

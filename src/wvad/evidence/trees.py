"""The boosted trees piece: gradient-boosted trees on the scaled rows, labeled anomalies
against unlabeled rows (scikit-learn's HistGradientBoostingClassifier).

Strong where anomalies sit beyond thresholds on a few columns (thyroid tests, satellite
images of diseased trees). The fitted ensemble is kept as flat node arrays, so a saved
model holds tensors only, and scored from them all trees at once (`quickscorer`); its
score is the classifier's decision function (tested).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from torch import Tensor

from wvad.config import Config, TreeSettings
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.evidence.quickscorer import CompiledTrees
from wvad.training import TrainedMixture

__all__ = ["BoostedTrees", "classifier", "flatten_trees"]


class BoostedTrees(Evidence):
    """A tree ensemble as flat node arrays: score = baseline + the leaf values a row
    reaches, one per tree."""

    name = "boosting"
    trust = Trust.CROSS_FITTED
    cleans = True

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self._compiled = CompiledTrees(arrays)  # built from the arrays, here and at load

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> BoostedTrees:
        model = classifier(config.trees, data.seed).fit(data.X, data.y)
        return cls(flatten_trees(model))

    @property
    def compiled(self) -> CompiledTrees:
        """The all-trees-at-once scorer built from the arrays."""
        return self._compiled

    def score_numpy(self, X: np.ndarray) -> np.ndarray:
        """The ensemble's decision function for float64 rows."""
        return self._compiled.score(X)

    def path_contributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each column's share of each row's score (Saabas' path contributions: along the
        path a row takes in every tree, the change of node value at each split is the
        split column's), and the part no column owns (baseline and root values). The two
        add up to `score_numpy(X)` exactly, up to rounding."""
        a = self.arrays
        value = a["node_value"]
        shares = np.zeros(X.shape)
        rows = np.arange(len(X))
        for root in a["roots"]:
            node = np.full(len(X), root)
            active = rows[~a["is_leaf"][node]]
            while active.size:
                at = node[active]
                feature = a["feature"][at]
                go_left = X[active, feature] <= a["threshold"][at]
                step = np.where(go_left, a["left"][at], a["right"][at])
                np.add.at(shares, (active, feature), value[step] - value[at])
                node[active] = step
                active = active[~a["is_leaf"][step]]
        bias = a["baseline"][0] + value[a["roots"]].sum()
        return shares, np.full(len(X), bias)

    def score(self, rows: Rows) -> Tensor:
        X = rows.x.detach().double().cpu().numpy()
        return torch.as_tensor(self.score_numpy(X), dtype=rows.x.dtype, device=rows.x.device)

    def state(self) -> dict[str, Tensor]:
        return {k: torch.as_tensor(v) for k, v in self.arrays.items()}

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> BoostedTrees:
        return cls({k: v.numpy() for k, v in state.items()})


def classifier(settings: TreeSettings, seed: int) -> HistGradientBoostingClassifier:
    """The unfitted classifier the piece reads its trees from."""
    return HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization,
        class_weight=settings.class_weight,
        early_stopping=False,  # deterministic: no random validation split
        random_state=seed,
    )


def flatten_trees(model: HistGradientBoostingClassifier) -> dict[str, np.ndarray]:
    """The fitted trees' nodes, concatenated, with child indices made global."""
    parts, roots, offset = [], [], 0
    for (predictor,) in model._predictors:  # one tree per iteration for two classes
        nodes = predictor.nodes
        parts.append((nodes, offset))
        roots.append(offset)
        offset += len(nodes)
    nodes = np.concatenate([n for n, _ in parts])
    shift = np.concatenate([np.full(len(n), o) for n, o in parts])
    leaf = nodes["is_leaf"].astype(bool)
    return {
        "roots": np.asarray(roots, dtype=np.int64),
        "feature": nodes["feature_idx"].astype(np.int64),
        "threshold": nodes["num_threshold"].astype(np.float64),
        "left": np.where(leaf, 0, nodes["left"].astype(np.int64) + shift),
        "right": np.where(leaf, 0, nodes["right"].astype(np.int64) + shift),
        "is_leaf": leaf,
        "value": np.where(leaf, nodes["value"], 0.0),
        "node_value": nodes["value"].astype(np.float64),  # every node's: path contributions
        "baseline": np.asarray(model._baseline_prediction, dtype=np.float64).reshape(1),
    }

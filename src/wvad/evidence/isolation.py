"""The isolation piece: how few random splits set a row apart from the unlabeled rows.

scikit-learn's IsolationForest (Liu, Ting and Zhou, ICDM 2008) grows each tree on a small
sample of the unlabeled rows, splitting a random column at a random value until rows
stand alone; an anomaly that is extreme on a few columns is cut off in few splits. The
mixture and the neighbour distance weigh every column alike, so a row far out on one
column among many is easy for the forest and hard for them. It is label-blind evidence,
weighed in the fused score like the mixture's own readings.

The evidence is minus the mean path length over the trees (a leaf's depth plus the
expected depth of the rows it still holds, c(n)), which ranks rows exactly as
scikit-learn's `score_samples`. The fitted trees are kept as flat node arrays
(`wvad.evidence.trees.NodeEnsemble`) and walked in numpy, with no pickle. Explanations
are exact: each split on a row's path is one step owed to its column, and a leaf's c(n)
to the column of the split that made the leaf; they add up to the evidence.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from torch import Tensor

from wvad.config import Config
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.evidence.trees import NodeEnsemble
from wvad.training import TrainedMixture

__all__ = ["IsolationDepth", "expected_depth", "flatten_isolation"]

#: Euler's constant, of the expected depth c(n) (Liu et al. 2008, eq. 1).
_EULER = 0.5772156649015329


def expected_depth(n: np.ndarray) -> np.ndarray:
    """c(n): the mean depth at which a random tree isolates one of n rows (0 for n <= 1)."""
    n = np.asarray(n, dtype=np.float64)
    big = np.maximum(n, 3.0)
    deep = 2.0 * (np.log(big - 1.0) + _EULER) - 2.0 * (big - 1.0) / big
    return np.where(n <= 1, 0.0, np.where(n == 2, 1.0, deep))


class IsolationDepth(Evidence):
    """Minus a row's mean isolation path length in a forest of the unlabeled rows."""

    name = "isolation"
    trust = Trust.UNSUPERVISED
    sees_labels = False  # grown on the unlabeled rows; the labels choose none

    def __init__(self, ensemble: NodeEnsemble) -> None:
        self.ensemble = ensemble

    @classmethod
    def applies(cls, config: Config, data: TrainingData) -> bool:
        return config.n_isolation_trees > 0

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> IsolationDepth:
        forest = IsolationForest(n_estimators=config.n_isolation_trees, random_state=data.seed)
        return cls(NodeEnsemble(flatten_isolation(forest.fit(data.X[data.y == 0]))))

    def score(self, rows: Rows) -> Tensor:
        X = rows.x.detach().double().cpu().numpy()
        values = self.ensemble.score(X)
        return torch.as_tensor(values, dtype=rows.x.dtype, device=rows.x.device)

    def exact_shares(self, X: np.ndarray) -> tuple[np.ndarray, str]:
        return self.ensemble.contributions(X)[0], "isolation path steps (exact)"

    def state(self) -> dict[str, Tensor]:
        return self.ensemble.state()

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> IsolationDepth:
        return cls(NodeEnsemble({k: v.numpy() for k, v in state.items()}))


def flatten_isolation(forest: IsolationForest) -> dict[str, np.ndarray]:
    """A fitted IsolationForest's trees as one flat node array (`NodeEnsemble`'s layout),
    columns mapped back to the input's: a node's value is minus its depth over the number
    of trees, a leaf's minus (depth + c(rows in it)) over it, so the leaves a row reaches
    add up to minus its mean path length."""
    parts, roots, offset = [], [], 0
    n_trees = len(forest.estimators_)
    for tree, columns in zip(forest.estimators_, forest.estimators_features_, strict=True):
        nodes = tree.tree_
        depth = _node_depths(nodes.children_left, nodes.children_right)
        leaf = nodes.children_left == -1
        value = -(depth + np.where(leaf, expected_depth(nodes.n_node_samples), 0.0)) / n_trees
        parts.append(
            {
                "feature": np.where(leaf, 0, np.asarray(columns)[np.maximum(nodes.feature, 0)]),
                "threshold": np.where(leaf, 0.0, nodes.threshold),
                "left": np.where(leaf, 0, nodes.children_left + offset),
                "right": np.where(leaf, 0, nodes.children_right + offset),
                "is_leaf": leaf,
                "value": np.where(leaf, value, 0.0),
                "node_value": value,
            }
        )
        roots.append(offset)
        offset += nodes.node_count
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    for key in ("feature", "left", "right"):
        arrays[key] = arrays[key].astype(np.int64)
    arrays["threshold"] = arrays["threshold"].astype(np.float64)
    return {**arrays, "roots": np.asarray(roots, dtype=np.int64), "baseline": np.zeros(1)}


def _node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Each node's depth (the root's 0) in a tree of child arrays (-1: a leaf)."""
    depth = np.zeros(len(left))
    for node in range(len(left)):  # scikit-learn numbers a parent before its children
        if left[node] != -1:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth

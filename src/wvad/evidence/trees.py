"""The boosted trees piece: gradient-boosted trees on the scaled rows, labeled anomalies
against unlabeled rows, grown by scikit-learn's HistGradientBoostingClassifier or by
CatBoost (`TreeSettings.learner`).

Strong where anomalies sit beyond thresholds on a few columns (thyroid tests, satellite
images of diseased trees). Either learner's ensemble is kept as the same flat node arrays
(a CatBoost oblivious tree written out as the full binary tree it is), so a saved model
holds tensors only, and scored from them all trees at once (`quickscorer` for
scikit-learn's trees, `oblivious` level by level for CatBoost's); its score is the
classifier's raw decision function (tested for both).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from torch import Tensor

from wvad.config import Config, TreeSettings
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.evidence.oblivious import CompiledOblivious
from wvad.evidence.quickscorer import CompiledTrees
from wvad.training import TrainedMixture

__all__ = ["BoostedTrees", "classifier", "flatten_oblivious", "flatten_trees", "grow_trees"]


class BoostedTrees(Evidence):
    """A tree ensemble as flat node arrays: score = baseline + the leaf values a row
    reaches, one per tree."""

    name = "boosting"
    trust = Trust.CROSS_FITTED
    cleans = True

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        # built from the arrays, here and at load; `depth` marks oblivious trees
        self._compiled = CompiledOblivious(arrays) if "depth" in arrays else CompiledTrees(arrays)

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> BoostedTrees:
        return cls(grow_trees(config.trees, data.seed, data.X, data.y))

    @property
    def compiled(self) -> CompiledTrees | CompiledOblivious:
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


def grow_trees(
    settings: TreeSettings, seed: int, X: np.ndarray, y: np.ndarray
) -> dict[str, np.ndarray]:
    """The node arrays of the ensemble `settings.learner` grows on rows X and labels y."""
    if settings.learner == "catboost":
        if not np.ptp(X, axis=0).any():  # CatBoost refuses rows with no varying column
            return _no_trees()
        return flatten_oblivious(classifier(settings, seed).fit(X, y))
    return flatten_trees(classifier(settings, seed).fit(X, y))


def _no_trees() -> dict[str, np.ndarray]:
    """An ensemble of no oblivious trees: every row scores the same."""
    empty = np.zeros(0, dtype=np.int64)
    return {
        "roots": empty,
        "feature": empty,
        "threshold": np.zeros(0),
        "left": empty,
        "right": empty,
        "is_leaf": np.zeros(0, dtype=bool),
        "value": np.zeros(0),
        "node_value": np.zeros(0),
        "baseline": np.zeros(1),
        "depth": empty,
    }


def classifier(settings: TreeSettings, seed: int) -> Any:
    """The unfitted classifier the piece reads its trees from."""
    if settings.learner == "catboost":
        from catboost import CatBoostClassifier  # imported when used: a heavy import

        return CatBoostClassifier(
            iterations=settings.max_iter,
            learning_rate=settings.learning_rate,
            depth=settings.depth,
            l2_leaf_reg=settings.l2_regularization,
            random_seed=seed,
            thread_count=1,
            verbose=False,
            allow_writing_files=False,  # no catboost_info/ folder in the caller's directory
        )
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


def flatten_oblivious(model: Any) -> dict[str, np.ndarray]:
    """A fitted CatBoostClassifier's oblivious trees as the node arrays `flatten_trees`
    writes, plus `depth` per tree: each tree of depth D as the full binary tree it is
    (level l splits on its (D-1-l)-th test, so the leaves left to right are CatBoost's
    leaf indices 0 .. 2^D - 1), `x <= border` to the left as in CatBoost, and every inner
    node's value the mean of its leaves weighted by their training weight (for path
    contributions)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        model.save_model(str(path), format="json")
        description = json.loads(path.read_text())
    scale, bias = description["scale_and_bias"]
    trees = description["oblivious_trees"]
    depths = np.array([len(tree["splits"]) for tree in trees], dtype=np.int64)
    parts: list[dict[str, np.ndarray]] = [{}] * len(trees)
    for depth in np.unique(depths):
        members = np.flatnonzero(depths == depth)
        for i, part in zip(members, _full_trees([trees[i] for i in members], scale), strict=True):
            parts[i] = part
    sizes = (1 << (depths + 1)) - 1
    roots = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    shift = np.repeat(roots, sizes)
    leaf = arrays["is_leaf"]
    arrays["left"] = np.where(leaf, 0, arrays["left"] + shift)
    arrays["right"] = np.where(leaf, 0, arrays["right"] + shift)
    baseline = np.asarray([float(np.ravel(bias)[0])], dtype=np.float64)
    return {"roots": roots, **arrays, "baseline": baseline, "depth": depths}


def _full_trees(trees: list[dict], scale: float) -> list[dict[str, np.ndarray]]:
    """Oblivious trees of one depth D as node arrays, breadth first, child indices local
    to each tree."""
    depth = len(trees[0]["splits"])
    leaves = scale * np.array([t["leaf_values"] for t in trees], dtype=np.float64)
    weights = np.array([t["leaf_weights"] for t in trees], dtype=np.float64)
    tests = [t["splits"][::-1] for t in trees]  # root first
    feature = np.array([[s["float_feature_index"] for s in t] for t in tests], dtype=np.int64)
    border = _float32_borders(np.array([[s["border"] for s in t] for t in tests]))
    values, features, thresholds = [], [], []
    for level in range(depth + 1):
        blocks = leaves.reshape(len(trees), 1 << level, -1)
        mass = weights.reshape(len(trees), 1 << level, -1)
        total = mass.sum(axis=2)
        weighted = (blocks * mass).sum(axis=2) / np.where(total > 0, total, 1.0)
        values.append(np.where(total > 0, weighted, blocks.mean(axis=2)))
        if level < depth:
            features.append(np.repeat(feature[:, level : level + 1], 1 << level, axis=1))
            thresholds.append(np.repeat(border[:, level : level + 1], 1 << level, axis=1))
    n_inner, n_leaves = (1 << depth) - 1, 1 << depth
    nodes = np.arange(n_inner + n_leaves)
    is_leaf = nodes >= n_inner
    node_value = np.concatenate(values, axis=1)
    padding = np.zeros((len(trees), n_leaves))
    feature_rows = np.concatenate([*features, padding], axis=1).astype(np.int64)
    threshold_rows = np.concatenate([*thresholds, padding], axis=1)
    left = np.where(is_leaf, 0, 2 * nodes + 1)
    right = np.where(is_leaf, 0, 2 * nodes + 2)
    return [
        {
            "feature": feature_rows[i],
            "threshold": threshold_rows[i],
            "left": left,
            "right": right,
            "is_leaf": is_leaf,
            "value": np.where(is_leaf, node_value[i], 0.0),
            "node_value": node_value[i],
        }
        for i in range(len(trees))
    ]


def _float32_borders(borders: np.ndarray) -> np.ndarray:
    """The float64 thresholds t with x <= t exactly when float32(x) <= border: CatBoost
    compares rows rounded to float32 with float32 borders. t is the last float64 that
    rounds to the border: the midpoint to the next float32, or just below it where the
    midpoint itself rounds up."""
    low = borders.astype(np.float32)
    middle = (low.astype(np.float64) + np.nextafter(low, np.float32(np.inf))) / 2
    return np.where(middle.astype(np.float32) == low, middle, np.nextafter(middle, -np.inf))

"""The boosted trees piece: gradient-boosted trees on the scaled rows, labeled anomalies
against unlabeled rows, grown by scikit-learn's HistGradientBoostingClassifier or by
CatBoost (`TreeSettings.learner`).

Strong where anomalies sit beyond thresholds on a few columns (thyroid tests, satellite
images of diseased trees). Either learner's ensemble is kept as the same flat node arrays
(a CatBoost oblivious tree written out as the full binary tree it is), so a saved model
holds tensors only, and scored from them all trees at once (`quickscorer`); its score is
the classifier's raw decision function (tested for both).
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
    model = classifier(settings, seed).fit(X, y)
    if settings.learner == "catboost":
        return flatten_oblivious(model)
    return flatten_trees(model)


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
    parts = [_full_tree(tree, float(scale)) for tree in description["oblivious_trees"]]
    sizes = np.array([len(p["feature"]) for p in parts])
    roots = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    shift = np.repeat(roots, sizes)
    leaf = arrays["is_leaf"]
    arrays["left"] = np.where(leaf, 0, arrays["left"] + shift)
    arrays["right"] = np.where(leaf, 0, arrays["right"] + shift)
    return {
        "roots": roots,
        **arrays,
        "baseline": np.asarray([float(np.ravel(bias)[0])], dtype=np.float64),
        "depth": np.array([len(tree["splits"]) for tree in description["oblivious_trees"]]),
    }


def _full_tree(tree: dict, scale: float) -> dict[str, np.ndarray]:
    """One oblivious tree as node arrays in breadth-first order, child indices local."""
    splits = tree["splits"]
    depth = len(splits)
    leaves = scale * np.asarray(tree["leaf_values"], dtype=np.float64)
    weights = np.asarray(tree["leaf_weights"], dtype=np.float64)
    values, features, thresholds = [], [], []
    for level in range(depth + 1):
        blocks = leaves.reshape(1 << level, -1)
        mass = weights.reshape(1 << level, -1)
        total = mass.sum(axis=1)
        weighted = (blocks * mass).sum(axis=1) / np.where(total > 0, total, 1.0)
        values.append(np.where(total > 0, weighted, blocks.mean(axis=1)))
        if level < depth:
            split = splits[depth - 1 - level]
            features.append(np.full(1 << level, split["float_feature_index"]))
            thresholds.append(np.full(1 << level, _float32_border(split["border"])))
    n_inner, n_leaves = (1 << depth) - 1, 1 << depth
    nodes = np.arange(n_inner + n_leaves)
    is_leaf = nodes >= n_inner
    node_value = np.concatenate(values)
    return {
        "feature": np.concatenate([*features, np.zeros(n_leaves)]).astype(np.int64),
        "threshold": np.concatenate([*thresholds, np.zeros(n_leaves)]),
        "left": np.where(is_leaf, 0, 2 * nodes + 1),
        "right": np.where(is_leaf, 0, 2 * nodes + 2),
        "is_leaf": is_leaf,
        "value": np.where(is_leaf, node_value, 0.0),
        "node_value": node_value,
    }


def _float32_border(border: float) -> float:
    """The float64 threshold t with x <= t exactly when float32(x) <= border: CatBoost
    compares rows rounded to float32 with float32 borders."""
    low = np.float32(border)
    middle = (np.float64(low) + np.float64(np.nextafter(low, np.float32(np.inf)))) / 2
    return float(middle if np.float32(middle) == low else np.nextafter(middle, -np.inf))

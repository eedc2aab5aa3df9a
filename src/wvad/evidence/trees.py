"""The boosted trees piece: gradient-boosted trees on the scaled rows, labeled anomalies
against unlabeled rows, grown by CatBoost (the default) or by scikit-learn's
HistGradientBoostingClassifier (`TreeSettings.learner`).

Strong where anomalies sit beyond thresholds on a few columns (thyroid tests, satellite
images of diseased trees). A CatBoost ensemble is kept as CatBoost's own model (its
native format, as bytes under the weights' checksum) and scored by CatBoost's compiled
predictor, one thread; its explanations are CatBoost's exact SHAP values for oblivious
trees. On a 36-column table CatBoost's predictor scored twice as fast as the former
in-house level-by-level scorer, to the same values up to summation order
(`benchmarks/tree_scoring.py`, docs/performance.md). scikit-learn's trees, which cannot be
saved without pickle, are kept as flat node arrays (as are CatBoost trees saved by model
format 8) and walked in numpy, all trees at once, with Saabas' path contributions as
explanations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from torch import Tensor

from wvad.config import Config, TreeSettings
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.training import TrainedMixture

__all__ = [
    "BoostedTrees",
    "CatBoostEnsemble",
    "CategoryFold",
    "NodeEnsemble",
    "classifier",
    "flatten_trees",
]


@dataclass(frozen=True)
class CategoryFold:
    """The trees' view of a table with categories (`trees.native_categories`): each
    categorical column's one-hot model columns (`blocks`) read back as one column of
    category codes, which CatBoost splits on by its ordered target statistics; the other
    columns as they are, first.

    A row's code is the position of the block's column that holds its category (the one
    scaled above 0: every scaling maps a one-hot column's 1 above its 0, and 0 to at most
    0), or -1 where none does (a category unseen at fit with no "(other)" column)."""

    blocks: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, blocks: tuple[tuple[int, ...], ...]) -> CategoryFold | None:
        """The fold of `blocks`; None where there are none."""
        kept = tuple(b for b in blocks if b)
        return cls(kept) if kept else None

    def numeric(self, width: int) -> np.ndarray:
        """The model columns outside every block, in order."""
        inside = np.zeros(width, dtype=bool)
        for block in self.blocks:
            inside[list(block)] = True
        return np.flatnonzero(~inside)

    def category_positions(self, width: int) -> list[int]:
        """The folded table's category columns (after the numeric ones)."""
        first = len(self.numeric(width))
        return list(range(first, first + len(self.blocks)))

    def codes(self, X: np.ndarray) -> np.ndarray:
        """Per row and block, the code of the row's category (-1: none)."""
        out = np.empty((len(X), len(self.blocks)), dtype=np.int64)
        for b, block in enumerate(self.blocks):
            values = X[:, list(block)]
            out[:, b] = np.where(values.max(axis=1) > 0, values.argmax(axis=1), -1)
        return out

    def table(self, X: np.ndarray) -> Any:
        """Rows X (model columns) as the trees read them: a DataFrame of the numeric
        columns (float64, NaN where missing) and then one int64 code column per block."""
        import pandas as pd

        numeric = self.numeric(X.shape[1])
        columns: dict[str, Any] = {f"x{j}": X[:, j] for j in numeric}
        codes = self.codes(X)
        columns |= {f"category{b}": codes[:, b] for b in range(len(self.blocks))}
        return pd.DataFrame(columns)

    def unfold(self, shares: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Shares per folded column back to the model columns: a numeric column's to
        itself, a category column's to the column of the row's category (the block's
        first where it has none), so the shares per source column are unchanged."""
        out = np.zeros(X.shape)
        numeric = self.numeric(X.shape[1])
        out[:, numeric] = shares[:, : len(numeric)]
        rows = np.arange(len(X))
        codes = self.codes(X)
        for b, block in enumerate(self.blocks):
            at = np.asarray(block)[np.maximum(codes[:, b], 0)]
            out[rows, at] = shares[:, len(numeric) + b]
        return out

    def state(self) -> dict[str, Tensor]:
        return {
            "category_columns": torch.as_tensor([j for b in self.blocks for j in b]),
            "category_sizes": torch.as_tensor([len(b) for b in self.blocks]),
        }

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> CategoryFold | None:
        """The fold a piece's `state` holds (None: the trees read the one-hot columns)."""
        if "category_columns" not in state:
            return None
        columns = state["category_columns"].tolist()
        ends = np.cumsum(state["category_sizes"].tolist())
        starts = np.r_[0, ends[:-1]]
        return cls(tuple(tuple(columns[a:b]) for a, b in zip(starts, ends, strict=True)))


class CatBoostEnsemble:
    """A fitted CatBoost model, kept and scored as CatBoost's own."""

    method = "SHAP values (CatBoost's, exact for its trees)"

    def __init__(self, blob: bytes) -> None:
        from catboost import CatBoost  # imported when used: a heavy import

        self.blob = blob
        self.model = CatBoost()
        self.model.load_model(blob=blob)

    @classmethod
    def of(cls, model: Any) -> CatBoostEnsemble:
        """The ensemble of a fitted CatBoostClassifier (its native model bytes)."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:  # CatBoost writes models to files
            path = Path(folder) / "model.cbm"
            model.save_model(str(path))
            return cls(path.read_bytes())

    def score(self, X: Any) -> np.ndarray:
        """The raw decision function (log-odds) of float64 rows, or of a table with category
        columns (`CategoryFold.table`)."""
        raw = self.model.predict(X, prediction_type="RawFormulaVal", thread_count=1)
        return np.asarray(raw, dtype=np.float64)

    def contributions(
        self, X: Any, categories: list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """CatBoost's SHAP values per column, and the expected value; they add up to
        `score(X)` up to rounding. `categories`: X's category columns."""
        from catboost import Pool

        pool = Pool(X, cat_features=categories or None)
        values = self.model.get_feature_importance(data=pool, type="ShapValues", thread_count=1)
        return np.asarray(values[:, :-1], dtype=np.float64), values[:, -1].astype(np.float64)

    def state(self) -> dict[str, Tensor]:
        return {"catboost_model": torch.frombuffer(bytearray(self.blob), dtype=torch.uint8)}


class NodeEnsemble:
    """Trees as flat node arrays (`flatten_trees`): score = baseline + the leaf values a
    row reaches, one per tree, every tree walked at once."""

    method = "tree path contributions (Saabas)"

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def _leaves(self, X: np.ndarray, on_step: Any = None) -> np.ndarray:
        """The leaf every row reaches in every tree (rows x trees), all trees walked at
        once; `on_step(inner, feature, node, child)` sees each step of the rows not yet at
        a leaf."""
        a = self.arrays
        node = np.broadcast_to(a["roots"], (len(X), len(a["roots"]))).copy()
        rows = np.arange(len(X))[:, None]
        inner = ~a["is_leaf"][node]
        while inner.any():
            feature = a["feature"][node]
            value = X[rows, feature]
            go_left = value <= a["threshold"][node]
            if "missing_left" in a:  # a NaN goes where the learner sent missing values
                go_left = np.where(np.isnan(value), a["missing_left"][node], go_left)
            child = np.where(inner, np.where(go_left, a["left"][node], a["right"][node]), node)
            if on_step is not None:
                on_step(inner, feature, node, child)
            node = child
            inner = ~a["is_leaf"][node]
        return node

    def score(self, X: np.ndarray) -> np.ndarray:
        a = self.arrays
        return a["baseline"][0] + a["value"][self._leaves(X)].sum(axis=1)

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Saabas' path contributions: along the path a row takes in every tree, the change
        of node value at each split is the split column's; the bias is the baseline and
        the roots' values. They add up to `score(X)` up to rounding."""
        a, shares = self.arrays, np.zeros(X.shape)
        value = a["node_value"]
        rows = np.broadcast_to(np.arange(len(X))[:, None], (len(X), len(a["roots"])))

        def add(inner: np.ndarray, feature: np.ndarray, node: np.ndarray, child: np.ndarray):
            np.add.at(shares, (rows[inner], feature[inner]), (value[child] - value[node])[inner])

        self._leaves(X, add)
        bias = a["baseline"][0] + value[a["roots"]].sum()
        return shares, np.full(len(X), bias)

    def state(self) -> dict[str, Tensor]:
        return {k: torch.as_tensor(v) for k, v in self.arrays.items()}


class BoostedTrees(Evidence):
    """A boosted tree ensemble's raw decision function as evidence."""

    name = "boosting"
    trust = Trust.CROSS_FITTED
    cleans = True
    baggable = True

    def __init__(
        self,
        ensemble: CatBoostEnsemble | NodeEnsemble,
        native_missing: bool = False,
        fold: CategoryFold | None = None,
    ) -> None:
        self.ensemble = ensemble
        self.native_missing = native_missing  # reads a missing value as NaN
        self.fold = fold  # reads each categorical column as one column of codes

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> BoostedTrees:
        settings = config.trees
        data = with_unlabeled_at_most(data, settings.max_unlabeled)
        native = settings.native_missing
        X = _nan_where(data.X, data.missing) if native else data.X
        fold = None
        if settings.native_categories and settings.learner == "catboost":
            fold = CategoryFold.of(data.categories)
        return cls(grow_trees(settings, data.seed, X, data.y, fold), native, fold)

    def with_missing(self, X: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
        """With `trees.native_missing`, a missing cell is NaN to the trees."""
        return _nan_where(X, missing) if self.native_missing else X

    def score_numpy(self, X: np.ndarray) -> np.ndarray:
        """The ensemble's decision function for float64 rows."""
        return self.ensemble.score(X if self.fold is None else self.fold.table(X))

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each column's share of each row's score and the part no column owns; the two add
        up to `score_numpy(X)` up to rounding (SHAP values for CatBoost's trees, Saabas'
        path contributions for node arrays; a folded category's share goes to the column
        of the row's category)."""
        if self.fold is None:
            return self.ensemble.contributions(X)
        table = self.fold.table(X)
        positions = self.fold.category_positions(X.shape[1])
        shares, bias = self.ensemble.contributions(table, positions)
        return self.fold.unfold(shares, X), bias

    def exact_shares(self, X: np.ndarray) -> tuple[np.ndarray, str]:
        return self.contributions(X)[0], self.ensemble.method

    def score(self, rows: Rows) -> Tensor:
        X = self.with_missing(rows.x.detach().double().cpu().numpy(), rows.missing)
        return torch.as_tensor(self.score_numpy(X), dtype=rows.x.dtype, device=rows.x.device)

    def state(self) -> dict[str, Tensor]:
        return self.ensemble.state() | ({} if self.fold is None else self.fold.state())

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> BoostedTrees:
        native, fold = config.trees.native_missing, CategoryFold.from_state(state)
        if "catboost_model" in state:
            blob = state["catboost_model"].numpy().tobytes()
            return cls(CatBoostEnsemble(blob), native, fold)
        return cls(NodeEnsemble({k: v.numpy() for k, v in state.items()}), native)


def with_unlabeled_at_most(data: TrainingData, limit: int | None) -> TrainingData:
    """`data` with at most `limit` of its unlabeled rows that are not known normals (a
    sample drawn with `data.seed`, kept in table order), and every other row."""
    free = np.flatnonzero((data.y == 0) & ~data.known_normal)
    if limit is None or len(free) <= limit:
        return data
    keep = np.ones(len(data.y), dtype=bool)
    keep[free] = False
    keep[np.random.default_rng(data.seed).choice(free, limit, replace=False)] = True
    return data.subset(keep)


def _nan_where(X: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """`X` with NaN in the `missing` cells (`X` itself where none is)."""
    return X if missing is None else np.where(missing, np.nan, X)


def grow_trees(
    settings: TreeSettings,
    seed: int,
    X: np.ndarray,
    y: np.ndarray,
    fold: CategoryFold | None = None,
) -> CatBoostEnsemble | NodeEnsemble:
    """The ensemble `settings.learner` grows on rows X and labels y (CatBoost reading X's
    categories as `fold` folds them, where given)."""
    if settings.learner == "catboost":
        if not np.ptp(X, axis=0).any():  # CatBoost refuses rows with no varying column
            return NodeEnsemble(_no_trees())
        model = classifier(settings, seed)
        if fold is None:
            return CatBoostEnsemble.of(model.fit(X, y))
        positions = fold.category_positions(X.shape[1])
        return CatBoostEnsemble.of(model.fit(fold.table(X), y, cat_features=positions))
    return NodeEnsemble(flatten_trees(classifier(settings, seed).fit(X, y)))


def _no_trees() -> dict[str, np.ndarray]:
    """An ensemble of no trees: every row scores the same."""
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
        "missing_left": nodes["missing_go_to_left"].astype(bool),
        "baseline": np.asarray(model._baseline_prediction, dtype=np.float64).reshape(1),
    }

"""Oblivious trees (CatBoost's) scored all at once, level by level.

An oblivious tree asks one question per level, the same at every node of the level, so
the leaf a row reaches is a D-bit number: bit l answers level l's question. Scoring a
block of rows is then D vectorised comparisons over all trees, building the leaf index
bit by bit, and one gather of leaf values: no per-node masks, whose tables grow with the
trees times the distinct thresholds (`quickscorer` keeps those for the trees of
scikit-learn's learner).

Built from the same plain node arrays every tree ensemble of the piece is stored as
(`wvad.evidence.trees`): a tree of depth d is the full binary tree breadth first, its
level l's question at node 2^l - 1, and `depth` holds each tree's d. The comparisons are
the node arrays' own (float64 `<=` to the left) and leaf values are added in float64.
"""

from __future__ import annotations

import numpy as np

from wvad.evidence.quickscorer import score_in_blocks

__all__ = ["CompiledOblivious"]


class CompiledOblivious:
    """The oblivious trees of node arrays `arrays` (with `depth` per tree), ready to score
    float64 rows. Trees shallower than the deepest are padded with levels no row passes
    (threshold +inf), whose bits stay 0."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        roots, depths = arrays["roots"], arrays["depth"]
        self.depth = int(depths.max(initial=0))
        n_trees = len(roots)
        self.features = np.zeros((self.depth, n_trees), dtype=np.int64)
        self.thresholds = np.full((self.depth, n_trees), np.inf)
        self.values = np.zeros((n_trees, 1 << self.depth))
        for tree, (root, d) in enumerate(zip(roots, depths, strict=True)):
            levels = root + (1 << np.arange(d)) - 1  # each level's first node
            self.features[:d, tree] = arrays["feature"][levels]
            self.thresholds[:d, tree] = arrays["threshold"][levels]
            leaves = root + (1 << d) - 1 + np.arange(1 << d)
            self.values[tree, np.arange(1 << d) << (self.depth - d)] = arrays["value"][leaves]
        self.offsets = np.arange(n_trees) * (1 << self.depth)
        self.baseline = float(arrays["baseline"][0])

    def score(self, X: np.ndarray) -> np.ndarray:
        """Baseline plus the reached leaf's value of every tree, per row of X (float64)."""
        return score_in_blocks(self._score_block, X)

    def _score_block(self, X: np.ndarray) -> np.ndarray:
        columns = np.ascontiguousarray(X.T)  # a tree's question reads one column's row
        leaf = np.zeros((len(self.offsets), len(X)), dtype=np.int64)
        for features, thresholds in zip(self.features, self.thresholds, strict=True):
            leaf <<= 1
            leaf += columns[features] > thresholds[:, None]
        leaf += self.offsets[:, None]
        return self.values.ravel()[leaf].sum(axis=0) + self.baseline

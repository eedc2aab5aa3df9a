"""Every tree of an ensemble scored at once: QuickScorer's bit masks in numpy.

Lucchese et al., "QuickScorer: a fast algorithm to rank documents with additive ensembles
of regression trees", SIGIR 2015. Number each tree's leaves left to right. A node whose
test `x[f] <= t` fails rules out every leaf of its left subtree; the leaf a row reaches is
the leftmost leaf no failed node rules out. For each feature, the nodes that test it are
sorted by threshold, so the nodes a row fails are a prefix of that list (those with
t < x[f], found by one binary search), and the masks of every prefix are ANDed ahead of
time (`_prefix_masks`). Scoring a row is then one binary search and one table row per
feature, an AND across features, a lowest-set-bit lookup and a sum of leaf values: no
walk down any tree, no Python per tree.

Built from the plain node arrays a model stores (`BoostedTrees.state()`), so nothing but
tensors is ever saved; the comparisons are the trees' own (float64 `<=`) and the leaf
values are added in float64, so scores equal a node-by-node walk's to rounding (tested).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MAX_LEAVES", "CompiledTrees", "score_in_blocks"]

#: Leaves per tree the bit masks can hold.
MAX_LEAVES = 64
_ROWS = 4096  # rows per block: the per-tree masks of a block stay in the CPU caches


class CompiledTrees:
    """The ensemble of flat node arrays `arrays` (global child indices, `roots` per tree),
    ready to score float64 rows."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        leaf_order, masks, tree_of, n_leaves = _leaf_masks(arrays)
        self.dtype = _mask_dtype(n_leaves)
        self.n_trees = len(arrays["roots"])
        self.baseline = float(arrays["baseline"][0])
        self.values = np.zeros((self.n_trees, n_leaves))
        for tree, leaves in enumerate(leaf_order):
            self.values[tree, : len(leaves)] = arrays["value"][leaves]
        self.offsets = np.arange(self.n_trees) * n_leaves
        self.tables = _prefix_masks(arrays, masks, tree_of, self.n_trees, self.dtype)
        self.lowest_bit = _lowest_bit_table() if self.dtype.itemsize <= 2 else None

    def score(self, X: np.ndarray) -> np.ndarray:
        """Baseline plus the reached leaf's value of every tree, per row of X (float64)."""
        return score_in_blocks(self._score_block, X)

    def _score_block(self, X: np.ndarray) -> np.ndarray:
        alive = np.full((len(X), self.n_trees), np.iinfo(self.dtype).max, dtype=self.dtype)
        for feature, (thresholds, prefix) in self.tables.items():
            alive &= prefix[np.searchsorted(thresholds, X[:, feature], side="left")]
        leaf = _lowest_set_bit(alive, self.lowest_bit)
        return self.values.ravel()[leaf + self.offsets].sum(axis=1) + self.baseline


def score_in_blocks(score_block: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    """`score_block` over blocks of X's rows small enough for the CPU caches, joined."""
    out = np.empty(len(X))
    for start in range(0, len(X), _ROWS):
        out[start : start + _ROWS] = score_block(X[start : start + _ROWS])
    return out


def _mask_dtype(n_leaves: int) -> np.dtype:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if n_leaves <= 8 * np.dtype(dtype).itemsize:
            return np.dtype(dtype)
    raise ValueError(f"a tree has {n_leaves} leaves; at most {MAX_LEAVES} can be scored")


def _leaf_masks(arrays: dict[str, np.ndarray]) -> tuple[list, np.ndarray, np.ndarray, int]:
    """Per tree its leaves left to right; per internal node the mask of the leaves its
    failed test leaves alive (all but its left subtree's), and its tree."""
    is_leaf, left, right = arrays["is_leaf"], arrays["left"], arrays["right"]
    masks = np.zeros(len(is_leaf), dtype=np.uint64)
    tree_of = np.zeros(len(is_leaf), dtype=np.int64)
    leaf_order = []
    for tree, root in enumerate(arrays["roots"]):
        leaves: list[int] = []
        subtree_bits: dict[int, int] = {}
        stack = [(int(root), False)]
        while stack:  # post-order, left before right: leaves come out left to right
            node, expanded = stack.pop()
            tree_of[node] = tree
            if is_leaf[node]:
                subtree_bits[node] = 1 << len(leaves)
                leaves.append(node)
            elif not expanded:
                stack += [(node, True), (int(right[node]), False), (int(left[node]), False)]
            else:
                left_bits = subtree_bits[int(left[node])]
                subtree_bits[node] = left_bits | subtree_bits[int(right[node])]
                masks[node] = ~np.uint64(left_bits)
        leaf_order.append(np.asarray(leaves, dtype=np.int64))
    return leaf_order, masks, tree_of, max(len(leaves) for leaves in leaf_order)


def _prefix_masks(
    arrays: dict[str, np.ndarray],
    masks: np.ndarray,
    tree_of: np.ndarray,
    n_trees: int,
    dtype: np.dtype,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per feature: its nodes' distinct thresholds in ascending order, and for each prefix
    of them (k = 0 .. all) the AND of the masks of the nodes testing them, per tree. Nodes
    that share a threshold share a row (an oblivious tree tests one threshold at every
    node of a level), so the table grows with the distinct thresholds, not the nodes."""
    internal = np.flatnonzero(~arrays["is_leaf"])
    full = np.iinfo(dtype).max
    tables = {}
    for feature in np.unique(arrays["feature"][internal]):
        nodes = internal[arrays["feature"][internal] == feature]
        thresholds, group = np.unique(arrays["threshold"][nodes], return_inverse=True)
        steps = np.full((len(thresholds) + 1, n_trees), full, dtype=dtype)
        np.bitwise_and.at(steps, (group + 1, tree_of[nodes]), masks[nodes].astype(dtype))
        tables[int(feature)] = (thresholds, np.bitwise_and.accumulate(steps))
    return tables


def _lowest_bit_table() -> np.ndarray:
    values = np.arange(1 << 16)
    return np.log2(np.maximum(values & -values, 1)).astype(np.int64)


def _lowest_set_bit(masks: np.ndarray, table: np.ndarray | None) -> np.ndarray:
    if table is not None:
        return table[masks]
    isolated = masks & (~masks + np.ones(1, dtype=masks.dtype))
    return np.log2(isolated.astype(np.float64)).astype(np.int64)

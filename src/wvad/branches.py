"""Raw-feature scorers for WVAD's "stacked" score, each reduced to tensors for saving.

Two learners that see the scaled rows themselves rather than the mixture's features:
- "deviation": a deviation network (Pang et al., KDD 2019; `wvad.peers.devnet`), strong
  where anomalies form a class of their own in a smooth way (digits, cardiotocography);
- "boosting": gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier,
  labeled anomalies against unlabeled rows, classes balanced), strong where anomalies sit
  beyond thresholds on a few columns (thyroid tests, satellite images of diseased trees).

Each scorer maps scaled rows (a float32 tensor) to one score per row, higher = more
anomalous, and round-trips through `state()` / `from_state()`: plain tensors, no pickle.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

from wvad.peers.devnet import DevNet, DevNetNetwork

__all__ = ["BRANCH_KINDS", "BoostedTrees", "DeviationScorer", "fit_branch", "load_branch"]


class DeviationScorer:
    """A fitted deviation network."""

    kind = "deviation"

    def __init__(self, network: DevNetNetwork) -> None:
        self.network = network.eval()

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, seed: int, device: torch.device) -> DeviationScorer:
        return cls(DevNet(random_state=seed, device=device).fit(X, y).network_)

    def score(self, rows: torch.Tensor) -> torch.Tensor:
        return self.network(rows)

    def state(self) -> dict[str, torch.Tensor]:
        widths = [m.out_features for m in self.network.hidden if isinstance(m, torch.nn.Linear)]
        tensors = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        return {"hidden_widths": torch.tensor(widths), **tensors}

    @classmethod
    def from_state(
        cls, state: dict[str, torch.Tensor], n_features: int, device: torch.device
    ) -> DeviationScorer:
        weights = {k: v for k, v in state.items() if k != "hidden_widths"}
        network = DevNetNetwork(n_features, tuple(int(w) for w in state["hidden_widths"]))
        network.load_state_dict(weights)
        return cls(network.to(device))


class BoostedTrees:
    """A fitted tree ensemble kept as flat node arrays: score = baseline + sum of the leaf
    values the row reaches, which is the classifier's decision function (tested)."""

    kind = "boosting"
    #: Settings of the classifier: scikit-learn's defaults with smaller, regularised trees
    #: for a few dozen positives; no early stopping, so every fit is deterministic.
    PARAMS = MappingProxyType(
        {
            "max_iter": 100,
            "learning_rate": 0.1,
            "max_leaf_nodes": 15,
            "min_samples_leaf": 5,
            "l2_regularization": 1.0,
            "class_weight": "balanced",
            "early_stopping": False,
        }
    )

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, seed: int, device: torch.device) -> BoostedTrees:
        model = HistGradientBoostingClassifier(random_state=seed, **cls.PARAMS).fit(X, y)
        return cls(_flatten_trees(model))

    def score_numpy(self, X: np.ndarray) -> np.ndarray:
        a = self.arrays
        total = np.full(len(X), a["baseline"][0])
        for root in a["roots"]:
            # walk one tree for all rows, dropping rows as they reach a leaf
            node = np.full(len(X), root)
            active = np.arange(len(X) if not a["is_leaf"][root] else 0)
            while active.size:
                at = node[active]
                go_left = X[active, a["feature"][at]] <= a["threshold"][at]
                step = np.where(go_left, a["left"][at], a["right"][at])
                node[active] = step
                active = active[~a["is_leaf"][step]]
            total += a["value"][node]
        return total

    def score(self, rows: torch.Tensor) -> torch.Tensor:
        X = rows.detach().double().cpu().numpy()
        return torch.as_tensor(self.score_numpy(X), dtype=rows.dtype, device=rows.device)

    def state(self) -> dict[str, torch.Tensor]:
        return {k: torch.as_tensor(v) for k, v in self.arrays.items()}

    @classmethod
    def from_state(
        cls, state: dict[str, torch.Tensor], n_features: int, device: torch.device
    ) -> BoostedTrees:
        return cls({k: v.numpy() for k, v in state.items()})


BRANCH_KINDS = {DeviationScorer.kind: DeviationScorer, BoostedTrees.kind: BoostedTrees}


def fit_branch(
    kind: str, X: np.ndarray, y: np.ndarray, seed: int, device: torch.device
) -> DeviationScorer | BoostedTrees:
    """Fit the scorer of `kind` on scaled rows `X` and weak labels `y`."""
    return BRANCH_KINDS[kind].fit(X, y, seed, device)


def load_branch(
    kind: str, state: dict[str, torch.Tensor], n_features: int, device: torch.device
) -> DeviationScorer | BoostedTrees:
    """Rebuild a scorer from the tensors its `state()` gave."""
    return BRANCH_KINDS[kind].from_state(state, n_features, device)


def _flatten_trees(model: HistGradientBoostingClassifier) -> dict[str, np.ndarray]:
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
        "baseline": np.asarray(model._baseline_prediction, dtype=np.float64).reshape(1),
    }

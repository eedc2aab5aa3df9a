"""The deviation branch of WVAD's "stacked" score: a raw-feature scorer and an honest
estimate of how well it ranks anomalies it was not trained on.

The mixture's features compress each row to a dozen numbers. Where the anomalies form a
class of their own (digits, thyroid conditions), a scorer on the raw columns separates
them better than the score estimator on those features can. The branch is a deviation
network (Pang et al., KDD 2019; `wvad.peers.devnet`) fitted on the scaled rows and weak
labels. How much the score trusts it is set by cross-fitting: with the labeled anomalies
and the unlabeled rows each split into folds, a network fitted without one fold ranks that
fold's anomalies among that fold's unlabeled rows. The in-sample ranking would be near
perfect on every table and tell nothing. The branch's weight in the fused score is zero
up to a cross-fitted Gini of GINI_FLOOR and rises linearly to MAX_WEIGHT at a perfect
ranking: on the benchmark, a branch that ranks held-out anomalies above fewer than three
in four held-out unlabeled rows (Letter, Ionosphere) only adds noise to the mixture's
evidence (docs/method.md).
"""

from __future__ import annotations

import numpy as np
import torch

from wvad.peers.devnet import DevNet

__all__ = [
    "GINI_FLOOR",
    "MAX_FOLDS",
    "MAX_WEIGHT",
    "DeviationBranch",
    "cross_fitted_gini",
    "deviation_weight",
    "fit_deviation_branch",
    "fit_deviation_network",
]

#: Cross-fitting folds; fewer when there are fewer labeled anomalies than this.
MAX_FOLDS = 5
#: The branch's weight: 0 up to this cross-fitted Gini (AUROC 0.75), then linear ...
GINI_FLOOR = 0.5
#: ... up to this at Gini 1; the mixture's pieces together weigh at most 1.
MAX_WEIGHT = 2.0


def deviation_weight(gini: float) -> float:
    """The branch's weight in the fused score for a cross-fitted Gini."""
    return MAX_WEIGHT * max(0.0, gini - GINI_FLOOR) / (1.0 - GINI_FLOOR)


class DeviationBranch:
    """The cross-fitted Gini (2 AUROC - 1, floored at 0), its weight, and the network fitted
    on all rows (None when the weight is 0: it would not count)."""

    def __init__(self, gini: float, network: torch.nn.Module | None) -> None:
        self.gini = gini
        self.weight = deviation_weight(gini)
        self.network = network


def fit_deviation_branch(
    X: np.ndarray, y: np.ndarray, seed: int, device: torch.device
) -> DeviationBranch | None:
    """Fit the branch on scaled rows `X` and weak labels `y`; None below two labeled anomalies
    (one cannot be both trained on and held out)."""
    if int((y == 1).sum()) < 2:
        return None
    gini = cross_fitted_gini(X, y, seed, device)
    if deviation_weight(gini) == 0.0:
        return DeviationBranch(gini, None)
    return DeviationBranch(gini, fit_deviation_network(X, y, seed, device))


def cross_fitted_gini(X: np.ndarray, y: np.ndarray, seed: int, device: torch.device) -> float:
    """Gini of held-out labeled anomalies against held-out unlabeled rows, pooled over
    min(MAX_FOLDS, n anomalies) folds of each; needs two labeled anomalies."""
    anomalies, unlabeled = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(seed)
    n_folds = min(MAX_FOLDS, len(anomalies))
    held_anomalies = np.array_split(rng.permutation(anomalies), n_folds)
    held_unlabeled = np.array_split(rng.permutation(unlabeled), n_folds)
    ranks = []
    for k, (a_fold, u_fold) in enumerate(zip(held_anomalies, held_unlabeled, strict=True)):
        keep = np.ones(len(y), dtype=bool)
        keep[a_fold] = keep[u_fold] = False
        fold = DevNet(random_state=seed + 1 + k, device=device).fit(X[keep], y[keep])
        s_a, s_u = fold.decision_function(X[a_fold]), fold.decision_function(X[u_fold])
        ranks.append(_share_below(s_u, s_a))
    return max(0.0, 2.0 * float(np.mean(np.concatenate(ranks))) - 1.0)


def fit_deviation_network(
    X: np.ndarray, y: np.ndarray, seed: int, device: torch.device
) -> torch.nn.Module:
    """The deviation network fitted on all rows, in eval mode: row -> anomaly score."""
    return DevNet(random_state=seed, device=device).fit(X, y).network_.eval()


def _share_below(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per value, the share of `reference` below it (ties count half): its AUROC contribution."""
    ordered = np.sort(reference)
    below = np.searchsorted(ordered, values, side="left")
    not_above = np.searchsorted(ordered, values, side="right")
    return (below + not_above) / (2.0 * len(ordered))

"""The branches of WVAD's "stacked" score and how much each is trusted.

The mixture's features compress each row to a dozen numbers. Where the anomalies form a
class of their own, a scorer on the raw columns separates them better than the score
estimator on those features can; where they do not, such a scorer only learns the few
labeled rows. `wvad.branches` holds two such scorers (a deviation network and
gradient-boosted trees). How much the score trusts each is set by cross-fitting: with the
labeled anomalies and the unlabeled rows each split into folds, a scorer fitted without
one fold ranks that fold's anomalies among that fold's unlabeled rows. (The in-sample
ranking would be near perfect on every table and tell nothing.) A branch's weight in the
fused score is zero up to a cross-fitted Gini of GINI_FLOOR and rises linearly to
MAX_WEIGHT at a perfect ranking: on the benchmark, a branch that ranks held-out anomalies
above fewer than three in four held-out unlabeled rows (Letter, Ionosphere) only adds
noise to the mixture's evidence (docs/method.md). The unsupervised pieces (log f_r, the
negative ELBO, the neighbour distance) were not fitted to the labels, so their in-sample
Ginis are honest and share their weight directly (`unsupervised_weights`).

The unlabeled rows are not all normal: some are anomalies nobody labeled (a third of
Satellite's). A learner told they are normal learns to call them so. Cross-fitting has
already scored every row with a scorer that never saw it, so when the trees' cross-fitted
Gini earns them weight, their held-out scores pick the reliable unlabeled rows: an
unlabeled row scoring at least as high as the lowest quarter of the held-out labeled
anomalies is left out (`reliable_rows`; two-step positive-unlabeled learning with the
held-out anomalies as "spies", Liu et al., ICML 2002). The final trees and the mixture's
score estimator then learn "normal" from the reliable rows only (`StackingPlan`). The
deviation network, whose loss only pulls unlabeled rows toward a reference score, sees
all rows; where the trees earn no weight, their held-out scores are no guide and nothing
is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from wvad.branches import BRANCH_KINDS, BoostedTrees, DeviationScorer, fit_branch

__all__ = [
    "CLEANING_KIND",
    "GINI_FLOOR",
    "MAX_FOLDS",
    "MAX_WEIGHT",
    "SPY_QUANTILE",
    "Branch",
    "CrossFit",
    "StackingPlan",
    "branch_weight",
    "cross_fit",
    "plan_stacking",
    "reliable_rows",
    "unsupervised_weights",
]

#: Cross-fitting folds; fewer when there are fewer labeled anomalies than this.
MAX_FOLDS = 5
#: A branch's weight: 0 up to this cross-fitted Gini (AUROC 0.75), then linear ...
GINI_FLOOR = 0.5
#: ... up to this at Gini 1; the mixture's pieces together weigh at most 1.
MAX_WEIGHT = 2.0
#: The branch whose held-out scores pick the reliable unlabeled rows ...
CLEANING_KIND = "boosting"
#: ... those scoring below this quantile of the held-out labeled anomalies' scores.
SPY_QUANTILE = 0.25


def branch_weight(gini: float) -> float:
    """A branch's weight in the fused score for its cross-fitted Gini."""
    return MAX_WEIGHT * max(0.0, gini - GINI_FLOOR) / (1.0 - GINI_FLOOR)


def unsupervised_weights(ginis: np.ndarray) -> np.ndarray:
    """Weights of the unsupervised pieces (log f_r, negative ELBO, neighbour distance) from
    their in-sample Ginis G: together they weigh max G, shared in proportion to G^2.

    With a few labeled anomalies the Ginis are noisy, and two pieces often tie within the
    noise (on Letter the ELBO and the neighbour distance both sit near 0.75); taking only
    the best would then follow chance. Squares still give the clearly better piece most of
    the weight, and pieces the labels contradict (G = 0) none.
    """
    ginis = np.asarray(ginis, dtype=np.float64)
    squares = ginis**2
    total = squares.sum()
    return np.zeros_like(ginis) if total == 0 else ginis.max() * squares / total


@dataclass
class Branch:
    """One branch: its kind, cross-fitted Gini (2 AUROC - 1, floored at 0), weight, and
    the scorer fitted on all rows (None when the weight is 0: it would not count)."""

    kind: str
    gini: float
    scorer: DeviationScorer | BoostedTrees | None

    @property
    def weight(self) -> float:
        return branch_weight(self.gini)


@dataclass
class StackingPlan:
    """What cross-fitting decided before anything is fitted for good: each branch kind's
    cross-fit, and the rows to learn "normal" from (None: all rows). Empty: no branches."""

    cross_fits: dict[str, CrossFit] = field(default_factory=dict)
    reliable: np.ndarray | None = None

    def reliable_unlabeled(self, y: np.ndarray) -> np.ndarray | None:
        """The reliable mask over the unlabeled rows alone, in their order (None: all)."""
        return None if self.reliable is None else self.reliable[y == 0]

    def fit_branches(
        self, X: np.ndarray, y: np.ndarray, seed: int, device: torch.device
    ) -> list[Branch]:
        """Fit for good the branches that earn weight: the trees on the reliable rows (all
        rows where none were picked), the deviation network on all rows; the others are
        listed without a scorer."""
        branches = []
        for kind, cross in self.cross_fits.items():
            scorer = None
            if branch_weight(cross.gini) > 0:
                rows = slice(None)
                if kind == CLEANING_KIND and self.reliable is not None:
                    rows = self.reliable
                scorer = fit_branch(kind, X[rows], y[rows], seed, device)
            branches.append(Branch(kind, cross.gini, scorer))
        return branches


def plan_stacking(
    X: np.ndarray, y: np.ndarray, seed: int, device: torch.device, *, clean: bool = True
) -> StackingPlan:
    """Cross-fit every branch kind on scaled rows `X` and weak labels `y`, and (with
    `clean`) pick the reliable rows if the trees earn weight. No branches below two labeled
    anomalies or two unlabeled rows (one cannot be both trained on and held out)."""
    if int((y == 1).sum()) < 2 or int((y == 0).sum()) < 2:
        return StackingPlan()
    cross_fits = {kind: cross_fit(kind, X, y, seed, device) for kind in BRANCH_KINDS}
    trees = cross_fits[CLEANING_KIND]
    earned = clean and branch_weight(trees.gini) > 0
    reliable = reliable_rows(trees.scores, y) if earned else None
    return StackingPlan(cross_fits, reliable)


@dataclass
class CrossFit:
    """A branch kind's cross-fitted Gini and each row's score under the scorer fitted
    without that row's fold."""

    gini: float
    scores: np.ndarray


def cross_fit(kind: str, X: np.ndarray, y: np.ndarray, seed: int, device: torch.device) -> CrossFit:
    """Score each fold of held-out labeled anomalies and unlabeled rows with a scorer of
    `kind` fitted on the other folds (min(MAX_FOLDS, n anomalies) of each); the Gini pools
    each fold's anomalies ranked among that fold's unlabeled rows. Needs two anomalies."""
    anomalies, unlabeled = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(seed)
    n_folds = min(MAX_FOLDS, len(anomalies), len(unlabeled))
    held_anomalies = np.array_split(rng.permutation(anomalies), n_folds)
    held_unlabeled = np.array_split(rng.permutation(unlabeled), n_folds)
    scores, ranks = np.zeros(len(y)), []
    for k, (a_fold, u_fold) in enumerate(zip(held_anomalies, held_unlabeled, strict=True)):
        keep = np.ones(len(y), dtype=bool)
        keep[a_fold] = keep[u_fold] = False
        scorer = fit_branch(kind, X[keep], y[keep], seed + 1 + k, device)
        with torch.inference_mode():
            for rows in (a_fold, u_fold):
                scores[rows] = _score(scorer, X[rows], device)
        ranks.append(_share_below(scores[u_fold], scores[a_fold]))
    gini = max(0.0, 2.0 * float(np.mean(np.concatenate(ranks))) - 1.0)
    return CrossFit(gini, scores)


def reliable_rows(
    held_out: np.ndarray, y: np.ndarray, quantile: float = SPY_QUANTILE
) -> np.ndarray:
    """Mask of the labeled anomalies and of the unlabeled rows whose held-out score is
    below the `quantile` of the labeled anomalies' held-out scores: the rows that look
    normal to a scorer that never saw them. All rows if fewer than two unlabeled rows
    would be left."""
    anomalous = y == 1
    keep = anomalous | (held_out < np.quantile(held_out[anomalous], quantile))
    return keep if int((keep & ~anomalous).sum()) >= 2 else np.ones(len(y), dtype=bool)


def _score(scorer: DeviationScorer | BoostedTrees, X: np.ndarray, device) -> np.ndarray:
    rows = torch.as_tensor(X, dtype=torch.float32, device=device)
    return scorer.score(rows).double().cpu().numpy()


def _share_below(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per value, the share of `reference` below it (ties count half): its AUROC contribution."""
    ordered = np.sort(reference)
    below = np.searchsorted(ordered, values, side="left")
    not_above = np.searchsorted(ordered, values, side="right")
    return (below + not_above) / (2.0 * len(ordered))

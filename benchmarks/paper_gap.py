"""What stands between the default and the paper's reported AUROC on Letter and Satellite?

For each (dataset, seed) at 10% labeled this fits the default WVAD once and re-reads its
test scores with the branches' weights scaled by 0 (no branches), 0.5, 1 (the default), 2
and 3; with each branch weighed only on its margin over the unsupervised pieces (its
weight's floor raised from GINI_FLOOR to the best unsupervised piece's in-sample Gini);
and with single parts of the score: the score estimator ("head") alone, and the
unsupervised pieces alone (log f_r, negative ELBO, neighbour distance, at the default's
weights). As a ceiling it also fits the branches' boosted trees on every training row
with its true label: what ten times the labels would give. It prints the rule table of
`rule_study` (paper's three tables, the rest, mean ranks among the peers) and each rule's
mean test AUROC per table of the paper's three.

    python benchmarks/paper_gap.py --seeds 0 1 2 3 4 --jobs 2 \
        --peers docs/results/paper docs/results/others
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad.branches import BRANCH_KINDS, BoostedTrees
from wvad.stacking import GINI_FLOOR, MAX_WEIGHT

sys.path.insert(0, str(Path(__file__).parent))
from rule_study import PAPER, default_fit, fused_columns, run_study

SCALES = (0.0, 0.5, 1.0, 2.0, 3.0)
ORACLE = "ceiling: trees on all true labels"
MARGIN = "branches on their margin over the unsupervised pieces"


def one_cell(name: str, seed: int) -> dict[str, tuple[float, float]]:
    split, model = default_fit(name, seed)
    g = fused_columns(model, split.X_test)
    names = list(model.score_weights())
    weights = model.fusion_weights_
    is_branch = np.array([n in BRANCH_KINDS for n in names])
    is_head = np.array([n == "head" for n in names])

    def measured(scores: np.ndarray) -> tuple[float, float]:
        return roc_auc_score(split.y_test, scores), average_precision_score(split.y_test, scores)

    out = {}
    for scale in SCALES:
        out[f"branches x{scale:g}"] = measured(g @ np.where(is_branch, scale * weights, weights))
    # the unsupervised pieces together weigh (1 - head weight) * their best in-sample Gini
    unsupervised = ~(is_branch | is_head)
    best = weights[unsupervised].sum() / (1.0 - weights[is_head].sum())
    floor = max(GINI_FLOOR, best)
    margin = weights.copy()
    for i in np.flatnonzero(is_branch):
        gini = model.branch_ginis_[names[i]]
        margin[i] = MAX_WEIGHT * max(0.0, gini - floor) / (1.0 - floor) if floor < 1 else 0.0
    out[MARGIN] = measured(g @ margin)
    out["head alone"] = measured(g[:, is_head].sum(axis=1))
    out["unsupervised pieces alone"] = measured(g @ np.where(unsupervised, weights, 0.0))
    X_train, X_test = model._scale(split.X_train), model._scale(split.X_test)
    trees = BoostedTrees.fit(X_train, split.y_train, seed, model.device_)
    out[ORACLE] = measured(trees.score_numpy(X_test))
    return out


if __name__ == "__main__":
    means = run_study(one_cell, __doc__.splitlines()[0])
    paper = [name for name in means if name in PAPER]
    print()
    print("| rule | " + " | ".join(paper) + " |")
    print("|---|" + "---|" * len(paper))
    for rule in means[paper[0]] if paper else []:
        print(f"| {rule} | " + " | ".join(f"{means[n][rule][0]:.3f}" for n in paper) + " |")

"""Which branches should learn "normal" from the reliable unlabeled rows only?

Some unlabeled rows are anomalies nobody labeled. For each (dataset, seed) at 10% labeled
this fits the default WVAD (whose score estimator already learns from the reliable rows
where the trees earn weight), cross-fits both branches (`wvad.stacking.cross_fit`) and
fits each branch again on all rows or only on the labeled anomalies and the unlabeled rows
whose held-out score stays below a quantile of the held-out anomalies' scores
(`wvad.stacking.reliable_rows`, here from each branch's own held-out scores). Each branch
keeps the weight its cross-fitted Gini earns; the mixture's pieces keep the default's
weights. It prints mean test AUROC / AUPRC per rule over the paper's three tables and over
the rest, with each rule's mean rank among the peers of `wvad bench` results folders.

    python benchmarks/tree_cleaning.py --seeds 0 1 2 3 4 --jobs 2 \
        --peers docs/results/paper docs/results/others
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad.branches import fit_branch
from wvad.fusion import fit_quantiles, gaussianize, robust_standardize
from wvad.stacking import branch_weight, cross_fit, reliable_rows

sys.path.insert(0, str(Path(__file__).parent))
from rule_study import default_fit, fused_columns, run_study

#: rule -> the quantile each branch is cleaned at (None: all rows; no entry: left out)
RULES = {
    "no branches": {},
    "both on all rows": {"deviation": None, "boosting": None},
    "trees on reliable rows, quantile 0.1": {"deviation": None, "boosting": 0.1},
    "trees on reliable rows, quantile 0.25 (default)": {"deviation": None, "boosting": 0.25},
    "both on reliable rows, quantile 0.25": {"deviation": 0.25, "boosting": 0.25},
}


def one_cell(name: str, seed: int) -> dict[str, tuple[float, float]]:
    split, model = default_fit(name, seed)
    y_weak = split.y_train_weak
    device, unlabeled = model.device_, y_weak == 0
    X_train, X_test = model._scale(split.X_train), model._scale(split.X_test)
    # the mixture's four pieces (head, log f_r, negative ELBO, neighbour distance)
    mixture = fused_columns(model, split.X_test)[:, :4] @ model.fusion_weights_[:4]
    cross = {k: cross_fit(k, X_train, y_weak, seed, device) for k in ("deviation", "boosting")}
    cache = {}

    def branch(kind: str, quantile: float | None) -> np.ndarray:
        """The branch's weighted, Gaussianised test scores when fitted on the chosen rows."""
        weight = branch_weight(cross[kind].gini)
        if weight == 0:
            return np.zeros(len(X_test))
        if (kind, quantile) not in cache:
            rows = slice(None)
            if quantile is not None:
                rows = reliable_rows(cross[kind].scores, y_weak, quantile)
            scorer = fit_branch(kind, X_train[rows], y_weak[rows], seed, device)
            with torch.inference_mode():
                train, test = (
                    scorer.score(torch.as_tensor(part, dtype=torch.float32)).double().numpy()
                    for part in (X_train[unlabeled], X_test)
                )
            center, scale = robust_standardize(train[:, None])
            quantiles = fit_quantiles((train[:, None] - center) / scale)
            cache[kind, quantile] = gaussianize((test[:, None] - center) / scale, quantiles)[:, 0]
        return weight * cache[kind, quantile]

    out = {}
    for rule, cleaning in RULES.items():
        scores = mixture + sum(branch(k, q) for k, q in cleaning.items())
        out[rule] = (
            roc_auc_score(split.y_test, scores),
            average_precision_score(split.y_test, scores),
        )
    return out


if __name__ == "__main__":
    run_study(one_cell, __doc__.splitlines()[0])

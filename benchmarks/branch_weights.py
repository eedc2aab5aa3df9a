"""How much should the "stacked" score trust its raw-feature branches? Compare rules.

For each (dataset, seed) at 10% labeled this fits WVAD with score_mode="fusion" (its
mixture and score estimator are exactly those of the "stacked" default with the same
seed), each branch of `wvad.branches` on all training rows, and each branch's
cross-fitted Gini (`wvad.stacking`). It then scores the test rows with the fusion plus
the chosen branches, each at weight max_weight * max(0, gini - floor) / (1 - floor), for
several floors and maximum weights, and prints mean test AUROC / AUPRC per rule over the
paper's three tables and over the rest, with each rule's mean rank among the peers of
`wvad bench` results folders.

    python benchmarks/branch_weights.py --seeds 0 1 2 3 4 --jobs 2 \
        --peers docs/results/paper docs/results/others
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad.branches import BRANCH_KINDS, fit_branch
from wvad.data import default_data_dir, load_dataset
from wvad.fusion import fit_quantiles, gaussianize, robust_standardize
from wvad.protocol import weak_split
from wvad.stacking import cross_fit

sys.path.insert(0, str(Path(__file__).parent))
from rule_study import run_study

KINDS = tuple(BRANCH_KINDS)
#: (branches used, floor, max weight); no branches is the fusion alone.
RULES = [((), 0.0, 0.0)]
RULES += [(kinds, 0.5, 2.0) for kinds in ((k,) for k in KINDS)]
RULES += [(KINDS, f, w) for f in (0.0, 0.3, 0.5, 0.6, 0.7) for w in (1.0, 2.0, 4.0)]


def rule_name(kinds: tuple[str, ...], floor: float, weight: float) -> str:
    return "+".join(kinds) + f" f{floor:g} w{weight:g}" if kinds else "fusion"


def one_cell(name: str, seed: int) -> dict[str, tuple[float, float]]:
    torch.set_num_threads(1)
    X, y = load_dataset(name, data_dir=default_data_dir())
    split = weak_split(X, y, labeled_ratio=0.1, seed=seed)
    model = WVAD(score_mode="fusion", random_state=seed).fit(split.X_train, split.y_train_weak)
    y_weak, device = split.y_train_weak, model.device_
    gini = {k: cross_fit(k, split.X_train, y_weak, seed, device).gini for k in KINDS}
    scorers = [fit_branch(k, split.X_train, y_weak, seed, device) for k in KINDS]

    def evidence(rows: np.ndarray) -> np.ndarray:
        chunks = model._batched(rows, model._evidence)
        with torch.inference_mode():
            tensor = torch.as_tensor(rows, dtype=torch.float32)
            branches = [s.score(tensor).double().numpy() for s in scorers]
        return np.column_stack([np.concatenate(chunks), *branches])

    train, test = evidence(split.X_train), evidence(split.X_test)
    center, scale = robust_standardize(train[y_weak == 0])
    quantiles = fit_quantiles(((train - center) / scale)[y_weak == 0])
    g_test = gaussianize((test - center) / scale, quantiles)
    out = {}
    for kinds, floor, max_weight in RULES:
        scores = g_test[:, :3] @ model.fusion_weights_
        for k in kinds:
            weight = max_weight * max(0.0, gini[k] - floor) / (1.0 - floor)
            scores = scores + weight * g_test[:, 3 + KINDS.index(k)]
        out[rule_name(kinds, floor, max_weight)] = (
            roc_auc_score(split.y_test, scores),
            average_precision_score(split.y_test, scores),
        )
    return out


if __name__ == "__main__":
    run_study(one_cell, __doc__.splitlines()[0])

"""Which unsupervised evidence should the "stacked" score read, and how should it be shared?

For each (dataset, seed) at 10% labeled this fits the default WVAD once and re-reads its
test scores under several rules for the unsupervised pieces: the mixture's own (log f_r,
negative ELBO) alone or with the neighbour distance for k = 5, 10 or 20, their weight going
to the best piece ("best", the "fusion" rule) or shared by Gini^p ("p1", "p2": the default
shares by squares). The head and the fitted branches keep the default's weights. It prints
mean test AUROC / AUPRC per rule over the paper's three tables and over the rest, with each
rule's mean rank among the peers of `wvad bench` results folders.

    python benchmarks/unsupervised_pieces.py --seeds 0 1 2 3 4 --jobs 2 \
        --peers docs/results/paper docs/results/others
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad.fusion import fit_quantiles, gaussianize, robust_standardize
from wvad.neighbours import NeighbourDistance

sys.path.insert(0, str(Path(__file__).parent))
from rule_study import default_fit, run_study

NEIGHBOURS = (5, 10, 20)
#: (neighbour k or None, how the unsupervised weight is shared)
RULES = [(None, "best"), (None, "p2")]
RULES += [(k, share) for k in NEIGHBOURS for share in ("best", "p1", "p2")]


def rule_name(k: int | None, share: str) -> str:
    return ("mixture" if k is None else f"mixture + neighbours k={k}") + f", {share}"


def shared(ginis: np.ndarray, share: str) -> np.ndarray:
    """The unsupervised pieces' weights (before the head's share is taken off)."""
    if share == "best":
        out = np.zeros_like(ginis)
        out[int(np.argmax(ginis))] = ginis.max()
        return out
    powers = ginis ** {"p1": 1, "p2": 2}[share]
    return np.zeros_like(ginis) if powers.sum() == 0 else ginis.max() * powers / powers.sum()


def _gini(y: np.ndarray, s: np.ndarray) -> float:
    return max(0.0, 2.0 * roc_auc_score(y, s) - 1.0)


def one_cell(name: str, seed: int) -> dict[str, tuple[float, float]]:
    split, model = default_fit(name, seed)
    y_weak = split.y_train_weak
    n_branches = len(model.branches_)
    # evidence: head, log f_r, negative ELBO, neighbours k=5, branches
    train = np.concatenate(model._batched(split.X_train, model._evidence))
    test = np.concatenate(model._batched(split.X_test, model._evidence))
    unlabeled = model._scale(split.X_train[y_weak == 0])
    rows_train = torch.as_tensor(model._scale(split.X_train), dtype=torch.float32)
    rows_test = torch.as_tensor(model._scale(split.X_test), dtype=torch.float32)
    columns_train, columns_test = {}, {}
    for k in NEIGHBOURS:
        piece, kept = NeighbourDistance.fit(unlabeled, k, seed, model.device_)
        position = np.full(len(y_weak), -1, dtype=np.int64)
        position[y_weak == 0] = kept
        with torch.inference_mode():
            columns_train[k] = piece.leave_one_out(rows_train, position).double().numpy()
            columns_test[k] = piece.score(rows_test).double().numpy()
    fixed = [0, 1, 2, *range(4, 4 + n_branches)]  # all but the default's own neighbours
    train = np.column_stack([train[:, fixed], *columns_train.values()])
    test = np.column_stack([test[:, fixed], *columns_test.values()])
    center, scale = robust_standardize(train[y_weak == 0])
    quantiles = fit_quantiles(((train - center) / scale)[y_weak == 0])
    g_train = gaussianize((train - center) / scale, quantiles)
    g_test = gaussianize((test - center) / scale, quantiles)
    head = model.fusion_weights_[0]
    branch_weights = model.fusion_weights_[4:]
    base = head * g_test[:, 0] + g_test[:, 3 : 3 + n_branches] @ branch_weights
    out = {}
    for k, share in RULES:
        cols = [1, 2] + ([] if k is None else [3 + n_branches + NEIGHBOURS.index(k)])
        ginis = np.array([_gini(y_weak, g_train[:, c]) for c in cols])
        scores = base + (1.0 - head) * g_test[:, cols] @ shared(ginis, share)
        out[rule_name(k, share)] = (
            roc_auc_score(split.y_test, scores),
            average_precision_score(split.y_test, scores),
        )
    alone = g_test[:, 3 + n_branches]
    out["neighbours k=5 alone"] = (
        roc_auc_score(split.y_test, alone),
        average_precision_score(split.y_test, alone),
    )
    return out


if __name__ == "__main__":
    means = run_study(one_cell, __doc__.splitlines()[0])
    if "letter" in means:
        print("\nletter:", {r: f"{v[0]:.3f}/{v[1]:.3f}" for r, v in means["letter"].items()})

"""Why the top-score loop can leave a worse model: the weights per round, on one table.

Runs the simulated analyst's "top" loop (`benchmarks/labelling_loop.py`) by hand on one
table and seed and prints, per round, the labels so far, the test AUROC and each piece's
weight and test AUROC alone, then refits the final labels without the known normals.
With `--thin M ...` it also refits them thinned: in the order they were given, a label is
kept unless it lies within M times the unlabeled rows' typical distance to their fifth
nearest unlabeled row of a label already kept (do labels of one kind, sitting together,
make the score worse than fewer of them?).

    python benchmarks/loop_weights.py --dataset cardio --seed 0
    python benchmarks/loop_weights.py --dataset cardio --seed 1 --start 3 --thin 1 2 4
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.protocol import weak_split


def _report(tag: str, model: WVAD, split, y_weak, normal) -> None:
    auroc = roc_auc_score(split.y_test, model.decision_function(split.X_test))
    alone = {
        name: roc_auc_score(split.y_test, values)
        for name, values in model.score_.evidence(
            model._rows(model._validate_for_scoring(split.X_test))
        ).items()
    }
    pieces = ", ".join(
        f"{k} {v:.2f} ({alone[k]:.2f})" for k, v in model.score_weights().items() if k in alone
    )
    print(f"{tag}: {int(y_weak.sum())} labels, {int(normal.sum())} normals, "
          f"AUROC {auroc:.3f}; weight (test AUROC alone): {pieces}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cardio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--thin", nargs="*", type=float, default=[])
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = load_dataset(args.dataset, data_dir=default_data_dir())
    split = weak_split(X, y, n_labeled=args.start, seed=args.seed)
    y_weak, asked = split.y_train_weak.copy(), split.y_train_weak == 1
    normal = np.zeros(len(y_weak), dtype=bool)
    order = list(np.flatnonzero(y_weak == 1))  # the labels in the order they were given
    for r in range(args.rounds + 1):
        model = WVAD(random_state=args.seed).fit(
            split.X_train, y_weak, known_normal=normal if normal.any() else None
        )
        _report(f"round {r}", model, split, y_weak, normal)
        if r == args.rounds:
            break
        rows = model.suggest(split.X_train, args.batch, exclude=asked, strategy="top").row
        truth = split.y_train[rows.to_numpy()]
        asked[rows] = True
        y_weak[rows[truth == 1]] = 1
        normal[rows[truth == 0]] = True
        order += list(rows[truth == 1])
    no_normals = WVAD(random_state=args.seed).fit(split.X_train, y_weak)
    _report("the last labels, no known normals", no_normals, split, y_weak, normal * False)
    scale = _typical_spacing(split.X_train[y_weak == 0], args.seed)
    for factor in args.thin:
        thinned = np.zeros_like(y_weak)
        thinned[_thinned(split.X_train, order, factor * scale)] = 1
        model = WVAD(random_state=args.seed).fit(split.X_train, thinned)
        _report(
            f"the last labels thinned at {factor:g} x {scale:.3f}",
            model,
            split,
            thinned,
            normal * False,
        )


def _typical_spacing(X_unlabeled: np.ndarray, seed: int, sample: int = 2000) -> float:
    """The median distance from an unlabeled row to its fifth nearest unlabeled row."""
    rows = np.random.default_rng(seed).permutation(len(X_unlabeled))[:sample]
    distances, _ = NearestNeighbors(n_neighbors=6).fit(X_unlabeled).kneighbors(X_unlabeled[rows])
    return float(np.median(distances[:, 5]))


def _thinned(X: np.ndarray, order: list[int], radius: float) -> list[int]:
    """Greedily, in `order`, the labels farther than `radius` from every label kept."""
    kept: list[int] = []
    for row in order:
        if not kept or np.linalg.norm(X[kept] - X[row], axis=1).min() > radius:
            kept.append(row)
    return kept


if __name__ == "__main__":
    main()

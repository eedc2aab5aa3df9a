"""Shared frame of the fused-score rule studies (`branch_weights.py`,
`unsupervised_pieces.py`): fit once per (table, seed) at 10% labeled, score the test rows
under each rule, and print mean AUROC / AUPRC per rule over the paper's three tables and
over the rest, with each rule's mean rank among the peers of `wvad bench` folders."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.fusion import gaussianize
from wvad.protocol import WeakSplit, weak_split

PAPER = ("letter", "ionosphere", "satellite")
OTHERS = ("annthyroid", "breastw", "cardio", "fault", "optdigits", "pendigits", "pima")
OTHERS += ("stamps", "thyroid", "vertebral", "vowels", "wilt", "yeast")
PEERS = ("devnet", "deepsad", "prenet", "feawad", "rosas", "xgbod", "iforest")

#: one_cell(dataset, seed) -> {rule name: (test AUROC, test AUPRC)}
CellFn = Callable[[str, int], dict[str, tuple[float, float]]]


def default_fit(name: str, seed: int) -> tuple[WeakSplit, WVAD]:
    """The 10%-labeled weak split of table `name` for `seed`, and the default WVAD fitted
    on it with one torch thread (the studies run cells in parallel)."""
    torch.set_num_threads(1)
    X, y = load_dataset(name, data_dir=default_data_dir())
    split = weak_split(X, y, labeled_ratio=0.1, seed=seed)
    return split, WVAD(random_state=seed).fit(split.X_train, split.y_train_weak)


def fused_columns(model: WVAD, X: np.ndarray) -> np.ndarray:
    """Each piece of a fitted model's evidence on rows `X`, on the Gaussian scale its fused
    score weighs (columns in `model.score_weights()` order)."""
    evidence = np.concatenate(model._batched(X, model._evidence))
    z = (evidence - model.fusion_center_) / model.fusion_scale_
    return gaussianize(z, model.fusion_quantiles_)


def peer_means(folders: list[Path]) -> dict[tuple[str, str], np.ndarray]:
    """Mean (AUROC, AUPRC) per (dataset, peer) at 10% labeled in bench result folders."""
    rows = defaultdict(list)
    for folder in folders:
        for line in (folder / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["ratio"] == 0.1 and r["model"] in PEERS and r["status"] == "ok":
                rows[(r["dataset"], r["model"])].append((r["auroc"], r["auprc"]))
    return {k: np.mean(v, axis=0) for k, v in rows.items()}


def run_study(one_cell: CellFn, description: str) -> dict[str, dict[str, np.ndarray]]:
    """Parse the common options, run `one_cell` over tables x seeds, print the rule table
    and return the per-table means (table -> rule -> (AUROC, AUPRC))."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--datasets", nargs="+", default=[*PAPER, *OTHERS])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--peers", nargs="*", type=Path, default=[], help="bench folders")
    args = parser.parse_args()
    cells = [(d, s) for d in args.datasets for s in args.seeds]
    results = Parallel(n_jobs=args.jobs)(delayed(one_cell)(d, s) for d, s in cells)
    means = {}
    for name in args.datasets:
        mine = [r for (d, _), r in zip(cells, results, strict=True) if d == name]
        means[name] = {rule: np.mean([r[rule] for r in mine], axis=0) for rule in mine[0]}
    peers = peer_means(args.peers)
    paper = [d for d in args.datasets if d in PAPER]
    others = [d for d in args.datasets if d not in PAPER]
    groups = {"paper's 3": paper, f"other {len(others)}": others}
    print("| rule | group | mean AUROC | mean AUPRC | rank AUROC | rank AUPRC |")
    print("|---|---|---|---|---|---|")
    for rule in means[args.datasets[0]]:
        for group, names in groups.items():
            if not names:
                continue
            m = np.mean([means[n][rule] for n in names], axis=0)
            ranks = ["-", "-"]
            if peers:
                for i in (0, 1):
                    rank = [
                        1 + sum(peers[(n, p)][i] > means[n][rule][i] for p in PEERS) for n in names
                    ]
                    ranks[i] = f"{np.mean(rank):.2f}"
            print(f"| {rule} | {group} | {m[0]:.3f} | {m[1]:.3f} | {ranks[0]} | {ranks[1]} |")
    return means

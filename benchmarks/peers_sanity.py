"""Fairness check of the peers on real ADBench data under the weak-supervision protocol.

Protocol per (dataset, seed): stratified 70/30 train/test split (random_state=seed),
MinMaxScaler fit on the training part, int(0.1 * n_train_anomalies) training anomalies
labeled 1 at random (numpy default_rng(seed)), every other training row 0. Each peer is
fit with its paper defaults (random_state=seed, CPU, one torch thread) and scored by
AUROC on the test part.

    python benchmarks/peers_sanity.py --data-dir /work/shared/datasets \
        --datasets 18_Ionosphere 20_letter --seeds 0 1
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from wvad.peers import PEERS


def weak_split(X: np.ndarray, y: np.ndarray, seed: int, labeled_ratio: float = 0.1):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    scaler = MinMaxScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    anomalies = np.flatnonzero(y_tr == 1)
    n_labeled = max(1, int(labeled_ratio * anomalies.size))
    y_weak = np.zeros_like(y_tr)
    y_weak[np.random.default_rng(seed).choice(anomalies, n_labeled, replace=False)] = 1
    return X_tr, y_weak, X_te, y_te


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("WVAD_DATA", "datasets"))
    parser.add_argument("--datasets", nargs="+", default=["18_Ionosphere", "20_letter"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--peers", nargs="+", default=list(PEERS))
    args = parser.parse_args()
    torch.set_num_threads(1)

    results: dict[tuple[str, str], list[float]] = {}
    print("dataset,seed,peer,n_train,n_labeled,auroc,fit_seconds", flush=True)
    for name in args.datasets:
        data = np.load(Path(args.data_dir) / f"{name}.npz")
        X, y = data["X"].astype(np.float64), data["y"].astype(int)
        for seed in args.seeds:
            X_tr, y_weak, X_te, y_te = weak_split(X, y, seed)
            for peer in args.peers:
                start = time.process_time()
                model = PEERS[peer](random_state=seed, device="cpu").fit(X_tr, y_weak)
                auroc = roc_auc_score(y_te, model.decision_function(X_te))
                seconds = time.process_time() - start
                results.setdefault((name, peer), []).append(auroc)
                print(
                    f"{name},{seed},{peer},{len(X_tr)},{int(y_weak.sum())},{auroc:.4f},"
                    f"{seconds:.1f}",
                    flush=True,
                )

    print("\nmean AUROC over seeds")
    print("| peer | " + " | ".join(args.datasets) + " |")
    print("|---|" + "---|" * len(args.datasets))
    for peer in args.peers:
        cells = [f"{np.mean(results[(d, peer)]):.3f}" for d in args.datasets]
        print(f"| {peer} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

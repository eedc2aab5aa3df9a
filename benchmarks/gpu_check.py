"""Fit and score WVAD on CUDA and on the CPU, check they agree, and report the speed-up.

Exits with status 0 and a message when torch sees no GPU, so it can run anywhere; with a
GPU it fails (status 1) when the CUDA scores do not rank the test rows like the CPU's.

    python benchmarks/gpu_check.py --dataset satellite
    python benchmarks/gpu_check.py --rows 200000      # synthetic, to see the scaling regime

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.datasets import make_multimodal
from wvad.protocol import weak_split

#: How far the CUDA fit's test AUROC may fall below the CPU fit's. CUDA draws its own random
#: numbers, so the two fits differ like two seeds do, not like two roundings.
MAX_AUROC_DROP = 0.03


def timed_fit_and_score(device: str, split, seed: int) -> tuple[float, float, np.ndarray]:
    model = WVAD(device=device, random_state=seed)
    start = time.perf_counter()
    model.fit(split.X_train, split.y_train_weak)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    scores = model.decision_function(split.X_test)
    return fit, time.perf_counter() - start, scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="satellite")
    parser.add_argument("--rows", type=int, default=None, help="synthetic rows instead")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device visible to torch: nothing to check")
        return 0
    if args.rows is None:
        X, y = load_dataset(args.dataset, data_dir=default_data_dir())
        source = args.dataset
    else:
        X, y, _ = make_multimodal(n_samples=args.rows, n_features=36, random_state=args.seed)
        source = f"make_multimodal({args.rows} x 36)"
    split = weak_split(X, y, labeled_ratio=0.1, seed=args.seed)
    torch.set_num_threads(1)
    results = {device: timed_fit_and_score(device, split, args.seed) for device in ("cpu", "cuda")}
    print(f"{source}, seed {args.seed}, {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| device | fit seconds | score seconds | test AUROC |")
    print("|---|---|---|---|")
    auroc = {}
    for device, (fit, score, scores) in results.items():
        auroc[device] = roc_auc_score(split.y_test, scores)
        print(f"| {device} | {fit:.2f} | {score:.3f} | {auroc[device]:.3f} |")
    cpu, cuda = results["cpu"], results["cuda"]
    print(f"fit speed-up {cpu[0] / cuda[0]:.2f}x, scoring speed-up {cpu[1] / cuda[1]:.2f}x")
    rho = spearmanr(cpu[2], cuda[2])[0]
    print(f"Spearman rank correlation of CPU and CUDA test scores: {rho:.3f}")
    if not auroc["cuda"] >= auroc["cpu"] - MAX_AUROC_DROP:
        print(f"FAIL: CUDA AUROC more than {MAX_AUROC_DROP} below the CPU's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

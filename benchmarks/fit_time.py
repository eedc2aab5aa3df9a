"""Fit time of WVAD (default and paper preset) beside the in-project peers, in one run.

Every model is fitted on the same weak split (ADBench protocol, 10% of the training
anomalies labeled) with one torch thread, in turn, so the ratios compare like with like.
Prints a markdown table: mean fit seconds over the seeds, the ratio to the reference model
(DeepSAD unless told otherwise) and test AUROC, which shows that speed did not cost accuracy.

    python benchmarks/fit_time.py --dataset satellite --seeds 0 1 2

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from wvad.bench.models import check_model_names, make_model
from wvad.data import default_data_dir, load_dataset
from wvad.protocol import weak_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="satellite")
    parser.add_argument("--models", nargs="+", default=["wvad", "wvad-paper", "deepsad", "xgbod"])
    parser.add_argument("--reference", default="deepsad")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ratio", type=float, default=0.1)
    args = parser.parse_args()
    names = check_model_names(args.models)
    torch.set_num_threads(1)
    X, y = load_dataset(args.dataset, data_dir=default_data_dir())
    warm = weak_split(X, y, labeled_ratio=args.ratio, seed=0)
    for name in names:  # first-call costs (lazy imports, kernel set-up) are not a fit's
        make_model(name, random_state=0).fit(warm.X_train[:300], warm.y_train_weak[:300])
    seconds = {name: [] for name in names}
    auroc = {name: [] for name in names}
    for seed in args.seeds:
        split = weak_split(X, y, labeled_ratio=args.ratio, seed=seed)
        for name in names:
            model = make_model(name, random_state=seed)
            start = time.perf_counter()
            model.fit(split.X_train, split.y_train_weak)
            seconds[name].append(time.perf_counter() - start)
            auroc[name].append(roc_auc_score(split.y_test, model.decision_function(split.X_test)))
            print(f"# seed {seed} {name}: {seconds[name][-1]:.2f} s", flush=True)
    print(
        f"\n{args.dataset}, ratio {args.ratio}, seeds {args.seeds}, one torch thread, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}\n"
    )
    print(f"| model | fit seconds (mean ± std) | ratio to {args.reference} | test AUROC |")
    print("|---|---|---|---|")
    ref = np.mean(seconds[args.reference]) if args.reference in seconds else np.nan
    for name in names:
        mean, std = np.mean(seconds[name]), np.std(seconds[name])
        print(
            f"| {name} | {mean:.2f} ± {std:.2f} | {mean / ref:.2f} | {np.mean(auroc[name]):.3f} |"
        )


if __name__ == "__main__":
    main()

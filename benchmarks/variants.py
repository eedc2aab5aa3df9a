"""Compare WVAD configurations quickly under the ADBench weak-supervision protocol.

Each variant is a name and WVAD keyword arguments given as JSON; the script prints mean test
AUROC and AUPRC over the seeds, one line per (dataset, variant). Used for the exploratory
numbers in docs/method.md; the full comparison with the peers is `wvad bench`.

    python benchmarks/variants.py --datasets ionosphere letter --seeds 0 1 2 \
        --variants '{"paper": {"preset": "paper"}, "default": {}}'
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.protocol import weak_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--variants", required=True, help="JSON: name -> WVAD kwargs")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ratio", type=float, default=0.1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    variants = json.loads(args.variants)
    for name in args.datasets:
        X, y = load_dataset(name, data_dir=default_data_dir())
        for label, kwargs in variants.items():
            start, metrics = time.perf_counter(), []
            for seed in args.seeds:
                split = weak_split(X, y, labeled_ratio=args.ratio, seed=seed)
                model = WVAD(random_state=seed, **kwargs).fit(split.X_train, split.y_train_weak)
                scores = model.decision_function(split.X_test)
                metrics.append(
                    (
                        roc_auc_score(split.y_test, scores),
                        average_precision_score(split.y_test, scores),
                    )
                )
            auroc, auprc = np.mean(metrics, axis=0)
            print(
                f"{name:12s} ratio={args.ratio} {label:20s} auroc={auroc:.3f} auprc={auprc:.3f} "
                f"seconds={time.perf_counter() - start:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()

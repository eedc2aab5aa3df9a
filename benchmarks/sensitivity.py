"""Sensitivity of the default WVAD to its main settings, the label ratio and label noise.

One factor moves at a time from the default configuration (10% labeled, no noise): the
number of mixture components K (including "auto"), the weight lambda of the score
estimator's cross-entropy in e3, the joint epochs e3, the latent size, the share of training
anomalies labeled, and the share of labels flipped to normal rows. Every cell is a fit on
the ADBench weak split of one dataset and seed; test AUROC and AUPRC are kept in
`OUT/results.jsonl` (one JSON row per cell, appended, so an interrupted run resumes), and
`OUT/<factor>.png` plots mean test AUROC per dataset against each factor. Where a ratio
labels no anomaly at all (Letter at 1%: int(0.01 * 70) = 0) the cell is recorded as such
and left out of the means.

    python benchmarks/sensitivity.py --out docs/results/sensitivity --jobs 2

Results are read in docs/sensitivity.md.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

FACTORS: dict[str, list] = {
    "n_clusters": [1, 2, 3, 5, 8, 10, "auto"],
    "joint_lambda": [0.01, 0.1, 1.0, 10.0],
    "joint_epochs": [50, 100, 200, 400, 800],
    "latent_dim": [2, 4, 8, 16, 32],
    "labeled_ratio": [0.01, 0.05, 0.1, 0.2],
    "label_noise": [0.0, 0.05, 0.1, 0.2],
}
#: Factors of the split rather than of the estimator.
SPLIT_FACTORS = ("labeled_ratio", "label_noise")


def run_cell(dataset: str, factor: str, value, seed: int, data_dir: str | None) -> dict:
    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    from wvad import WVAD
    from wvad.data import load_dataset
    from wvad.protocol import weak_split

    torch.set_num_threads(1)
    X, y = load_dataset(dataset, data_dir=data_dir)
    split_args = {"labeled_ratio": 0.1, "label_noise": 0.0}
    params: dict = {}
    if factor in SPLIT_FACTORS:
        split_args[factor] = value
    else:
        params[factor] = value
    row = {"dataset": dataset, "factor": factor, "value": value, "seed": seed}
    try:
        split = weak_split(X, y, seed=seed, **split_args)
    except ValueError as exc:  # the ratio labels no anomaly on this table
        return {**row, "n_labeled": 0, "error": str(exc), "auroc": None, "auprc": None}
    model = WVAD(random_state=seed, **params)
    model.fit(split.X_train, split.y_train_weak)
    scores = model.decision_function(split.X_test)
    return {
        **row,
        "n_labeled": int(split.y_train_weak.sum()),
        "n_clusters_": int(model.n_clusters_),
        "auroc": float(roc_auc_score(split.y_test, scores)),
        "auprc": float(average_precision_score(split.y_test, scores)),
    }


def main() -> None:
    from joblib import Parallel, delayed

    from wvad.data import default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["letter", "ionosphere", "satellite"])
    parser.add_argument("--factors", nargs="+", default=list(FACTORS), choices=list(FACTORS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data_dir = str(default_data_dir())
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    rows = [json.loads(line) for line in results.open()] if results.exists() else []
    done = {(r["dataset"], r["factor"], json.dumps(r["value"]), r["seed"]) for r in rows}
    todo = [
        (d, f, v, s)
        for f in args.factors
        for v in FACTORS[f]
        for d in args.datasets
        for s in args.seeds
        if (d, f, json.dumps(v), s) not in done
    ]
    cells = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(run_cell)(d, f, v, s, data_dir) for d, f, v, s in todo
    )
    with results.open("a") as out:
        for row in cells:
            out.write(json.dumps(row) + "\n")
            out.flush()
            rows.append(row)
    summarise(rows, args)


def summarise(rows: list[dict], args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for factor in args.factors:
        values = FACTORS[factor]
        table: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            if r["factor"] == factor and r["dataset"] in args.datasets:
                table[r["dataset"]][json.dumps(r["value"])].append(r)
        print(f"\n{factor}: mean test AUROC / AUPRC over seeds {args.seeds}\n")
        print("| dataset | " + " | ".join(str(v) for v in values) + " |")
        print("| :-- | " + " | ".join("--:" for _ in values) + " |")
        fig, ax = plt.subplots(figsize=(4.8, 3.4))
        for dataset in args.datasets:
            cells = [table[dataset].get(json.dumps(v), []) for v in values]
            cells = [[c for c in cell if c["auroc"] is not None] for cell in cells]
            roc = [np.mean([c["auroc"] for c in cell]) if cell else np.nan for cell in cells]
            prc = [np.mean([c["auprc"] for c in cell]) if cell else np.nan for cell in cells]
            print(
                f"| {dataset} | "
                + " | ".join(f"{a:.3f} / {p:.3f}" for a, p in zip(roc, prc, strict=True))
                + " |"
            )
            ax.plot(range(len(values)), roc, "o-", label=dataset)
        ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set(xlabel=factor, ylabel="test AUROC", title=f"WVAD default: {factor}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.out / f"{factor}.png", dpi=100)
        plt.close(fig)


if __name__ == "__main__":
    main()

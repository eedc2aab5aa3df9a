"""How much of the default's seed-to-seed spread is its own randomness, and how much the
draw of split and labels.

ADBench's protocol ties the two: seed s draws the split and the labeled anomalies and
seeds the model. Here each split (with its labels) is fitted with several model seeds, so
the spread splits in two: the standard deviation of test AUROC over model seeds on one
split (the fit's own randomness), and over the splits of the per-split means (what the
labels drawn make of the default):

    python benchmarks/seed_spread.py --datasets thyroid fault yeast --labels 3 \\
        --splits 3 --model-seeds 4 --out runs/seed_spread.jsonl

Rows are appended to --out (one per fit, with the score weights), and a fit already there
is not repeated; the summary is printed from the file.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad.bench.runner import _default_loader
from wvad.protocol import weak_split
from wvad.runtime import one_torch_thread


def fit_cells(args: argparse.Namespace, out: Path) -> None:
    done = {(r["dataset"], r["labels"], r["split"], r["model_seed"]) for r in _rows(out)}
    for name in args.datasets:
        X, y = _default_loader(name)
        for split in range(args.splits):
            data = weak_split(X, y, n_labeled=args.labels, seed=split)
            for model_seed in range(args.model_seeds):
                if (name, args.labels, split, model_seed) in done:
                    continue
                with one_torch_thread():
                    model = WVAD(random_state=100 + model_seed)
                    scores = model.fit(data.X_train, data.y_train_weak).decision_function(
                        data.X_test
                    )
                row = {
                    "dataset": name,
                    "labels": args.labels,
                    "split": split,
                    "model_seed": model_seed,
                    "auroc": roc_auc_score(data.y_test, scores),
                    "auprc": average_precision_score(data.y_test, scores),
                    "weights": model.score_weights(),
                }
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")


def summary(out: Path) -> None:
    by: dict[tuple[str, int], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in _rows(out):
        by[(r["dataset"], r["labels"])][r["split"]].append(r["auroc"])
    print("| table | labels | fits | sd over model seeds (mean over splits) | sd of split means |")
    print("| :-- | --: | --: | --: | --: |")
    for (name, labels), splits in sorted(by.items()):
        within = np.mean([np.std(v, ddof=1) for v in splits.values() if len(v) > 1])
        across = np.std([np.mean(v) for v in splits.values()], ddof=1)
        fits = sum(len(v) for v in splits.values())
        print(f"| {name} | {labels} | {fits} | {within:.3f} | {across:.3f} |")


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--labels", type=int, default=3)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--model-seeds", type=int, default=4)
    parser.add_argument("--out", required=True)
    parser.add_argument("--summary", action="store_true", help="print the summary only")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.summary:
        fit_cells(args, out)
    summary(out)


if __name__ == "__main__":
    main()

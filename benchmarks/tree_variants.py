"""Research: which boosted-trees settings rank held-out anomalies best with a handful of
labels, on their own, beside CatBoost with its defaults (the strongest peer). Tuning half
only, ADBench split with 1, 3, 5, 10 and 25 labeled anomalies, seeds 0-4.

    python benchmarks/tree_variants.py --out tree_variants.jsonl

Prints the mean test AUROC per label count and variant, and each variant's paired
difference to CatBoost over the (table, count, seed) cells. Conclusion in docs/method.md.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import roc_auc_score

from wvad.config import TreeSettings
from wvad.data import default_data_dir, load_dataset
from wvad.data.registry import TUNING_DATASETS
from wvad.evidence.trees import classifier
from wvad.peers import CatBoost
from wvad.protocol import weak_split

VARIANTS = {
    "current": TreeSettings(),
    "unweighted": TreeSettings(class_weight=None),
    "leaf1": TreeSettings(min_samples_leaf=1),
    "deep_slow": TreeSettings(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=1,
        l2_regularization=3.0, class_weight=None,
    ),
}

#: CatBoost with fewer trees than its default 1,000 (its learning rate set by itself).
CATBOOST_VARIANTS = {
    "cb300": {"iterations": 300},
    "cb100": {"iterations": 100},
    "cb300_depth4": {"iterations": 300, "depth": 4},
}


def _catboost(seed: int, **params):
    from catboost import CatBoostClassifier

    return CatBoostClassifier(
        random_seed=seed, thread_count=1, verbose=False, allow_writing_files=False, **params
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--labels", nargs="+", type=int, default=[1, 3, 5, 10, 25])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    rows = []
    with open(args.out, "w") as out:
        for name in TUNING_DATASETS:
            X, y = load_dataset(name, data_dir=default_data_dir())
            for n in args.labels:
                for seed in args.seeds:
                    split = weak_split(X, y, n_labeled=n, seed=seed)
                    Xtr, ytr = split.X_train, split.y_train_weak
                    scores = {"catboost": CatBoost(random_state=seed).fit(Xtr, ytr)
                              .decision_function(split.X_test)}
                    for v, settings in VARIANTS.items():
                        model = classifier(settings, seed).fit(Xtr, ytr)
                        scores[v] = model.decision_function(split.X_test)
                    for v, params in CATBOOST_VARIANTS.items():
                        model = _catboost(seed, **params).fit(Xtr, ytr)
                        scores[v] = model.predict(split.X_test, prediction_type="RawFormulaVal")
                    for model, s in scores.items():
                        row = {"dataset": name, "labels": n, "seed": seed, "model": model,
                               "auroc": roc_auc_score(split.y_test, s)}
                        rows.append(row)
                        out.write(json.dumps(row) + "\n")
                print(name, flush=True)
    _summary(rows)


def _summary(rows: list[dict]) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows))
    table = {(r["dataset"], r["labels"], r["seed"], r["model"]): r["auroc"] for r in rows}
    cells = sorted({k[:3] for k in table})
    for n in sorted({c[1] for c in cells}):
        means = {m: np.mean([table[(*c, m)] for c in cells if c[1] == n]) for m in models}
        print(n, " ".join(f"{m} {v:.3f}" for m, v in means.items()))
    for m in models:
        d = np.array([table[(*c, m)] - table[(*c, "catboost")] for c in cells])
        print(f"{m}: mean {np.mean([table[(*c, m)] for c in cells]):.3f}, minus catboost "
              f"{d.mean():+.4f} (sd of cell diff {d.std():.3f}, wins {int((d > 0).sum())}"
              f"/{len(d)})")


if __name__ == "__main__":
    main()

"""The same fitted defaults scored with tied training quantiles merged and split, post hoc.

`fusion.ties` changes only the map from a piece's evidence to its Gaussianised score, so
its effect on accuracy can be read without refitting: fit the default once per split
(ADBench's protocol; 10% labeled, or 3 labels on the six smallest tuning tables), score
the test part with the fit's map ("merged"), then with every piece's map switched to
"split", and compare AUROC and AUPRC:

    python benchmarks/ties_posthoc.py breastw fault optdigits stamps thyroid vertebral \\
        vowels yeast glass hepatitis wbc wine

Prints one JSON line per (table, seed) and the mean differences. Results are recorded in
docs/method.md ("Numerical guards").
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.protocol import weak_split
from wvad.runtime import one_torch_thread

SMALL = ("glass", "hepatitis", "lymphography", "wbc", "wdbc", "wine")


def one_split(name: str, seed: int) -> dict:
    X, y = load_dataset(name, data_dir=default_data_dir())
    labels = {"n_labeled": 3} if name in SMALL else {"labeled_ratio": 0.1}
    split = weak_split(X, y, seed=seed, **labels)
    with one_torch_thread():
        model = WVAD(random_state=seed).fit(split.X_train, split.y_train_weak)
        merged = model.decision_function(split.X_test)
        standard = model.score_._standard
        for name_, map_ in standard.items():
            standard[name_] = dataclasses.replace(map_, ties="split")
        kept_apart = model.decision_function(split.X_test)
    return {
        "table": name,
        "seed": seed,
        "auroc_merged": roc_auc_score(split.y_test, merged),
        "auroc_split": roc_auc_score(split.y_test, kept_apart),
        "auprc_merged": average_precision_score(split.y_test, merged),
        "auprc_split": average_precision_score(split.y_test, kept_apart),
        "max_score_change": float(np.abs(merged - kept_apart).max()),
    }


def main() -> None:
    rows = []
    for name in sys.argv[1:]:
        for seed in (0, 1):
            rows.append(one_split(name, seed))
            print(json.dumps(rows[-1]), flush=True)
    d = np.array([[r["auroc_merged"] - r["auroc_split"], r["auprc_merged"] - r["auprc_split"]]
                  for r in rows])  # fmt: skip
    print(f"merged - split over {len(d)} cells: AUROC mean {d[:, 0].mean():+.5f} "
          f"(min {d[:, 0].min():+.5f}), AUPRC mean {d[:, 1].mean():+.5f}")  # fmt: skip


if __name__ == "__main__":
    main()

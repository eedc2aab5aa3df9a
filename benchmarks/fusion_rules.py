"""How should WVAD's evidence be fused? Compare read-out rules on the same fitted models.

For each (dataset, seed) this fits one WVAD (default training unless --preset/--params),
keeps its evidence matrix [head logit, log f_r, negative ELBO] for the training and test
rows, and scores the test rows by several rules: each piece alone, their equal-weight mean,
the label-count rule with an equal mix of the unsupervised pieces ("count"), that rule with
the mix weighted by each piece's Gini on the labeled training anomalies ("gini_mix"), the
better-ranking piece alone, scaled by its Gini, on the robustly standardised evidence
("linear", the default's rule before commit 597488f), and the same rule on Gaussianised
evidence, which the default preset uses ("default"; `wvad.fusion`). Prints mean test
AUROC / AUPRC per dataset and over all datasets.

    python benchmarks/fusion_rules.py --datasets cardio ionosphere letter satellite \
        thyroid vowels yeast --seeds 0 1 2

With --save DIR each fit's standardised evidence and labels are kept, to try further rules
offline without refitting.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.fusion import fit_quantiles, gaussianize
from wvad.protocol import weak_split

PRIOR = 25.0


def gini(labels: np.ndarray, scores: np.ndarray) -> float:
    return max(0.0, 2.0 * roc_auc_score(labels, scores) - 1.0)


def rules(z_test: np.ndarray, z_train: np.ndarray, y_weak: np.ndarray) -> dict[str, np.ndarray]:
    """Test scores under each rule; columns are standardised [head, log f_r, -ELBO]."""
    n = float(y_weak.sum())
    w = n / (n + PRIOR)
    g = np.array([gini(y_weak, z_train[:, 1]), gini(y_weak, z_train[:, 2])])
    mix = g / g.sum() if g.sum() > 0 else np.array([0.5, 0.5])
    g_u = gini(y_weak, z_train[:, 1:] @ mix)
    best = 1 + int(np.argmax(g))
    quantiles = fit_quantiles(z_train[y_weak == 0])
    gauss_test = gaussianize(z_test, quantiles)
    return {
        "head": z_test[:, 0],
        "recon": z_test[:, 1],
        "elbo": z_test[:, 2],
        "equal": z_test.mean(axis=1),
        "count": w * z_test[:, 0] + (1 - w) * z_test[:, 1:].mean(axis=1),
        "gini_mix": w * z_test[:, 0] + (1 - w) * g_u * (z_test[:, 1:] @ mix),
        "linear": w * z_test[:, 0] + (1 - w) * g.max() * z_test[:, best],
        "default": w * gauss_test[:, 0] + (1 - w) * g.max() * gauss_test[:, best],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ratio", type=float, default=0.1)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--params", default="{}", help="JSON WVAD keyword arguments")
    parser.add_argument(
        "--save", type=Path, default=None, help="folder for each fit's evidence (.npz)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    overall: dict[str, list[np.ndarray]] = defaultdict(list)
    for name in args.datasets:
        X, y = load_dataset(name, data_dir=default_data_dir())
        per_rule: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for seed in args.seeds:
            split = weak_split(X, y, labeled_ratio=args.ratio, seed=seed)
            model = WVAD(
                args.preset, score_mode="fusion", random_state=seed, **json.loads(args.params)
            )
            model.fit(split.X_train, split.y_train_weak)

            def standardised(rows: np.ndarray, model: WVAD = model) -> np.ndarray:
                evidence = np.concatenate(model._batched(rows, model._evidence))
                return (evidence - model.fusion_center_) / model.fusion_scale_

            z_test, z_train = standardised(split.X_test), standardised(split.X_train)
            if args.save is not None:
                args.save.mkdir(parents=True, exist_ok=True)
                np.savez(
                    args.save / f"{name}_{args.ratio}_{seed}.npz",
                    z_test=z_test,
                    z_train=z_train,
                    y_test=split.y_test,
                    y_weak=split.y_train_weak,
                    y_train=split.y_train,
                )
            scores = rules(z_test, z_train, split.y_train_weak)
            for rule, s in scores.items():
                per_rule[rule].append(
                    (roc_auc_score(split.y_test, s), average_precision_score(split.y_test, s))
                )
        means = {rule: np.mean(v, axis=0) for rule, v in per_rule.items()}
        for rule, m in means.items():
            overall[rule].append(m)
        print(
            f"{name:12s} " + " ".join(f"{r}={m[0]:.3f}/{m[1]:.3f}" for r, m in means.items()),
            flush=True,
        )
    print(
        f"{'MEAN':12s} "
        + " ".join(
            f"{r}={np.mean(v, axis=0)[0]:.3f}/{np.mean(v, axis=0)[1]:.3f}"
            for r, v in overall.items()
        )
    )


if __name__ == "__main__":
    main()

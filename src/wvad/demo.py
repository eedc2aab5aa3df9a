"""The quick-start demo: the paper's experiment on one shipped table, WVAD beside the
detectors a user would otherwise install.

`python -m wvad.demo` (or `make demo`) takes Satellite, splits it as ADBench does (70/30
stratified, min-max scaled on the training part, 10% of the training anomalies labeled,
seed 0), fits the default WVAD, the paper preset, a gradient-boosted classifier on the weak
labels (CatBoost), XGBOD, DeepSAD and IsolationForest, and prints each one's test AUROC,
AUPRC and fit seconds as measured, then draws their precision-recall curves into one
picture. `--dataset letter|ionosphere|satellite` picks another shipped table,
`--dataset synthetic` the generator `make_multimodal`. Needs the benchmark extras
(`pip install wvad[bench]`, which `make demo` installs).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from wvad.data import SHIPPED_DATASETS, load_dataset
from wvad.datasets import make_multimodal
from wvad.protocol import WeakSplit, weak_split

__all__ = ["DATASETS", "MODELS", "PAPER_AUROC", "main", "run_demo"]

DATASETS = (*SHIPPED_DATASETS, "synthetic")
#: The demo's models, in the order they are fitted: name -> benchmark model name.
MODELS = {
    "WVAD (default)": "wvad",
    "WVAD (paper preset)": "wvad-paper",
    "CatBoost (weak labels)": "catboost",
    "XGBOD": "xgbod",
    "DeepSAD": "deepsad",
    "IsolationForest": "iforest",
}
#: The paper's reported test AUROC of WVAD at 10% labeled (Tan et al. 2024): a reference,
#: printed beside ours, not a target.
PAPER_AUROC = {"letter": 0.882, "ionosphere": 0.925, "satellite": 0.934}


def demo_split(dataset: str, seed: int, labeled_ratio: float) -> WeakSplit:
    """ADBench's weak split of a shipped table, or of `make_multimodal`'s synthetic one."""
    if dataset == "synthetic":
        X, y, _ = make_multimodal(n_samples=4000, random_state=seed)
    elif dataset in SHIPPED_DATASETS:
        X, y = load_dataset(dataset, download=False)
    else:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {dataset!r}")
    return weak_split(X, y, labeled_ratio=labeled_ratio, seed=seed)


def run_demo(
    dataset: str = "satellite",
    seed: int = 0,
    labeled_ratio: float = 0.1,
    *,
    models: dict[str, str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[WeakSplit, dict[str, dict[str, Any]]]:
    """Fit each model on one weak split; return the split and, per model, its test AUROC,
    AUPRC, fit seconds and test scores. `params` overrides a model's parameters by its
    benchmark name (tests use it to shorten training)."""
    from wvad.bench.models import make_model

    split = demo_split(dataset, seed, labeled_ratio)
    chosen = MODELS if models is None else models
    results: dict[str, dict[str, Any]] = {}
    for i, (label, name) in enumerate(chosen.items(), start=1):
        progress(f"[{i}/{len(chosen)}] {label}: fitting ...")
        model = make_model(name, random_state=seed)
        model.set_params(**(params or {}).get(name, {}))
        started = time.perf_counter()
        model.fit(split.X_train, split.y_train_weak)
        seconds = time.perf_counter() - started
        scores = model.decision_function(split.X_test)
        results[label] = {
            "AUROC": float(roc_auc_score(split.y_test, scores)),
            "AUPRC": float(average_precision_score(split.y_test, scores)),
            "seconds": seconds,
            "scores": scores,
        }
        progress(f"[{i}/{len(chosen)}] {label}: done in {seconds:.1f} s")
    return split, results


def plot_pr_curves(
    split: WeakSplit, results: dict[str, dict[str, Any]], title: str, path: Path
) -> Path:
    """Every model's precision-recall curve on the test rows, in one picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for label, result in results.items():
        precision, recall, _ = precision_recall_curve(split.y_test, result["scores"])
        ax.plot(recall, precision, label=f"{label} (AUPRC {result['AUPRC']:.3f})")
    ax.axhline(split.y_test.mean(), color="grey", lw=0.8, ls=":", label="chance")
    ax.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="lower left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wvad.demo",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--dataset", choices=DATASETS, default="satellite")
    parser.add_argument("--seed", type=int, default=0, help="split, labels and models")
    parser.add_argument("--ratio", type=float, default=0.1, help="share of anomalies labeled")
    parser.add_argument("--out", type=Path, help="the picture (default: runs/demo/pr_DATASET.png)")
    args = parser.parse_args(argv)
    out = args.out or Path("runs") / "demo" / f"pr_{args.dataset}.png"
    split, results = run_demo(args.dataset, args.seed, args.ratio, progress=print)
    n_labeled, n_anomalies = int(split.y_train_weak.sum()), int(split.y_train.sum())
    print(
        f"\n{args.dataset}: {len(split.X_train)} training rows, {n_labeled} of {n_anomalies} "
        f"training anomalies labeled (seed {args.seed}); scores on the {len(split.X_test)} "
        "held-out rows"
    )
    print(f"{'model':<24} {'AUROC':>6} {'AUPRC':>6} {'fit s':>7}")
    for label, r in results.items():
        print(f"{label:<24} {r['AUROC']:6.3f} {r['AUPRC']:6.3f} {r['seconds']:7.1f}")
    if args.dataset in PAPER_AUROC and args.ratio == 0.1:
        print(f"(the WVAD paper reports AUROC {PAPER_AUROC[args.dataset]:.3f} here, over seeds)")
    title = f"{args.dataset}, {n_labeled} labeled anomalies, seed {args.seed}"
    print(f"precision-recall curves: {plot_pr_curves(split, results, title, out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

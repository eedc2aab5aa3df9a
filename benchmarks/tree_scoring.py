"""The boosted trees piece's in-house scorer beside CatBoost's own predictor, in one run.

Fits the piece's CatBoostClassifier (`wvad.evidence.trees.classifier(TreeSettings(), seed)`)
on the first 5,000 rows of a min-max scaled synthetic table (`make_multimodal`, as
benchmarks/scoring_throughput.py builds it; the seed is its `--data-seed`), then, on one
thread, measures:

- scoring --rows float64 rows (best of --repeats, rows/s), whole and in chunks of
  `SCORING_BATCH` (16,384) rows as wvad scores them: the in-house scorer
  (`BoostedTrees(flatten_oblivious(model)).score_numpy`) against CatBoost's predictor
  loaded back from the model's JSON (what wvad would store instead), called with
  `prediction_type="RawFormulaVal", thread_count=1` on the float64 array, on a float32
  copy (conversion timed apart), and on a `catboost.Pool` built once (build timed apart);
- whether the scores are equal (max abs difference; CatBoost compares float32(x) with its
  float32 borders, which the in-house thresholds emulate);
- explanations on --explain-rows rows: the in-house Saabas path contributions against
  CatBoost's SHAP values (`get_feature_importance(type="ShapValues")`), their speed, that
  SHAP rows add up to the raw score, and how far the two methods' values differ.

Prints a markdown table with the catboost, numpy and torch versions and the CPU model.

    OMP_NUM_THREADS=1 python benchmarks/tree_scoring.py
    OMP_NUM_THREADS=1 python benchmarks/tree_scoring.py --rows 100000 --seed 1 --repeats 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import catboost
import numpy as np
import torch

from wvad.config import TreeSettings
from wvad.datasets import make_multimodal
from wvad.evidence.base import SCORING_BATCH
from wvad.evidence.trees import BoostedTrees, classifier, flatten_oblivious

TRAIN_ROWS = 5_000


def _best(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of `repeats` calls of fn, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _chunked(fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [fn(X[start : start + SCORING_BATCH]) for start in range(0, len(X), SCORING_BATCH)]
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def table(args: argparse.Namespace) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The min-max scaled synthetic rows and the training labels (first TRAIN_ROWS rows)."""
    X, _, y_weak = make_multimodal(
        n_samples=max(args.rows, TRAIN_ROWS),
        n_features=args.features,
        contamination=0.02,
        labeled_ratio=0.3,  # a few dozen labeled anomalies among the training rows
        random_state=args.seed,
    )
    low, high = X.min(axis=0), X.max(axis=0)
    X = (X - low) / np.where(high > low, high - low, 1.0)
    return np.ascontiguousarray(X[: args.rows]), (X[:TRAIN_ROWS], y_weak[:TRAIN_ROWS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0, help="seed of the table and the fit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--explain-rows", type=int, default=2_000)
    args = parser.parse_args()
    torch.set_num_threads(1)

    X, (X_train, y_train) = table(args)
    model = classifier(TreeSettings(), args.seed)
    fit_start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - fit_start

    arrays = flatten_oblivious(model)
    piece = BoostedTrees(arrays)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        model.save_model(str(path), format="json")
        json_bytes = path.stat().st_size
        loaded = catboost.CatBoost().load_model(str(path), format="json")
    arrays_bytes = sum(v.nbytes for v in arrays.values())

    def catboost_raw(data: np.ndarray | catboost.Pool) -> np.ndarray:
        return np.asarray(loaded.predict(data, prediction_type="RawFormulaVal", thread_count=1))

    # warm both up once (first calls build caches, CatBoost's evaluator)
    piece.score_numpy(X[:SCORING_BATCH])
    catboost_raw(X[:SCORING_BATCH])

    n, r = len(X), args.repeats
    rows: list[tuple[str, float, str]] = []

    def timed(label: str, fn: Callable[[], object], note: str = "") -> None:
        rows.append((label, n / _best(fn, r), note))

    to32 = _best(lambda: X.astype(np.float32), r)
    X32 = X.astype(np.float32)
    pool_s = _best(lambda: catboost.Pool(X), r)
    pool = catboost.Pool(X)

    timed("in-house `score_numpy`, float64, whole", lambda: piece.score_numpy(X))
    timed(
        "in-house `score_numpy`, float64, 16384-row chunks", lambda: _chunked(piece.score_numpy, X)
    )
    timed("CatBoost `predict`, float64 numpy, whole", lambda: catboost_raw(X))
    timed("CatBoost `predict`, float64 numpy, 16384-row chunks", lambda: _chunked(catboost_raw, X))
    timed(
        "CatBoost `predict`, float32 numpy (pre-converted), whole",
        lambda: catboost_raw(X32),
        f"conversion alone: {n / to32:,.0f} rows/s",
    )
    timed(
        "CatBoost `predict`, float32 numpy (pre-converted), 16384-row chunks",
        lambda: _chunked(catboost_raw, X32),
    )
    timed(
        "CatBoost `predict`, Pool built once, whole",
        lambda: catboost_raw(pool),
        f"Pool(float64) build alone: {n / pool_s:,.0f} rows/s",
    )

    # equality
    ours = piece.score_numpy(X)
    theirs64, theirs32 = catboost_raw(X), catboost_raw(X32)
    theirs_chunks = _chunked(catboost_raw, X)
    diff = np.abs(ours - theirs64)
    # the same trees summed in another order differ by float rounding only; report both
    exact = int((diff == 0).sum())

    # explanations
    m = min(args.explain_rows, n)
    Xe = X[:m]
    shares, bias = piece.path_contributions(Xe)
    path_s = _best(lambda: piece.path_contributions(Xe), r)

    def shap() -> np.ndarray:
        return np.asarray(
            loaded.get_feature_importance(data=catboost.Pool(Xe), type="ShapValues", thread_count=1)
        )

    shap_s = _best(shap, r)
    values = shap()
    shap_sum_err = np.abs(values.sum(axis=1) - theirs64[:m]).max()
    path_sum_err = np.abs(shares.sum(axis=1) + bias - ours[:m]).max()
    feats = values[:, :-1]
    corr = np.corrcoef(feats.ravel(), shares.ravel())[0, 1]
    per_row_corr = np.nanmedian(
        [np.corrcoef(a, b)[0, 1] for a, b in zip(feats, shares, strict=True) if a.std() > 0]
    )
    top_same = np.mean(np.abs(feats).argmax(axis=1) == np.abs(shares).argmax(axis=1))

    print(
        f"{n:,} rows x {args.features} columns (min-max scaled, float64), seed {args.seed}, "
        f"best of {r}, one thread; CPU: {_cpu_model()}; catboost {catboost.__version__}, "
        f"numpy {np.__version__}, torch {torch.__version__}\n"
        f"fit: {TRAIN_ROWS:,} rows, {int(y_train.sum())} positive labels, "
        f"{loaded.tree_count_} trees of depth {int(arrays['depth'].max())}, {fit_s:.1f} s; "
        f"stored size: JSON {json_bytes / 1e6:.2f} MB, node arrays {arrays_bytes / 1e6:.2f} MB\n"
    )
    print("| measurement | rows/s | note |")
    print("|---|---|---|")
    for label, speed, note in rows:
        print(f"| {label} | {speed:,.0f} | {note} |")
    print(f"| in-house `path_contributions` ({m:,} rows) | {m / path_s:,.0f} | Saabas |")
    print(f"| CatBoost SHAP values ({m:,} rows, Pool built in the call) | {m / shap_s:,.0f} | |")
    print()
    checks = [
        ("max abs(in-house - CatBoost raw), float64 in", f"{diff.max():.3g}"),
        ("rows equal bit for bit", f"{exact:,} of {n:,}"),
        ("max abs raw score (scale)", f"{np.abs(theirs64).max():.3g}"),
        ("max abs(CatBoost float64 in - float32 in)", f"{np.abs(theirs64 - theirs32).max():.3g}"),
        ("max abs(CatBoost whole - chunked)", f"{np.abs(theirs64 - theirs_chunks).max():.3g}"),
        ("max abs(SHAP row sum - raw score)", f"{shap_sum_err:.3g}"),
        ("max abs(path contributions + bias - score)", f"{path_sum_err:.3g}"),
        ("SHAP expected value vs path bias", f"{values[0, -1]:.6g} vs {bias[0]:.6g}"),
        ("max abs(SHAP - path contribution), per cell", f"{np.abs(feats - shares).max():.3g}"),
        (
            "max abs SHAP value / path contribution",
            f"{np.abs(feats).max():.3g} / {np.abs(shares).max():.3g}",
        ),
        ("correlation SHAP vs path contributions, all cells", f"{corr:.4f}"),
        ("median per-row correlation", f"{per_row_corr:.4f}"),
        ("rows whose largest column agrees", f"{top_same:.1%}"),
    ]
    print("| check | value |")
    print("|---|---|")
    for label, value in checks:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()

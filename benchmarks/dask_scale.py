"""Score a large table with the default both in this process and on a local Dask cluster.

Fits the default WVAD on one weak split of a benchmark table (ADBench's protocol, one torch
thread), then scores every row of the table (training and test part, scaled by the split's
scaler) twice: `decision_function` here, and `wvad.distributed.score_dask` on a
LocalCluster of `--workers` processes with one thread each. Prints the times, the rows per
second and how far the two score vectors are apart, and writes them as JSON:

    python benchmarks/dask_scale.py --dataset donors --labels 10 --seed 0 \\
        --workers 2 --out runs/dask_scale.json

Results are recorded in docs/performance.md. Needs wvad[dask] and the benchmark tables
(`WVAD_DATA_DIR`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wvad import WVAD
from wvad.bench.runner import environment
from wvad.data import default_data_dir, load_dataset
from wvad.distributed import dask_client, score_dask
from wvad.protocol import weak_split
from wvad.runtime import one_torch_thread


def fitted_model(dataset: str, labels: int, seed: int) -> tuple[WVAD, np.ndarray, float]:
    """The default fitted on one weak split, every row of the table scaled as the split
    scales it, and the fit's seconds."""
    X, y = load_dataset(dataset, data_dir=default_data_dir())
    split = weak_split(X, y, n_labeled=labels, seed=seed)
    rows = np.concatenate([split.X_train, split.X_test])
    model = WVAD(random_state=seed)
    with one_torch_thread():
        start = time.perf_counter()
        model.fit(split.X_train, split.y_train_weak)
        return model, rows, time.perf_counter() - start


def score_here(model: WVAD, rows: np.ndarray) -> tuple[np.ndarray, float]:
    with one_torch_thread():
        start = time.perf_counter()
        scores = model.decision_function(rows)
        return scores, time.perf_counter() - start


def score_on_cluster(
    model: WVAD, rows: np.ndarray, workers: int, partitions: int
) -> tuple[np.ndarray, float]:
    """`score_dask` on a LocalCluster; the seconds include scattering the model and
    gathering the scores, not starting the cluster."""
    import dask.dataframe as dd
    import pandas as pd

    frame = pd.DataFrame(rows, columns=[f"x{j}" for j in range(rows.shape[1])])
    with dask_client(n_workers=workers):
        ddf = dd.from_pandas(frame, npartitions=partitions)
        start = time.perf_counter()
        scores = score_dask(model, ddf, columns=list(frame.columns))["score"].compute()
        return scores.to_numpy(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="donors")
    parser.add_argument("--labels", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    model, rows, fit_seconds = fitted_model(args.dataset, args.labels, args.seed)
    here, here_seconds = score_here(model, rows)
    there, there_seconds = score_on_cluster(model, rows, args.workers, args.partitions)
    gap = np.abs(here - there)
    relative = gap / np.maximum(np.abs(here), 1.0)
    result = {
        "dataset": args.dataset,
        "rows": len(rows),
        "fit_seconds": fit_seconds,
        "local_seconds": here_seconds,
        "dask_seconds": there_seconds,
        "dask_workers": args.workers,
        "max_abs_difference": float(gap.max()),
        "max_relative_difference": float(relative.max()),
        "rows_equal": int((gap == 0).sum()),
        "environment": environment(),
    }
    print(f"{args.dataset}: {len(rows):,} rows, fit {fit_seconds:.1f} s")
    print("| scoring | seconds | rows/s |\n|---|--:|--:|")
    print(f"| this process, one thread | {here_seconds:.1f} | {len(rows) / here_seconds:,.0f} |")
    print(
        f"| Dask LocalCluster, {args.workers} workers x 1 thread | {there_seconds:.1f} | "
        f"{len(rows) / there_seconds:,.0f} |"
    )
    print(
        f"largest difference {gap.max():.3g} ({relative.max():.3g} of the score); "
        f"{result['rows_equal']:,} rows equal bit for bit"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""How WVAD's fit time grows with rows and with features (the paper's open complexity question).

Synthetic tables from `make_multimodal` (2% anomalies, 10% of them labeled). Rows go from 1k
to 1M at a fixed width, then features from 8 to 512 at fixed rows. Every fit uses the default
configuration with a short schedule (`--epochs`, pretrain/warm-up/joint), because an epoch
is the unit that repeats: a full schedule multiplies each time by about the same factor and
leaves the slopes as they are, while a 1M-row fit of 550 epochs would take hours here.

Prints the times and the least-squares slope of log(time) on log(size) over the range given
by `--slope-from`, and draws both series into one PNG.

    python benchmarks/fit_scaling.py --out docs/performance/fit_scaling.png

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from wvad import WVAD
from wvad.datasets import make_multimodal


def fit_seconds(n_rows: int, n_features: int, epochs: tuple[int, int, int], seed: int) -> float:
    X, _, y_weak = make_multimodal(
        n_samples=n_rows, n_features=n_features, contamination=0.02, random_state=seed
    )
    pretrain, warmup, joint = epochs
    model = WVAD(
        pretrain_epochs=pretrain, warmup_epochs=warmup, joint_epochs=joint, random_state=seed
    )
    start = time.perf_counter()
    model.fit(X, y_weak)
    return time.perf_counter() - start


def slope(sizes: list[int], seconds: list[float], low: int) -> float:
    keep = [i for i, s in enumerate(sizes) if s >= low]
    x = np.log([sizes[i] for i in keep])
    y = np.log([seconds[i] for i in keep])
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        nargs="+",
        type=int,
        default=[1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
    )
    parser.add_argument("--row-features", type=int, default=36)
    parser.add_argument("--features", nargs="+", type=int, default=[8, 32, 128, 512])
    parser.add_argument("--feature-rows", type=int, default=20_000)
    parser.add_argument("--epochs", nargs=3, type=int, default=[2, 2, 4])
    parser.add_argument("--slope-from", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="PNG for the two series")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    epochs = tuple(args.epochs)
    print(
        f"epochs {epochs}, {args.threads} torch thread(s), "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}\n"
    )
    fit_seconds(1_000, 8, epochs, seed=0)  # warm-up: first-call costs are not the table's
    by_rows = []
    print(f"| rows (x {args.row_features} features) | fit seconds | seconds per 1k rows |")
    print("|---|---|---|")
    for n in args.rows:
        by_rows.append(fit_seconds(n, args.row_features, epochs, seed=0))
        print(f"| {n:,} | {by_rows[-1]:.2f} | {1000 * by_rows[-1] / n:.3f} |", flush=True)
    rows_slope = slope(args.rows, by_rows, args.slope_from)
    print(f"\nlog-log slope over rows >= {args.slope_from:,}: {rows_slope:.3f}\n")
    by_features = []
    print(f"| features (x {args.feature_rows:,} rows) | fit seconds |")
    print("|---|---|")
    for d in args.features:
        by_features.append(fit_seconds(args.feature_rows, d, epochs, seed=0))
        print(f"| {d} | {by_features[-1]:.2f} |", flush=True)
    features_slope = slope(args.features, by_features, min(args.features))
    print(f"\nlog-log slope over features: {features_slope:.3f}")
    if args.out is not None:
        plot(args, by_rows, rows_slope, by_features, features_slope)


def plot(args, by_rows, rows_slope, by_features, features_slope) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.loglog(args.rows, by_rows, "o-")
    left.set(
        xlabel=f"rows ({args.row_features} features)",
        ylabel="fit seconds",
        title=f"rows: slope {rows_slope:.2f} (>= {args.slope_from:,})",
    )
    right.loglog(args.features, by_features, "o-")
    right.set(
        xlabel=f"features ({args.feature_rows:,} rows)",
        title=f"features: slope {features_slope:.2f}",
    )
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"WVAD fit time, epochs {tuple(args.epochs)}")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()

"""Before/after table of two `wvad bench` result folders for the models they share.

For each (dataset, ratio, model) present in both runs with the same seeds, prints the mean
test AUROC and AUPRC and the mean fit seconds before and after, and the AUROC change
next to its spread over seeds (the after run's standard deviation), so a change can be read
against noise.

    python benchmarks/compare_runs.py docs/results/paper-before docs/results/paper \
        --models wvad wvad-paper
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from wvad.bench.results import latest_rows, read_rows


def by_cell(folder: str, models: list[str]) -> dict[tuple, dict[int, dict]]:
    cells: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for row in latest_rows(read_rows(folder)):
        if row["status"] == "ok" and row["model"] in models:
            cells[(row["dataset"], row["ratio"], row["model"])][row["seed"]] = row
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--models", nargs="+", default=["wvad", "wvad-paper"])
    args = parser.parse_args()
    before, after = by_cell(args.before, args.models), by_cell(args.after, args.models)
    print(
        "| dataset | ratio | model | AUROC before | AUROC after | change (± sd after) "
        "| AUPRC before | AUPRC after | fit s before | fit s after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(set(before) & set(after), key=lambda k: (k[0], -k[1], k[2])):
        seeds = sorted(set(before[key]) & set(after[key]))
        if not seeds:
            continue

        def stat(rows, field, seeds=seeds):
            return np.array([rows[s][field] for s in seeds], dtype=float)

        b_roc, a_roc = stat(before[key], "auroc"), stat(after[key], "auroc")
        b_prc, a_prc = stat(before[key], "auprc"), stat(after[key], "auprc")
        b_fit, a_fit = stat(before[key], "fit_seconds"), stat(after[key], "fit_seconds")
        dataset, ratio, model = key
        print(
            f"| {dataset} | {ratio} | {model} | {b_roc.mean():.3f} | {a_roc.mean():.3f} | "
            f"{a_roc.mean() - b_roc.mean():+.3f} (± {a_roc.std():.3f}) | {b_prc.mean():.3f} | "
            f"{a_prc.mean():.3f} | {b_fit.mean():.1f} | {a_fit.mean():.1f} |"
        )


if __name__ == "__main__":
    main()

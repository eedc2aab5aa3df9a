"""Snapshot the default's and the paper preset's scores, and compare two snapshots.

A change that should not move any score (a refactor, a faster implementation) is checked
by saving a snapshot before it and comparing after: each (table, preset) is fitted on the
ADBench weak split (seed 0, 10% labeled, one torch thread, CPU) and its training and test
scores are kept; `compare` prints the largest absolute difference per cell and fails when
one exceeds the tolerance.

    python benchmarks/score_snapshot.py save before.npz      # at the old commit
    python benchmarks/score_snapshot.py save after.npz       # at the new one
    python benchmarks/score_snapshot.py compare before.npz after.npz --tolerance 1e-6

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from wvad import WVAD
from wvad.data import load_dataset
from wvad.protocol import weak_split

TABLES = ("letter", "ionosphere", "satellite", "cardio", "thyroid")
PRESETS = ("default", "paper")


def _preset(name: str, **params) -> WVAD:
    # older checkouts took the preset as WVAD's first argument; this
    # lets `git show NEW:benchmarks/score_snapshot.py` run in an older checkout too
    if hasattr(WVAD, "from_preset"):
        return WVAD.from_preset(name, **params)
    return WVAD(name, **params)


def save(path: str, tables: list[str]) -> None:
    torch.set_num_threads(1)
    scores = {}
    for name in tables:
        X, y = load_dataset(name)
        split = weak_split(X, y, labeled_ratio=0.1, seed=0)
        for preset in PRESETS:
            started = time.perf_counter()
            model = _preset(preset, random_state=0, device="cpu")
            model.fit(split.X_train, split.y_train_weak)
            scores[f"{name}.{preset}.test"] = model.decision_function(split.X_test)
            scores[f"{name}.{preset}.train"] = model.decision_scores_
            print(f"{name} {preset}: {time.perf_counter() - started:.1f} s", flush=True)
    np.savez(path, **scores)


def compare(before: str, after: str, tolerance: float) -> int:
    old, new = np.load(before), np.load(after)
    worst = 0.0
    print("| cell | max abs difference |\n|---|---|")
    for key in old.files:
        if key not in new.files:
            print(f"| {key} | missing after |")
            worst = np.inf
            continue
        diff = float(np.abs(old[key] - new[key]).max())
        worst = max(worst, diff)
        print(f"| {key} | {diff:.3g} |")
    print(f"\nlargest difference {worst:.3g} (tolerance {tolerance:g})")
    return 0 if worst <= tolerance else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save")
    s.add_argument("path")
    s.add_argument("--tables", nargs="+", default=list(TABLES))
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    if args.command == "save":
        save(args.path, args.tables)
        return 0
    return compare(args.before, args.after, args.tolerance)


if __name__ == "__main__":
    sys.exit(main())

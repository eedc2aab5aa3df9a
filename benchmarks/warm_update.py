"""A warm start against a full refit, on the same labels: the analyst's loop's cheaper update.

Follows the simulated analyst's "top" loop (`benchmarks/labelling_loop.py`) with full
refits: START labeled anomalies, then ROUNDS rounds of BATCH questions asked from the
refitted model's highest scores. Beside it, one chain per `--warm-epochs` value refits by a
warm start (`WVAD(warm_start=True, warm_epochs=E)`: the previous round's mixture trains on,
every other piece refits) on exactly the labels and known normals of that round, so the
two updates are compared on the same labels, not on the different questions each would
have asked. Round 0 is the same cold fit for every chain.

    python benchmarks/warm_update.py --datasets vertebral --seeds 0 --start 1 \
        --warm-epochs 50 200 --out runs/warm

Writes one JSON line per (table, seed, start, update, round) to OUT/rounds.jsonl
(resumable per (table, seed, start)) with the test AUROC / AUPRC, the fit's seconds, the
commit and the CPU; `--summary` prints the paired differences per update.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from labelling_loop import add_loop_arguments, stamp
from wvad import WVAD
from wvad.bench.paired import bootstrap_interval
from wvad.data import default_data_dir, load_dataset
from wvad.protocol import weak_split


def _measure(model: WVAD, split, started: float) -> dict[str, float]:
    scores = model.decision_function(split.X_test)
    return {
        "seconds": time.perf_counter() - started,
        "auroc": roc_auc_score(split.y_test, scores),
        "auprc": average_precision_score(split.y_test, scores),
    }


def _fit(model: WVAD, X, y_weak, normal, split) -> dict[str, float]:
    started = time.perf_counter()
    model.fit(X, y_weak, known_normal=normal if normal.any() else None)
    return _measure(model, split, started)


def run(split, seed: int, warm_epochs: list[int], rounds: int, batch: int):
    """Yield (update, round, measures): "refit" and "warm-E" per round, same labels."""
    X, y_weak = split.X_train, split.y_train_weak.copy()
    normal = np.zeros(len(y_weak), dtype=bool)
    asked = y_weak == 1
    cold = WVAD(random_state=seed, allow_unsupervised=True)
    first = _fit(cold, X, y_weak, normal, split)
    chains = {}
    for epochs in warm_epochs:
        chains[f"warm-{epochs}"] = copy.deepcopy(cold).set_params(
            warm_start=True, warm_epochs=epochs
        )
    yield from ((name, 0, first) for name in ["refit", *chains])
    for r in range(1, rounds + 1):
        rows = cold.suggest(X, batch, exclude=asked, strategy="top").row.to_numpy()
        truth = split.y_train[rows]
        asked[rows] = True
        y_weak[rows[truth == 1]] = 1
        normal[rows[truth == 0]] = True
        cold = WVAD(random_state=seed, allow_unsupervised=True)
        yield "refit", r, _fit(cold, X, y_weak, normal, split)
        for name, model in chains.items():
            yield name, r, _fit(model, X, y_weak, normal, split)


def summarise(path: Path) -> str:
    """Markdown: per warm update and round, its mean difference from the refit (paired
    by table, seed and start) with a 95% interval, and the mean seconds of each."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    by = {(r["dataset"], r["seed"], r["start"], r["update"], r["round"]): r for r in rows}
    updates = sorted({r["update"] for r in rows} - {"refit"}, key=lambda u: int(u[5:]))
    runs = sorted({k[:3] for k in by})
    last = max(r["round"] for r in rows)
    lines = [f"{len(runs)} runs (table, seed, start); differences warm minus refit.", ""]
    lines += ["| update | round | AUROC difference | AUPRC difference | seconds (refit) |"]
    lines += ["|---|--:|--:|--:|--:|"]
    for update in updates:
        for rnd in range(1, last + 1):
            pairs = [(by[(*k, update, rnd)], by[(*k, "refit", rnd)]) for k in runs
                     if (*k, update, rnd) in by and (*k, "refit", rnd) in by]  # fmt: skip
            cells = []
            for metric in ("auroc", "auprc"):
                d = np.array([w[metric] - c[metric] for w, c in pairs])
                low, high = bootstrap_interval(d)
                cells.append(f"{d.mean():+.4f} [{low:+.4f}, {high:+.4f}]")
            seconds = (np.mean([w["seconds"] for w, _ in pairs]),
                       np.mean([c["seconds"] for _, c in pairs]))  # fmt: skip
            lines.append(
                f"| {update} | {rnd} | {cells[0]} | {cells[1]} | "
                f"{seconds[0]:.2f} ({seconds[1]:.2f}) |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_loop_arguments(parser)
    parser.add_argument("--warm-epochs", nargs="+", type=int, default=[50])
    args = parser.parse_args()
    path = args.out / "rounds.jsonl"
    if args.summary:
        print(summarise(path))
        return
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    done = set()
    if path.exists():
        done = {tuple(json.loads(line)[k] for k in ("dataset", "seed", "start"))
                for line in path.read_text().splitlines()}  # fmt: skip
    provenance = stamp()
    for dataset in args.datasets:
        X, y = load_dataset(dataset, data_dir=default_data_dir())
        for seed in args.seeds:
            for start in args.start:
                if (dataset, seed, start) in done:
                    continue
                split = weak_split(X, y, n_labeled=max(start, 1), seed=seed)
                if start == 0:
                    split = replace(split, y_train_weak=np.zeros_like(split.y_train_weak))
                key = {"dataset": dataset, "seed": seed, "start": start}
                rows = [{**key, "update": u, "round": r, **m, **provenance}
                        for u, r, m in run(split, seed, args.warm_epochs, args.rounds,
                                           args.batch)]  # fmt: skip
                with path.open("a") as handle:  # a run is written whole, or not at all
                    handle.writelines(json.dumps(row) + "\n" for row in rows)
                print(dataset, seed, start, " ".join(
                    f"{r['update']} {r['auroc']:.3f}" for r in rows if r["round"] == args.rounds
                ), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()

"""A simulated analyst: which query strategy finds anomalies and improves the model.

On each table and seed (ADBench's split), the loop starts from START labeled anomalies and
asks ROUNDS rounds of BATCH questions about training rows; the oracle answers with the
true label (an anomaly becomes a known anomaly, a normal row a known normal), and the
model is refitted after each round. Per round it records the anomalies found so far (the
share of questions answered "anomaly") and the test AUROC / AUPRC of the refitted model.

Loops compared, on the same splits:
- wvad-top / wvad-uncertain / wvad-mixed: the default WVAD, asking by `WVAD.suggest`'s
  strategy;
- wvad-top-warm: the "top" loop refitting by a warm start (`WVAD(warm_start=True)`: the
  mixture continues from the previous round's, every other piece refits);
- wvad-random: the same loop asking random unlabeled rows (the floor);
- catboost-top: CatBoost refitted each round on the labels so far (answered normals stay
  0), asking its highest scores;
- iforest-top: IsolationForest's highest unlabeled training scores, no refit (what a user
  without a loop would review); its AUROC is the same every round.

    python benchmarks/labelling_loop.py --datasets cardio --seeds 0 --start 1 --out runs/loop

Writes one JSON line per (table, seed, start, loop, round) to OUT/rounds.jsonl (resumable:
rows already there are skipped) with the commit and CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad.bench.models import make_model
from wvad.data import default_data_dir, load_dataset
from wvad.protocol import weak_split

LOOPS = (
    "wvad-top",
    "wvad-uncertain",
    "wvad-mixed",
    "wvad-top-warm",
    "wvad-random",
    "catboost-top",
    "iforest-top",
)


def stamp() -> dict[str, str]:
    """The commit and CPU every row of a run carries."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    cpu = platform.processor() or platform.machine()
    return {"commit": done.stdout.strip() or "unknown", "cpu": cpu}


def add_loop_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulated analyst's options, shared with `warm_update.py`: tables, seeds,
    starts, rounds of questions, the output folder and the summary switch."""
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--start", nargs="+", type=int, default=[1])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--summary", action="store_true", help="print OUT's table and stop")


def _fit(loop: str, X, y_weak, normal, seed, previous=None, warm_epochs=None, wvad="wvad"):
    """The loop's model on the labels so far. Without any known anomaly (a start from 0),
    WVAD fits label-free and CatBoost, which cannot, leaves the ranking to IsolationForest.
    A warm loop refits the previous round's model (`warm_start`). The WVAD loops fit the
    benchmark model `wvad` (the default, or a variant to screen)."""
    name = loop.split("-")[0]
    if name == "catboost" and not y_weak.any():
        name = "iforest"
    warm = loop.endswith("-warm")
    fresh = wvad if name == "wvad" else name
    model = previous if warm and previous is not None else make_model(fresh, seed)
    if name == "wvad":
        model.set_params(allow_unsupervised=True, warm_start=warm)
        if warm and warm_epochs is not None:
            model.set_params(warm_epochs=warm_epochs)
        model.fit(X, y_weak, known_normal=normal if normal.any() else None)
    else:
        model.fit(X, y_weak)
    return model


def _ask(loop, model, X, asked, batch, rng):
    """The next `batch` training rows to ask about (never one already asked or labeled)."""
    strategy = loop.split("-")[1]
    pool = np.flatnonzero(~asked)
    if strategy == "random":
        return rng.choice(pool, size=min(batch, pool.size), replace=False)
    if hasattr(model, "suggest"):
        return model.suggest(X, batch, exclude=asked, strategy=strategy).row.to_numpy()
    scores = np.where(asked, -np.inf, model.decision_scores_)
    return np.argsort(-scores, kind="stable")[: min(batch, pool.size)]


def run_loop(loop, split, rounds, batch, seed, warm_epochs=None, wvad="wvad"):
    """Yield (round, found, asked, auroc, auprc, seconds) for rounds 0..rounds."""
    rng = np.random.default_rng([seed, 7])
    y_weak = split.y_train_weak.copy()
    normal = np.zeros(len(y_weak), dtype=bool)
    asked = y_weak == 1
    found = n_asked = 0
    model = None
    for r in range(rounds + 1):
        started = time.perf_counter()
        if r == 0 or not loop.startswith("iforest"):
            model = _fit(loop, split.X_train, y_weak, normal, seed, model, warm_epochs, wvad)
        scores = model.decision_function(split.X_test)
        seconds = time.perf_counter() - started
        yield (
            r,
            found,
            n_asked,
            roc_auc_score(split.y_test, scores),
            average_precision_score(split.y_test, scores),
            seconds,
        )
        if r == rounds:
            return
        rows = _ask(loop, model, split.X_train, asked, batch, rng)
        truth = split.y_train[rows]
        found += int(truth.sum())
        n_asked += len(rows)
        asked[rows] = True
        y_weak[rows[truth == 1]] = 1
        normal[rows[truth == 0]] = True


def _provenance(rows: list[dict]) -> str:
    """Which loops ran at which commit on which CPU, e.g. "wvad-top at 5d3f22e (x86_64)"."""
    where: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        where.setdefault((row["commit"], row["cpu"]), set()).add(row["loop"])
    loops = {key: sorted(names, key=LOOPS.index) for key, names in where.items()}
    return "; ".join(f"{', '.join(n)} at {c} ({cpu})" for (c, cpu), n in sorted(loops.items()))


def summarise(path: Path) -> str:
    """Markdown: per loop and round, the anomalies found so far and the test AUROC / AUPRC,
    means over the (table, seed, start) runs every loop finished."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    runs: dict[tuple, dict[str, list[dict]]] = {}
    for row in rows:
        runs.setdefault((row["dataset"], row["seed"], row["start"]), {}).setdefault(
            row["loop"], []
        ).append(row)
    loops = sorted({row["loop"] for row in rows}, key=LOOPS.index)
    complete = [r for r in runs.values() if all(loop in r for loop in loops)]
    lines = [f"{len(complete)} runs (table, seed, start) with every loop; means over them."]
    lines += [f"Rows from: {_provenance(rows)}.", ""]
    lines += ["| loop | round | questions | anomalies found | test AUROC | test AUPRC |"]
    lines += ["|---|--:|--:|--:|--:|--:|"]
    for loop in loops:
        for rnd in range(max(row["round"] for row in rows) + 1):
            cells = [r[loop][rnd] for r in complete if rnd < len(r[loop])]
            lines.append(
                f"| {loop} | {rnd} | {np.mean([c['asked'] for c in cells]):.0f} | "
                f"{np.mean([c['found'] for c in cells]):.1f} | "
                f"{np.mean([c['auroc'] for c in cells]):.3f} | "
                f"{np.mean([c['auprc'] for c in cells]):.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_loop_arguments(parser)
    parser.add_argument("--loops", nargs="+", default=list(LOOPS), choices=LOOPS)
    parser.add_argument(
        "--warm-epochs", type=int, help="the warm loop's warm_epochs (default: the model's)"
    )
    parser.add_argument(
        "--wvad-model",
        default="wvad",
        help="the benchmark model the wvad loops fit (default: wvad, the default; a variant "
        "such as wvad-proximity-grows to compare; recorded in every row)",
    )
    args = parser.parse_args()
    if args.summary:
        print(summarise(args.out / "rounds.jsonl"))
        return
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "rounds.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done.add((row["dataset"], row["seed"], row["start"], row["loop"]))
    provenance: dict[str, object] = dict(stamp())
    if args.warm_epochs is not None:
        provenance["warm_epochs"] = args.warm_epochs
    if args.wvad_model != "wvad":
        provenance["wvad_model"] = args.wvad_model
    for dataset in args.datasets:
        X, y = load_dataset(dataset, data_dir=default_data_dir())
        for seed in args.seeds:
            for start in args.start:
                split = weak_split(X, y, n_labeled=max(start, 1), seed=seed)
                if start == 0:  # the same split, no label yet
                    split = replace(split, y_train_weak=np.zeros_like(split.y_train_weak))
                for loop in args.loops:
                    if (dataset, seed, start, loop) in done:
                        continue
                    rows = [
                        {"dataset": dataset, "seed": seed, "start": start, "loop": loop,
                         "round": r, "found": f, "asked": a, "auroc": au, "auprc": ap,
                         "seconds": s, **provenance}
                        for r, f, a, au, ap, s in run_loop(
                            loop, split, args.rounds, args.batch, seed, args.warm_epochs,
                            args.wvad_model,
                        )
                    ]  # fmt: skip
                    with path.open("a") as handle:
                        handle.writelines(json.dumps(row) + "\n" for row in rows)
                    last = rows[-1]
                    print(
                        f"{dataset} seed {seed} start {start} {loop}: found {last['found']}/"
                        f"{last['asked']}, AUROC {last['auroc']:.3f}, AUPRC {last['auprc']:.3f}"
                    )


if __name__ == "__main__":
    main()

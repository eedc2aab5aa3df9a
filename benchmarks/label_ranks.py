"""How a set-aside rule would treat right and wrong labels, from the labels' ranks alone.

Doubtful labels are judged on their ranks among the unlabeled training rows on the pieces
that did not learn from them (`wvad.fused.label_ranks`), computed before the mixture
trains. `record` fits the default up to that point (set-aside off, so every label is
ranked) on each cell of a grid and writes each label's ranks and whether it is in truth
an anomaly; `compare` reads those records and counts, per rule, the right labels it would
set aside (on clean cells and on cells with planted wrong labels) and the planted wrong
ones it would catch, and lists the cells where two rules differ (the only cells whose
scores the choice between them can change); `score` fits the default of the checked-out
commit on listed cells and records its test AUROC and AUPRC, so two commits compare on
those cells alone:

    python benchmarks/label_ranks.py record --datasets breastw stamps --out ranks.jsonl
    python benchmarks/label_ranks.py compare ranks.jsonl --caps 0.75 0.6 > differ.txt
    python benchmarks/label_ranks.py score differ.txt --out scores.jsonl

Each rule is the re-check rule (`wvad.fused.doubtful_labels`) with its cap replaced, at
`fusion.set_aside_min_labels` labels and more. Results are recorded in docs/method.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

import wvad.estimator
from wvad import WVAD
from wvad.data import default_data_dir, load_dataset
from wvad.fused import ScorePlan, doubtful_labels
from wvad.presets import DEFAULT
from wvad.protocol import weak_split

SETTINGS = {"ratio": "labeled_ratio", "n": "n_labeled"}


class _RankedError(Exception):
    """Raised once the labels are ranked: the rest of the fit is not needed."""

    def __init__(self, ranks: dict[str, np.ndarray]) -> None:
        self.ranks = ranks


def _make_and_stop(data: Any, config: Any) -> ScorePlan:
    raise _RankedError(ScorePlan.make(data, config).ranks)


def ranks_of(X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, list[float]]:
    """Every label's ranks on the label-blind and held-out pieces, as the default's fit
    computes them (set-aside off)."""
    model = WVAD(random_state=seed, fusion={"set_aside_doubtful": False})
    real, wvad.estimator.ScorePlan.make = wvad.estimator.ScorePlan.make, _make_and_stop
    try:
        model.fit(X, y)
    except _RankedError as ranked:
        return {name: values.tolist() for name, values in ranked.ranks.items()}
    finally:
        wvad.estimator.ScorePlan.make = real
    raise RuntimeError("the fit ended without ranking the labels")


def cells(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    settings = [("ratio", r) for r in args.ratios] + [("n", n) for n in args.labels]
    for table in args.datasets:
        X, y = load_dataset(table, data_dir=default_data_dir())
        for kind, value in settings:
            for wrong in args.wrong:
                for seed in args.seeds:
                    cell = dict(table=table, kind=kind, value=value, wrong=wrong, seed=seed)
                    try:
                        split = weak_split(
                            X, y, seed=seed, label_noise=wrong, **{SETTINGS[kind]: value}
                        )
                    except ValueError as exc:  # too few anomalies for the setting
                        print(f"skipped {cell}: {exc}")
                        continue
                    labeled = np.flatnonzero(split.y_train_weak == 1)
                    cell["truth"] = split.y_train[labeled].astype(int).tolist()
                    cell["ranks"] = ranks_of(split.X_train, split.y_train_weak, seed)
                    yield cell


def record(args: argparse.Namespace) -> None:
    with open(args.out, "a") as out:
        for cell in cells(args):
            out.write(json.dumps(cell) + "\n")
            out.flush()


def set_aside(cell: dict[str, Any], cap: float) -> np.ndarray:
    """The labels the rule with `cap` sets aside in `cell` (a boolean per label)."""
    flagged = np.zeros(len(cell["truth"]), dtype=bool)
    if len(cell["truth"]) >= DEFAULT.fusion.set_aside_min_labels:
        ranks = {name: np.asarray(v) for name, v in cell["ranks"].items()}
        flagged[[i for i, _ in doubtful_labels(ranks, cap=cap)]] = True
    return flagged


def compare(args: argparse.Namespace) -> None:
    rows = []
    for path in args.records:
        with open(path) as lines:
            rows += [json.loads(line) for line in lines]
    print(f"{len(rows)} cells; rules apply at {DEFAULT.fusion.set_aside_min_labels}+ labels")
    print(
        "| cap | right labels set aside, clean cells | cells with one | wrong labels caught "
        "| right labels set aside, wrong-label cells |"
    )
    print("|--:|--:|--:|--:|--:|")
    for cap in args.caps:
        n = dict.fromkeys(("right", "fp", "fp_cells", "clean", "wrong", "tp", "right_w", "fp_w"), 0)
        for cell in rows:
            truth, flagged = np.asarray(cell["truth"]), set_aside(cell, cap)
            if cell["wrong"] == 0:
                n["clean"] += 1
                n["right"] += int((truth == 1).sum())
                n["fp"] += int((flagged & (truth == 1)).sum())
                n["fp_cells"] += bool((flagged & (truth == 1)).any())
            else:
                n["wrong"] += int((truth == 0).sum())
                n["tp"] += int((flagged & (truth == 0)).sum())
                n["right_w"] += int((truth == 1).sum())
                n["fp_w"] += int((flagged & (truth == 1)).sum())
        print(
            f"| {cap:g} | {n['fp']} of {n['right']} | {n['fp_cells']} of {n['clean']} "
            f"| {n['tp']} of {n['wrong']} | {n['fp_w']} of {n['right_w']} |"
        )
    first, second = args.caps[0], args.caps[-1]
    differ = [c for c in rows if (set_aside(c, first) != set_aside(c, second)).any()]
    print(f"\n{len(differ)} cells where caps {first:g} and {second:g} differ:")
    for c in differ:
        print(json.dumps({k: c[k] for k in ("table", "kind", "value", "wrong", "seed")}))


def score(args: argparse.Namespace) -> None:
    """Fit the default on each listed cell (one torch thread) and record its test AUROC,
    AUPRC, the labels it set aside and how many of those were planted wrong ones."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    torch.set_num_threads(1)
    with open(args.cells) as lines:
        listed = [json.loads(line) for line in lines if line.startswith("{")]
    with open(args.out, "a") as out:
        for cell in listed:
            X, y = load_dataset(cell["table"], data_dir=default_data_dir())
            labels = {SETTINGS[cell["kind"]]: cell["value"]}
            split = weak_split(X, y, seed=cell["seed"], label_noise=cell["wrong"], **labels)
            model = WVAD(random_state=cell["seed"]).fit(split.X_train, split.y_train_weak)
            scores = model.decision_function(split.X_test)
            aside = model.labels_set_aside_
            row = dict(cell, commit=_commit(), n_set_aside=len(aside))
            row["wrong_set_aside"] = int((split.y_train[aside] == 0).sum())
            row["auroc"] = roc_auc_score(split.y_test, scores)
            row["auprc"] = average_precision_score(split.y_test, scores)
            out.write(json.dumps(row) + "\n")
            out.flush()


def _commit() -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--datasets", nargs="+", required=True)
    rec.add_argument("--ratios", nargs="*", type=float, default=[0.05, 0.1])
    rec.add_argument("--labels", nargs="*", type=int, default=[10, 5])
    rec.add_argument("--wrong", nargs="*", type=float, default=[0.0, 0.25])
    rec.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    rec.add_argument("--out", required=True)
    cmp = sub.add_parser("compare")
    cmp.add_argument("records", nargs="+")
    cmp.add_argument("--caps", nargs="+", type=float, default=[0.75, 0.6])
    sco = sub.add_parser("score")
    sco.add_argument("cells", help="compare's output (its JSON lines are the cells)")
    sco.add_argument("--out", required=True)
    args = parser.parse_args()
    {"record": record, "compare": compare, "score": score}[args.command](args)


if __name__ == "__main__":
    main()

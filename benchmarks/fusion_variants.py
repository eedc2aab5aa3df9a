"""Tuning study: how should the default fuse and fit its pieces? One mixture, many read-outs.

For each (table, label setting, seed) this fits the default WVAD once. Its mixture and
score estimator do not depend on the variants below (the reliable rows come from the
boosted trees' cross-fit, which no variant changes), so each variant only redoes the fused
score's part: cross-fitting, the pieces' final fits and the weights (`wvad.fused`). Every
variant is thus compared with the others on the same mixture, splits and labels.

Variants (the configuration changes of each, on the default):
- base: the default as it is;
- bag-dev: the deviation network's five fold models instead of one more fit;
- sized: a deviation schedule sized to the table (one pass over the unlabeled rows per
  epoch at most); bag-sized: both;
- ref2048, ref1024: the neighbour distance keeps at most 2,048 / 1,024 unlabeled rows;
- shrink5, shrink10: label_shrinkage 5 / 10;
- label-free: the base fit's unsupervised pieces with equal weights, no label used to
  weigh them (`FusedScore.label_free`).

Rows are written in `wvad bench`'s format (model = variant), so `wvad report OUT
--reference base` pairs every variant with the base. Resumable: cells already in
OUT/results.jsonl are skipped.

    python benchmarks/fusion_variants.py --datasets tuning --ratios 0.1 --labels 1 3 5 \\
        --seeds auto --out runs/tuning/fusion --jobs 2
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from joblib import Parallel, delayed
from sklearn.metrics import average_precision_score, roc_auc_score

from wvad import WVAD
from wvad.bench.results import ResultsWriter, cell_key, read_rows
from wvad.bench.runner import environment, seeds_for
from wvad.config import Config
from wvad.data import default_data_dir, load_dataset
from wvad.data.registry import expand_datasets
from wvad.evidence import TrainingData
from wvad.fused import ScorePlan
from wvad.protocol import weak_split
from wvad.runtime import flush_denormals
from wvad.training import TrainedMixture


def variants(base: Config) -> dict[str, Config]:
    dev, fus = base.deviation, base.fusion
    return {
        "base": base,
        "bag-dev": base.replace(fusion=replace(fus, bagged=("deviation",))),
        "sized": base.replace(deviation=replace(dev, sized_epochs=True)),
        "bag-sized": base.replace(
            deviation=replace(dev, sized_epochs=True), fusion=replace(fus, bagged=("deviation",))
        ),
        "ref2048": base.replace(fusion=replace(fus, max_reference=2048)),
        "ref1024": base.replace(fusion=replace(fus, max_reference=1024)),
        "shrink5": base.replace(fusion=replace(fus, label_shrinkage=5.0)),
        "shrink10": base.replace(fusion=replace(fus, label_shrinkage=10.0)),
    }


def _plan(cache: dict, data: TrainingData, config: Config) -> ScorePlan:
    """The cross-fitting of `config`, reused by every variant that cross-fits alike (only
    the deviation schedule, the trees, the folds and the cleaning change it)."""
    key = (config.deviation, config.trees, config.fusion.max_folds, config.clean_unlabeled)
    key += (config.fusion.spy_quantile, config.fusion.gini_floor)
    if key not in cache:
        cache[key] = ScorePlan.make(data, config)
    return cache[key]


def run_cell(dataset: str, setting: str, seed: int) -> list[dict[str, Any]]:
    torch.set_num_threads(1)
    X, y = load_dataset(dataset, data_dir=default_data_dir())
    labels = (
        {"n_labeled": int(setting.split()[0])}
        if setting.endswith("labels")
        else {"labeled_ratio": float(setting)}
    )
    split = weak_split(X, y, seed=seed, **labels)
    started = time.perf_counter()
    model = WVAD(random_state=seed).fit(split.X_train, split.y_train_weak)
    base_seconds = time.perf_counter() - started
    head = model.score_.pieces.get("head")
    mixture = TrainedMixture(model.mixture_, None if head is None else head.head, {})
    data = TrainingData(
        model.scaler_.transform(split.X_train), split.y_train_weak, model.seed_, model.device_
    )
    test = {"seed": seed, "dataset": dataset, "n_labels": labels.get("n_labeled")}
    test["ratio"] = labels.get("labeled_ratio")
    rows, plans = [], {}
    base_score = model.score_
    for name, config in {**variants(model.config_), "label-free": None}.items():
        started = time.perf_counter()
        with flush_denormals():
            if config is None:
                model.score_ = base_score.label_free()
                scores = model.decision_function(split.X_test)
            else:
                plan = _plan(plans, data, config)
                model.score_, _ = plan.fit(data, config, mixture)
                scores = model.decision_function(split.X_test)
        seconds = time.perf_counter() - started
        rows.append(
            {
                **test,
                "model": name,
                "status": "ok",
                "auroc": float(roc_auc_score(split.y_test, scores)),
                "auprc": float(average_precision_score(split.y_test, scores)),
                "fit_seconds": seconds + (base_seconds if name == "base" else 0.0),
                "n_labeled": int(split.y_train_weak.sum()),
                "weights": {} if config is None else model.score_weights(),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["tuning"])
    parser.add_argument("--ratios", nargs="*", type=float, default=[0.1])
    parser.add_argument("--labels", nargs="*", type=int, default=[1, 3, 5])
    parser.add_argument("--seeds", default="auto", help="'auto' or a comma-separated list")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    settings = [f"{r:g}" for r in args.ratios] + [f"{k} labels" for k in args.labels]
    cells = []
    for dataset in expand_datasets(args.datasets):
        n_rows = len(load_dataset(dataset, data_dir=default_data_dir())[1])
        seeds = (
            seeds_for(n_rows) if args.seeds == "auto" else [int(s) for s in args.seeds.split(",")]
        )
        cells += [(dataset, t, s) for t in settings for s in seeds]
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    done = {cell_key(r)[:3] for r in read_rows(results) if r["model"] == "base"}
    pending = [c for c in cells if c not in done]
    meta = {
        "grid": {"datasets": expand_datasets(args.datasets), "settings": settings},
        **environment(),
    }
    (args.out / "meta.json").write_text(__import__("json").dumps(meta, indent=2))
    print(f"{len(pending)} of {len(cells)} cells to run", flush=True)
    with ResultsWriter(results) as writer:
        jobs = Parallel(n_jobs=args.jobs, return_as="generator_unordered")
        for rows in jobs(delayed(run_cell)(*cell) for cell in pending):
            for row in rows:
                writer.write(row)


if __name__ == "__main__":
    main()

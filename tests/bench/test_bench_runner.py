import json
import sys

import numpy as np
import pytest
from bench_fakes import CountingFactory, fake_factory, load_tiny, split_tiny

from wvad.bench.results import MEASURED_FIELDS, cell_key, read_rows, repair_results
from wvad.bench.runner import BenchError, run_grid

DATASETS = ["blobs", "rings"]
RATIOS = [0.5, 0.25]
SEEDS = [0, 1]
MODELS = ["mean", "noisy"]
N_CELLS = len(DATASETS) * len(RATIOS) * len(SEEDS) * len(MODELS)


def run(out, factory=fake_factory, **kw):
    grid = dict(datasets=DATASETS, ratios=RATIOS, seeds=SEEDS, models=MODELS, label_counts=())
    grid.update({k: kw.pop(k) for k in list(kw) if k in grid})
    return run_grid(
        **grid,
        out_dir=out,
        loader=load_tiny,
        splitter=split_tiny,
        factory=factory,
        progress=False,
        **kw,
    )


def keys(rows):
    return sorted(cell_key(r) for r in rows)


def test_every_cell_gets_one_ok_row_with_metrics(tmp_path):
    out = run(tmp_path / "b")
    rows = read_rows(out / "results.jsonl")
    assert len(rows) == N_CELLS == len(set(keys(rows)))
    for r in rows:
        assert r["status"] == "ok" and r["error"] is None
        assert 0.0 <= r["auroc"] <= 1.0 and 0.0 <= r["auprc"] <= 1.0
        assert r["fit_seconds"] >= 0 and r["score_seconds"] >= 0
        if sys.platform.startswith("linux"):  # the peak resident memory of each step, in MiB
            assert r["fit_peak_mb"] >= r["start_mb"] > 1 and r["score_peak_mb"] > 1
        assert r["n_train"] == 70 and r["n_test"] == 30 and r["n_features"] == 3
    by_ratio = {r["ratio"]: r["n_labeled"] for r in rows}
    assert by_ratio == {0.5: 3, 0.25: 1}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["n_written"] == N_CELLS
    assert meta["grid"]["models"] == MODELS and meta["versions"]["numpy"]
    assert meta["machine"]["cpu_count"] >= 1
    # every row says where it was computed, so a folder mixing runs can say so
    assert {(r["commit"], r["cpu"]) for r in rows} == {(meta["git_commit"], meta["machine"]["cpu"])}


def test_resume_after_interrupt_recomputes_nothing(tmp_path):
    out = tmp_path / "b"
    first = CountingFactory(interrupt_at=6)
    with pytest.raises(KeyboardInterrupt):
        run(out, factory=first)
    done = read_rows(out / "results.jsonl")
    assert len(done) == 5 == len(first.calls)
    assert json.loads((out / "meta.json").read_text())["status"] == "interrupted"

    second = CountingFactory()
    run(out, factory=second)
    rows = read_rows(out / "results.jsonl")
    assert len(second.calls) == N_CELLS - 5
    assert keys(rows) == sorted(set(keys(rows))) and len(rows) == N_CELLS
    assert rows[:5] == done  # the first run's lines are untouched
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "finished" and len(meta["history"]) == 1

    third = CountingFactory()
    run(out, factory=third)
    assert third.calls == [] and len(read_rows(out / "results.jsonl")) == N_CELLS


def test_grown_grid_runs_only_new_cells(tmp_path):
    out = tmp_path / "b"
    run(out, seeds=[0])
    counting = CountingFactory()
    run(out, factory=counting, seeds=[0, 1])
    assert len(counting.calls) == N_CELLS // 2
    assert {seed for _, seed in counting.calls} == {1}


def test_partial_trailing_line_is_tolerated_and_cut(tmp_path):
    out = run(tmp_path / "b", seeds=[0])
    path = out / "results.jsonl"
    with open(path, "a") as fh:
        fh.write('{"dataset": "blobs", "ratio": 0.5, "se')
    assert len(read_rows(path)) == N_CELLS // 2
    counting = CountingFactory()
    run(out, factory=counting)
    assert len(counting.calls) == N_CELLS // 2
    text = path.read_text()
    assert text.endswith("\n") and '"se\n' not in text
    assert len([json.loads(line) for line in text.splitlines()]) == N_CELLS
    assert repair_results(path) == 0


def test_failing_model_records_error_and_grid_continues(tmp_path):
    out = run(tmp_path / "b", models=["broken", "mean"], datasets=["blobs"], seeds=[0])
    rows = {r["model"]: r for r in read_rows(out / "results.jsonl") if r["ratio"] == 0.5}
    assert rows["broken"]["status"] == "error"
    assert rows["broken"]["error"] == "RuntimeError: this model always fails"
    assert rows["broken"]["auroc"] is None and "Traceback" in rows["broken"]["traceback"]
    assert rows["mean"]["status"] == "ok"
    meta = json.loads((out / "meta.json").read_text())
    assert meta["n_errors"] == 2


def test_errors_are_retried_only_on_request(tmp_path):
    out = run(tmp_path / "b", models=["broken"], datasets=["blobs"], seeds=[0], ratios=[0.5])
    counting = CountingFactory()
    run(out, factory=counting, models=["broken"], datasets=["blobs"], seeds=[0], ratios=[0.5])
    assert counting.calls == []
    run(
        out,
        factory=counting,
        models=["broken"],
        datasets=["blobs"],
        seeds=[0],
        ratios=[0.5],
        retry_errors=True,
    )
    assert counting.calls == [("broken", 0)]


def test_unknown_dataset_fails_before_any_cell(tmp_path):
    counting = CountingFactory()
    with pytest.raises(BenchError, match="could not load dataset 'nope'"):
        run(tmp_path / "b", factory=counting, datasets=["blobs", "nope"])
    assert counting.calls == []


def test_unknown_model_with_default_factory(tmp_path):
    with pytest.raises(BenchError, match=r"unknown model 'mean'.*wvad-paper"):
        run_grid(["blobs"], [0.1], [0], ["mean"], tmp_path, loader=load_tiny, progress=False)


def test_two_jobs_give_the_same_rows_as_one(tmp_path):
    small = dict(datasets=["blobs"], seeds=[0, 1], models=["mean", "noisy", "sleepy"])
    serial = read_rows(run(tmp_path / "serial", **small) / "results.jsonl")
    parallel = read_rows(
        run(tmp_path / "parallel", jobs=2, backend="loky", **small) / "results.jsonl"
    )

    def stable(rows):
        kept = ({k: v for k, v in r.items() if k not in MEASURED_FIELDS} for r in rows)
        return sorted(kept, key=cell_key)

    assert len(serial) == 12
    assert stable(serial) == stable(parallel)


def test_a_second_concurrent_run_on_the_same_directory_is_refused(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "b"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BenchError, match="in use by another benchmark run"):
            run(out)
    assert not (out / "results.jsonl").exists()


def test_cells_run_torch_on_one_thread_and_restore_the_setting(tmp_path):
    """Same scores whatever --jobs: every cell's torch work runs on one thread."""
    import torch
    from bench_fakes import MeanDistance

    seen = []

    class ThreadProbe(MeanDistance):
        def fit(self, X, y=None):
            seen.append(torch.get_num_threads())
            return super().fit(X, y)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run(tmp_path / "t", factory=lambda name, seed: ThreadProbe(seed), models=["mean"])
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_label_counts_are_cells_beside_the_ratios_and_resume_by_name(tmp_path):
    out = run(tmp_path / "b", ratios=[0.5], label_counts=[1, 3, 50])
    rows = read_rows(out / "results.jsonl")
    settings = {(r["ratio"], r["n_labels"]) for r in rows}
    assert settings == {(0.5, None), (None, 1), (None, 3), (None, 50)}
    labeled = {r["n_labels"]: r["n_labeled"] for r in rows if r["ratio"] is None}
    assert labeled == {1: 1, 3: 3, 50: 7}  # capped by the 7 training anomalies
    again = CountingFactory()
    run(out, factory=again, ratios=[0.5], label_counts=[1, 3, 50])
    assert again.calls == []  # every cell, counts included, was found done


def test_auto_seeds_follow_the_table_size(tmp_path, monkeypatch):
    import wvad.bench.runner as runner

    monkeypatch.setattr(runner, "AUTO_SEEDS_ROWS", 150)  # the tiny tables have 100 rows
    out = run(tmp_path / "b", seeds="auto", ratios=[0.5], models=["mean"])
    rows = read_rows(out / "results.jsonl")
    assert sorted({r["seed"] for r in rows}) == list(range(10))
    monkeypatch.setattr(runner, "AUTO_SEEDS_ROWS", 50)
    out = run(tmp_path / "c", seeds="auto", ratios=[0.5], models=["mean"])
    assert sorted({r["seed"] for r in read_rows(out / "results.jsonl")}) == list(range(5))


def test_models_with_a_label_threshold_record_the_recall_it_reached(tmp_path):
    from bench_fakes import MeanDistance

    class Thresholded(MeanDistance):
        def threshold_for_recall(self, recall):
            return -np.inf if recall > 0.6 else np.inf  # flags all, or none

        def label_free_decision_function(self, X):
            return -self.decision_function(X)

    out = run(tmp_path / "b", factory=lambda name, seed: Thresholded(seed), models=["t"])
    row = read_rows(out / "results.jsonl")[0]
    assert row["recall_at_target"] == {"0.5": 0.0, "0.8": 1.0, "0.9": 1.0}
    assert row["normals_flagged_at_target"]["0.9"] == 1.0
    assert row["label_free_auroc"] == pytest.approx(1 - row["auroc"])


def test_a_model_that_sets_labels_aside_records_how_many_and_how_many_were_wrong(tmp_path):
    from types import SimpleNamespace

    from bench_fakes import MeanDistance

    def split_with_wrong(X, y, *, seed, **labels):
        out = split_tiny(X, y, seed=seed, **labels)
        truth = out.y_train_weak.copy()
        labeled = np.flatnonzero(truth == 1)
        truth[labeled[:2]] = 0  # the first two labels are in truth normal rows
        return SimpleNamespace(**vars(out), y_train=truth)

    class SettingAside(MeanDistance):
        def fit(self, X, y):
            self.labels_set_aside_ = np.flatnonzero(y == 1)[1:4]  # one wrong, two right
            return super().fit(X, y)

    out = run_grid(
        datasets=["blobs"],
        ratios=[1.0],
        seeds=[0],
        models=["s", "mean"],
        out_dir=tmp_path / "b",
        loader=load_tiny,
        splitter=split_with_wrong,
        progress=False,
        factory=lambda name, seed: SettingAside(seed) if name == "s" else MeanDistance(seed),
    )
    rows = {r["model"]: r for r in read_rows(out / "results.jsonl")}
    assert (rows["s"]["n_set_aside"], rows["s"]["n_wrong_set_aside"]) == (3, 1)
    assert rows["s"]["n_wrong_labels"] == 2
    assert "n_set_aside" not in rows["mean"]


def test_known_normal_cells_give_the_mask_only_to_detectors_that_use_it(tmp_path):
    from types import SimpleNamespace

    from bench_fakes import MeanDistance

    seen = []

    class Using(MeanDistance):
        accepts_known_normals = True

        def fit(self, X, y, known_normal=None):
            seen.append(None if known_normal is None else int(known_normal.sum()))
            return super().fit(X, y)

    def split(X, y, *, seed, known_normal_share=0.0, **labels):
        out = split_tiny(X, y, seed=seed, **labels)
        normal = np.zeros(len(out.y_train_weak), bool)
        normal[: int(known_normal_share * 50)] = True
        return SimpleNamespace(**vars(out), known_normal=normal)

    out = run_grid(
        ["blobs"], [0.5], [0], ["u", "m"], tmp_path / "b", known_normals=[0.1],
        loader=load_tiny, splitter=split, progress=False,
        factory=lambda name, seed: Using(seed) if name == "u" else MeanDistance(seed),
    )  # fmt: skip
    rows = read_rows(out / "results.jsonl")
    assert {(r["model"], r["known_normals"]) for r in rows} == {
        ("u", None),
        ("m", None),
        ("u", 0.1),
        ("m", 0.1),
    }
    assert sorted(seen, key=str) == [5, None]


def test_corruption_cells_split_with_the_named_corruption(tmp_path):
    seen = []

    def split(X, y, *, seed, **kwargs):
        seen.append(dict(kwargs))
        kwargs.pop("label_noise", None)
        kwargs.pop("duplicate_anomalies", None)
        return split_tiny(X, y, seed=seed, **kwargs)

    out = run_grid(
        ["blobs"], [0.5], [0], ["mean"], tmp_path / "b", corruptions=["wrong=0.25", "dup=3"],
        loader=load_tiny, splitter=split, factory=fake_factory, progress=False,
    )  # fmt: skip
    rows = read_rows(out / "results.jsonl")
    assert sorted(str(r["corruption"]) for r in rows) == ["None", "dup=3", "wrong=0.25"]
    assert {"labeled_ratio": 0.5, "label_noise": 0.25} in seen
    assert {"labeled_ratio": 0.5, "duplicate_anomalies": 3} in seen
    with pytest.raises(BenchError, match="KEY=VALUE"):
        run(tmp_path / "c", corruptions=["flip=0.1"])


def test_a_mixed_table_reaches_each_model_in_its_form(tmp_path):
    """Text columns and missing values pass the runner's split as DataFrames: WVAD and
    CatBoost read them, the other peers get them imputed, one-hot encoded and scaled."""
    import pandas as pd

    from wvad.bench.models import make_model

    rng = np.random.default_rng(0)
    n = 200
    y = (np.arange(n) < 20).astype(np.int64)
    frame = pd.DataFrame(
        {
            "v": rng.normal(size=n) + 3 * y,
            "lab": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
            "kind": rng.choice(["a", "b", None], n).astype(object),
        }
    )
    seen = {}

    def factory(name, seed):
        model = make_model(name, seed)
        if name == "wvad":
            model.set_params(pretrain_epochs=1, warmup_epochs=1, joint_epochs=1, n_clusters=1)
        original = model.fit

        def fit(X, y, **kw):
            seen[name] = type(X).__name__
            return original(X, y, **kw)

        model.fit = fit
        return model

    out = run_grid(
        datasets=["mixed"], ratios=[0.5], seeds=[0], models=["wvad", "catboost", "iforest"],
        out_dir=tmp_path / "m", loader=lambda name: (frame, y), factory=factory, progress=False,
    )  # fmt: skip
    rows = read_rows(out / "results.jsonl")
    assert [r["status"] for r in rows] == ["ok"] * 3, [r["error"] for r in rows]
    assert seen == {"wvad": "DataFrame", "catboost": "DataFrame", "iforest": "ndarray"}

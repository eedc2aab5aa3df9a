"""Scoring and benchmarking on a real Dask cluster: two worker processes on loopback."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import wvad.distributed  # noqa: E402
from wvad import WVAD, make_multimodal  # noqa: E402
from wvad.bench.results import MEASURED_FIELDS, read_rows  # noqa: E402
from wvad.bench.runner import run_grid  # noqa: E402
from wvad.cli import main  # noqa: E402
from wvad.distributed import score_dask, score_file_dask  # noqa: E402
from wvad.workflow import fit_table, score_file  # noqa: E402

# The bench fakes live beside the bench tests; the workers (spawned processes) inherit
# sys.path, so they can unpickle the fakes by reference too.
sys.path.insert(0, str(Path(__file__).parent / "bench"))
from bench_fakes import fake_factory, load_tiny, split_tiny  # noqa: E402

TINY = {"pretrain_epochs": 2, "warmup_epochs": 2, "joint_epochs": 2}
FEATURES = ["a", "b", "c", "d"]
N_PARTS = 4
# Across different batchings float32 matrix kernels may differ in the last bit (see
# score_dask); same batches give identical scores.
TOL = {"rtol": 1e-6, "atol": 1e-6}

TWO_EPOCHS = {"pretrain_epochs": 2, "warmup_epochs": 2, "joint_epochs": 2}


@pytest.fixture(scope="module")
def cluster():
    # The scheduler's active memory manager drops replicas no waiting task needs, every
    # two seconds: with it on, whether the broadcast model is still on both workers when
    # a test looks depends on timing. Off, the tests see what score_dask placed.
    with (
        dask.config.set({"distributed.scheduler.active-memory-manager.start": False}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    X, _, y_weak = make_multimodal(n_samples=240, n_features=4, random_state=1)
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(0, "key", [f"k{i}" for i in range(len(frame))])
    frame["label"] = y_weak
    frame["colour"] = np.where(X[:, 1] > 0, "red", "blue")
    return frame


@pytest.fixture(scope="module")
def model(frame) -> WVAD:
    return WVAD(n_clusters=3, random_state=0, **TINY).fit(frame[FEATURES], frame["label"])


def test_score_dask_equals_local_scoring(cluster, frame, model):
    ddf = dd.from_pandas(frame, npartitions=N_PARTS)
    lazy = score_dask(model, ddf)
    assert list(lazy.columns) == ["score", "predicted", "cluster"]
    assert lazy.npartitions == N_PARTS
    result = lazy.compute()
    assert result.index.equals(frame.index)
    # With a client the model was scattered: one copy on each worker.
    held = cluster.has_what()
    assert len(held) == 2
    assert all(any(str(k).startswith("_Scorer") for k in keys) for keys in held.values())
    # The same rows in the same batches: identical to the local estimator, bit for bit.
    parts = [ddf.get_partition(i).compute() for i in range(N_PARTS)]
    local = np.concatenate([model.decision_function(p[FEATURES]) for p in parts])
    assert np.array_equal(result["score"].to_numpy(), local)
    assert np.array_equal(
        result["cluster"].to_numpy(),
        np.concatenate([model.predict_cluster(p[FEATURES]) for p in parts]),
    )
    assert np.array_equal(
        result["predicted"].to_numpy(),
        np.concatenate([model.predict(p[FEATURES]) for p in parts]),
    )
    # The whole table in one batch: equal up to float32 summation order.
    whole = model.decision_function(frame[FEATURES])
    np.testing.assert_allclose(result["score"].to_numpy(), whole, **TOL)
    assert np.array_equal(result["cluster"].to_numpy(), model.predict_cluster(frame[FEATURES]))
    far = np.abs(whole - model.threshold_) > 1e-5
    assert np.array_equal(result["predicted"].to_numpy()[far], model.predict(frame[FEATURES])[far])


def test_score_dask_columns_keep_and_numpy_fitted_model(cluster, frame):
    X = frame[FEATURES].to_numpy()
    plain = WVAD(n_clusters=2, random_state=0, **TINY).fit(X, frame["label"].to_numpy())
    ddf = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(ValueError, match="model reads 4 columns"):
        score_dask(plain, ddf)
    out = score_dask(plain, ddf, columns=FEATURES, keep=["key"]).compute()
    assert list(out.columns) == ["key", "score", "predicted", "cluster"]
    assert out["key"].tolist() == frame["key"].tolist()
    np.testing.assert_allclose(out["score"].to_numpy(), plain.decision_function(X), **TOL)
    with pytest.raises(ValueError, match="lacks column"):
        score_dask(plain, ddf, columns=["a", "b", "c", "zz"])


def test_without_a_client_the_model_is_one_graph_node(monkeypatch, frame, model):
    monkeypatch.setattr(wvad.distributed, "_active_client", lambda: None)
    ddf = dd.from_pandas(frame, npartitions=N_PARTS)
    lazy = score_dask(model, ddf)
    graph = dict(lazy.__dask_graph__())
    size = len(pickle.dumps(model))
    holders = [k for k, v in graph.items() if len(pickle.dumps(v)) >= size]
    assert len(holders) == 1  # serialised once, whatever the number of partitions
    result = lazy.compute(scheduler="synchronous")
    parts = [ddf.get_partition(i).compute() for i in range(N_PARTS)]
    local = np.concatenate([model.decision_function(p[FEATURES]) for p in parts])
    assert np.array_equal(result["score"].to_numpy(), local)


def test_model_folder_reuses_the_table_encoding(cluster, tmp_path, frame):
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    fitted = fit_table(data, "label", tmp_path / "model", id_col="key", settings=TWO_EPOCHS)
    assert fitted.model.encoder_.categorical_columns() == ["colour"]
    ddf = dd.from_pandas(frame, npartitions=N_PARTS)
    out = score_dask(tmp_path / "model", ddf, keep=["key"]).compute()
    score_file(tmp_path / "model", data, tmp_path / "ref.csv")
    ref = pd.read_csv(tmp_path / "ref.csv", dtype={"key": str})
    assert out["key"].tolist() == ref["key"].tolist()
    np.testing.assert_allclose(out["score"].to_numpy(), ref["score"].to_numpy(), **TOL)
    assert np.array_equal(out["cluster"].to_numpy(), ref["cluster"].to_numpy())


def test_cli_dask_scheduler_writes_what_the_in_memory_path_writes(cluster, tmp_path, frame):
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    model_dir = tmp_path / "model"
    fit_table(data, "label", model_dir, id_col="key", features=FEATURES, settings=TWO_EPOCHS)
    address = cluster.scheduler.address
    common = ["score", str(model_dir), str(data), "--quiet", "--out"]
    assert main([*common, str(tmp_path / "mem.csv")]) == 0
    assert main([*common, str(tmp_path / "dask.csv"), "--dask-scheduler", address]) == 0
    mem = pd.read_csv(tmp_path / "mem.csv", dtype={"key": str})
    got = pd.read_csv(tmp_path / "dask.csv", dtype={"key": str})
    # One small file is one partition and one chunk: the same batch, the same numbers.
    pd.testing.assert_frame_equal(got, mem)
    assert list(tmp_path.glob(".*.tmp")) == []


def test_score_file_dask_many_partitions_and_parquet(cluster, tmp_path, frame):
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    model_dir = tmp_path / "model"
    fit_table(data, "label", model_dir, features=FEATURES, settings=TWO_EPOCHS)
    score_file(model_dir, data, tmp_path / "mem.parquet")
    summary = score_file_dask(model_dir, data, tmp_path / "dask.parquet", blocksize=4000)
    mem = pd.read_parquet(tmp_path / "mem.parquet")
    got = pd.read_parquet(tmp_path / "dask.parquet")
    assert summary.n_rows == len(frame) and list(got.columns) == [
        "row",
        "score",
        "predicted",
        "cluster",
    ]
    assert np.array_equal(got["row"].to_numpy(), np.arange(len(frame)))
    np.testing.assert_allclose(got["score"].to_numpy(), mem["score"].to_numpy(), **TOL)
    assert np.array_equal(got["cluster"].to_numpy(), mem["cluster"].to_numpy())
    with pytest.raises(FileExistsError):
        score_file_dask(model_dir, data, tmp_path / "dask.parquet")


def test_bench_dask_backend_writes_the_rows_of_a_sequential_run(cluster, tmp_path):
    grid = dict(
        datasets=["blobs"],
        ratios=[0.5],
        seeds=[0],
        models=["mean", "noisy"],
        loader=load_tiny,
        splitter=split_tiny,
        factory=fake_factory,
        progress=False,
    )
    run_grid(**grid, out_dir=tmp_path / "seq", jobs=1)
    run_grid(
        **grid,
        out_dir=tmp_path / "dask",
        backend="dask",
        dask_scheduler=cluster.scheduler.address,
    )

    def rows(folder):
        found = [
            {k: v for k, v in r.items() if k not in MEASURED_FIELDS} for r in read_rows(folder)
        ]
        return sorted(found, key=lambda r: r["model"])

    seq, dask_rows = (
        rows(tmp_path / "seq" / "results.jsonl"),
        rows(tmp_path / "dask" / "results.jsonl"),
    )
    assert len(seq) == 2 and all(r["status"] == "ok" for r in seq)
    assert dask_rows == seq
    meta = json.loads((tmp_path / "dask" / "meta.json").read_text())
    assert meta["backend"] == "dask" and meta["status"] == "finished"


def test_missing_dask_names_the_extra(monkeypatch, frame, model):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=r"pip install wvad\[dask\]"):
        score_dask(model, frame)


def test_bench_refuses_a_scheduler_without_the_dask_backend(tmp_path, capsys):
    code = main(
        [
            "bench",
            "--datasets",
            "x",
            "--models",
            "iforest",
            "--out",
            str(tmp_path / "b"),
            "--dask-scheduler",
            "tcp://127.0.0.1:1",
        ]
    )
    assert code == 2 and "backend='dask'" in capsys.readouterr().err

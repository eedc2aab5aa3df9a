"""Scale-out with Dask: score a Dask DataFrame partition by partition, and start a client.

Needs the optional extra: ``pip install wvad[dask]`` (dask[dataframe,distributed]). Dask is
imported only when one of these functions runs, so ``import wvad`` never needs it.

What is sent where: the fitted model (and, for a model folder, its table description) is
pickled once on the client and reaches each worker once; the data is read by the workers
themselves (so a file path must be readable from every worker); only the score rows
(score, predicted, cluster and any kept column) travel back. See docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SCORE_COLUMNS", "dask_client", "score_dask", "score_file_dask"]

SCORE_COLUMNS = ("score", "predicted", "cluster")
_EXTRA = "pip install wvad[dask]"


def _import_dask() -> tuple[Any, Any]:
    """dask and dask.dataframe, or an ImportError that names the extra to install."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:
        raise ImportError(
            f"wvad's Dask support needs dask[dataframe,distributed]: {_EXTRA} ({exc})"
        ) from exc
    return dask, dd


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"a Dask scheduler address needs dask.distributed: {_EXTRA} ({exc})"
        ) from exc
    return distributed


def _active_client() -> Any:
    """The current dask.distributed Client, or None (also when distributed is missing)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:  # no client in this process
        return None


@contextlib.contextmanager
def dask_client(address: str | None = None, *, n_workers: int | None = None) -> Iterator[Any]:
    """A distributed Client for the duration of the block.

    With `address` ("tcp://host:8786"), connect to that scheduler. Without, reuse the client
    already active in this process, or start a LocalCluster on 127.0.0.1 (no dashboard,
    `n_workers` processes with one thread each; default: Dask's choice) and close it after.
    """
    distributed = _import_distributed()
    if address is None:
        current = _active_client()
        if current is not None:
            yield current
            return
        kwargs: dict[str, Any] = {"n_workers": n_workers} if n_workers else {}
        with (
            distributed.LocalCluster(
                host="127.0.0.1",
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                **kwargs,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    with distributed.Client(address) as client:
        yield client


# -- what each worker receives ------------------------------------------------------------------
@dataclass
class _Scorer:
    """The fitted model and how to turn a partition into its input matrix.

    `spec` (a TableSpec from a model folder) reads the table as `wvad score` does: its
    feature columns, categories and numeric checks. Without a spec, `columns` are taken as
    they are, in the model's column order (the model reads text and missing values).
    """

    model: Any
    columns: list[str]
    spec: Any = None

    def matrix(self, frame: Any, where: str) -> Any:
        if self.spec is not None:
            from wvad.workflow.tables import model_input

            return model_input(frame, self.spec, self.model, 0, where)
        if self.model.encoder_.is_plain():
            return frame[self.columns].to_numpy(dtype=np.float64, na_value=np.nan)
        return frame[self.columns].to_numpy(dtype=object)

    def score(self, frame: Any, keep: Sequence[str], where: str) -> Any:
        import pandas as pd

        X = self.matrix(frame, where)
        out = {c: frame[c] for c in keep}
        if len(frame):
            scores, features = self.model.score_and_transform(X)
            out["score"] = scores
            out["predicted"] = (scores > self.model.threshold_).astype(np.int64)
            out["cluster"] = features[:, : self.model.n_clusters_].argmax(axis=1)
        else:  # the model refuses an empty matrix; an empty partition scores to no rows
            out["score"] = np.empty(0, dtype=np.float64)
            out["predicted"] = out["cluster"] = np.empty(0, dtype=np.int64)
        return pd.DataFrame(out, index=frame.index)


def _score_partition(
    frame: Any, scorer: _Scorer, keep: Sequence[str], partition_info: Any = None
) -> Any:
    number = None if partition_info is None else partition_info.get("number")
    where = "a partition" if number is None else f"partition {number}"
    return scorer.score(frame, keep, where)


def _scorer(model: Any, present: Sequence[str], columns: Sequence[str] | None) -> _Scorer:
    """A _Scorer for a fitted WVAD or a model folder, its columns checked against `present`."""
    spec = None
    if isinstance(model, (str, os.PathLike)):
        from wvad.workflow import load_table_model
        from wvad.workflow.tables import SPEC_FILE

        folder = Path(model)
        model, loaded = load_table_model(folder)  # on the CPU: workers need no GPU
        if (folder / SPEC_FILE).is_file():
            spec = loaded
            if columns is not None and list(columns) != list(spec.input_columns):
                raise ValueError(
                    f"{folder} was fitted by `wvad fit` on columns {spec.input_columns}; "
                    f"columns={list(columns)} would not score the same table"
                )
            columns = spec.input_columns
        elif columns is None:
            columns = loaded.input_columns
    if not hasattr(model, "threshold_") or not hasattr(model, "score_and_transform"):
        raise TypeError(f"model must be a fitted WVAD or a model folder; got {type(model)!r}")
    if columns is None:
        names = getattr(model, "feature_names_in_", None)
        columns = [str(n) for n in names] if names is not None else list(present)
    columns = list(columns)
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"the Dask DataFrame lacks column(s) {missing}; it has {list(present)}")
    if spec is None and len(columns) != model.n_features_in_:
        raise ValueError(
            f"the model reads {model.n_features_in_} columns; got {len(columns)}: {columns} "
            "(pass columns=[...] in the model's column order)"
        )
    return _Scorer(model=model, columns=columns, spec=spec)


def score_dask(
    model: Any,
    ddf: Any,
    *,
    columns: Sequence[str] | None = None,
    keep: Sequence[str] = (),
) -> Any:
    """Score a Dask DataFrame lazily: a Dask DataFrame of score, predicted and cluster.

    `model` is a fitted WVAD or a model folder. A folder written by `wvad fit` (with
    table.json) encodes each partition exactly as `wvad score` does: its feature columns,
    one-hot categories and checks. Otherwise the features are `columns`, else the model's
    `feature_names_in_` (fitted on a pandas DataFrame), else every column of `ddf`: numeric
    columns, in the order the model was fitted on. `keep` columns (an id, say) are copied
    in front of the scores. The result keeps `ddf`'s index and partitions; nothing is
    computed until you call `.compute()`, `.to_parquet(...)` and so on.

    Transport: the model goes to the workers once, not once per partition. With a
    dask.distributed Client active, it is scattered to every worker up front
    (`client.scatter(..., broadcast=True)`), so each worker unpickles it once and every
    partition task refers to it by key; the result must then be computed on that client.
    Without one (the threaded or process scheduler), the model is wrapped in one
    `dask.delayed` object: a single graph node that all partition tasks depend on, so it
    is serialised once per graph rather than embedded in each task.

    Scores equal `model.decision_function` on the same rows batched the same way. Across
    different partitionings they can differ in the last float32 bit (torch's CPU kernels may
    sum in another order for another number of rows), as with `wvad score --chunk-rows`.
    """
    _import_dask()
    present = [str(c) for c in ddf.columns]
    keep = list(keep)
    missing = [c for c in keep if c not in present]
    if missing:
        raise ValueError(f"keep names column(s) {missing} that the Dask DataFrame lacks")
    return _lazy_scores(_scorer(model, present, columns), ddf, keep)


def _lazy_scores(scorer: _Scorer, ddf: Any, keep: Sequence[str]) -> Any:
    """map_partitions with the scorer shipped once (see score_dask) and the meta given."""
    dask, _ = _import_dask()
    import pandas as pd

    client = _active_client()
    shipped = (
        client.scatter(scorer, broadcast=True, hash=False)
        if client is not None
        else dask.delayed(scorer, pure=False)
    )
    empty = ddf._meta
    meta = pd.DataFrame(
        {
            **{c: empty[c] for c in keep},
            "score": pd.Series(dtype=np.float64),
            "predicted": pd.Series(dtype=np.int64),
            "cluster": pd.Series(dtype=np.int64),
        },
        index=empty.index,
    )
    return ddf.map_partitions(_score_partition, shipped, list(keep), meta=meta)


def score_file_dask(
    model_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    address: str | None = None,
    blocksize: int | str | None = "64MB",
    force: bool = False,
) -> Any:
    """`wvad score` on a Dask cluster: the same output file as `workflow.score_file`.

    Workers read `data` (a CSV or Parquet path every worker can open) in partitions of
    `blocksize` bytes (CSV) or row groups (Parquet) and score them; the client gathers the
    score rows in order and writes `out` into a temporary file beside it, moved into place
    only when complete. Connects to the scheduler at `address`, else uses the active
    client or a LocalCluster (see `dask_client`). Returns a ScoreSummary.
    """
    from wvad.data.readers import _existing_file
    from wvad.workflow import load_table_model
    from wvad.workflow.operations import ScoreSummary
    from wvad.workflow.tables import check_columns, check_output_path, table_columns, table_kind

    _, dd = _import_dask()
    data, out = _existing_file(data), Path(out)
    kind = table_kind(data)
    table_kind(out)
    check_output_path(out, [data], force=force)
    model, spec = load_table_model(model_dir)
    columns = spec.read_columns()
    check_columns(data, columns, table_columns(data))
    ddf = _read_partitions(dd, data, kind, spec, model, columns, blocksize)
    keep = [spec.id_col] if spec.id_col else []
    scorer = _Scorer(model=model, columns=list(spec.input_columns), spec=spec)
    with dask_client(address) as client:
        scores = _lazy_scores(scorer, ddf[columns], keep)
        futures = client.compute(scores.to_delayed())
        n_rows, n_flagged = _write_in_order(futures, out, spec, data, force)
    return ScoreSummary(out=out, n_rows=n_rows, n_flagged=n_flagged, threshold=model.threshold_)


def _read_partitions(
    dd: Any,
    data: Path,
    kind: str,
    spec: Any,
    model: Any,
    columns: list[str],
    blocksize: int | str | None,
) -> Any:
    """A lazy Dask DataFrame of `columns` of the CSV or Parquet file `data`; the id and
    categorical columns of a CSV are read as text, its missing markers as missing."""
    from wvad.workflow.tables import text_columns

    if kind == "csv":
        text = text_columns(spec, model)
        sep = "\t" if data.suffix.lower() == ".tsv" else ","
        return dd.read_csv(
            str(data),
            sep=sep,
            usecols=columns,
            dtype=dict.fromkeys(text, object),
            blocksize=blocksize,
            keep_default_na=False,
            na_values=list(spec.missing_markers),
        )
    return dd.read_parquet(str(data), columns=columns)


def _write_in_order(
    futures: Sequence[Any], out: Path, spec: Any, data: Path, force: bool
) -> tuple[int, int]:
    """Write the partitions' score rows to `out` in partition order, each released once
    written; (rows written, rows flagged). An empty table leaves no `out`."""
    from wvad.workflow.operations import ROW_COLUMN
    from wvad.workflow.tables import AtomicTableWriter

    n_rows = n_flagged = 0
    with AtomicTableWriter(out, replace=force) as writer:
        for future in futures:
            frame = future.result().reset_index(drop=True)
            future.release()
            if spec.id_col:
                frame[spec.id_col] = _text(frame[spec.id_col])
            else:
                frame.insert(0, ROW_COLUMN, np.arange(n_rows, n_rows + len(frame)))
            writer.write(frame)
            n_rows += len(frame)
            n_flagged += int(frame["predicted"].sum())
        if n_rows == 0:
            raise ValueError(f"{data} has no rows to score")
    return n_rows, n_flagged


def _text(series: Any) -> Any:
    from wvad.workflow.tables import as_text

    return as_text(series)

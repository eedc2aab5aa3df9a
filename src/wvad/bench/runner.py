"""Run a benchmark grid: datasets x label settings x seeds x models, resumably, in parallel.

Each finished cell becomes one line of `results.jsonl`, written by the parent process as
soon as the cell's result arrives. A rerun skips the cells already in the file, so an
interrupted grid resumes where it stopped and loses nothing. Data loading, splitting and
model building are injectable callables; the defaults import wvad's own lazily.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from wvad.bench.models import check_model_names, make_model
from wvad.bench.results import (
    META_FILE,
    RESULTS_FILE,
    Key,
    ResultsWriter,
    cell_key,
    read_rows,
    repair_results,
)
from wvad.bench.tables import model_inputs
from wvad.checks import Int
from wvad.protocol import COUNT, RATIO, SEED, is_mixed_table

__all__ = ["BenchError", "environment", "run_grid"]

Loader = Callable[[str], tuple[Any, Any]]
Splitter = Callable[..., Any]
Factory = Callable[[str, int], Any]

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_VERSIONED = ("numpy", "scipy", "scikit-learn", "torch", "joblib", "pandas", "pyod", "xgboost")


class BenchError(Exception):
    """A problem with the benchmark's inputs or output directory (not with one model)."""


# -- defaults (lazy imports of modules that live elsewhere in wvad) ------------------------
def _default_loader(name: str, *, data_dir: str | os.PathLike[str] | None = None):
    from wvad.data import default_data_dir, load_dataset
    from wvad.data.derived import DERIVED_TABLES
    from wvad.data.realdata import REAL_TABLES, load_real_table

    if name in REAL_TABLES:  # a real table from its published file (WVAD_REALDATA_DIR)
        return load_real_table(name)
    derived = DERIVED_TABLES.get(name)
    # A source checkout benchmarks on the shared folder beside it before any download.
    X, y = load_dataset(
        derived.source if derived else name, data_dir=data_dir or default_data_dir()
    )
    return (derived.build(X), y) if derived else (X, y)


def _default_splitter(X: Any, y: Any, *, seed: int, **labels: Any) -> Any:
    from wvad.protocol import weak_split

    return weak_split(X, y, seed=seed, **labels)  # labeled_ratio= or n_labeled=


# -- the grid ------------------------------------------------------------------------------
def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


#: `seeds="auto"`: this many seeds below AUTO_SEEDS_ROWS rows, else AUTO_SEEDS_LARGE. With a
#: few labeled anomalies the label draw alone moves a mean over five seeds by hundredths.
AUTO_SEEDS_SMALL, AUTO_SEEDS_LARGE, AUTO_SEEDS_ROWS = 10, 5, 2000


#: Corruptions of the training part (ADBench's robustness settings), as KEY=VALUE: the
#: weak_split keyword each key sets.
CORRUPTIONS = {
    "wrong": "label_noise",
    "dup": "duplicate_anomalies",
    "noise": "noise_features",
    "mcar": "missing_cells",
    "mnar": "missing_largest",
}


def _make_grid(
    datasets, ratios, seeds, models, label_counts=(), known_normals=(), corruptions=()
) -> dict[str, Any]:
    if isinstance(datasets, str) or isinstance(models, str):
        raise BenchError("datasets and models must be lists of names, not one string")
    grid = {
        "datasets": _unique(str(d) for d in datasets),
        "ratios": _unique(float(r) for r in ratios),
        "label_counts": _unique(int(k) for k in label_counts),
        "known_normals": _unique(float(k) for k in known_normals),
        "corruptions": _unique(str(c) for c in corruptions),
        "seeds": "auto" if seeds == "auto" else _unique(int(s) for s in seeds),
        "models": _unique(str(m) for m in models),
    }
    for field in ("datasets", "seeds", "models"):
        if not grid[field]:
            raise BenchError(f"the grid has no {field}")
    if not grid["ratios"] and not grid["label_counts"]:
        raise BenchError("the grid has no labeled ratios and no label counts")
    checks = [("labeled ratio", RATIO, grid["ratios"])]
    checks.append(("label count", COUNT, grid["label_counts"]))
    checks.append(("known normal share", RATIO, grid["known_normals"]))
    if grid["seeds"] != "auto":
        checks.append(("seed", SEED, grid["seeds"]))
    try:
        for what, rule, values in checks:
            for value in values:
                rule.check(f"each {what}", value)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    for corruption in grid["corruptions"]:
        key, _, value = corruption.partition("=")
        if key not in CORRUPTIONS or not value:
            raise BenchError(f"corruptions are KEY=VALUE with KEY one of {list(CORRUPTIONS)}")
    return grid


def seeds_for(n_rows: int) -> list[int]:
    """The seeds `seeds="auto"` gives a table of `n_rows` rows."""
    return list(range(AUTO_SEEDS_SMALL if n_rows < AUTO_SEEDS_ROWS else AUTO_SEEDS_LARGE))


def _cells(grid: dict[str, Any], sizes: dict[str, int] | None = None) -> list[Key]:
    """Every cell of the grid; `sizes` (rows per dataset) resolves seeds="auto"."""
    settings = [f"{r:g}" for r in grid["ratios"]] + [f"{k} labels" for k in grid["label_counts"]]
    settings += [f"{t} +{k:g} normals" for t in list(settings) for k in grid["known_normals"]]
    settings += [f"{t} {c}" for t in list(settings) for c in grid["corruptions"]]
    cells = []
    for d in grid["datasets"]:
        seeds = seeds_for((sizes or {})[d]) if grid["seeds"] == "auto" else grid["seeds"]
        cells += [(d, t, s, m) for t in settings for s in seeds for m in grid["models"]]
    return cells


def _labels_of(setting: str) -> dict[str, Any]:
    """The split's keywords for a label setting (`label_setting`'s name)."""
    words = setting.split()
    corruption = words.pop() if "=" in words[-1] else None
    base, _, normals = " ".join(words).partition(" +")
    labels: dict[str, Any] = (
        {"n_labeled": int(base.split()[0])}
        if base.endswith(" labels")
        else {"labeled_ratio": float(base)}
    )
    if normals:
        labels["known_normal_share"] = float(normals.split()[0])
    if corruption:
        key, _, value = corruption.partition("=")
        labels[CORRUPTIONS[key]] = int(value) if key == "dup" else float(value)
    return labels


def _corruption_of(setting: str) -> str | None:
    last = setting.split()[-1]
    return last if "=" in last else None


def _pending(cells: Sequence[Key], results: Path, retry_errors: bool) -> list[Key]:
    rows = read_rows(results)
    done = {cell_key(r) for r in rows if not retry_errors or r.get("status") == "ok"}
    return [c for c in cells if c not in done]


def _load_missing(data: dict[str, Any], loader: Loader, pending: Sequence[Key]) -> None:
    """Load each dataset that pending cells need and `data` lacks; BenchError if one fails."""
    for name in _unique(c[0] for c in pending):
        if name in data:
            continue
        try:
            data[name] = loader(name)
        except Exception as exc:
            raise BenchError(f"could not load dataset {name!r}: {_describe(exc)}") from exc


# -- one cell ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Task:
    dataset: str
    setting: str  # `label_setting`: "0.1" or "3 labels"
    seed: int
    model: str
    arrays: tuple[Any, np.ndarray, Any, np.ndarray, np.ndarray | None] | None  # X: see _features
    split_error: str | None = None
    wrong: np.ndarray | None = None  # training rows labeled anomalous that are in truth normal


def _tasks(pending: Sequence[Key], data: dict[str, Any], splitter: Splitter) -> Iterator[_Task]:
    """Tasks in grid order; each (dataset, labels, seed) split is made once, when first needed."""
    groups: dict[tuple[str, float, int], list[str]] = {}
    for d, r, s, m in pending:
        groups.setdefault((d, r, s), []).append(m)
    for (d, r, s), models in groups.items():
        X, y = data[d]
        arrays, error, wrong = None, None, None
        try:
            split = splitter(X, y, seed=s, **_labels_of(r))
            wrong = _wrong_labels(split)
            normal = getattr(split, "known_normal", None)
            arrays = (
                _features(split.X_train),
                np.asarray(split.y_train_weak).astype(np.int64).ravel(),
                _features(split.X_test),
                np.asarray(split.y_test).astype(np.int64).ravel(),
                None if normal is None or not np.any(normal) else np.asarray(normal, bool),
            )
        except Exception as exc:
            error = f"split failed: {_describe(exc)}"
        for m in models:
            yield _Task(d, r, s, m, arrays, error, wrong)


def _wrong_labels(split: Any) -> np.ndarray | None:
    """The training rows the split labels anomalous that are in truth normal (None where
    the split does not say what is true)."""
    truth = getattr(split, "y_train", None)
    if truth is None:
        return None
    weak = np.asarray(split.y_train_weak).ravel() == 1
    return weak & (np.asarray(truth).ravel() == 0)


def _features(part: Any) -> Any:
    """A split's part as a float array (NaN where cells were removed); a mixed table's
    stays the DataFrame it is."""
    return part if is_mixed_table(part) else np.asarray(part, dtype=np.float64)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _thread_limits(enabled: bool) -> Iterator[None]:
    """One BLAS / OpenMP / torch thread per worker, so parallel cells do not oversubscribe."""
    if not enabled:
        yield
        return
    for var in _THREAD_ENV:  # read by libraries imported later in this worker
        os.environ[var] = "1"
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            stack.enter_context(threadpool_limits(limits=1))
        yield


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run a cell's torch work on one thread, whatever `jobs` is, then restore the setting.

    Float reductions can round differently with another thread count, so this is what makes
    a run with --jobs 1 give the same scores as one with --jobs 4. Only when the model has
    already pulled torch in: importing it just to set threads would cost models that never
    use it a second or two.
    """
    if "torch" not in sys.modules:
        yield
        return
    from wvad.runtime import one_torch_thread

    with one_torch_thread():
        yield


def _run_cell(task: _Task, factory: Factory, limit_threads: bool) -> dict[str, Any]:
    """Fit one model on one split and score the test part; never raises for model errors."""
    row: dict[str, Any] = {
        "dataset": task.dataset,
        "ratio": _labels_of(task.setting).get("labeled_ratio"),
        "n_labels": _labels_of(task.setting).get("n_labeled"),
        "known_normals": _labels_of(task.setting).get("known_normal_share"),
        "corruption": _corruption_of(task.setting),
        "seed": task.seed,
        "model": task.model,
        "status": "error",
        "error": task.split_error,
        "auroc": None,
        "auprc": None,
        "fit_seconds": None,
        "score_seconds": None,
        "start_mb": None,
        "fit_peak_mb": None,
        "score_peak_mb": None,
        "n_train": None,
        "n_test": None,
        "n_labeled": None,
        "n_features": None,
    }
    if task.arrays is not None:
        X_train, y_train, X_test, y_test, normal = task.arrays
        row.update(
            n_train=int(X_train.shape[0]),
            n_test=int(X_test.shape[0]),
            n_labeled=int((y_train == 1).sum()),
            n_features=int(X_train.shape[1]),
        )
        try:
            with _thread_limits(limit_threads):
                model = factory(task.model, task.seed)
                fit_part, test_part = model_inputs(model, X_train, X_test)
                with _one_torch_thread():
                    row["start_mb"] = reset_peak_memory()
                    start = time.perf_counter()
                    if normal is not None and getattr(model, "accepts_known_normals", False):
                        model.fit(fit_part, y_train, known_normal=normal)
                    else:  # a detector that cannot use them sees them as unlabeled rows
                        model.fit(fit_part, y_train)
                    row["fit_seconds"] = time.perf_counter() - start
                    row["fit_peak_mb"] = peak_memory_mb()
                    reset_peak_memory()
                    start = time.perf_counter()
                    scores = model.decision_function(test_part)
                    row["score_seconds"] = time.perf_counter() - start
                    row["score_peak_mb"] = peak_memory_mb()
            row.update(_metrics(y_test, scores))
            row.update(_label_thresholds(model, scores, y_test))
            row.update(_label_free(model, test_part, y_test))
            row.update(_set_aside(model, task.wrong))
            row["status"] = "ok"
        except Exception as exc:
            row["error"] = _describe(exc)
            row["traceback"] = traceback.format_exc()[-4000:]
    row["finished_at"] = _now()
    return row


def reset_peak_memory() -> float | None:
    """Start this process's peak resident memory afresh (Linux: `clear_refs` 5), so the
    next `peak_memory_mb` is the peak of what ran since; returns the resident memory now
    (MiB: the data, libraries and model already loaded), None where unknown."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _memory_status_mb("VmRSS:")


def peak_memory_mb() -> float | None:
    """This process's peak resident memory (MiB) since `reset_peak_memory` (Linux's
    VmHWM), which includes what was resident before; None where unknown."""
    return _memory_status_mb("VmHWM:")


def _memory_status_mb(field: str) -> float | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024.0
    return None


def _metrics(y_test: np.ndarray, scores: Any) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.shape[0] != y_test.shape[0]:
        raise ValueError(f"decision_function gave {s.shape[0]} scores for {y_test.shape[0]} rows")
    n_bad = int((~np.isfinite(s)).sum())
    if n_bad:
        raise ValueError(f"decision_function gave {n_bad} non-finite scores")
    return {
        "auroc": float(roc_auc_score(y_test, s)),
        "auprc": float(average_precision_score(y_test, s)),
    }


#: Recall targets of a threshold set from the labels, for models that offer one.
RECALL_TARGETS = (0.5, 0.8, 0.9)


def _label_thresholds(model: Any, scores: Any, y_test: np.ndarray) -> dict[str, Any]:
    """For a model with `threshold_for_recall`: per target, the recall the threshold reached
    on the test anomalies and the share of test normals it flagged."""
    if not hasattr(model, "threshold_for_recall") or (y_test == 1).sum() == 0:
        return {}
    s = np.asarray(scores, dtype=np.float64).ravel()
    reached, flagged = {}, {}
    for target in RECALL_TARGETS:
        threshold = model.threshold_for_recall(target)
        reached[f"{target:g}"] = float(np.mean(s[y_test == 1] > threshold))
        flagged[f"{target:g}"] = float(np.mean(s[y_test == 0] > threshold))
    return {"recall_at_target": reached, "normals_flagged_at_target": flagged}


def _label_free(model: Any, X_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """For a model that can read its fitted pieces without the labels: that read-out's
    test AUROC and AUPRC (what it would say if the labels did not weigh its evidence)."""
    if not hasattr(model, "label_free_decision_function"):
        return {}
    metrics = _metrics(y_test, model.label_free_decision_function(X_test))
    return {f"label_free_{name}": value for name, value in metrics.items()}


def _set_aside(model: Any, wrong: np.ndarray | None) -> dict[str, Any]:
    """For a model that sets doubtful labels aside (`labels_set_aside_`): how many it set
    aside and, where the split says which labels are wrong, how many labels were wrong and
    how many of those it set aside."""
    rows = getattr(model, "labels_set_aside_", None)
    if rows is None:
        return {}
    out: dict[str, Any] = {"n_set_aside": len(rows)}
    if wrong is not None:
        out["n_wrong_labels"] = int(wrong.sum())
        out["n_wrong_set_aside"] = int(wrong[np.asarray(rows, dtype=np.int64)].sum())
    return out


# -- execution -----------------------------------------------------------------------------
def _execute(
    tasks: Iterator[_Task],
    factory: Factory,
    jobs: int,
    backend: str,
    dask_scheduler: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield rows as cells finish: in-process for jobs=1, else through joblib.

    backend="dask" always goes through joblib's Dask backend, on the scheduler at
    `dask_scheduler`, else the active Client, else a LocalCluster of `jobs` workers.
    """
    if backend == "dask":
        from joblib import parallel_config

        from wvad.distributed import dask_client

        with (
            dask_client(dask_scheduler, n_workers=jobs if jobs > 0 else None),
            parallel_config(backend="dask"),
        ):
            # The backend comes from parallel_config: joblib 1.6 passes an internal keyword
            # (nesting_level) on to the Dask tasks when Parallel is given backend="dask".
            yield from _joblib(tasks, factory, -1, None)
        return
    if jobs == 1:
        for task in tasks:
            yield _run_cell(task, factory, False)
        return
    yield from _joblib(tasks, factory, jobs, backend)


def _joblib(
    tasks: Iterator[_Task], factory: Factory, jobs: int, backend: str | None
) -> Iterator[dict[str, Any]]:
    from joblib import Parallel, delayed

    try:
        parallel = Parallel(n_jobs=jobs, backend=backend, return_as="generator_unordered")
    except ValueError:  # joblib < 1.4 has no unordered generator
        parallel = Parallel(n_jobs=jobs, backend=backend, return_as="generator")
    run = delayed(_run_cell)
    yield from parallel(run(task, factory, True) for task in tasks)


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> Any:
    if not (enabled and total and sys.stderr.isatty()):
        return _NoProgress()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoProgress()
    return tqdm(total=total, unit="cell", desc="wvad bench", file=sys.stderr)


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Refuse a second concurrent run on the same directory (advisory lock, POSIX only)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(out / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchError(f"{out} is in use by another benchmark run") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- provenance ----------------------------------------------------------------------------
def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def environment() -> dict[str, Any]:
    """Library versions and machine description for meta.json (imports nothing heavy)."""
    import wvad

    versions: dict[str, str | None] = {"python": sys.version.split()[0], "wvad": wvad.__version__}
    for dist in _VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count()
    machine = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": available,
        "python_implementation": platform.python_implementation(),
    }
    return {"versions": versions, "machine": machine, "git_commit": _git_commit()}


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _start_meta(out: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Write meta.json for this run, keeping earlier runs on the directory under "history"."""
    path = out / META_FILE
    history: list[Any] = []
    if path.exists():
        try:
            previous = json.loads(path.read_text())
            history = list(previous.pop("history", []))
            history.append(previous)
        except (ValueError, AttributeError):
            history = []
    meta = {**run, **environment(), "history": history}
    _write_json(path, meta)
    return meta


# -- the public entry point ----------------------------------------------------------------
def run_grid(
    datasets: Sequence[str],
    ratios: Sequence[float],
    seeds: Sequence[int] | str,
    models: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    label_counts: Sequence[int] = (),
    known_normals: Sequence[float] = (),
    corruptions: Sequence[str] = (),
    jobs: int = 1,
    backend: str = "loky",
    loader: Loader | None = None,
    splitter: Splitter | None = None,
    factory: Factory | None = None,
    progress: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
    retry_errors: bool = False,
    dask_scheduler: str | None = None,
) -> Path:
    """Run every (dataset, labels, seed, model) cell not yet in `out_dir/results.jsonl`.

    A cell's labels are one of `ratios` (fractions of the training anomalies) or one of
    `label_counts` (that many labeled anomalies, capped by the table); each also with
    every share in `known_normals` of the normal training rows marked known normal (given
    to the detectors that use them, `accepts_known_normals`), and with every one of
    `corruptions` of the training part ("wrong=0.1", "dup=4", "noise=0.5": `CORRUPTIONS`).
    `seeds="auto"` runs
    10 seeds on tables under 2,000 rows and 5 on larger ones (`seeds_for`).
    loader(name) -> (X, y); splitter(X, y, labeled_ratio= or n_labeled=, seed=) -> object
    with X_train, y_train_weak, X_test, y_test; factory(model, random_state) -> unfitted
    detector.
    Defaults: `wvad.data.load_dataset` (with `data_dir`), `wvad.protocol.weak_split` and
    `wvad.bench.models.make_model`. `jobs` and `backend` go to joblib (jobs=1 runs in this
    process with no thread limits). backend="dask" runs the cells on a Dask cluster through
    joblib's Dask backend (needs wvad[dask]): the scheduler at `dask_scheduler`, else the
    active Client, else a LocalCluster of `jobs` single-threaded workers; each cell limits
    its worker to one thread as with loky. Cells that errored before are skipped unless
    `retry_errors`. Returns `out_dir`.
    """
    _check_execution(jobs, backend, dask_scheduler)
    grid = _make_grid(datasets, ratios, seeds, models, label_counts, known_normals, corruptions)
    grid["models"], factory = _models_and_factory(grid["models"], factory)
    if loader is None:
        loader = functools.partial(_default_loader, data_dir=data_dir)
    splitter = _default_splitter if splitter is None else splitter
    out = _output_dir(out_dir)
    results = out / RESULTS_FILE
    # Load data before creating anything, so a bad dataset name leaves no empty directory.
    data, cells = _loaded_cells(grid, loader, results, retry_errors)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        repair_results(results)
        pending = _pending(cells, results, retry_errors)  # again, now that we hold the lock
        _load_missing(data, loader, pending)
        run = _run_meta(grid, jobs, backend, dask_scheduler, len(cells), len(pending))
        meta = _start_meta(out, run)
        rows = _execute(_tasks(pending, data, splitter), factory, jobs, backend, dask_scheduler)
        _write_rows(out, meta, rows, len(pending), progress)
    return out


def _check_execution(jobs: Any, backend: str, dask_scheduler: str | None) -> None:
    """BenchError for a `jobs` joblib cannot take, or a scheduler without the Dask backend."""
    if not Int().accepts(jobs) or jobs == 0:
        raise BenchError(f"jobs must be a non-zero int (joblib's n_jobs); got {jobs!r}")
    if dask_scheduler is not None and backend != "dask":
        raise BenchError(f"a Dask scheduler needs backend='dask'; got backend={backend!r}")


def _models_and_factory(models: list[str], factory: Factory | None) -> tuple[list[str], Factory]:
    """The grid's models and the factory that builds them: without a factory, wvad's own
    names (groups expanded, unknown ones a BenchError) built by `make_model`."""
    if factory is not None:
        return models, factory
    try:
        return check_model_names(models), make_model
    except ValueError as exc:
        raise BenchError(str(exc)) from None


def _output_dir(out_dir: str | os.PathLike[str]) -> Path:
    """`out_dir` as a Path; BenchError if it exists and is not a directory."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BenchError(f"{out} exists and is not a directory")
    return out


def _loaded_cells(
    grid: dict[str, Any], loader: Loader, results: Path, retry_errors: bool
) -> tuple[dict[str, Any], list[Key]]:
    """(data, cells): every cell of the grid, and the datasets its pending cells need
    loaded (with seeds="auto", every dataset first, to read its size)."""
    data: dict[str, Any] = {}
    if grid["seeds"] == "auto":  # the seeds follow each table's size
        _load_missing(data, loader, [(d, "", 0, "") for d in grid["datasets"]])
    cells = _cells(grid, {d: len(xy[1]) for d, xy in data.items()})
    _load_missing(data, loader, _pending(cells, results, retry_errors))
    return data, cells


def _run_meta(
    grid: dict[str, Any],
    jobs: int,
    backend: str,
    dask_scheduler: str | None,
    n_cells: int,
    n_pending: int,
) -> dict[str, Any]:
    """This run's settings and state for meta.json, as it starts."""
    return {
        "grid": grid,
        "jobs": jobs,
        "backend": backend if jobs != 1 or backend == "dask" else "sequential",
        **({"dask_scheduler": dask_scheduler} if backend == "dask" else {}),
        "n_cells": n_cells,
        "n_pending_at_start": n_pending,
        "started_at": _now(),
        "finished_at": None,
        "status": "running",
    }


def _write_rows(
    out: Path, meta: dict[str, Any], rows: Iterator[dict[str, Any]], total: int, progress: bool
) -> None:
    """Append each row to results.jsonl as it arrives, stamped with the commit and CPU it
    was computed at (a report names every one its rows come from), then close this run's
    meta.json entry with its status ("finished" or "interrupted") and counts, whatever
    stopped it."""
    counts = {"written": 0, "errors": 0}
    stamp = {"commit": meta.get("git_commit"), "cpu": (meta.get("machine") or {}).get("cpu")}
    bar = _progress_bar(total, progress)
    try:
        with ResultsWriter(out / RESULTS_FILE) as writer:
            for row in rows:
                writer.write({**row, **stamp})
                counts["written"] += 1
                counts["errors"] += row["status"] != "ok"
                bar.update(1)
        meta["status"] = "finished"
    except BaseException:
        meta["status"] = "interrupted"
        raise
    finally:
        bar.close()
        meta.update(finished_at=_now(), n_written=counts["written"], n_errors=counts["errors"])
        _write_json(out / META_FILE, meta)

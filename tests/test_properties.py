"""Property-based tests of every boundary: whatever comes in, either a ValueError raised by
wvad itself that says what is wrong, or finite scores of the right length; never a
traceback from inside torch, scikit-learn or pandas, never a NaN score.

Hypothesis runs derandomized (the same examples every run) with a small budget, so the
suite stays deterministic and short in CI; `HYPOTHESIS_PROFILE=long` tries many more.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.cli import main
from wvad.data import read_table
from wvad.protocol import weak_split

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("long", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TINY = {
    "n_clusters": 1,
    "pretrain_epochs": 1,
    "warmup_epochs": 1,
    "joint_epochs": 1,
    "deviation": DeviationSettings(epochs=1, steps_per_epoch=1, batch_size=8),
    "trees": TreeSettings(max_iter=2),
    "random_state": 0,
    "device": "cpu",
}
SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e300, -0.0, 5e-324, 1e-300]
DTYPES = ["float64", "float32", "float16", "int64", "int8", "uint8", "bool", "object", "str"]


def _raised_by_wvad(exc: BaseException) -> bool:
    """The error was raised by wvad's own code, not from inside a library it calls."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and f"{os.sep}wvad{os.sep}" in frames[-1].filename


def _refused_well(exc: BaseException) -> None:
    assert isinstance(exc, ValueError), f"{type(exc).__name__}: {exc}"
    assert _raised_by_wvad(exc), "".join(traceback.format_exception(exc))
    assert len(str(exc)) > 10


@st.composite
def tables(draw, max_rows: int = 30, max_cols: int = 5) -> np.ndarray:
    """Arrays of awkward shapes and dtypes, with special values here and there."""
    n_rows = draw(st.sampled_from([0, 1, 2, 3, 8, max_rows]))
    n_cols = draw(st.sampled_from([0, 1, 2, max_cols, max_rows + 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = rng.normal(size=(n_rows, n_cols)) * draw(st.sampled_from([1.0, 1e-8, 1e12]))
    for _ in range(draw(st.integers(0, 3))):
        if values.size:
            values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from(SPECIAL))
    dtype = draw(st.sampled_from(DTYPES))
    if dtype == "str":
        return values.astype(str)
    with np.errstate(invalid="ignore", over="ignore"):  # float16 overflows to inf: fine
        if dtype in ("int64", "int8", "uint8", "bool"):
            return np.nan_to_num(values, posinf=0, neginf=0).astype(dtype)
        return values.astype(dtype)


@st.composite
def frames(draw) -> pd.DataFrame | np.ndarray:
    """Tables, sometimes as DataFrames with pandas' own dtypes."""
    X = draw(tables())
    if draw(st.booleans()) or X.ndim != 2:
        return X
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    kind = draw(st.sampled_from(["plain", "nullable", "categorical", "text", "repeated"]))
    if frame.shape[1] and kind == "nullable":
        frame[frame.columns[0]] = pd.array([None] + [1] * (len(frame) - 1), dtype="Int64")[
            : len(frame)
        ]
    elif frame.shape[1] and kind == "categorical":
        frame[frame.columns[0]] = pd.Categorical(["a"] * len(frame))
    elif frame.shape[1] and kind == "text":
        frame[frame.columns[0]] = "x"
    elif frame.shape[1] > 1 and kind == "repeated":
        frame.columns = ["c0"] * frame.shape[1]
    return frame


@st.composite
def labels(draw, n_rows: int):
    """Weak labels, right and wrong."""
    kind = draw(
        st.sampled_from(["good", "good", "zeros", "two", "half", "text", "short", "2d", "none"])
    )
    y = np.zeros(n_rows, dtype=int)
    if n_rows:
        y[: max(1, n_rows // 4)] = 1
    return {
        "good": y,
        "zeros": np.zeros(n_rows),
        "two": y * 2,
        "half": y * 0.5,
        "text": y.astype(str),
        "short": y[:-1],
        "2d": np.column_stack([y, y]),
        "none": None,
    }[kind]


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.random((60, 5))
    y = np.r_[np.ones(6), np.zeros(54)].astype(int)
    return WVAD(**TINY).fit(X, y)


@given(data=st.data())
def test_fit_refuses_by_name_or_scores_finitely(data):
    X = data.draw(frames())
    n_rows = len(X) if getattr(X, "ndim", 0) >= 1 else 0
    y = data.draw(labels(n_rows))
    try:
        fitted = WVAD(**TINY).fit(X, y)
    except Exception as exc:
        _refused_well(exc)
        return
    scores = fitted.decision_function(X)
    assert scores.shape == (n_rows,) and np.isfinite(scores).all()
    assert np.isfinite(fitted.decision_scores_).all()


@given(X=frames())
def test_scoring_refuses_by_name_or_gives_finite_scores(model, X):
    try:
        scores = model.decision_function(X)
        features = model.transform(X)
    except Exception as exc:
        _refused_well(exc)
        return
    assert scores.shape == (len(X),) and np.isfinite(scores).all()
    assert features.shape == (len(X), len(model.get_feature_names_out()))


@given(
    columns=st.permutations(["c0", "c1", "c2", "c3", "c4"]),
    rename=st.booleans(),
    drop=st.booleans(),
    repeat=st.booleans(),
)
def test_dataframes_with_other_columns_are_refused_by_name(columns, rename, drop, repeat):
    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(5)]
    frame = pd.DataFrame(rng.random((40, 5)), columns=names)
    fitted = WVAD(**TINY).fit(frame, np.r_[np.ones(4), np.zeros(36)].astype(int))
    other = frame[list(columns)]
    if rename:
        other = other.rename(columns={columns[0]: "zz"})
    if drop:
        other = other.iloc[:, 1:]
    if repeat:
        other = pd.concat([other, other.iloc[:, :1]], axis=1)
    changed = rename or drop or repeat or list(columns) != names
    try:
        scores = fitted.decision_function(other)
    except ValueError as exc:
        assert changed and _raised_by_wvad(exc)
        return
    assert not changed and np.isfinite(scores).all()


@given(
    X=tables(max_rows=40),
    y_kind=st.sampled_from(["good", "few", "all", "text", "short"]),
    ratio=st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0, 1.5, -1.0, float("nan")]),
    count=st.sampled_from([None, 0, 1, 3, 1000]),
    seed=st.sampled_from([0, 7, -1, 2**40]),
)
def test_weak_split_refuses_by_name_or_labels_only_anomalies(X, y_kind, ratio, count, seed):
    n = len(X) if X.ndim >= 1 else 0
    y = np.zeros(n, dtype=int)
    y[: n // 3] = 1
    y = {
        "good": y,
        "few": np.r_[1, np.zeros(max(n - 1, 0), int)][:n],
        "all": np.ones(n, int),
        "text": y.astype(str),
        "short": y[:-1],
    }[y_kind]
    kwargs = {"n_labeled": count} if count is not None else {"labeled_ratio": ratio}
    try:
        split = weak_split(X, y, seed=seed, **kwargs)
    except ValueError as exc:
        assert _raised_by_wvad(exc)
        return
    assert (split.y_train[split.labeled_idx] == 1).all()
    assert split.y_train_weak.sum() == len(split.labeled_idx) >= 1
    assert np.isfinite(split.X_train).all() and np.isfinite(split.X_test).all()


CELLS = st.sampled_from(["1", "0", "-2.5", "1e300", "nan", "inf", "", "x", "true", "3"])


@given(
    # a blank first line is no header: pandas, like any CSV reader, skips blank lines
    header=st.lists(st.sampled_from(["a", "b", "label", "a", ""]), min_size=1, max_size=4).filter(
        lambda names: ",".join(names) != ""
    ),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), max_size=6),
)
def test_reading_a_table_refuses_by_name_or_gives_finite_numbers(tmp_path_factory, header, rows):
    path = Path(tmp_path_factory.mktemp("csv")) / "t.csv"
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n")
    try:
        X, y = read_table(path, "label" if "label" in header else None)
    except ValueError as exc:
        assert _raised_by_wvad(exc), "".join(traceback.format_exception(exc))
        return
    written = [r for r in rows if ",".join(r)]  # a blank line is no row
    assert np.isfinite(X).all() and X.shape[0] == len(written)
    assert y is None or set(np.unique(y)) <= {0, 1}


WORDS = [
    "fit", "score", "explain", "info", "plot", "bench", "report", "--label-col", "label",
    "--out", "--features", "--clusters", "auto", "0", "-3", "2.5", "--seed", "--epochs",
    "--contamination", "1.5", "--datasets", "nosuch", "--ratios", "--seeds", "0-x", "--models",
    "gbm", "--rows", "--top", "--json", "--chunk-rows", "--labels", "--preset", "odd",
    "missing.csv", "missing_dir", "--help-not", "--neighbors", "--score", "magic",
]  # fmt: skip


@given(argv=st.lists(st.sampled_from(WORDS), max_size=8))
def test_the_command_line_answers_in_one_line_and_exit_code_2(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("wvad"), (argv, err)


@settings(max_examples=15)
@given(
    rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=0, max_size=12),
    label=st.sampled_from(["1", "0", "", "yes", "2"]),
)
def test_fitting_a_table_from_the_command_line_answers_in_one_line(
    tmp_path_factory, rows, label, capsys
):
    folder = Path(tmp_path_factory.mktemp("cli"))
    lines = ["a,b,label"] + [
        f"{r[0]},{r[1]},{label if i % 4 == 0 else r[2]}" for i, r in enumerate(rows)
    ]
    (folder / "t.csv").write_text("\n".join(lines) + "\n")
    argv = [
        "fit",
        str(folder / "t.csv"),
        "--label-col",
        "label",
        "--epochs",
        "1",
        "1",
        "1",
        "--clusters",
        "1",
        "--out",
        str(folder / "m"),
        "--quiet",
    ]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in out + err, err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("wvad fit"), err
    else:
        assert np.isfinite(WVAD.load(folder / "m").decision_scores_).all()

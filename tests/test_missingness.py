"""Whether missing values carry information: the MCAR test behind missing_indicators='auto'."""

import numpy as np
import pandas as pd

from wvad import WVAD
from wvad.encoding import TableEncoder, read_table
from wvad.missingness import informative_missing


def _related(n=700, width=5, seed=0):
    """Columns that share one factor, so each tells something about the others."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=n)
    return np.column_stack([factor + rng.normal(scale=0.8, size=n) for _ in range(width)])


def _without_largest(X, share=0.1):
    out = X.copy()
    for j in range(X.shape[1]):
        out[X[:, j] > np.quantile(X[:, j], 1 - share), j] = np.nan
    return out


def test_cells_missing_at_random_are_not_informative():
    X = _related()
    rng = np.random.default_rng(1)
    X[rng.random(X.shape) < 0.3] = np.nan
    assert not informative_missing(X, []).any()


def test_the_largest_values_missing_are_informative_where_other_columns_tell():
    X = _without_largest(_related())
    assert informative_missing(X, []).all()
    alone = _without_largest(np.random.default_rng(2).normal(size=(700, 5)))
    assert not informative_missing(alone, []).any()  # nothing else tells: untestable


def test_a_category_that_tells_when_a_value_is_missing_makes_it_informative():
    rng = np.random.default_rng(3)
    measured = rng.random(600) < 0.5
    lab = np.where(measured, rng.normal(size=600), np.nan)
    noise = rng.normal(size=600)
    codes = [measured.astype(np.int64), rng.integers(0, 3, 600)]
    found = informative_missing(np.column_stack([lab, noise]), codes)
    assert found.tolist() == [True, False]  # the complete column has nothing to flag
    assert not informative_missing(np.column_stack([lab, noise]), codes[1:])[0]


def test_auto_indicators_flag_only_the_informative_columns():
    X = _related()
    X[:, :2] = _without_largest(X[:, :2])
    rng = np.random.default_rng(4)
    X[rng.random(len(X)) < 0.2, 4] = np.nan  # at random
    frame = pd.DataFrame(X, columns=list("abcde"))
    encoder = TableEncoder.fit(read_table(frame), "from_dtype", indicators="auto")
    assert [n for n in encoder.encoded_names() if "(missing)" in n] == [
        "a=(missing)",
        "b=(missing)",
    ]
    every = TableEncoder.fit(read_table(frame), "from_dtype", indicators=True)
    assert sum("(missing)" in n for n in every.encoded_names()) == 3


def test_auto_indicators_fit_and_score_end_to_end(tmp_path):
    from tests.test_encoding import QUICK

    X = _without_largest(_related())
    y = np.zeros(len(X), dtype=np.int64)
    y[np.argsort(-np.nan_to_num(X[:, 0], nan=9.0))[:10]] = 1
    model = WVAD(**QUICK, missing_indicators="auto").fit(X, y)
    assert sum("(missing)" in n for n in model.encoder_.encoded_names()) == X.shape[1]
    scores = model.decision_function(X)
    assert np.isfinite(scores).all()
    again = WVAD.load(model.save(tmp_path / "m"))
    assert np.array_equal(again.decision_function(X), scores)

"""Explanations of the score that is actually used: pieces, then columns."""

import numpy as np
import pytest

from wvad import WVAD
from wvad.explain import PIECE_METHOD, completeness_gap

SHORT = {"pretrain_epochs": 10, "warmup_epochs": 10, "joint_epochs": 30, "joint_batch_size": 256}


@pytest.fixture(scope="module")
def one_column():
    """Anomalies that differ from the normal rows in column x3 only."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 5))
    X[:40, 3] += 4.0
    y_true = np.r_[np.ones(40), np.zeros(760)].astype(int)
    y = np.zeros(800, dtype=int)
    y[:12] = 1
    return X, y, y_true, WVAD(random_state=0, **SHORT).fit(X, y)


def test_the_pieces_contributions_add_up_to_the_score(one_column):
    X, _, _, model = one_column
    table = model.explain(X[:60])
    pieces = table[table.part == "piece"]
    assert set(pieces.piece) == {n for n, w in model.score_weights().items() if w > 0}
    assert (pieces.method == PIECE_METHOD).all()
    totals = pieces.groupby("row").value.sum().to_numpy()
    assert np.allclose(totals, model.decision_function(X[:60]), rtol=0, atol=1e-6)


def test_the_columns_and_the_reference_row_add_up_to_each_piece(one_column):
    X, _, _, model = one_column
    table = model.explain(X[:60], steps=64)
    trees = table[table.piece == "boosting"]
    assert trees[trees.part == "column"].method.str.startswith("SHAP values").all()
    assert completeness_gap(trees.to_dict("records")) < 1e-9  # exact for the trees
    others = table[table.piece != "boosting"]
    assert others[others.part == "column"].method.str.startswith("integrated gradients").all()
    assert completeness_gap(others.to_dict("records")) < 0.05  # up to the quadrature


def test_the_column_the_anomalies_differ_in_ranks_first(one_column):
    X, _, y_true, model = one_column
    flagged = np.flatnonzero((model.decision_function(X) > model.threshold_) & (y_true == 1))
    assert len(flagged) >= 20
    table = model.explain(X[flagged])
    columns = table[table.part == "column"].groupby(["row", "column"]).value.sum().unstack()
    assert (columns.idxmax(axis=1) == "x3").mean() >= 0.8


def test_a_score_of_one_piece_is_explained_by_that_piece(one_column):
    X, y, _, _ = one_column
    paper = WVAD.from_preset("paper", random_state=0, **SHORT).fit(X, y)
    table = paper.explain(X[:5])
    assert set(table.piece) == {"head"}
    totals = table[table.part == "piece"].groupby("row").value.sum().to_numpy()
    assert np.allclose(totals, paper.decision_function(X[:5]), atol=1e-6)


def test_explanations_name_the_dataframes_columns(one_column):
    import pandas as pd

    X, y, _, _ = one_column
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = WVAD(random_state=0, **SHORT).fit(frame, y)
    table = model.explain(frame.iloc[:3])
    assert set(table[table.part == "column"].column) == set("abcde")
    with pytest.raises(ValueError, match="columns differ"):
        model.explain(frame.rename(columns={"a": "z"}))

"""A fit that continues the previous one (`WVAD(warm_start=True)`): the labelling loop's
cheaper update."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from wvad import WVAD

SCHEDULE = dict(pretrain_epochs=2, warmup_epochs=2, joint_epochs=3, warm_epochs=2)


@pytest.fixture(scope="module")
def labels(table):
    """The table's weak labels, and more of them: four further true anomalies labeled."""
    _, y, y_weak = table
    more = y_weak.copy()
    more[np.flatnonzero((y == 1) & (y_weak == 0))[:4]] = 1
    return y_weak, more


def _model(quick_pieces, **params):
    return WVAD(n_clusters=2, random_state=0, **SCHEDULE, **quick_pieces, **params)


def test_a_warm_fit_runs_only_the_warm_epochs_from_the_previous_network(
    table, labels, quick_pieces
):
    X = table[0]
    y_weak, more = labels
    model = _model(quick_pieces, warm_start=True).fit(X, y_weak)
    before = model.mixture_
    first = {k: v.clone() for k, v in before.state_dict().items()}
    model.fit(X, more)
    assert model.history_["phase"] == ["warm"] * SCHEDULE["warm_epochs"]
    assert model.n_labeled_ == int(more.sum())
    assert model.mixture_ is not before  # trained on a copy
    assert all(np.array_equal(v, before.state_dict()[k]) for k, v in first.items())
    moved = [k for k, v in model.mixture_.state_dict().items() if not np.array_equal(v, first[k])]
    assert moved  # and it did train
    assert np.isfinite(model.decision_function(X)).all()


def test_warm_fits_repeat_and_a_first_warm_fit_is_a_cold_one(table, labels, quick_pieces):
    X = table[0]
    y_weak, more = labels
    cold = _model(quick_pieces).fit(X, y_weak).decision_function(X)
    warm = _model(quick_pieces, warm_start=True)
    assert np.array_equal(warm.fit(X, y_weak).decision_function(X), cold)
    again = clone(warm).fit(X, y_weak).fit(X, more).decision_function(X)
    assert np.array_equal(warm.fit(X, more).decision_function(X), again)
    refit = _model(quick_pieces).fit(X, y_weak).fit(X, more).decision_function(X)
    assert not np.array_equal(again, refit)  # warm_start=False trains afresh


def test_a_warm_fit_from_no_label_builds_the_score_estimator(table, labels, quick_pieces):
    X = table[0]
    model = _model(quick_pieces, warm_start=True, allow_unsupervised=True).fit(X)
    assert "head" not in model.score_.pieces
    model.fit(X, labels[1])
    assert "head" in model.score_.pieces and model.score_weights()["head"] > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [({"latent_dim": 3}, r"\['latent_dim'\] changed"), ({"n_clusters": 3}, "n_clusters")],
)
def test_a_changed_network_is_refused_and_the_fitted_model_kept(
    table, labels, quick_pieces, change, message
):
    X = table[0]
    model = _model(quick_pieces, warm_start=True).fit(X, labels[0])
    scores = model.decision_function(X)
    with pytest.raises(ValueError, match=message):
        model.set_params(**change).fit(X, labels[1])
    assert np.array_equal(model.decision_function(X), scores)


def test_other_columns_are_refused(table, labels, quick_pieces):
    X = table[0]
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    model = _model(quick_pieces, warm_start=True).fit(frame, labels[0])
    renamed = frame.rename(columns={"c0": "other"})
    with pytest.raises(ValueError, match="encoded columns"):
        model.fit(renamed, labels[1])
    with pytest.raises(ValueError, match="warm_start must be"):
        model.set_params(warm_start="yes").fit(frame, labels[1])


def test_a_loaded_model_continues_as_the_one_it_was_saved_from(
    table, labels, quick_pieces, tmp_path
):
    X = table[0]
    y_weak, more = labels
    model = _model(quick_pieces, warm_start=True).fit(X, y_weak)
    model.save(tmp_path / "m")
    loaded = WVAD.load(tmp_path / "m")
    assert loaded.warm_start
    a = model.fit(X, more).decision_function(X)
    assert np.array_equal(loaded.fit(X, more).decision_function(X), a)

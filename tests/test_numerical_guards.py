"""Awkward but valid tables: training ends with finite scores, or stops with a message that
names the cause."""

import numpy as np
import pytest

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.training import DivergenceError

QUICK = {
    "pretrain_epochs": 3,
    "warmup_epochs": 2,
    "joint_epochs": 3,
    "deviation": DeviationSettings(epochs=3),
    "trees": TreeSettings(max_iter=10),
    "random_state": 0,
}


def _table(n: int = 200, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X, y = rng.random((n, d)), np.zeros(n, dtype=int)
    X[:6] += 2.0
    y[:6] = 1
    return X, y


def _extreme_rows(X: np.ndarray) -> np.ndarray:
    rows = X[:4].copy()
    rows[0, 0], rows[1, 1], rows[2, 2], rows[3, 0] = 1e300, -1e300, 1e30, -0.0
    return rows


def _fits_and_scores_finitely(X, y, **params):
    model = WVAD(**QUICK, **params).fit(X, y)
    assert np.isfinite(model.decision_scores_).all()
    assert np.isfinite(model.decision_function(X)).all()
    assert np.isfinite(model.decision_function(_extreme_rows(X))).all()
    return model


def test_a_constant_column():
    X, y = _table()
    X[:, 1] = 3.0
    _fits_and_scores_finitely(X, y)


def test_a_column_of_1e12_magnitude():
    X, y = _table()
    X[:, 2] *= 1e12
    _fits_and_scores_finitely(X, y)
    _fits_and_scores_finitely(X, y, scaling="standard")
    with pytest.raises(ValueError, match=r"column 2 scales to values beyond \+-1e\+06"):
        WVAD(**QUICK, scaling="none").fit(X, y)


def test_rows_far_outside_the_training_range_score_as_the_most_anomalous():
    X, y = _table()
    model = _fits_and_scores_finitely(X, y)
    extreme = model.decision_function(_extreme_rows(X)[:3])
    assert (extreme > np.max(model.decision_function(X[6:]))).all()


def test_every_row_the_same():
    X, y = _table()
    X[:] = X[0]
    with pytest.warns(UserWarning, match="fewer distinct points than mixture components"):
        _fits_and_scores_finitely(X, y)


def test_every_unlabeled_row_the_same():
    X, y = _table()
    X[6:] = 0.5
    with pytest.warns(UserWarning, match="fewer distinct points"):
        model = _fits_and_scores_finitely(X, y)
    assert (model.decision_function(X[:6]) > model.decision_function(X[6:7])).all()


def test_fewer_rows_than_a_batch():
    X, y = _table(n=20)
    _fits_and_scores_finitely(X, y)


def test_more_clusters_than_distinct_unlabeled_rows():
    X, y = _table()
    X[6:] = X[6:9][np.random.default_rng(1).integers(0, 3, 194)]
    with pytest.warns(UserWarning, match="some components coincide"):
        _fits_and_scores_finitely(X, y, n_clusters=5)


def test_one_labeled_anomaly():
    X, y = _table()
    y[1:] = 0
    model = _fits_and_scores_finitely(X, y)
    assert model.score_.ginis == {}  # nothing to cross-fit with one label


def test_a_diverging_fit_names_the_phase_the_epoch_and_the_column():
    X, y = _table()
    X[:, 3] *= 50
    with pytest.raises(DivergenceError, match=r"pretraining loss became nan at epoch 1.*column"):
        WVAD(**QUICK, learning_rate=1e8).fit(X, y)
    model = WVAD(**QUICK)
    with pytest.raises(ValueError, match="training diverged"):
        model.set_params(learning_rate=1e8).fit(X, y)
    assert not hasattr(model, "score_")  # and the estimator stays unfitted

"""Awkward but valid tables: training ends with finite scores, or stops with a message that
names the cause."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.fusion import TAIL_START
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


# -- degenerate spreads: no piece is divided by (almost) nothing --------------------------------
N_ROWS = 120
DEGENERATE = {
    "constant": lambda i, rng: np.full(N_ROWS, 3.0),
    "ramp": lambda i, rng: i.astype(float),
    "two values": lambda i, rng: (i % 2).astype(float),
    "mostly one value": lambda i, rng: (rng.random(N_ROWS) < 0.05).astype(float),
    "huge integers": lambda i, rng: 1e15 + 7.0 * i,
    "one outlier": lambda i, rng: np.where(i == N_ROWS // 2, 1e6, 0.0),
}
#: Per unit of weight, the most a piece may add for a training row (sigmas, `wvad.fusion`).
TRAINING_BOUND = 40.0


def _degenerate_table(kinds: list[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng, i = np.random.default_rng(seed), np.arange(N_ROWS)
    X = np.column_stack([DEGENERATE[kind](i, rng) for kind in kinds])
    y = np.zeros(N_ROWS, dtype=int)
    y[:4] = 1  # labels on the first rows, as a user with a counter column would have them
    return X, y


def _check_pieces(model: WVAD, X: np.ndarray, bound: float) -> np.ndarray:
    """Every counting piece's evidence finite, its share of the score within `bound`
    sigmas per unit of weight; returns the scores."""
    score = model.score_
    evidence = score.evidence(model._rows(X))
    weights = score.weights() or dict.fromkeys(evidence, 1.0)
    for name, part in score.contributions(evidence).items():
        assert np.isfinite(evidence[name]).all(), name
        assert np.abs(part).max() <= weights[name] * bound + 1e-9, (name, np.abs(part).max())
    return score.combine(evidence)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(sorted(DEGENERATE)), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_degenerate_columns_keep_every_piece_finite_and_bounded(kinds, seed):
    X, y = _degenerate_table(kinds, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "fewer distinct points than ..."
        model = WVAD(**QUICK).fit(X, y)
    weight = sum(model.score_weights().values()) or 1.0
    assert np.abs(model.decision_scores_).max() <= weight * TRAINING_BOUND
    _check_pieces(model, X, TRAINING_BOUND)
    far = np.repeat(X[:1], 2 * X.shape[1], axis=0)
    for j in range(X.shape[1]):
        far[2 * j, j], far[2 * j + 1, j] = 1e300, -1e300
    new = np.r_[X * 1.5 + 0.25, X[::-1] - 1.0, far]
    scores = _check_pieces(model, new, TAIL_START + np.log1p(np.finfo(np.float64).max))
    assert np.isfinite(scores).all()
    if np.unique(model.decision_scores_).size > N_ROWS // 2:  # not rows all alike
        flagged = int((model.decision_scores_ > model.threshold_).sum())
        assert flagged >= int(0.5 * model.contamination * N_ROWS)


def test_an_evenly_spaced_column_gets_a_bounded_neighbour_piece():
    """The case that found the class: a counter column, labels on its first rows."""
    X, y = _degenerate_table(["ramp", "huge integers"], 0)
    model = WVAD(**QUICK).fit(X, y)
    _check_pieces(model, X, TRAINING_BOUND)
    explained = model.explain(X[:3], steps=4)
    pieces = explained[explained.part == "piece"]
    assert pieces.value.abs().max() <= 2.0 * TRAINING_BOUND


def test_a_column_whose_range_overflows_is_refused_by_name():
    X, y = _table()
    X[::2, 1], X[1::2, 1] = 1e308, -1e308  # max - min overflows float64
    for scaling in ("minmax", "standard"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and no numpy overflow warning on the way
            with pytest.raises(ValueError, match="column 1 spans more than float64 can hold"):
                WVAD(**QUICK, scaling=scaling).fit(X, y)


def test_the_memory_layout_does_not_change_the_scores():
    X, y = _table()
    model = WVAD(**QUICK).fit(np.asfortranarray(X), y)
    twin = WVAD(**QUICK).fit(X, y)
    assert np.array_equal(model.decision_scores_, twin.decision_scores_)
    assert np.array_equal(model.decision_function(np.asfortranarray(X)), twin.decision_function(X))


@pytest.mark.parametrize("steps", [0, -1, 1.5, True])
def test_explain_refuses_a_bad_step_count(steps):
    X, y = _table()
    model = WVAD(**QUICK).fit(X, y)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        model.explain(X[:2], steps=steps)

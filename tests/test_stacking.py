"""The "stacked" score: the cross-fitted deviation branch and how it joins the fusion."""

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from wvad import WVAD
from wvad.stacking import GINI_FLOOR, MAX_WEIGHT, deviation_weight, fit_deviation_branch


def _blobs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """400 normal rows around 0 and 12 anomalies around 3, in 5 columns."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, (400, 5)), rng.normal(3.0, 0.5, (12, 5))])
    y = np.r_[np.zeros(400, dtype=int), np.ones(12, dtype=int)]
    return X, y


@pytest.fixture(scope="module")
def blobs():
    return _blobs(0)


@pytest.fixture(scope="module")
def stacked(blobs, short):
    X, y = blobs
    return WVAD(score_mode="stacked", random_state=0, **short).fit(X, y)


def test_branch_trusts_anomalies_it_can_tell_apart_and_not_arbitrary_labels():
    X, y = _blobs(0)
    coherent = fit_deviation_branch(X, y, seed=0, device=torch.device("cpu"))
    assert coherent.gini > 0.9
    assert coherent.weight > 0.8 * MAX_WEIGHT
    assert coherent.network is not None
    arbitrary = np.zeros_like(y)
    arbitrary[np.random.default_rng(1).choice(400, 12, replace=False)] = 1
    noise = fit_deviation_branch(X, arbitrary, seed=0, device=torch.device("cpu"))
    assert noise.gini < GINI_FLOOR
    assert noise.weight == 0.0
    assert noise.network is None  # a branch that would not count is not fitted


def test_weight_is_zero_up_to_the_floor_then_linear():
    assert deviation_weight(0.0) == deviation_weight(GINI_FLOOR) == 0.0
    assert deviation_weight(1.0) == pytest.approx(MAX_WEIGHT)
    middle = (1.0 + GINI_FLOOR) / 2
    assert deviation_weight(middle) == pytest.approx(MAX_WEIGHT / 2)


def test_branch_needs_two_labeled_anomalies():
    X, y = _blobs(0)
    one = np.zeros_like(y)
    one[-1] = 1
    assert fit_deviation_branch(X, one, seed=0, device=torch.device("cpu")) is None


def test_stacked_weighs_the_branch_by_its_cross_fitted_gini(stacked, blobs):
    X, y = blobs
    assert stacked.deviation_ is not None
    assert GINI_FLOOR < stacked.deviation_gini_ <= 1.0
    assert stacked.fusion_weights_.shape == (4,)
    assert stacked.fusion_weights_[3] == pytest.approx(deviation_weight(stacked.deviation_gini_))
    assert roc_auc_score(y, stacked.decision_function(X)) > 0.75


def test_stacked_is_reproducible_and_round_trips(stacked, blobs, short, tmp_path):
    X, y = blobs
    again = WVAD(score_mode="stacked", random_state=0, **short).fit(X, y)
    assert np.array_equal(again.decision_function(X), stacked.decision_function(X))
    loaded = WVAD.load(stacked.save(tmp_path / "m"))
    assert loaded.deviation_gini_ == stacked.deviation_gini_
    assert np.array_equal(loaded.decision_function(X), stacked.decision_function(X))


@pytest.mark.parametrize("labels", ["one", "all"])
def test_stacked_without_a_branch_that_counts_is_the_fusion(table, short, labels):
    """One label cannot be cross-fitted; on this table the branch's cross-fitted Gini stays
    under the floor (its anomalies are spread over four clusters' margins)."""
    X, _, y_weak = table
    y = y_weak.copy()
    if labels == "one":
        y[np.flatnonzero(y_weak)[1:]] = 0
    stacked = WVAD(score_mode="stacked", random_state=0, **short).fit(X, y)
    fusion = WVAD(score_mode="fusion", random_state=0, **short).fit(X, y)
    assert stacked.deviation_ is None
    assert (stacked.deviation_gini_ is None) == (labels == "one")
    assert np.array_equal(stacked.decision_function(X), fusion.decision_function(X))


def test_fusion_models_of_format_version_2_still_load(fitted, table, tmp_path):
    X, _, _ = table
    path = fitted.save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = 2
    for key in ("deviation_gini_", "deviation_hidden"):
        del config["fitted"][key]
    (path / "config.json").write_text(json.dumps(config))
    loaded = WVAD.load(path)
    assert loaded.deviation_ is None
    assert np.array_equal(loaded.decision_function(X), fitted.decision_function(X))

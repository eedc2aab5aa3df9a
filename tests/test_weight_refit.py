"""Refitted weights: the fused score's weights refitted to the labels' held-out evidence."""

import numpy as np
import pytest

from wvad import WVAD, FusionSettings
from wvad.weight_refit import MIN_LABELS, refitted_weights


def _evidence(n_labels: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Held-out evidence of 500 unlabeled rows and `n_labels` labeled anomalies: "telling"
    puts the labels 2.5 sigmas out, "noise" and "head" do not tell them apart."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(500), np.ones(n_labels)].astype(np.int64)
    telling = rng.normal(size=y.size) + 2.5 * y
    evidence = {"telling": telling, "noise": rng.normal(size=y.size)}
    return evidence | {"head": rng.normal(size=y.size)}, y


START = {"telling": 0.5, "noise": 0.5, "head": 0.3}


def test_many_labels_move_the_weight_to_the_piece_that_ranks_them_first():
    evidence, y = _evidence(200)
    weights = refitted_weights(START, evidence, y, strength=30.0, fixed=["head"])
    assert weights["head"] == START["head"]  # fixed: the score estimator keeps its weight
    assert weights["telling"] > START["telling"] and weights["noise"] < START["noise"]
    assert min(weights.values()) >= 0.0


def test_the_pull_keeps_the_weights_near_the_rules_with_a_few_labels():
    evidence, y = _evidence(3)
    few = refitted_weights(START, evidence, y, strength=30.0)
    many = refitted_weights(START, *_evidence(300), strength=30.0)
    moved = {n: abs(few[n] - START[n]) for n in START}
    assert max(moved.values()) < 0.15
    assert abs(many["telling"] - START["telling"]) > 3 * moved["telling"]


@pytest.mark.parametrize("n_labels, strength", [(MIN_LABELS - 1, 30.0), (50, 0.0)])
def test_below_two_labels_or_without_strength_the_weights_stay(n_labels, strength):
    evidence, y = _evidence(n_labels)
    assert refitted_weights(START, evidence, y, strength) == START


def test_refitting_in_a_fit_refits_weights_scores_and_survives_save(table, short, tmp_path):
    X, _, y_weak = table
    rules = WVAD(random_state=0, fusion=FusionSettings(refit_weights=0.0), **short)
    rules.fit(X, y_weak)
    model = WVAD(random_state=0, **short).fit(X, y_weak)  # the default refits at 30
    weights, before = model.score_weights(), rules.score_weights()
    assert weights["head"] == before["head"]
    assert weights != before and min(weights.values()) >= 0.0
    assert set(weights) >= {"deviation", "boosting"}  # cross-fitted pieces fitted to be weighed
    scores = model.decision_function(X)
    assert np.isfinite(scores).all()
    loaded = WVAD.load(model.save(tmp_path / "refitted"))
    assert loaded.get_config().fusion.refit_weights == 30.0
    assert np.array_equal(loaded.decision_function(X), scores)


def test_a_bound_holds_where_the_labels_would_raise_the_weight_past_it():
    evidence, y = _evidence(200)
    free = refitted_weights(START, evidence, y, strength=30.0)
    bounded = refitted_weights(START, evidence, y, strength=30.0, upper={"telling": 0.6})
    assert free["telling"] > 0.6  # the labels raise it past the bound when free
    assert bounded["telling"] == pytest.approx(0.6)
    assert bounded["noise"] < START["noise"]  # the other pieces are refitted as before


def test_the_closeness_to_clustered_labels_weighs_no_more_than_its_bound(table, short):
    X, y, _ = table
    anomalies = np.flatnonzero(y == 1)
    # labels that sit together: the anomalies nearest the first, as a loop asking its top finds
    distance = np.linalg.norm(X[anomalies] - X[anomalies[0]], axis=1)
    y_weak = np.zeros(len(y), dtype=np.int64)
    y_weak[anomalies[np.argsort(distance)[:12]]] = 1
    grows = WVAD(random_state=0, fusion=FusionSettings(proximity_grows=True), **short)
    free = grows.fit(X, y_weak).score_weights()["proximity"]
    assert free > 0.5  # held-out among labels that sit together, it earns more than its prior
    capped = WVAD(random_state=0, **short).fit(X, y_weak).score_weights()["proximity"]
    assert capped <= FusionSettings().proximity_weight == 0.5

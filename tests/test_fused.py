"""The fused score: which pieces it fits, how it weighs them, how it reads them out."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from wvad import WVAD, Config, FusionSettings
from wvad.config import SCORE_MODES
from wvad.evidence import PIECES, BoostedTrees, DeviationPiece, TrainingData, Trust, iter_rows
from wvad.fused import (
    SHARING,
    ScorePlan,
    check_bagged,
    cross_fitted_weight,
    readout_pieces,
    shared_weights,
)

CPU = torch.device("cpu")
FUSION = FusionSettings()


def _blobs(seed: int = 0, hidden: int = 0) -> TrainingData:
    """400 normal rows around 0 and 12 labeled anomalies around 3, in 5 columns, plus
    `hidden` anomalies nobody labeled among the unlabeled rows."""
    rng = np.random.default_rng(seed)
    X = np.vstack(
        [
            rng.normal(0.0, 1.0, (400, 5)),
            rng.normal(3.0, 0.5, (12, 5)),
            np.random.default_rng(2).normal(3.0, 0.5, (hidden, 5)),
        ]
    )
    y = np.r_[np.zeros(400), np.ones(12), np.zeros(hidden)].astype(np.int64)
    return TrainingData(X, y, seed, CPU)


@pytest.fixture(scope="module")
def stacked(short):
    data = _blobs()
    return WVAD(random_state=0, **short).fit(data.X, data.y)


def test_a_cross_fitted_weight_is_zero_up_to_the_floor_then_linear():
    floor, top = FUSION.gini_floor, FUSION.max_weight
    assert cross_fitted_weight(0.0, FUSION) == cross_fitted_weight(floor, FUSION) == 0.0
    assert cross_fitted_weight(1.0, FUSION) == pytest.approx(top)
    assert cross_fitted_weight((1.0 + floor) / 2, FUSION) == pytest.approx(top / 2)
    higher = FusionSettings(gini_floor=0.8, max_weight=1.0)
    assert cross_fitted_weight(0.7, higher) == 0.0 and cross_fitted_weight(0.9, higher) > 0


def test_unsupervised_pieces_share_the_best_gini_by_squares():
    weights = shared_weights(np.array([0.2, 0.6, 0.0]))
    assert weights.sum() == pytest.approx(0.6)
    assert weights[2] == 0.0 and weights[1] / weights[0] == pytest.approx(9.0)
    assert np.array_equal(shared_weights(np.zeros(3)), np.zeros(3))


def test_every_score_mode_reads_the_pieces_that_declare_it():
    assert set(SHARING) == set(SCORE_MODES)
    for mode, readout in SHARING.items():
        pieces = readout_pieces(mode)
        assert pieces and all(mode in PIECES[n].readouts for n in pieces)
        assert (readout.sharing is None) == (len(pieces) == 1)
    assert readout_pieces("stacked") == tuple(PIECES)
    assert readout_pieces("fusion") == ("head", "log_f_r", "neg_elbo")


def test_the_plan_cross_fits_pieces_that_tell_the_anomalies_apart():
    data = _blobs()
    plan = ScorePlan.make(data, Config())
    assert list(plan.cross_fits) == ["deviation", "boosting"]
    assert all(cross.gini > 0.9 for cross in plan.cross_fits.values())
    arbitrary = np.zeros_like(data.y)
    arbitrary[np.random.default_rng(1).choice(400, 12, replace=False)] = 1
    plan = ScorePlan.make(TrainingData(data.X, arbitrary, 0, CPU), Config())
    assert all(cross.gini < FUSION.gini_floor for cross in plan.cross_fits.values())
    assert plan.reliable is None  # the trees earn no weight: nothing is left out


def test_no_cross_fitting_below_two_labeled_anomalies():
    data = _blobs()
    one = data.y.copy()
    one[401:] = 0
    plan = ScorePlan.make(TrainingData(data.X, one, 0, CPU), Config())
    assert plan.cross_fits == {} and plan.reliable is None


def test_the_plan_leaves_out_the_unlabeled_rows_the_trees_take_for_anomalies():
    data = _blobs(hidden=10)
    plan = ScorePlan.make(data, Config())
    assert plan.reliable is not None
    assert plan.reliable[data.y == 1].all()  # every labeled anomaly stays
    assert plan.reliable[-10:].sum() <= 2  # few hidden ones do
    assert plan.reliable[:400].mean() > 0.8  # most normal rows do
    unlabeled = plan.normal_unlabeled()
    assert np.array_equal(unlabeled, plan.reliable[data.y == 0])
    assert ScorePlan.make(data, Config(clean_unlabeled=False)).reliable is None


def test_the_trees_are_fitted_on_the_reliable_rows_and_the_deviation_net_on_all(short, monkeypatch):
    data = _blobs(hidden=10)
    final_fit = {}
    for piece in (BoostedTrees, DeviationPiece):
        real = piece.fit.__func__

        def spy(cls, rows, config, mixture, real=real):
            if mixture is not None:  # the final fit; cross-fitting has no mixture yet
                final_fit[cls.name] = rows.X
            return real(cls, rows, config, mixture)

        monkeypatch.setattr(piece, "fit", classmethod(spy))
    refit = FusionSettings(bagged=())  # the deviation network fitted once more, not bagged
    model = WVAD(random_state=0, fusion=refit, **short).fit(data.X, data.y)
    assert set(model.score_.pieces) >= {"deviation", "boosting"}
    scaled = model.scaler_.transform(data.X)
    reliable = ScorePlan.make(TrainingData(scaled, data.y, 0, CPU), model.config_).reliable
    assert reliable is not None and not reliable.all()
    assert len(final_fit["deviation"]) == len(data.X)
    assert np.array_equal(final_fit["boosting"], scaled[reliable])


def test_stacked_weighs_each_piece_by_what_the_labels_show(short):
    """The rule-made weights (the refit and the supervised prior off): the score
    estimator's by the label count, the unsupervised pieces sharing the rest, the
    cross-fitted ones by their Gini."""
    rules_only = FusionSettings(refit_weights=0.0, supervised_prior=0.0)
    rules = WVAD(random_state=0, fusion=rules_only, **short)
    data = _blobs()
    rules.fit(data.X, data.y)
    weights, ginis = rules.score_weights(), rules.score_.ginis
    pieces = ["head", "log_f_r", "neg_elbo", "neighbours", "deviation", "boosting", "proximity"]
    assert list(weights) == pieces
    assert weights["head"] == pytest.approx(12 / (12 + 25.0))
    unsupervised = [weights[n] for n in ("log_f_r", "neg_elbo", "neighbours")]
    assert min(unsupervised) >= 0 and sum(unsupervised) <= 1 - weights["head"] + 1e-12
    for name in ("deviation", "boosting"):
        assert weights[name] == pytest.approx(cross_fitted_weight(ginis[name], FUSION))


def test_contributions_sum_to_the_score(stacked):
    data = _blobs()
    with torch.inference_mode():
        rows = iter_rows(data.X[:50], CPU, stacked.mixture_, stacked.scaler_.on(CPU))
        evidence = stacked.score_.evidence(rows)
    parts = stacked.score_.contributions(evidence)
    assert set(parts) == {n for n, w in stacked.score_weights().items() if w > 0}
    total = np.sum(list(parts.values()), axis=0)
    assert np.allclose(total, stacked.decision_function(data.X[:50]), rtol=0, atol=1e-9)


def test_the_stacked_score_ranks_the_blobs(stacked):
    data = _blobs()
    assert roc_auc_score(data.y, stacked.decision_function(data.X)) > 0.95


def test_stacked_is_reproducible_and_round_trips(stacked, short, tmp_path):
    data = _blobs()
    again = WVAD(random_state=0, **short).fit(data.X, data.y)
    assert np.array_equal(again.decision_function(data.X), stacked.decision_function(data.X))
    loaded = WVAD.load(stacked.save(tmp_path / "m"))
    assert loaded.score_.ginis == stacked.score_.ginis
    assert loaded.score_weights() == stacked.score_weights()
    assert np.array_equal(loaded.decision_function(data.X), stacked.decision_function(data.X))


def test_one_label_without_a_supervised_prior_means_no_cross_fitted_pieces(table, short):
    X, _, y_weak = table
    one = np.zeros_like(y_weak)
    one[np.flatnonzero(y_weak)[0]] = 1
    no_prior = FusionSettings(supervised_prior=0.0)
    stacked = WVAD(fusion=no_prior, random_state=0, **short).fit(X, one)
    assert stacked.score_.ginis == {}
    stacked_pieces = ["head", "log_f_r", "neg_elbo", "neighbours", "proximity"]
    assert list(stacked.score_weights()) == stacked_pieces
    assert stacked.score_weights()["proximity"] == stacked.config_.fusion.proximity_weight
    # without the distance pieces, the same evidence as "fusion": the head's weight is the
    # same, and the best piece's weight is shared by the two instead of going to one
    no_proximity = FusionSettings(proximity_weight=0.0, supervised_prior=0.0)
    bare = WVAD(n_neighbors=0, fusion=no_proximity, random_state=0, **short)
    bare = bare.fit(X, one).score_weights()
    best = WVAD(score_mode="fusion", fusion=no_prior, random_state=0, **short)
    best = best.fit(X, one).score_weights()
    assert list(bare) == list(best) == ["head", "log_f_r", "neg_elbo"]
    assert bare["head"] == best["head"]
    assert bare["log_f_r"] + bare["neg_elbo"] == pytest.approx(
        max(best["log_f_r"], best["neg_elbo"])
    )
    assert best["log_f_r"] == 0 or best["neg_elbo"] == 0  # at most the best piece counts


def test_a_supervised_prior_weighs_the_trained_pieces_from_one_label_then_yields(table, short):
    X, _, y_weak = table
    one = np.zeros_like(y_weak)
    one[np.flatnonzero(y_weak)[0]] = 1
    prior = FusionSettings(supervised_prior=1.0, supervised_strength=2.0, refit_weights=0.0)
    weights = WVAD(fusion=prior, random_state=0, **short).fit(X, one).score_weights()
    assert weights["deviation"] == weights["boosting"] == 1.0  # nothing held out: the prior
    many = WVAD(fusion=prior, random_state=0, **short).fit(X, y_weak)
    held = int(y_weak.sum())
    for name in ("deviation", "boosting"):
        earned = cross_fitted_weight(many.score_.ginis[name], FUSION)
        expected = (2.0 * 1.0 + held * earned) / (2.0 + held)  # supervised_strength 2
        assert many.score_weights()[name] == pytest.approx(expected)
    assert np.isfinite(many.decision_function(X)).all()


def test_without_labels_the_unsupervised_pieces_weigh_the_same(table, short):
    X, y, _ = table
    model = WVAD(allow_unsupervised=True, random_state=0, **short).fit(X)
    weights = model.score_weights()
    assert list(weights) == ["log_f_r", "neg_elbo", "neighbours"]
    assert np.allclose(list(weights.values()), 1 / 3)
    assert all(PIECES[n].trust is Trust.UNSUPERVISED for n in weights)
    assert roc_auc_score(y, model.decision_function(X)) > 0.6


def test_a_read_out_of_one_piece_is_that_piece_alone(table, short):
    X, _, y_weak = table
    model = WVAD(score_mode="elbo", random_state=0, **short).fit(X, y_weak)
    assert model.score_weights() == {} and list(model.score_.pieces) == ["neg_elbo"]
    with torch.inference_mode():
        features = model.mixture_.features(
            torch.as_tensor(model.scaler_.transform(X[:20]), dtype=torch.float32), density=True
        )
    assert np.allclose(model.decision_function(X[:20]), features.f_d.double().numpy())


def test_the_head_read_out_without_labels_falls_back_to_the_elbo(table, short):
    X, _, _ = table
    model = WVAD(score_mode="head", allow_unsupervised=True, random_state=0, **short)
    with pytest.warns(UserWarning, match="score_mode='elbo'"):
        model.fit(X)
    assert model.score_mode_ == "elbo" and list(model.score_.pieces) == ["neg_elbo"]


def test_fit_seconds_include_the_cross_fitting(short):
    import time

    data = _blobs()
    started = time.perf_counter()
    model = WVAD(random_state=0, **short).fit(data.X, data.y)
    wall = time.perf_counter() - started
    assert model.score_.ginis  # the cross-fitting ran, and it is most of this fit's time
    assert 0.5 * wall < model.fit_seconds_ <= wall


@pytest.mark.parametrize(("n_unlabeled", "n_anomalies"), [(2, 5), (3, 2)])
def test_tiny_tables_fit_with_fewer_folds(n_unlabeled, n_anomalies):
    rng = np.random.default_rng(0)
    X = rng.random((n_unlabeled + n_anomalies, 3))
    y = np.r_[np.zeros(n_unlabeled, dtype=int), np.ones(n_anomalies, dtype=int)]
    model = WVAD(n_clusters=1, random_state=0, pretrain_epochs=1, warmup_epochs=1, joint_epochs=1)
    model.fit(X, y)
    assert set(model.score_.ginis) == {"deviation", "boosting"}
    assert np.isfinite(model.decision_function(X)).all()


def test_a_bagged_piece_is_the_mean_of_its_fold_models(short, tmp_path):
    from wvad.evidence import Rows
    from wvad.evidence.bag import Bag

    data = _blobs()
    model = WVAD(random_state=0, fusion=FusionSettings(bagged=("deviation",)), **short)
    model.fit(data.X, data.y)
    bag = model.score_.pieces["deviation"]
    assert isinstance(bag, Bag) and len(bag.members) == 5 and bag.name == "deviation"
    assert not isinstance(model.score_.pieces["boosting"], Bag)
    rows = Rows(torch.as_tensor(model.scaler_.transform(data.X[:30]), dtype=torch.float32))
    with torch.inference_mode():
        mean = torch.stack([m.score(rows) for m in bag.members]).mean(dim=0)
        assert torch.equal(bag.score(rows), mean)
    loaded = WVAD.load(model.save(tmp_path / "bag"))
    assert np.array_equal(loaded.decision_function(data.X), model.decision_function(data.X))
    with pytest.raises(ValueError, match=r"fusion\.bagged must name cross-fitted pieces"):
        check_bagged(Config(fusion=FusionSettings(bagged=("head",))))


def test_the_label_free_read_out_weighs_the_unsupervised_pieces_alike(stacked):
    free = stacked.score_.label_free()
    assert free.weights() == dict.fromkeys(["log_f_r", "neg_elbo", "neighbours"], 1 / 3)
    data = _blobs()
    with torch.inference_mode():
        rows = list(iter_rows(data.X[:40], CPU, stacked.mixture_, stacked.scaler_.on(CPU)))
        full = stacked.score_.evidence(rows)
    parts = stacked.score_.contributions(full)
    expected = sum(parts[n] / stacked.score_weights()[n] / 3 for n in free.weights())
    assert np.allclose(free.score(rows), expected)


def test_a_threshold_from_the_labels_flags_the_asked_share_of_held_out_anomalies(
    stacked, short, tmp_path
):
    held = stacked.score_.held_out_anomalies
    assert held.shape == (12,) and np.isfinite(held).all()
    for recall in (0.5, 0.9, 1.0):
        threshold = stacked.threshold_for_recall(recall)
        assert np.mean(held > threshold) >= recall
        assert np.mean(held > np.nextafter(threshold, np.inf) + 1e-9) <= recall or recall == 1
    with pytest.raises(ValueError, match=r"recall must be a number in \(0, 1\]"):
        stacked.threshold_for_recall(0.0)
    data = _blobs()
    model = WVAD(random_state=0, threshold=0.9, **short).fit(data.X, data.y)
    assert model.threshold_ == model.threshold_for_recall(0.9)
    unlabeled = data.y == 0
    assert model.flagged_share_ == pytest.approx(np.mean(model.labels_[unlabeled]))
    assert np.array_equal(model.predict(data.X), model.decision_function(data.X) > model.threshold_)
    loaded = WVAD.load(model.save(tmp_path / "t"))
    assert loaded.threshold_ == model.threshold_ and loaded.flagged_share_ == model.flagged_share_
    assert np.array_equal(loaded.score_.held_out_anomalies, model.score_.held_out_anomalies)
    message = r"threshold must be 'contamination' or a number in \(0, 1\]"
    with pytest.raises(ValueError, match=message):
        WVAD(random_state=0, threshold="labels", **short).fit(data.X, data.y)


def test_the_estimator_gives_its_label_free_read_out(stacked):
    data = _blobs()
    with torch.inference_mode():
        rows = list(iter_rows(data.X, CPU, stacked.mixture_, stacked.scaler_.on(CPU)))
        expected = stacked.score_.label_free().score(rows)
    assert np.allclose(stacked.label_free_decision_function(data.X), expected)


def test_copies_of_a_labeled_anomaly_count_once_in_the_weights(table, short):
    """Four copies of three labeled rows are three labels' worth: the score estimator's
    trust is n / (n + prior) with n the distinct labels, not the rows labeled."""
    X, _, y_weak = table
    labeled = np.flatnonzero(y_weak)[:3]
    copies = np.repeat(X[labeled], 3, axis=0)
    X4 = np.vstack([X, copies])
    y4 = np.r_[np.isin(np.arange(len(X)), labeled), np.ones(len(copies))].astype(np.int64)
    data = TrainingData(X4, y4, 0, CPU)
    assert data.n_labeled == 12 and data.n_distinct_labeled == 3
    model = WVAD(random_state=0, **short).fit(X4, y4)
    prior = model.config_.fusion_prior
    assert model.score_weights()["head"] == pytest.approx(3 / (3 + prior))
    assert model.n_labeled_ == 12  # the rows the user labeled, all of them

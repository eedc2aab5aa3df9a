"""The "stacked" score: raw-feature branches, their cross-fitted weights, the fused score."""

import json

import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

import wvad.stacking as stacking
from wvad import WVAD, estimator
from wvad.branches import BRANCH_KINDS, BoostedTrees, _flatten_trees, fit_branch, load_branch
from wvad.stacking import (
    CLEANING_KIND,
    GINI_FLOOR,
    MAX_WEIGHT,
    SPY_QUANTILE,
    branch_weight,
    cross_fit,
    plan_stacking,
    reliable_rows,
)

CPU = torch.device("cpu")


def fit_branches(X: np.ndarray, y: np.ndarray, seed: int, device: torch.device) -> list:
    return plan_stacking(X, y, seed, device).fit_branches(X, y, seed, device)


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


def test_weight_is_zero_up_to_the_floor_then_linear():
    assert branch_weight(0.0) == branch_weight(GINI_FLOOR) == 0.0
    assert branch_weight(1.0) == pytest.approx(MAX_WEIGHT)
    assert branch_weight((1.0 + GINI_FLOOR) / 2) == pytest.approx(MAX_WEIGHT / 2)


def test_branches_trust_anomalies_they_can_tell_apart_and_not_arbitrary_labels(blobs):
    X, y = blobs
    coherent = fit_branches(X, y, seed=0, device=CPU)
    assert [b.kind for b in coherent] == list(BRANCH_KINDS)
    for branch in coherent:
        assert branch.gini > 0.9 and branch.weight > 0.8 * MAX_WEIGHT
        assert branch.scorer is not None
    arbitrary = np.zeros_like(y)
    arbitrary[np.random.default_rng(1).choice(400, 12, replace=False)] = 1
    for branch in fit_branches(X, arbitrary, seed=0, device=CPU):
        assert branch.gini < GINI_FLOOR and branch.weight == 0.0
        assert branch.scorer is None  # a branch that would not count is not fitted


def test_no_branches_below_two_labeled_anomalies(blobs):
    X, y = blobs
    one = np.zeros_like(y)
    one[-1] = 1
    assert fit_branches(X, one, seed=0, device=CPU) == []


def test_reliable_rows_drop_unlabeled_rows_that_score_like_the_held_out_anomalies():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    held_out = np.array([5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 5.7, 6.0, 9.0])
    threshold = np.quantile(held_out[:4], SPY_QUANTILE)  # 5.75
    assert 5.7 < threshold < 6.0
    keep = reliable_rows(held_out, y)
    assert keep.tolist() == [True] * 4 + [True, True, True, False, False]
    # when fewer than two unlabeled rows would be left, nothing is dropped
    crowded = np.array([1, 1, 0, 0, 0])
    assert reliable_rows(np.array([5.0, 6.0, 1.0, 9.0, 9.0]), crowded).all()


def test_cross_fit_scores_every_row_out_of_fold(blobs):
    X, y = blobs
    cross = cross_fit("boosting", X, y, seed=0, device=CPU)
    assert cross.scores.shape == (len(y),) and np.isfinite(cross.scores).all()
    # the anomalies stand apart, and the scorers that never saw them still say so
    assert cross.gini > 0.9
    assert roc_auc_score(y, cross.scores) > 0.95


def _with_hidden_anomalies(blobs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blobs plus ten more anomalies that nobody labeled, among the unlabeled rows."""
    X, y = blobs
    hidden = np.random.default_rng(2).normal(3.0, 0.5, (10, X.shape[1]))
    return np.vstack([X, hidden]), np.r_[y, np.zeros(10, dtype=int)], hidden


def test_the_plan_leaves_out_the_unlabeled_rows_the_trees_take_for_anomalies(blobs):
    X, y, hidden = _with_hidden_anomalies(blobs)
    plan = plan_stacking(X, y, seed=0, device=CPU)
    assert CLEANING_KIND == "boosting" and plan.reliable is not None
    assert plan.reliable[y == 1].all()  # every labeled anomaly stays
    assert plan.reliable[-len(hidden) :].sum() <= 2  # few hidden ones do
    assert plan.reliable[: len(blobs[1])][blobs[1] == 0].mean() > 0.8  # most normal rows do
    unlabeled = plan.reliable_unlabeled(y)
    assert unlabeled.shape == ((y == 0).sum(),)
    assert np.array_equal(unlabeled, plan.reliable[y == 0])


def test_no_rows_are_left_out_when_the_trees_earn_no_weight(blobs):
    X, y = blobs
    arbitrary = np.zeros_like(y)
    arbitrary[np.random.default_rng(1).choice(400, 12, replace=False)] = 1
    plan = plan_stacking(X, arbitrary, seed=0, device=CPU)
    assert branch_weight(plan.cross_fits[CLEANING_KIND].gini) == 0
    assert plan.reliable is None and plan.reliable_unlabeled(arbitrary) is None


def test_trees_are_fitted_against_the_reliable_rows_and_the_deviation_net_on_all(
    blobs, monkeypatch
):
    X, y, _ = _with_hidden_anomalies(blobs)
    fitted = {}
    real_fit = stacking.fit_branch

    def recording_fit(kind, X_fit, y_fit, seed, device):
        if seed == 0:  # the final fit; cross-fitting uses seeds 1, 2, ...
            fitted[kind] = X_fit
        return real_fit(kind, X_fit, y_fit, seed, device)

    monkeypatch.setattr(stacking, "fit_branch", recording_fit)
    plan = plan_stacking(X, y, seed=0, device=CPU)
    branches = plan.fit_branches(X, y, seed=0, device=CPU)
    assert all(b.scorer is not None for b in branches)
    assert len(fitted["deviation"]) == len(X)
    assert np.array_equal(fitted["boosting"], X[plan.reliable])


def test_boosted_trees_score_like_the_classifier_they_were_read_from():
    rng = np.random.default_rng(0)
    X = rng.random((600, 4))
    y = (X[:, 0] + 0.3 * rng.random(600) > 1.0).astype(int)
    model = HistGradientBoostingClassifier(random_state=0, **BoostedTrees.PARAMS).fit(X, y)
    trees = BoostedTrees(_flatten_trees(model))
    assert np.allclose(trees.score_numpy(X), model.decision_function(X), atol=1e-10)


@pytest.mark.parametrize("kind", list(BRANCH_KINDS))
def test_branch_scorers_round_trip_through_tensors(blobs, kind):
    X, y = blobs
    rows = torch.as_tensor(X, dtype=torch.float32)
    scorer = fit_branch(kind, X, y, seed=0, device=CPU)
    state = scorer.state()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    again = load_branch(kind, state, X.shape[1], CPU)
    with torch.inference_mode():
        assert torch.equal(again.score(rows), scorer.score(rows))


def test_stacked_weighs_each_branch_by_its_cross_fitted_gini(stacked, blobs):
    X, y = blobs
    assert list(stacked.branches_) == list(BRANCH_KINDS)
    expected = [branch_weight(stacked.branch_ginis_[k]) for k in stacked.branches_]
    # head, log f_r, negative ELBO, neighbour distance, then the branches
    assert stacked.fusion_weights_.shape == (4 + len(expected),)
    assert np.allclose(stacked.fusion_weights_[4:], expected)
    assert roc_auc_score(y, stacked.decision_function(X)) > 0.95


def test_score_weights_name_every_piece(stacked, table, short):
    assert stacked.score_weights() == dict(
        zip(
            ["head", "log_f_r", "neg_elbo", "neighbours", *BRANCH_KINDS],
            stacked.fusion_weights_,
            strict=True,
        )
    )
    X, _, y_weak = table
    head = WVAD(score_mode="head", random_state=0, **short).fit(X, y_weak)
    assert head.score_weights() == {}


def test_stacked_is_reproducible_and_round_trips(stacked, blobs, short, tmp_path):
    X, y = blobs
    again = WVAD(score_mode="stacked", random_state=0, **short).fit(X, y)
    assert np.array_equal(again.decision_function(X), stacked.decision_function(X))
    loaded = WVAD.load(stacked.save(tmp_path / "m"))
    assert loaded.branch_ginis_ == stacked.branch_ginis_
    assert np.array_equal(loaded.decision_function(X), stacked.decision_function(X))


def test_stacked_with_one_label_has_no_branches_and_shares_the_fusions_weights(table, short):
    X, _, y_weak = table
    one = np.zeros_like(y_weak)
    one[np.flatnonzero(y_weak)[0]] = 1
    stacked = WVAD(score_mode="stacked", random_state=0, **short).fit(X, one)
    assert stacked.branches_ == {} and stacked.branch_ginis_ == {}
    assert list(stacked.score_weights()) == ["head", "log_f_r", "neg_elbo", "neighbours"]
    # without the distance piece, the same evidence as "fusion": the head's weight is the
    # same, and the best piece's weight is shared by the two instead of going to one
    bare = WVAD(score_mode="stacked", n_neighbors=0, random_state=0, **short).fit(X, one)
    fusion = WVAD(score_mode="fusion", random_state=0, **short).fit(X, one)
    shared, best = bare.fusion_weights_, fusion.fusion_weights_
    assert shared.shape == best.shape == (3,) and shared[0] == best[0]
    assert shared[1:].sum() == pytest.approx(best[1:].max())
    assert np.count_nonzero(best[1:]) == 1


def test_fusion_models_of_format_version_2_still_load(table, short, tmp_path):
    X, _, y_weak = table
    fusion = WVAD(score_mode="fusion", random_state=0, **short).fit(X, y_weak)
    loaded = WVAD.load(_as_older_format(fusion.save(tmp_path / "m"), 2))
    assert loaded.branches_ == {}
    assert np.array_equal(loaded.decision_function(X), fusion.decision_function(X))


def test_boosted_trees_handle_a_tree_that_is_a_single_leaf():
    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    y = (X[:, 0] > 0.9).astype(int)
    # leaves of at least 150 of 200 rows: no split is allowed, every tree is its root
    model = HistGradientBoostingClassifier(
        random_state=0, **{**BoostedTrees.PARAMS, "min_samples_leaf": 150}
    ).fit(X, y)
    flat = _flatten_trees(model)
    assert flat["is_leaf"][flat["roots"]].all()
    assert np.allclose(BoostedTrees(flat).score_numpy(X), model.decision_function(X), atol=1e-10)


def test_fit_seconds_include_the_branches(blobs, short):
    import time

    X, y = blobs
    started = time.perf_counter()
    model = WVAD(score_mode="stacked", random_state=0, **short).fit(X, y)
    wall = time.perf_counter() - started
    assert model.branches_  # the branches ran, and they are most of this fit's time
    assert 0.5 * wall < model.fit_seconds_ <= wall


@pytest.mark.parametrize(("n_unlabeled", "n_anomalies"), [(2, 5), (3, 2)])
def test_tiny_tables_fit_with_fewer_folds(n_unlabeled, n_anomalies):
    rng = np.random.default_rng(0)
    X = rng.random((n_unlabeled + n_anomalies, 3))
    y = np.r_[np.zeros(n_unlabeled, dtype=int), np.ones(n_anomalies, dtype=int)]
    model = WVAD(n_clusters=1, random_state=0, pretrain_epochs=1, warmup_epochs=1, joint_epochs=1)
    model.fit(X, y)
    assert set(model.branch_ginis_) == set(BRANCH_KINDS)
    assert np.isfinite(model.decision_function(X)).all()


#: Parameters each older model format did not have yet.
NEWER_PARAMS = {2: ("n_neighbors", "clean_unlabeled"), 3: ("n_neighbors", "clean_unlabeled")}
NEWER_PARAMS[4] = ("clean_unlabeled",)


def _as_older_format(path, version: int):
    """Rewrite a saved model's config as format `version` wrote it."""
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = version
    for key in NEWER_PARAMS[version]:
        del config["params"][key]
        del config["fitted"]["config_"][key]
    if version == 2:
        for key in ("branch_ginis_", "branch_kinds"):
            del config["fitted"][key]
    (path / "config.json").write_text(json.dumps(config))
    return path


def test_stacked_models_of_format_version_3_still_load(table, short, tmp_path):
    X, _, y_weak = table
    # version 3 had no neighbour distance and no n_neighbors parameter
    bare = WVAD(score_mode="stacked", n_neighbors=0, random_state=0, **short).fit(X, y_weak)
    loaded = WVAD.load(_as_older_format(bare.save(tmp_path / "m"), 3))
    assert loaded.neighbours_ is None and loaded.n_neighbors is None
    assert np.array_equal(loaded.decision_function(X), bare.decision_function(X))


def test_models_of_format_version_4_still_load(stacked, blobs, tmp_path):
    X, _ = blobs
    # version 4 had no clean_unlabeled parameter
    loaded = WVAD.load(_as_older_format(stacked.save(tmp_path / "m"), 4))
    assert loaded.clean_unlabeled is None
    assert np.array_equal(loaded.decision_function(X), stacked.decision_function(X))


def test_clean_unlabeled_false_treats_every_unlabeled_row_as_normal(blobs, monkeypatch):
    X, y, _ = _with_hidden_anomalies(blobs)
    assert plan_stacking(X, y, seed=0, device=CPU).reliable is not None
    assert plan_stacking(X, y, seed=0, device=CPU, clean=False).reliable is None
    seen = []
    real_plan = stacking.plan_stacking

    def spy(*args, **kwargs):
        seen.append(kwargs["clean"])
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(estimator, "plan_stacking", spy)
    short = {"pretrain_epochs": 1, "warmup_epochs": 1, "joint_epochs": 1}
    WVAD(random_state=0, **short).fit(X, y)
    WVAD(random_state=0, clean_unlabeled=False, **short).fit(X, y)
    assert seen == [True, False]
    with pytest.raises(ValueError, match="clean_unlabeled"):
        WVAD(clean_unlabeled="yes").fit(X, y)

"""Every piece of evidence keeps the same small contract; the pieces' own maths."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

from wvad import Config, DeviationSettings, TreeSettings
from wvad.evidence import PIECES, BoostedTrees, DeviationPiece, Rows, TrainingData, Trust
from wvad.evidence import trees as trees_module
from wvad.evidence.deviation import steps_per_epoch
from wvad.evidence.trees import NodeEnsemble, classifier, flatten_trees, with_unlabeled_at_most
from wvad.peers.devnet import DevNet
from wvad.training import fit_mixture

CPU = torch.device("cpu")
QUICK = Config(
    n_clusters=2,
    pretrain_epochs=2,
    warmup_epochs=2,
    joint_epochs=2,
    deviation=DeviationSettings(epochs=3),
    trees=TreeSettings(max_iter=10),
)


@pytest.fixture(scope="module")
def blobs():
    """300 normal rows around 0.3 and 12 anomalies around 0.8, in 5 columns."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.3, 0.1, (300, 5)), rng.normal(0.8, 0.05, (12, 5))])
    return TrainingData(X, np.r_[np.zeros(300), np.ones(12)].astype(np.int64), 0, CPU)


@pytest.fixture(scope="module")
def mixture(blobs):
    return fit_mixture(blobs.X, blobs.y, QUICK, 0, CPU)


def _scores(piece, X: np.ndarray, mixture) -> torch.Tensor:
    with torch.inference_mode():
        return piece.score(Rows(torch.as_tensor(X, dtype=torch.float32), 0, mixture.network))


@pytest.mark.parametrize("name", list(PIECES))
def test_every_piece_scores_rows_and_round_trips_through_tensors(name, blobs, mixture):
    piece_class = PIECES[name]
    assert piece_class.name == name and isinstance(piece_class.trust, Trust)
    piece = piece_class.fit(blobs, QUICK, mixture)
    scores = _scores(piece, blobs.X, mixture)
    assert scores.shape == (len(blobs.X),) and scores.dtype == torch.float32
    assert torch.isfinite(scores).all() and scores.std() > 0
    state = piece.state()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    again = piece_class.from_state(state, QUICK, CPU)
    assert torch.equal(_scores(again, blobs.X, mixture), scores)


def test_only_the_raw_column_scorers_need_cross_fitting():
    cross_fitted = {n for n, p in PIECES.items() if p.trust is Trust.CROSS_FITTED}
    assert cross_fitted == {"deviation", "boosting"}
    assert PIECES["head"].trust is Trust.LABEL_COUNT
    assert [n for n, p in PIECES.items() if p.cleans] == ["boosting"]


def test_mixture_pieces_read_the_mixtures_features(blobs, mixture):
    x = torch.as_tensor(blobs.X, dtype=torch.float32)
    with torch.inference_mode():
        features = mixture.network.features(x, density=True)
    log_f_r = PIECES["log_f_r"].fit(blobs, QUICK, mixture)
    neg_elbo = PIECES["neg_elbo"].fit(blobs, QUICK, mixture)
    assert torch.allclose(_scores(log_f_r, blobs.X, mixture), features.f_r.log())
    assert torch.equal(_scores(neg_elbo, blobs.X, mixture), features.f_d)


def test_the_deviation_piece_trains_like_the_devnet_peer(blobs):
    """Uncapped, the piece is the DevNet peer (which keeps the paper's schedule on every
    table)."""
    uncapped = DeviationSettings(epochs=5, max_passes=None)
    piece = DeviationPiece.fit(blobs, Config(deviation=uncapped), None)
    peer = DevNet(epochs=5, random_state=0, device="cpu").fit(blobs.X, blobs.y)
    with torch.inference_mode():
        ours = piece.score(Rows(torch.as_tensor(blobs.X, dtype=torch.float32))).numpy()
    assert np.allclose(ours, peer.decision_function(blobs.X), atol=1e-6)


HIST = TreeSettings(learner="hist", learning_rate=0.1, l2_regularization=1.0)
CATBOOST = TreeSettings(learner="catboost", max_iter=40, learning_rate=None, depth=4)


def test_boosted_trees_score_like_the_classifier_they_were_read_from():
    rng = np.random.default_rng(0)
    X = rng.random((600, 4))
    y = (X[:, 0] + 0.3 * rng.random(600) > 1.0).astype(np.int64)
    piece = BoostedTrees.fit(TrainingData(X, y, 0, CPU), Config(trees=HIST), None)
    model = classifier(HIST, seed=0).fit(X, y)
    assert model.class_weight == "balanced" and model.max_leaf_nodes == 15
    assert np.allclose(piece.score_numpy(X), model.decision_function(X), atol=1e-10)


def test_boosted_trees_handle_a_tree_that_is_a_single_leaf():
    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    y = (X[:, 0] > 0.9).astype(int)
    # leaves of at least 150 of 200 rows: no split is allowed, every tree is its root
    model = HistGradientBoostingClassifier(min_samples_leaf=150, random_state=0).fit(X, y)
    flat = flatten_trees(model)
    assert flat["is_leaf"][flat["roots"]].all()
    scores = BoostedTrees(NodeEnsemble(flat)).score_numpy(X)
    assert np.allclose(scores, model.decision_function(X), atol=1e-10)


def test_tree_settings_reach_the_classifier(blobs):
    few = BoostedTrees.fit(blobs, Config(trees=TreeSettings(max_iter=3)), None)
    assert few.ensemble.model.tree_count_ == 3
    hist = dataclasses.replace(HIST, max_iter=4)
    assert len(BoostedTrees.fit(blobs, Config(trees=hist), None).ensemble.arrays["roots"]) == 4


@pytest.mark.parametrize("leaves", [3, 8, 40, 100])
def test_node_trees_score_like_the_classifier_for_any_leaf_count(leaves):
    rng = np.random.default_rng(1)
    X = rng.random((800, 5))
    y = (X[:, 0] * X[:, 1] + 0.2 * rng.random(800) > 0.4).astype(np.int64)
    settings = dataclasses.replace(HIST, max_leaf_nodes=leaves, min_samples_leaf=2)
    model = classifier(settings, seed=0).fit(X, y)
    trees = BoostedTrees(NodeEnsemble(flatten_trees(model)))
    probe = rng.random((3000, 5))
    probe[:10] = X[:10]  # rows on the training values, where ties with thresholds live
    assert np.allclose(trees.score_numpy(probe), model.decision_function(probe), atol=1e-10)


@pytest.mark.parametrize("learner", ["hist", "catboost"])
def test_tree_path_contributions_add_up_to_the_score(learner):
    settings = {"hist": HIST, "catboost": CATBOOST}[learner]
    rng = np.random.default_rng(2)
    X = rng.random((500, 4))
    y = (X[:, 2] > 0.8).astype(np.int64)
    trees = BoostedTrees.fit(TrainingData(X, y, 0, CPU), Config(trees=settings), None)
    shares, bias = trees.contributions(X[:50])
    assert np.allclose(shares.sum(axis=1) + bias, trees.score_numpy(X[:50]), atol=1e-10)
    # the only column the label depends on carries most of the contributions
    assert np.abs(shares).sum(axis=0).argmax() == 2


def test_deviation_networks_fitted_together_equal_each_fitted_alone(blobs):
    """Cross-fitting trains its fold networks side by side; each must end as it would
    alone (same draws, same arithmetic), so the speed-up changes no score."""
    config = Config(deviation=DeviationSettings(epochs=4))
    folds = [blobs.subset(np.arange(len(blobs.y)) % 3 != k, seed=1 + k) for k in range(3)]
    together = DeviationPiece.fit_each(folds, config)
    for fold, piece in zip(folds, together, strict=True):
        alone = DeviationPiece.fit(fold, config, None)
        assert all(torch.equal(piece.state()[k], v) for k, v in alone.state().items())
    assert not torch.equal(together[0].state()["out.weight"], together[1].state()["out.weight"])


def test_catboost_trees_score_as_catboost_and_survive_a_save():
    rng = np.random.default_rng(3)
    X = np.round(rng.random((600, 5)), 2)  # repeated values: ties with CatBoost's borders
    y = (X[:, 0] + X[:, 3] + 0.2 * rng.random(600) > 1.3).astype(np.int64)
    piece = BoostedTrees.fit(TrainingData(X, y, 0, CPU), Config(trees=CATBOOST), None)
    model = classifier(CATBOOST, seed=0).fit(X, y)
    probe = np.vstack([X, rng.random((2000, 5)), X.astype(np.float32).astype(np.float64)])
    expected = model.predict(probe, prediction_type="RawFormulaVal")
    assert np.array_equal(piece.score_numpy(probe), expected)
    again = BoostedTrees.from_state(piece.state(), Config(trees=CATBOOST), CPU)
    assert np.array_equal(again.score_numpy(probe), piece.score_numpy(probe))
    assert all(v.dtype == torch.uint8 for v in piece.state().values())  # bytes, no pickle


def test_tree_learner_settings_are_checked():
    for bad in ({"learner": "xgboost"}, {"depth": 17}, {"learner": "hist", "learning_rate": None}):
        with pytest.raises(ValueError, match="trees\\."):
            TreeSettings(**bad)


def test_catboost_trees_on_rows_with_no_varying_column_score_every_row_alike():
    X = np.ones((30, 3))
    y = np.r_[np.zeros(27), np.ones(3)].astype(np.int64)
    piece = BoostedTrees.fit(TrainingData(X, y, 0, CPU), Config(trees=CATBOOST), None)
    scores = piece.score_numpy(np.random.default_rng(0).random((5, 3)))
    assert np.ptp(scores) == 0
    shares, bias = piece.contributions(X[:2])
    assert not shares.any() and np.allclose(bias, scores[:2])


def _missing_is_the_signal(seed: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows whose column 1 is missing exactly on the anomalies, filled with a value a fifth
    of the normal rows hold too: the fill hides them among those, the mark does not."""
    rng = np.random.default_rng(seed)
    X = rng.random((600, 3))
    X[:, 1] = rng.integers(0, 5, 600) / 4
    y = np.zeros(600, dtype=np.int64)
    y[:40] = 1
    missing = np.zeros_like(X, dtype=bool)
    missing[:40, 1] = True
    X[missing] = np.median(X[~missing[:, 1], 1])  # the fill: the column's median
    return X, y, missing


@pytest.mark.parametrize("learner", ["hist", "catboost"])
def test_trees_that_read_missing_values_natively_see_what_the_fill_hides(learner):
    X, y, missing = _missing_is_the_signal()
    settings = {"hist": HIST, "catboost": CATBOOST}[learner]
    data = TrainingData(X, y, 0, CPU, missing=missing)
    filled_settings = dataclasses.replace(settings, native_missing=False)
    filled = BoostedTrees.fit(data, Config(trees=filled_settings), None)
    native_settings = dataclasses.replace(settings, native_missing=True)
    native = BoostedTrees.fit(data, Config(trees=native_settings), None)
    X_new, y_new, missing_new = _missing_is_the_signal(seed=5)  # rows the trees never saw
    x = torch.as_tensor(X_new, dtype=torch.float32)

    def auroc(piece):
        from sklearn.metrics import roc_auc_score

        return roc_auc_score(y_new, piece.score(Rows(x, missing=missing_new)).numpy())

    assert auroc(native) > 0.99 > auroc(filled) + 0.05
    if learner == "hist":  # NaN follows the learner's own missing-value branches
        model = classifier(settings, seed=0).fit(np.where(missing, np.nan, X), y)
        probe = np.where(missing, np.nan, X)
        assert np.allclose(native.score_numpy(probe), model.decision_function(probe), atol=1e-10)
    again = BoostedTrees.from_state(native.state(), Config(trees=native_settings), CPU)
    marked = Rows(x, missing=missing_new)
    assert torch.equal(again.score(marked), native.score(marked))
    # without a mask there is nothing to read: the rows score as filled ones
    unmarked = torch.as_tensor(native.score_numpy(X_new.astype(np.float32).astype(np.float64)))
    assert torch.equal(native.score(Rows(x)), unmarked.float())


def test_a_passes_cap_shortens_the_deviation_epochs_on_small_tables_only():
    """`deviation.max_passes` bounds the passes over the unlabeled rows: a small table gets
    fewer balanced batches per epoch, a table large enough keeps them all, and no cap
    keeps them all anywhere; the default bounds them at 250."""
    assert DeviationSettings().max_passes == 250.0
    capped = DeviationSettings(epochs=50, steps_per_epoch=20, batch_size=512, max_passes=250)
    assert steps_per_epoch(capped, 166) == 4  # ceil(250 * 166 / (50 * 256))
    assert steps_per_epoch(capped, 5_000) == 20
    assert steps_per_epoch(dataclasses.replace(capped, max_passes=0.001), 166) == 1
    uncapped = DeviationSettings(max_passes=None)
    assert steps_per_epoch(uncapped, 166) == uncapped.steps_per_epoch


def test_a_capped_deviation_piece_sees_fewer_batches(blobs):
    """The cap changes the fit on a table it binds on (fewer draws, other weights)."""
    uncapped = DeviationSettings(epochs=3, max_passes=None)
    full = DeviationPiece.fit(blobs, Config(deviation=uncapped), None)
    cap = DeviationSettings(epochs=3, max_passes=1.0)
    short = DeviationPiece.fit(blobs, Config(deviation=cap), None)
    assert steps_per_epoch(cap, blobs.n_unlabeled) < cap.steps_per_epoch
    assert not torch.equal(full.state()["out.weight"], short.state()["out.weight"])


def test_the_trees_row_cap_keeps_every_label_and_known_normal_and_a_seeded_sample(blobs):
    normal = np.zeros(len(blobs.y), dtype=bool)
    normal[:20] = True  # known normals are kept whatever the cap
    data = dataclasses.replace(blobs, normal=normal)
    capped = with_unlabeled_at_most(data, 100)
    assert capped.n_labeled == blobs.n_labeled
    assert capped.known_normal.sum() == 20
    assert capped.n_unlabeled == 20 + 100
    again = with_unlabeled_at_most(data, 100)
    assert np.array_equal(capped.X, again.X)  # the same seed draws the same rows
    other = with_unlabeled_at_most(dataclasses.replace(data, seed=1), 100)
    assert not np.array_equal(capped.X, other.X)
    assert with_unlabeled_at_most(data, None) is data
    assert with_unlabeled_at_most(data, 280) is data  # 280 free rows: nothing to cut


def test_capped_trees_learn_from_fewer_rows(blobs, monkeypatch):
    seen = []
    real = trees_module.grow_trees

    def spy(settings, seed, X, y, fold=None):
        seen.append(len(y))
        return real(settings, seed, X, y, fold)

    monkeypatch.setattr(trees_module, "grow_trees", spy)
    capped = dataclasses.replace(QUICK, trees=TreeSettings(max_iter=10, max_unlabeled=50))
    BoostedTrees.fit(blobs, capped)
    BoostedTrees.fit(blobs, QUICK)
    assert seen == [50 + 12, 312]

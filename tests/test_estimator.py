import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from wvad import WVAD, make_multimodal


def test_fit_returns_self_and_sets_pyod_attributes(table, fitted):
    X, _, _ = table
    assert fitted.decision_scores_.shape == (len(X),)
    assert fitted.labels_.shape == (len(X),)
    assert np.isclose(fitted.labels_.mean(), fitted.contamination, atol=0.01)
    assert np.array_equal(fitted.labels_, fitted.decision_scores_ > fitted.threshold_)
    # a training row scored again counts as its own nearest neighbour, so its training
    # score (which sets the threshold) is not decision_function's
    assert np.array_equal(fitted.predict(X), fitted.decision_function(X) > fitted.threshold_)
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    unify = fitted.predict_proba(X, method="unify")
    assert ((unify >= 0) & (unify <= 1)).all()
    with pytest.raises(ValueError, match="method"):
        fitted.predict_proba(X, method="nope")


def test_scores_rank_anomalies_first(table, fitted):
    X, y, _ = table
    # Most anomalies in the table are unlabeled: the score must rank them first too.
    unlabeled = table[2] == 0
    assert roc_auc_score(y[unlabeled], fitted.decision_function(X[unlabeled])) >= 0.85


def test_transform_and_feature_names(table, fitted):
    X, _, _ = table
    F = fitted.transform(X[:50])
    names = fitted.get_feature_names_out()
    assert F.shape == (50, len(names))
    assert list(names[:4]) == ["y0", "y1", "y2", "y3"] and list(names[-3:]) == ["f_e", "f_r", "f_c"]
    y_part = F[:, :4]
    assert np.allclose(y_part.sum(axis=1), 1.0, atol=1e-5)
    clusters = fitted.predict_cluster(X[:50])
    assert np.array_equal(clusters, y_part.argmax(axis=1))


def test_reconstruction_errors_match_f_r(table, fitted):
    X, _, _ = table
    errors = fitted.reconstruction_errors(X[:20])
    assert errors.shape == (20, X.shape[1]) and (errors >= 0).all()
    f_r = fitted.transform(X[:20])[:, -2]
    norm = np.linalg.norm(fitted.scaler_.transform(X[:20]), axis=1)
    assert np.allclose(np.sqrt(errors.sum(axis=1)) / np.maximum(norm, 1e-3), f_r, rtol=1e-4)


def test_history_records_each_epoch_and_elbo_falls(fitted, short):
    h = fitted.history_
    assert h["phase"].count("pretrain") == short["pretrain_epochs"]
    assert h["phase"].count("warmup") == short["warmup_epochs"]
    assert h["phase"].count("joint") == short["joint_epochs"]
    elbo = [v for v, p in zip(h["neg_elbo"], h["phase"], strict=True) if p != "pretrain"]
    assert all(np.isfinite(elbo))
    assert elbo[-1] < elbo[0]
    penalties = [p for p, ph in zip(h["penalty"], h["phase"], strict=True) if ph != "pretrain"]
    assert all(0 <= p <= 1 for p in penalties)


def test_same_seed_same_scores_and_clone(table, quick_pieces):
    X, _, y_weak = table
    schedule = dict(pretrain_epochs=2, warmup_epochs=2, joint_epochs=2, **quick_pieces)
    model = WVAD(n_clusters=2, random_state=7, **schedule)
    a = model.fit(X, y_weak).decision_function(X)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "model_")
    b = twin.fit(X, y_weak).decision_function(X)
    assert np.array_equal(a, b)
    c = clone(model).set_params(random_state=8).fit(X, y_weak).decision_function(X)
    assert not np.array_equal(a, c)


def test_the_thread_count_does_not_change_the_fit_or_the_scores(quick_pieces):
    """MKL splits a float32 product by thread count on some widths (36 columns, the
    deviation network's 20 units): the fit and scoring run on one torch thread."""
    import torch

    X, _, y_weak = make_multimodal(n_samples=600, n_features=36, random_state=5)
    schedule = dict(pretrain_epochs=3, warmup_epochs=2, joint_epochs=3, **quick_pieces)
    before = torch.get_num_threads()
    scores = []
    try:
        for threads in (1, 4):
            torch.set_num_threads(threads)
            model = WVAD(n_clusters=2, random_state=0, **schedule).fit(X, y_weak)
            scores.append((model.decision_scores_, model.decision_function(X[:50])))
            assert torch.get_num_threads() == threads  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(*scores, strict=True))


def test_dataframe_columns_are_checked_at_scoring(table, quick_pieces):
    X, _, y_weak = table
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    one_epoch = dict(pretrain_epochs=1, warmup_epochs=1, joint_epochs=1, **quick_pieces)
    model = WVAD(n_clusters=2, random_state=0, **one_epoch)
    model.fit(df, y_weak)
    assert list(model.feature_names_in_) == list(df.columns)
    assert np.array_equal(model.decision_function(df), model.decision_function(df.to_numpy()))
    with pytest.raises(ValueError, match="missing 'c0'"):
        model.decision_function(df.rename(columns={"c0": "other"}))
    with pytest.raises(ValueError, match="has 5 features, but WVAD is expecting 6 features"):
        model.decision_function(X[:, :5])


@pytest.mark.parametrize(
    ("kwargs", "y", "message"),
    [
        ({}, None, "weakly supervised.*allow_unsupervised=True"),
        ({}, "zeros", "no labeled anomalies"),
        ({}, "short", "labels but X has"),
        ({}, "twos", "only 0 .* and 1"),
        ({"n_clusters": 5000}, "weak", "n_clusters=5000 needs at least 5000 unlabeled rows"),
        ({"n_clusters": 0}, "weak", "n_clusters must be 'auto' or an int >= 1"),
        ({"n_clusters": 1}, "one_unlabeled", "n_clusters=1 needs at least 2 unlabeled rows"),
        ({"contamination": 0.9}, "weak", "contamination must be"),
        ({"score_mode": "magic"}, "weak", "score_mode must be one of"),
        ({"head_features": ("w",)}, "weak", "head_features must be a non-empty subset"),
        ({"head_features": ()}, "weak", "head_features must be a non-empty subset"),
        ({"device": "tpu"}, "weak", "device must be"),
        ({"hidden_dims": (8, -1)}, "weak", "hidden_dims must be"),
        ({"clean_unlabeled": "yes"}, "weak", "clean_unlabeled must be True or False"),
        ({"trees": {"max_iter": 0}}, "weak", r"trees\.max_iter must be an int >= 1"),
        ({"deviation": 3}, "weak", "deviation must be a DeviationSettings"),
    ],
)
def test_bad_input_raises_clear_errors(table, kwargs, y, message):
    X, _, y_weak = table
    labels = {
        None: None,
        "zeros": np.zeros(len(X)),
        "short": y_weak[:-1],
        "twos": np.full(len(X), 2),
        "weak": y_weak,
        "one_unlabeled": np.r_[0, np.ones(len(X) - 1)],
    }[y]
    model = WVAD(pretrain_epochs=1, warmup_epochs=1, joint_epochs=1, **kwargs)
    with pytest.raises(ValueError, match=message):
        model.fit(X, labels)


def test_an_unknown_preset_is_named():
    with pytest.raises(ValueError, match=r"preset must be one of \['default', 'paper'\]"):
        WVAD.from_preset("fast")


def test_bad_scoring_input(fitted):
    with pytest.raises(ValueError, match=r"infinite values in column\(s\) 0"):
        fitted.decision_function(np.full((2, 6), np.inf))
    with pytest.raises(ValueError, match="2-D"):
        fitted.decision_function(np.zeros(6))


def test_unfitted_model_refuses_to_score():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        WVAD().decision_function(np.zeros((2, 3)))


def test_input_is_not_modified(table, quick_pieces):
    X, _, y_weak = table
    X_copy, y_copy = X.copy(), y_weak.copy()
    one_epoch = dict(pretrain_epochs=1, warmup_epochs=1, joint_epochs=1, **quick_pieces)
    WVAD(n_clusters=2, random_state=0, **one_epoch).fit(X, y_weak)
    assert np.array_equal(X, X_copy) and np.array_equal(y_weak, y_copy)


@pytest.mark.filterwarnings("ignore:score_mode='head'")
@pytest.mark.parametrize(("preset", "mode"), [("default", "stacked"), ("paper", "elbo")])
def test_unsupervised_mode_scores_without_a_head(table, short, preset, mode):
    X, y, _ = table
    model = WVAD.from_preset(
        preset, n_clusters=3, random_state=0, allow_unsupervised=True, **short
    ).fit(X)
    assert "head" not in model.score_.pieces and model.score_mode_ == mode
    assert roc_auc_score(y, model.decision_function(X)) > 0.6


@pytest.mark.parametrize("mode", ["reconstruction", "elbo", "head", "fusion", "stacked"])
def test_alternative_score_modes(table, mode, short):
    X, y, y_weak = table
    model = WVAD(n_clusters=2, random_state=0, score_mode=mode, **short).fit(X, y_weak)
    assert model.score_mode_ == mode
    assert roc_auc_score(y, model.decision_function(X)) > 0.6


def test_the_score_estimator_reads_the_chosen_feature_groups(table, quick_pieces):
    X, _, y_weak = table
    model = WVAD(
        n_clusters=2,
        random_state=0,
        head_features=["f_c", "f_e", "f_r"],
        pretrain_epochs=1,
        warmup_epochs=1,
        joint_epochs=1,
        **quick_pieces,
    )
    model.fit(X, y_weak)
    head = model.score_.pieces["head"]
    assert model.config_.head_features == ("f_e", "f_r", "f_c")  # the canonical order
    assert head.groups == ("f_e", "f_r", "f_c") and head.head.net[0].in_features == 3


def test_paper_preset_resolves_paper_schedule(table):
    model = WVAD.from_preset(
        "paper", joint_epochs=1, warmup_epochs=1, pretrain_epochs=1, random_state=0
    )
    X, _, y_weak = table
    model.fit(X, y_weak)
    assert model.config_.warmup_lambda == 0.01 and model.config_.joint_lambda == 1.0
    assert model.config_.joint_epochs == 1 and model.config_.n_clusters == 5
    params = WVAD.from_preset("paper").get_params()
    assert params["joint_epochs"] == 400 and params["score_mode"] == "head"


def test_verbose_shows_a_progress_bar(table, capsys, quick_pieces):
    X, _, y_weak = table
    WVAD(
        n_clusters=2,
        random_state=0,
        verbose=True,
        pretrain_epochs=1,
        warmup_epochs=1,
        joint_epochs=1,
        **quick_pieces,
    ).fit(X, y_weak)
    assert "WVAD" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a missing GPU")
def test_cuda_request_without_gpu_is_refused(table):
    X, _, y_weak = table
    with pytest.raises(ValueError, match="no CUDA device"):
        WVAD(device="cuda", pretrain_epochs=1).fit(X, y_weak)


def test_auto_clusters_are_chosen_by_bic(table, tmp_path, quick_pieces):
    X, _, y_weak = table  # make_multimodal's default: 4 clusters
    schedule = dict(pretrain_epochs=10, warmup_epochs=1, joint_epochs=1, **quick_pieces)
    model = WVAD(n_clusters="auto", random_state=0, **schedule)
    model.fit(X, y_weak)
    assert 2 <= model.n_clusters_ <= 10
    assert model.transform(X[:5]).shape[1] == model.n_clusters_ + 8 + 3
    assert model.score_.pieces["head"].head.net[0].in_features == model.n_clusters_ + 8 + 3
    loaded = WVAD.load(model.save(tmp_path / "auto"))
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))


def test_select_n_clusters_finds_separated_blobs():
    from wvad.training import select_n_clusters

    rng = np.random.default_rng(0)
    codes = np.vstack([rng.normal(c, 0.1, size=(100, 2)) for c in (-5, 0, 5)])
    assert select_n_clusters(codes, 6, seed=0) == 3


def test_fusion_weights_follow_label_count_and_label_ranking(table, fitted):
    _, _, y_weak = table
    n = int(y_weak.sum())
    w = fitted.score_weights()
    assert fitted.score_mode_ == "stacked"
    assert list(w)[:4] == ["head", "log_f_r", "neg_elbo", "neighbours"]
    assert np.isclose(w["head"], n / (n + 25.0))
    unsupervised = np.array([w["log_f_r"], w["neg_elbo"], w["neighbours"]])
    assert (unsupervised >= 0).all() and unsupervised.sum() <= 1 - w["head"] + 1e-12


def test_read_only_input_scores_without_warning_or_copy_issues(table, fitted):
    import warnings

    X, _, _ = table
    frozen = X.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = fitted.decision_function(frozen)
    assert np.array_equal(scores, fitted.decision_function(X))


def test_scores_and_features_come_from_one_mixture_pass_per_chunk(fitted, table, monkeypatch):
    from wvad.model.mixture import VariationalMixture

    X = table[0][:300]
    expected = fitted.decision_function(X), fitted.transform(X)
    passes = []
    real = VariationalMixture.features

    def counted(self, x, **kwargs):
        passes.append(len(x))
        return real(self, x, **kwargs)

    monkeypatch.setattr(VariationalMixture, "features", counted)
    scores, features = fitted.score_and_transform(X)
    assert passes == [300]  # one chunk, one pass
    assert np.array_equal(scores, expected[0]) and np.array_equal(features, expected[1])

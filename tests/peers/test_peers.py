"""Every peer: above random on held-out rows, reproducible, clonable, refuses no labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from wvad.peers import PEERS, IForest

# Short training so the whole file stays within seconds on one CPU thread.
FAST: dict[str, dict] = {
    "devnet": {"epochs": 10},
    "deepsad": {"epochs": 10, "ae_epochs": 10},
    "prenet": {"epochs": 10},
    "feawad": {"epochs": 10, "ae_epochs": 10},
    "rosas": {"epochs": 30},
    "xgbod": {},
    "catboost": {},
    "lightgbm": {},
    "iforest": {},
}
NEEDS_PYOD = {"xgbod"}


def _make(name: str, **extra):
    if name in NEEDS_PYOD:
        pytest.importorskip("pyod")
        pytest.importorskip("xgboost")
    return PEERS[name](random_state=0, device="cpu", **FAST[name], **extra)


@pytest.fixture(scope="module")
def fitted(weak_data):
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = _make(name).fit(weak_data["X_train"], weak_data["y_weak"])
        return cache[name]

    return get


def test_registry_names():
    neural = {"devnet", "deepsad", "prenet", "feawad", "rosas"}
    assert set(PEERS) == neural | {"xgbod", "catboost", "lightgbm", "iforest"}


@pytest.mark.parametrize("name", list(PEERS))
def test_beats_random_on_held_out_rows(name, fitted, weak_data):
    model = fitted(name)
    scores = model.decision_function(weak_data["X_test"])
    assert scores.shape == (len(weak_data["X_test"]),)
    assert scores.dtype == np.float64 and np.isfinite(scores).all()
    assert roc_auc_score(weak_data["y_test"], scores) >= 0.8
    assert model.decision_scores_.shape == (len(weak_data["X_train"]),)
    assert set(np.unique(model.predict(weak_data["X_test"]))) <= {0, 1}
    assert isinstance(model.history_, list)


@pytest.mark.parametrize("name", list(PEERS))
def test_same_random_state_same_scores(name, fitted, weak_data):
    again = _make(name).fit(weak_data["X_train"], weak_data["y_weak"])
    np.testing.assert_array_equal(
        fitted(name).decision_function(weak_data["X_test"]),
        again.decision_function(weak_data["X_test"]),
    )


@pytest.mark.parametrize("name", list(PEERS))
def test_clone_keeps_params(name):
    model = _make(name)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "history_")


@pytest.mark.parametrize("name", [n for n in PEERS if n != "iforest"])
def test_refuses_fit_without_labeled_anomalies(name, weak_data):
    model = _make(name)
    with pytest.raises(ValueError, match="labeled anomalies"):
        model.fit(weak_data["X_train"], np.zeros(len(weak_data["X_train"]), dtype=int))
    with pytest.raises(ValueError):
        model.fit(weak_data["X_train"])


def test_iforest_ignores_labels(weak_data):
    X = weak_data["X_train"]
    a = IForest(random_state=0).fit(X).decision_function(X)
    b = IForest(random_state=0).fit(X, weak_data["y_weak"]).decision_function(X)
    np.testing.assert_array_equal(a, b)
    assert not IForest.requires_labels


def test_neural_peers_train_loss_decreases(fitted):
    for name in ("devnet", "prenet", "feawad", "deepsad"):
        history = fitted(name).history_
        assert history[-1] < history[0], name


def test_rosas_loss_weighting_is_finite_when_a_loss_collapsed():
    import torch

    from wvad.peers.rosas import dynamic_weighting

    losses = torch.tensor([0.5, 0.2], requires_grad=True)
    weighted = dynamic_weighting(losses, [1e-12, 1.0], T=2.0)
    assert torch.isfinite(weighted)
    assert torch.isclose(weighted, torch.tensor(0.5))  # the exploding ratio takes all weight
    weighted.backward()
    assert torch.isfinite(losses.grad).all()
    k = torch.exp(torch.tensor([0.5 / 0.4, 0.2 / 0.3]) / 2.0)
    ordinary = dynamic_weighting(torch.tensor([0.5, 0.2]), [0.4, 0.3], T=2.0)
    assert torch.isclose(ordinary, (k * torch.tensor([0.5, 0.2])).sum() / k.sum())


@pytest.mark.parametrize("name", ["catboost", "lightgbm"])
def test_boosted_classifiers_rank_by_their_own_log_odds(name, fitted, weak_data):
    model = fitted(name)
    proba = model.model_.predict_proba(weak_data["X_test"])[:, 1]
    logits = np.log(proba / (1 - proba))
    assert np.allclose(model.decision_function(weak_data["X_test"]), logits, atol=1e-6)

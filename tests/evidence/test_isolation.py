"""The isolation piece: scikit-learn's forest, kept as node arrays, explained exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from wvad import WVAD
from wvad.evidence.isolation import expected_depth, flatten_isolation
from wvad.evidence.trees import NodeEnsemble
from wvad.explain import completeness_gap

SHORT = {"pretrain_epochs": 5, "warmup_epochs": 5, "joint_epochs": 10, "joint_batch_size": 256}


def _far_on_one_column(seed: int = 0):
    """800 rows in 5 columns, the first 40 four units out on column x3."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(800, 5))
    X[:40, 3] += 4.0
    return X, np.r_[np.ones(40), np.zeros(760)].astype(int)


def test_the_node_arrays_score_exactly_as_scikit_learns_forest():
    X, _ = _far_on_one_column()
    forest = IsolationForest(n_estimators=30, max_features=0.6, random_state=1).fit(X[40:])
    trees = NodeEnsemble(flatten_isolation(forest))
    rows = X.astype(np.float32).astype(np.float64)  # what the pieces are scored on
    evidence = trees.score(rows)  # minus the mean path length
    assert np.allclose(-(2.0 ** (evidence / expected_depth(forest.max_samples_))),
                       forest.score_samples(rows), rtol=0, atol=1e-12)  # fmt: skip
    shares, bias = trees.contributions(rows)
    assert np.allclose(shares.sum(axis=1) + bias, evidence, rtol=0, atol=1e-12)


def test_expected_depth_follows_the_papers_formula():
    assert expected_depth(np.array([0, 1, 2])).tolist() == [0.0, 0.0, 1.0]
    n = 256.0
    assert np.isclose(expected_depth(np.array([n]))[0],
                      2 * (np.log(n - 1) + np.euler_gamma) - 2 * (n - 1) / n)  # fmt: skip


@pytest.fixture(scope="module")
def with_isolation():
    X, _ = _far_on_one_column()
    y = np.zeros(len(X), dtype=int)
    y[:3] = 1
    return X, y, WVAD(n_isolation_trees=50, random_state=0, **SHORT).fit(X, y)


def test_the_piece_is_label_blind_evidence_that_survives_a_save(with_isolation, tmp_path):
    X, _, model = with_isolation
    assert "isolation" in model.score_.pieces
    assert model.score_weights()["isolation"] >= 0
    assert not model.score_.pieces["isolation"].sees_labels
    loaded = WVAD.load(model.save(tmp_path / "m"))
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))
    off = WVAD(n_isolation_trees=0, random_state=0, **SHORT).fit(X, np.r_[1, 1, 1, [0] * 797])
    assert "isolation" not in off.score_.pieces


def test_its_explanations_are_exact_and_name_the_far_column(with_isolation):
    X, _, model = with_isolation
    table = model.explain(X[:40])
    mine = table[table.piece == "isolation"]
    assert mine[mine.part == "column"].method.str.startswith("isolation path steps").all()
    assert completeness_gap(mine.to_dict("records")) < 1e-9
    columns = mine[mine.part == "column"].groupby(["row", "column"]).value.sum().unstack()
    assert (columns.idxmax(axis=1) == "x3").mean() >= 0.8

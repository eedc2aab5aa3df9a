"""The proximity piece: closeness to the labeled anomalies, evidence from one label on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from wvad import WVAD, DeviationSettings, FusionSettings, TreeSettings

QUICK = dict(
    pretrain_epochs=5,
    warmup_epochs=5,
    joint_epochs=5,
    deviation=DeviationSettings(epochs=2),
    trees=TreeSettings(max_iter=5),
    random_state=0,
)


def _tight_group(seed: int = 0):
    """Normal rows in 29 tight groups of 20 over the unit cube, the anomalies one more such
    group: nothing sets them apart but the label on one of them."""
    rng = np.random.default_rng(seed)
    centres = rng.random((30, 4))
    X = np.repeat(centres, 20, axis=0) + 0.01 * rng.standard_normal((600, 4))
    truth = np.zeros(600, dtype=int)
    truth[:20] = 1
    weak = np.zeros(600, dtype=int)
    weak[0] = 1
    return X, truth, weak


def test_one_label_is_evidence_on_where_its_group_lies():
    X, truth, weak = _tight_group()
    without = WVAD(fusion=FusionSettings(proximity_weight=0.0), **QUICK).fit(X, weak)
    assert "proximity" not in without.score_.pieces  # 0 leaves it out
    assert WVAD(**QUICK).fit(X, weak).score_weights()["proximity"] == 0.5  # the default
    with_it = WVAD(fusion=FusionSettings(proximity_weight=1.0), **QUICK).fit(X, weak)
    assert with_it.score_weights()["proximity"] == 1.0
    evidence = with_it.score_.evidence(with_it._rows(X))["proximity"]
    assert average_precision_score(truth, evidence) > 0.95  # the piece alone, one label
    assert average_precision_score(truth, with_it.decision_scores_) > 0.9


@pytest.mark.parametrize("n_labels", [1, 2, 4])
def test_a_labeled_row_is_measured_against_the_others_and_everything_survives_a_save(
    n_labels, tmp_path
):
    X, _, weak = _tight_group(1)
    weak[:n_labels] = 1
    model = WVAD(fusion=FusionSettings(proximity_weight=0.5), **QUICK).fit(X, weak)
    assert np.isfinite(model.decision_scores_).all()
    loaded = WVAD.load(model.save(tmp_path / "m"))
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))
    table = model.explain(X[:3], steps=4)
    mine = table[(table.piece == "proximity") & (table.part == "column")]
    assert len(mine) == 3 * X.shape[1] and np.isfinite(mine.value).all()


def test_more_labels_than_max_reference_keep_a_seeded_sample_of_them():
    X, truth, _ = _tight_group(2)
    weak = truth.copy()  # all 20 anomalies labeled, 8 kept
    few = FusionSettings(max_reference=8)
    model = WVAD(fusion=few, **QUICK).fit(X, weak)
    kept = model.score_.pieces["proximity"].anomalies
    assert kept.shape == (8, X.shape[1])
    again = WVAD(fusion=few, **QUICK).fit(X, weak).score_.pieces["proximity"].anomalies
    assert np.array_equal(kept.numpy(), again.numpy())  # the same seed, the same sample
    rows = model.scaler_.transform(X[np.flatnonzero(weak)]).astype(np.float32)
    assert all(np.isclose(rows, a).all(axis=1).any() for a in kept.numpy())  # labeled rows
    assert np.isfinite(model.decision_scores_).all()


def test_copies_of_a_labeled_anomaly_count_once():
    """A labeled row is measured against the other labeled anomalies, not its own copies:
    a copy would put it at distance 0 and make its label look like evidence for itself."""
    import torch

    from wvad import Config
    from wvad.evidence import PIECES, Rows, TrainingData

    rng = np.random.default_rng(4)
    X = rng.random((40, 3))
    labeled = [0, 1, 2]
    X = np.vstack([X, np.repeat(X[labeled], 3, axis=0)])  # each labeled row four times
    y = np.zeros(len(X), dtype=int)
    y[labeled] = 1
    y[40:] = 1
    data = TrainingData(X, y, 0, torch.device("cpu"))
    piece = PIECES["proximity"].fit(data, Config(), None)
    assert piece.anomalies.shape == (3, 3)  # the distinct labeled rows
    with torch.inference_mode():
        own = piece.score_training(Rows(torch.as_tensor(X, dtype=torch.float32))).numpy()
    x = X.astype(np.float32).astype(np.float64)
    for row in [*labeled, 40, 43, 46]:  # each labeled row and a copy of each
        twin = labeled[(row - 40) // 3] if row >= 40 else row
        others = [x[j] for j in labeled if j != twin]  # m = min(3, 3 - 1) = 2 of them
        expected = -np.log(np.mean([np.linalg.norm(x[row] - o) for o in others]))
        assert np.isclose(own[row], expected, atol=1e-5)

"""Cross-fitting: held-out Ginis and the reliable unlabeled rows."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from wvad import Config, FusionSettings
from wvad.crossfit import can_cross_fit, cross_fit, gini, reliable_rows
from wvad.evidence import BoostedTrees, TrainingData

CPU = torch.device("cpu")


def _blobs(seed: int = 0) -> TrainingData:
    """400 normal rows around 0 and 12 anomalies around 3, in 5 columns."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, (400, 5)), rng.normal(3.0, 0.5, (12, 5))])
    return TrainingData(X, np.r_[np.zeros(400), np.ones(12)].astype(np.int64), seed, CPU)


def test_cross_fit_scores_every_row_out_of_fold():
    data = _blobs()
    cross = cross_fit(BoostedTrees, data, Config())
    assert cross.scores.shape == (len(data.y),) and np.isfinite(cross.scores).all()
    # the anomalies stand apart, and the pieces that never saw them still say so
    assert cross.gini > 0.9
    assert roc_auc_score(data.y, cross.scores) > 0.95


def test_arbitrary_labels_get_no_held_out_credit():
    data = _blobs()
    arbitrary = np.zeros_like(data.y)
    arbitrary[np.random.default_rng(1).choice(400, 12, replace=False)] = 1
    cross = cross_fit(BoostedTrees, TrainingData(data.X, arbitrary, 0, CPU), Config())
    assert cross.gini < 0.5


def test_folds_follow_the_settings_and_the_label_count(monkeypatch):
    data = _blobs()
    fitted_on = []
    real_fit = BoostedTrees.fit.__func__

    def spy(cls, rows, config, mixture):
        fitted_on.append((len(rows.y), rows.seed))
        return real_fit(cls, rows, config, mixture)

    monkeypatch.setattr(BoostedTrees, "fit", classmethod(spy))
    cross_fit(BoostedTrees, data, Config(fusion=FusionSettings(max_folds=3)))
    assert [seed for _, seed in fitted_on] == [1, 2, 3]  # fold k uses seed + 1 + k
    assert all(n == pytest.approx(412 * 2 / 3, abs=2) for n, _ in fitted_on)
    fitted_on.clear()
    two = TrainingData(data.X[398:], data.y[398:], 0, CPU)  # 2 unlabeled rows, 12 anomalies
    cross_fit(BoostedTrees, two, Config())
    assert len(fitted_on) == 2


def test_cross_fitting_needs_two_of_each_kind():
    data = _blobs()
    assert can_cross_fit(data)
    assert not can_cross_fit(data.subset(np.r_[np.arange(400), 400]))
    assert not can_cross_fit(data.subset(np.r_[0, np.arange(400, 412)]))


def test_reliable_rows_drop_unlabeled_rows_that_score_like_the_held_out_anomalies():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    held_out = np.array([5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 5.7, 6.0, 9.0])
    threshold = np.quantile(held_out[:4], 0.25)  # 5.75
    assert 5.7 < threshold < 6.0
    keep = reliable_rows(held_out, y, 0.25)
    assert keep.tolist() == [True] * 4 + [True, True, True, False, False]
    # when fewer than two unlabeled rows would be left, nothing is dropped
    crowded = np.array([1, 1, 0, 0, 0])
    assert reliable_rows(np.array([5.0, 6.0, 1.0, 9.0, 9.0]), crowded, 0.25).all()


def test_gini_is_floored_at_chance():
    y = np.array([0, 0, 1, 1])
    assert gini(y, np.array([0.0, 1.0, 2.0, 3.0])) == 1.0
    assert gini(y, np.array([3.0, 2.0, 1.0, 0.0])) == 0.0

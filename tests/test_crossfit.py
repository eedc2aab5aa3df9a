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


def test_a_row_and_its_copies_are_held_out_together(monkeypatch):
    """Duplicated anomalies (and repeated normal rows) must not score their own twins."""
    from collections import Counter

    data = _blobs()
    X = np.vstack([data.X, np.repeat(data.X[400:403], 3, axis=0), data.X[:5]])
    y = np.r_[data.y, np.ones(9, dtype=np.int64), np.zeros(5, dtype=np.int64)]
    total = Counter(row.tobytes() for row in X)
    fitted_on = []
    real_fit = BoostedTrees.fit.__func__

    def spy(cls, rows, config, mixture):
        fitted_on.append(Counter(row.tobytes() for row in rows.X))
        return real_fit(cls, rows, config, mixture)

    monkeypatch.setattr(BoostedTrees, "fit", classmethod(spy))
    cross_fit(BoostedTrees, TrainingData(X, y, 0, CPU), Config())
    assert len(fitted_on) == 5
    for counts in fitted_on:  # each row's copies: all fitted on, or all held out
        assert all(counts.get(key, 0) in (0, n) for key, n in total.items())


def test_without_copies_the_folds_are_the_plain_shuffle():
    from wvad.crossfit import _folds
    from wvad.evidence.base import twin_groups

    rows = np.arange(10, 40)
    groups = twin_groups(np.random.default_rng(0).random((50, 3)), rows)
    folds = _folds(np.random.default_rng(7), groups, 4)
    plain = np.array_split(np.random.default_rng(7).permutation(rows), 4)
    assert all(np.array_equal(a, b) for a, b in zip(folds, plain, strict=True))


def test_identical_labeled_rows_count_once_for_cross_fitting():
    data = _blobs()
    X = np.vstack([data.X[:400], np.repeat(data.X[400:401], 3, axis=0)])
    same = TrainingData(X, np.r_[np.zeros(400), np.ones(3)].astype(np.int64), 0, CPU)
    assert not can_cross_fit(same)  # three copies are one labeled anomaly


def test_copies_are_rows_of_equal_values_in_order_of_first_appearance():
    from wvad.evidence.base import content_groups, twin_groups

    X = np.array([[1.0, 0.0], [2.0, 1.0], [1.0, 0.0], [0.5, 0.5], [2.0, 1.0], [1.0, -0.0]])
    assert content_groups(X).tolist() == [0, 1, 0, 2, 1, 0]  # -0.0 equals 0.0
    groups = twin_groups(X, np.array([4, 3, 0, 1, 5]))
    assert [g.tolist() for g in groups] == [[4, 1], [3], [0, 5]]
    assert twin_groups(X, np.zeros(0, dtype=np.int64)) == []

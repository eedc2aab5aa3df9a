from __future__ import annotations

import numpy as np
import pytest

from wvad.protocol import WeakSplit, weak_split


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 100.0]
    y = np.zeros(200, dtype=int)
    y[rng.choice(200, size=40, replace=False)] = 1
    return X, y


def test_same_seed_same_split_other_seed_differs(data):
    a = weak_split(*data, labeled_ratio=0.25, seed=3)
    b = weak_split(*data, labeled_ratio=0.25, seed=3)
    c = weak_split(*data, labeled_ratio=0.25, seed=4)
    for field in ("X_train", "y_train_weak", "X_test", "labeled_idx", "train_idx"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.train_idx, c.train_idx)


def test_split_shape_stratification_and_labels(data):
    X, y = data
    split = weak_split(X, y, labeled_ratio=0.3, seed=0)
    assert isinstance(split, WeakSplit)
    assert len(split.X_train) == 140 and len(split.X_test) == 60
    assert split.y_train.sum() == 28 and split.y_test.sum() == 12
    np.testing.assert_array_equal(split.y_train, y[split.train_idx])
    np.testing.assert_array_equal(split.y_test, y[split.test_idx])
    assert split.labeled_idx.size == int(0.3 * 28) == split.y_train_weak.sum()
    assert np.all(split.y_train[split.labeled_idx] == 1)
    np.testing.assert_array_equal(np.flatnonzero(split.y_train_weak), split.labeled_idx)
    assert split.n_noisy == 0


def test_scaler_fitted_on_train_only(data):
    X, y = data
    split = weak_split(X, y, labeled_ratio=0.5, seed=1)
    np.testing.assert_allclose(split.X_train.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(split.X_train.max(axis=0), 1.0)
    train = X[split.train_idx]
    expected = (X[split.test_idx] - train.min(axis=0)) / (train.max(axis=0) - train.min(axis=0))
    np.testing.assert_allclose(split.X_test, expected)


def test_label_noise_swaps_a_fraction_for_normal_rows(data):
    clean = weak_split(*data, labeled_ratio=1.0, seed=2)
    noisy = weak_split(*data, labeled_ratio=1.0, seed=2, label_noise=0.25)
    assert noisy.labeled_idx.size == clean.labeled_idx.size == 28
    assert noisy.n_noisy == int(0.25 * 28) == 7
    kept = noisy.labeled_idx[noisy.y_train[noisy.labeled_idx] == 1]
    assert set(kept) <= set(clean.labeled_idx)
    np.testing.assert_array_equal(noisy.X_train, clean.X_train)


def test_noise_rounding_to_zero_warns(data):
    with pytest.warns(UserWarning, match="no wrong label"):
        split = weak_split(*data, labeled_ratio=0.1, seed=0, label_noise=0.1)
    assert split.n_noisy == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labeled_ratio": 0.0}, r"labeled_ratio must be a number in \(0, 1\]"),
        ({"labeled_ratio": 1.5}, "labeled_ratio"),
        ({"labeled_ratio": 0.01}, "no labeled anomaly"),
        ({"labeled_ratio": 0.5, "label_noise": -0.1}, "label_noise"),
        ({"labeled_ratio": 0.5, "test_size": 1.0}, "test_size"),
        ({"labeled_ratio": 0.5, "seed": -1}, "seed"),
        ({"labeled_ratio": 0.5, "seed": 1.5}, "seed"),
    ],
)
def test_invalid_parameters(data, kwargs, message):
    kwargs.setdefault("seed", 0)
    with pytest.raises(ValueError, match=message):
        weak_split(*data, **kwargs)


def test_invalid_labels(data):
    X, y = data
    with pytest.raises(ValueError, match="only 0"):
        weak_split(X, np.where(y == 1, 2, 0), labeled_ratio=0.5, seed=0)
    one = np.zeros(200, dtype=int)
    one[0] = 1
    with pytest.raises(ValueError, match="at least 2 anomalies"):
        weak_split(X, one, labeled_ratio=1.0, seed=0)
    with pytest.raises(ValueError, match="labels but X has"):
        weak_split(X, y[:-1], labeled_ratio=0.5, seed=0)


def test_a_label_count_instead_of_a_ratio_is_capped_by_the_table():
    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    y = np.r_[np.zeros(180), np.ones(20)].astype(int)  # 14 anomalies in the training part
    three = weak_split(X, y, n_labeled=3, seed=0)
    assert three.y_train_weak.sum() == 3 and (three.y_train[three.labeled_idx] == 1).all()
    assert weak_split(X, y, n_labeled=25, seed=0).y_train_weak.sum() == 14
    same = weak_split(X, y, labeled_ratio=0.1, seed=0)
    assert np.array_equal(same.train_idx, three.train_idx)  # the split itself is the same
    with pytest.raises(ValueError, match="exactly one of labeled_ratio and n_labeled"):
        weak_split(X, y, labeled_ratio=0.1, n_labeled=3, seed=0)
    with pytest.raises(ValueError, match="n_labeled must be an int >= 1"):
        weak_split(X, y, n_labeled=0, seed=0)


def test_known_normals_are_true_normals_drawn_without_touching_the_rest():
    rng = np.random.default_rng(0)
    X = rng.random((600, 3))
    y = np.r_[np.zeros(540), np.ones(60)].astype(int)
    plain = weak_split(X, y, labeled_ratio=0.1, seed=3)
    marked = weak_split(X, y, labeled_ratio=0.1, seed=3, known_normal_share=0.05)
    assert not plain.known_normal.any()
    assert marked.known_normal.sum() == int(0.05 * (plain.y_train == 0).sum())
    assert (marked.y_train[marked.known_normal] == 0).all()
    assert np.array_equal(marked.y_train_weak, plain.y_train_weak)
    assert np.array_equal(marked.train_idx, plain.train_idx)


def test_corruptions_change_only_what_they_name():
    rng = np.random.default_rng(0)
    X = rng.random((600, 4))
    y = np.r_[np.zeros(540), np.ones(60)].astype(int)
    clean = weak_split(X, y, labeled_ratio=0.1, seed=3)
    doubled = weak_split(X, y, labeled_ratio=0.1, seed=3, duplicate_anomalies=3)
    n_anomalies = int(clean.y_train.sum())
    assert len(doubled.y_train) == len(clean.y_train) + 2 * n_anomalies
    assert doubled.y_train.sum() == 3 * n_anomalies
    assert doubled.y_train_weak.sum() == 3 * clean.y_train_weak.sum()
    assert (doubled.y_train[doubled.labeled_idx] == 1).all()
    assert np.array_equal(doubled.X_test, clean.X_test)
    noisy = weak_split(X, y, labeled_ratio=0.1, seed=3, noise_features=0.5)
    assert noisy.X_train.shape[1] == 6 and noisy.X_test.shape[1] == 6
    assert np.array_equal(noisy.X_train[:, :4], clean.X_train)
    assert np.array_equal(noisy.y_train_weak, clean.y_train_weak)
    with pytest.raises(ValueError, match="duplicate_anomalies must be an int >= 1"):
        weak_split(X, y, labeled_ratio=0.1, seed=3, duplicate_anomalies=0)


def test_removed_cells_are_at_random_or_the_largest_and_leave_the_rest_alone(data):
    clean = weak_split(*data, labeled_ratio=0.25, seed=1)
    mcar = weak_split(*data, labeled_ratio=0.25, seed=1, missing_cells=0.3)
    gone = np.isnan(mcar.X_train)
    assert 0.25 < gone.mean() < 0.35 and np.isnan(mcar.X_test).any()
    assert np.array_equal(mcar.X_train[~gone], clean.X_train[~gone])
    assert np.array_equal(mcar.labeled_idx, clean.labeled_idx)
    mnar = weak_split(*data, labeled_ratio=0.25, seed=1, missing_largest=0.1)
    for j in range(clean.X_train.shape[1]):
        column, removed = clean.X_train[:, j], np.isnan(mnar.X_train[:, j])
        assert column[removed].min() > column[~removed].max()  # the largest, and only those
        assert abs(removed.mean() - 0.1) < 0.02
    with pytest.raises(ValueError, match=r"missing_cells must be a number in \[0, 1\)"):
        weak_split(*data, labeled_ratio=0.25, seed=1, missing_cells=1.0)

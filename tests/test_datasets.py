import numpy as np
import pytest

from wvad import make_multimodal


def test_make_multimodal_shapes_and_labels():
    X, y, y_weak = make_multimodal(
        n_samples=500, n_features=5, contamination=0.1, labeled_ratio=0.2, random_state=1
    )
    assert X.shape == (500, 5) and y.shape == y_weak.shape == (500,)
    assert y.sum() == 50
    assert y_weak.sum() == 10
    assert set(np.flatnonzero(y_weak)) <= set(np.flatnonzero(y))


def test_make_multimodal_is_reproducible():
    a = make_multimodal(n_samples=300, random_state=5)
    b = make_multimodal(n_samples=300, random_state=5)
    c = make_multimodal(n_samples=300, random_state=6)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_make_multimodal_validates():
    with pytest.raises(ValueError, match="contamination"):
        make_multimodal(contamination=0.7)
    with pytest.raises(ValueError, match="n_samples"):
        make_multimodal(n_samples=5)


def test_the_weak_labels_pay_off_where_a_global_detector_fails(short):
    """make_multimodal's anomalies are not global outliers: IsolationForest ranks them
    poorly, WVAD without labels better, WVAD with a tenth of them labeled best."""
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score

    from wvad import WVAD
    from wvad.protocol import weak_split

    X, y, _ = make_multimodal(n_samples=3000, random_state=0)
    split = weak_split(X, y, labeled_ratio=0.1, seed=0)
    forest = IsolationForest(random_state=0).fit(split.X_train)
    weak = WVAD(random_state=0, **short).fit(split.X_train, split.y_train_weak)
    blind = WVAD(random_state=0, allow_unsupervised=True, **short).fit(split.X_train)
    auroc = {
        name: roc_auc_score(split.y_test, scores)
        for name, scores in (
            ("forest", -forest.score_samples(split.X_test)),
            ("weak", weak.decision_function(split.X_test)),
            ("blind", blind.decision_function(split.X_test)),
        )
    }
    assert auroc["forest"] < 0.85
    assert auroc["weak"] > auroc["forest"] + 0.08
    assert auroc["weak"] > auroc["blind"] + 0.05


def test_off_structure_anomalies_look_normal_column_by_column():
    X, y, _ = make_multimodal(n_samples=3000, random_state=1)
    normal = X[y == 0]
    lo, hi = np.percentile(normal, 1, axis=0), np.percentile(normal, 99, axis=0)
    inside = ((X[y == 1] >= lo) & (X[y == 1] <= hi)).all(axis=1)
    assert inside.mean() > 0.8  # almost every anomaly is ordinary in each column alone

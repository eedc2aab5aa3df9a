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

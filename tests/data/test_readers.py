from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.io import savemat

from wvad.data import read_any, read_mat, read_npz, read_table

X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.5]])
Y = np.array([0, 1, 0, 1])


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,label\n0,1,0\n2,3,1\n4,5,0\n6,7.5,1\n")
    return path


def test_read_npz_round_trip(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=X.astype(np.uint8), y=Y.astype(np.int32))
    got_X, got_y = read_npz(path)
    assert got_X.dtype == np.float64 and got_y.dtype == np.int64
    np.testing.assert_array_equal(got_X, X.astype(np.uint8))
    np.testing.assert_array_equal(got_y, Y)
    np.testing.assert_array_equal(read_any(path)[1], Y)


def test_read_npz_missing_array_lists_contents(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, data=X, y=Y)
    with pytest.raises(ValueError, match=r"'X' and 'y'.*'data'"):
        read_npz(path)


def test_read_npz_rejects_garbage_and_missing_file(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match=r"not a readable \.npz"):
        read_npz(path)
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        read_npz(missing)


def test_read_npz_rejects_non_binary_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"only 0 .* and 1"):
        read_npz(path)


def test_read_mat_ravels_column_labels(tmp_path):
    path = tmp_path / "d.mat"
    savemat(path, {"X": X, "y": Y.reshape(-1, 1).astype(float)})
    got_X, got_y = read_mat(path)
    np.testing.assert_array_equal(got_X, X)
    assert got_y.shape == (4,) and got_y.dtype == np.int64
    np.testing.assert_array_equal(read_any(path)[1], Y)


def test_read_mat_missing_variable(tmp_path):
    path = tmp_path / "d.mat"
    savemat(path, {"X": X})
    with pytest.raises(ValueError, match=r"'X' and 'y'"):
        read_mat(path)
    with pytest.raises(FileNotFoundError, match=r"gone\.mat"):
        read_mat(tmp_path / "gone.mat")


def test_read_csv(csv_path):
    got_X, got_y = read_table(csv_path, "label")
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, Y)
    only_b, _ = read_table(csv_path, "label", feature_cols=["b"])
    np.testing.assert_array_equal(only_b, X[:, [1]])
    unlabeled, none = read_table(csv_path, None)
    assert none is None and unlabeled.shape == (4, 3)
    np.testing.assert_array_equal(read_any(csv_path, label_col="label")[0], X)


def test_read_table_missing_column_suggests_closest(csv_path):
    with pytest.raises(ValueError, match=r"'lable'.*did you mean 'label'"):
        read_table(csv_path, "lable")
    with pytest.raises(ValueError, match=r"'bb'.*did you mean 'b'"):
        read_table(csv_path, "label", feature_cols=["a", "bb"])


def test_read_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "is_anomaly": Y}).to_parquet(path)
    got_X, got_y = read_any(path, label_col="is_anomaly")
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, Y)


def test_read_table_without_pandas_names_the_extra(csv_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install wvad\[data\]"):
        read_table(csv_path, "label")


def test_read_any_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"unsupported suffix '\.xlsx'"):
        read_any(tmp_path / "t.xlsx")

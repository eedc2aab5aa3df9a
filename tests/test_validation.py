import numpy as np
import pandas as pd
import pytest

from wvad.validation import check_consistent, check_labels, check_X


def test_check_x_accepts_dataframe_and_keeps_names():
    df = pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})
    X, names = check_X(df)
    assert X.dtype == np.float64 and X.shape == (2, 2)
    assert names == ["a", "b"]


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros(5), "must be 2-D"),
        (np.zeros((2, 2, 2)), "must be 2-D"),
        (np.zeros((0, 3)), "empty"),
        (np.zeros((3, 0)), r"0 feature\(s\)"),
        ([["a", "b"]], "holds text"),
        ([[1.0, "2"]], "holds text"),
        ([[object(), 1.0]], "numeric"),
    ],
)
def test_check_x_rejects_bad_shapes_and_types(X, message):
    with pytest.raises(ValueError, match=message):
        check_X(X)


def test_check_x_names_nan_and_inf_columns():
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    X[3, 2] = np.inf
    with pytest.raises(
        ValueError,
        match=r"NaN in column\(s\) 1.*infinite values in column\(s\) 2.*first bad row: 2",
    ):
        check_X(X)


def test_check_x_names_dataframe_columns():
    df = pd.DataFrame({"speed": [1.0, np.nan], "size": [1.0, 2.0]})
    with pytest.raises(ValueError, match="'speed'"):
        check_X(df)
    with pytest.raises(ValueError, match="non-numeric columns: 'host'"):
        check_X(pd.DataFrame({"host": ["a", "b"], "x": [1, 2]}))


def test_check_labels():
    assert check_labels([0, 1, 1.0], 3).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="has 2 labels but X has 3 rows"):
        check_labels([0, 1], 3)
    with pytest.raises(ValueError, match=r"only 0 .* and 1 .*found -1, 2"):
        check_labels([0, -1, 2], 3)
    with pytest.raises(ValueError, match="non-numeric"):
        check_labels(["x", "y"], 2)
    with pytest.raises(ValueError, match="1-D"):
        check_labels(np.zeros((2, 2)), 2)


def test_check_consistent():
    check_consistent(2, ["a", "b"], 2, ["a", "b"])
    with pytest.raises(ValueError, match="has 3 features, but the model is expecting 2 features"):
        check_consistent(3, None, 2, None)
    with pytest.raises(ValueError, match="missing 'b'; unexpected 'c'"):
        check_consistent(2, ["a", "c"], 2, ["a", "b"])
    with pytest.raises(ValueError, match="different order"):
        check_consistent(2, ["b", "a"], 2, ["a", "b"])

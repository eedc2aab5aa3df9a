"""What each benchmark model is handed for a table with removed cells or text."""

import numpy as np
import pandas as pd

from wvad.bench.tables import model_inputs
from wvad.peers import CatBoost, DevNet


def test_numbers_only_peers_get_imputed_indicated_scaled_numbers():
    rng = np.random.default_rng(0)
    train, test = rng.random((50, 3)), rng.random((20, 3))
    train[:5, 1] = np.nan
    test[0, 2] = np.nan  # missing in a column that had none in training: median, no flag
    a, b = model_inputs(DevNet(), train, test)
    assert a.shape == (50, 4) and b.shape == (20, 4)  # 3 columns + 1 indicator
    assert np.isfinite(a).all() and np.isfinite(b).all()
    assert np.array_equal(a[:, 3], np.r_[np.ones(5), np.zeros(45)])


def test_complete_numbers_pass_untouched_and_table_readers_get_the_table():
    train, test = np.ones((4, 2)), np.zeros((2, 2))
    assert model_inputs(DevNet(), train, test)[0] is train
    frame = pd.DataFrame({"a": [1.0, np.nan], "c": ["x", None]})
    assert model_inputs(CatBoost(), frame, frame)[0] is frame
    numbers, _ = model_inputs(DevNet(), frame, frame)
    assert numbers.shape == (2, 4)  # a, a's indicator, c=x, c=(missing)

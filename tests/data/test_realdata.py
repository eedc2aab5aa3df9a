"""The two real tables, read from their published files and framed as documented."""

import numpy as np
import pandas as pd
import pytest

from wvad.data.realdata import KDD_ROWS, load_real_table


def test_thyroid_is_framed_as_its_readme_says(real_dir):
    frame, y = load_real_table("thyroid0387", data_dir=real_dir)
    assert frame.shape == (7679, 29) and int(y.sum()) == 908
    assert frame["TBG"].isna().mean() > 0.9  # "?" read as missing
    assert frame["referral source"].nunique() == 6


def test_kdd_subsample_is_stratified_and_the_whole_is_there(real_dir):
    frame, y = load_real_table("kddcup10", data_dir=real_dir)
    assert len(frame) == KDD_ROWS and frame.shape[1] == 41
    assert abs(y.mean() - 5306 / 102584) < 1e-3
    assert frame["service"].nunique() > 30  # a text category of many values


def test_a_file_that_is_not_the_published_one_is_refused(real_dir, tmp_path):
    (tmp_path / "thyroid0387.data").write_bytes((real_dir / "thyroid0387.data").read_bytes()[:-10])
    with pytest.raises(ValueError, match="is not the published file"):
        load_real_table("thyroid0387", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="WVAD_REALDATA_DIR"):
        load_real_table("kddcup10", data_dir=tmp_path)


def test_the_split_keeps_a_mixed_table_whole_and_each_model_reads_it_its_way(real_dir):
    from wvad.bench.models import make_model
    from wvad.bench.tables import model_inputs
    from wvad.protocol import weak_split

    frame, y = load_real_table("thyroid0387", data_dir=real_dir)
    split = weak_split(frame, y, n_labeled=3, seed=0)
    assert isinstance(split.X_train, pd.DataFrame) and split.y_train_weak.sum() == 3
    again = weak_split(frame.select_dtypes("number").fillna(0.0), y, n_labeled=3, seed=0)
    assert np.array_equal(split.train_idx, again.train_idx)  # the same rows as ADBench's
    for name, reads in (("catboost", True), ("wvad", True), ("devnet", False)):
        train, test = model_inputs(make_model(name, 0), split.X_train, split.X_test)
        assert isinstance(train, pd.DataFrame) == reads
        if not reads:
            assert np.isfinite(train).all() and train.min() >= 0 and train.max() <= 1 + 1e-12
            assert test.shape[1] == train.shape[1]

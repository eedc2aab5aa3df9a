"""Small tables on disk and a model fitted through the real `wvad` entry point."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import EPOCHS, FEATURES, make_frame

from wvad.cli import main


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, frame) -> Path:
    folder = tmp_path_factory.mktemp("tables")
    frame.to_csv(folder / "train.csv", index=False)
    frame.to_parquet(folder / "train.parquet", index=False)
    return folder


@pytest.fixture(scope="session")
def train_csv(data_dir) -> Path:
    return data_dir / "train.csv"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, train_csv) -> Path:
    """Fitted on the numeric columns, with an id column."""
    out = tmp_path_factory.mktemp("models") / "model"
    code = main(
        [
            "fit",
            str(train_csv),
            "--label-col",
            "label",
            "--id-col",
            "key",
            "--features",
            *FEATURES,
            "--clusters",
            "3",
            *EPOCHS,
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out

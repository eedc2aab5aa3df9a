"""Shared fixtures: one small synthetic table and one briefly trained WVAD."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from wvad import WVAD, DeviationSettings, TreeSettings, make_multimodal
from wvad.data import default_data_dir

torch.set_num_threads(1)

SHORT = {"pretrain_epochs": 10, "warmup_epochs": 10, "joint_epochs": 30, "joint_batch_size": 256}


@pytest.fixture(scope="session")
def table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, true labels and weak labels: 1500 rows, 6 features, 6% anomalies, 9 labeled."""
    return make_multimodal(n_samples=1500, n_features=6, contamination=0.06, random_state=3)


#: Set (as .ci/run does) to make a missing benchmark folder fail the tests that need it.
REQUIRE_DATA = "WVAD_REQUIRE_DATA"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The benchmark tables beyond the three shipped ones (WVAD_DATA_DIR, else
    ../shared/datasets beside the checkout); tests never download. Without them the test
    is skipped, or fails where WVAD_REQUIRE_DATA=1."""
    folder = default_data_dir()
    if folder is None or not folder.is_dir():
        where = folder or "../shared/datasets beside this checkout"
        reason = (
            f"benchmark tables not found (looked in {where}): set WVAD_DATA_DIR to the "
            "folder of ADBench's .npz files"
        )
        if os.environ.get(REQUIRE_DATA, "") not in ("", "0"):
            pytest.fail(f"{reason}; {REQUIRE_DATA} is set, so this fails instead of skipping")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The two real tables' folder (WVAD_REALDATA_DIR, else ../shared/realdata beside the
    checkout): skipped without it, or failed where WVAD_REQUIRE_DATA=1."""
    from wvad.data.realdata import realdata_dir

    folder = realdata_dir()
    if folder is None or not folder.is_dir():
        reason = "real tables not found: set WVAD_REALDATA_DIR to the folder holding them"
        if os.environ.get(REQUIRE_DATA, "") not in ("", "0"):
            pytest.fail(f"{reason}; {REQUIRE_DATA} is set, so this fails instead of skipping")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def short() -> dict[str, int]:
    """A schedule short enough for unit tests."""
    return dict(SHORT)


@pytest.fixture(scope="session")
def quick_pieces() -> dict[str, object]:
    """Deviation-net and tree settings for tests that check behaviour, not accuracy: the
    default schedules dominate a fit's time."""
    return dict(deviation=DeviationSettings(epochs=2), trees=TreeSettings(max_iter=10))


@pytest.fixture(scope="session")
def fitted(table) -> WVAD:
    X, _, y_weak = table
    return WVAD(n_clusters=4, random_state=0, **SHORT).fit(X, y_weak)

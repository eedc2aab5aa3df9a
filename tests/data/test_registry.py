from __future__ import annotations

import hashlib

import numpy as np
import pytest

from wvad.data import (
    PAPER_DATASETS,
    SHIPPED_DATASETS,
    dataset_path,
    get_info,
    list_datasets,
    load_dataset,
    shipped_path,
)
from wvad.data.registry import ADBENCH_URL, REGISTRY


def test_registry_entries_are_consistent():
    assert len(REGISTRY) == 31
    assert set(PAPER_DATASETS) <= set(REGISTRY)
    assert list_datasets() == sorted(REGISTRY)
    for name, info in REGISTRY.items():
        assert name == info.name == name.lower()
        assert info.url == ADBENCH_URL + info.filename
        assert info.filename.endswith(".npz") and len(info.sha256) == 64


def test_lookup_ignores_case_and_suggests():
    assert get_info("Letter") is REGISTRY["letter"]
    suggestion = r"Did you mean 'satellite'.*Known datasets: aloi, annthyroid"
    with pytest.raises(ValueError, match=suggestion):
        get_info("satelite")
    with pytest.raises(ValueError, match="Known datasets"):
        get_info("zzzz")


def test_checksums_match_shared_files(shared_dir):
    for info in REGISTRY.values():
        digest = hashlib.sha256((shared_dir / info.filename).read_bytes()).hexdigest()
        assert digest == info.sha256, info.filename


def test_the_shipped_tables_are_the_registered_files():
    assert SHIPPED_DATASETS == PAPER_DATASETS
    for name in SHIPPED_DATASETS:
        path = shipped_path(name)
        assert path is not None and path.name == REGISTRY[name].filename
        assert hashlib.sha256(path.read_bytes()).hexdigest() == REGISTRY[name].sha256
    assert shipped_path("thyroid") is None


@pytest.mark.parametrize("name", PAPER_DATASETS)
def test_paper_datasets_load_offline_with_recorded_shapes(name, tmp_path, monkeypatch):
    monkeypatch.delenv("WVAD_DATA_DIR", raising=False)
    monkeypatch.setenv("WVAD_CACHE_DIR", str(tmp_path))  # an empty cache
    info = REGISTRY[name]
    assert dataset_path(name, download=False) == shipped_path(name)
    X, y = load_dataset(name, download=False)
    assert X.shape == (info.n_samples, info.n_features)
    assert int(y.sum()) == info.n_anomalies
    assert X.dtype == np.float64 and set(np.unique(y)) == {0, 1}

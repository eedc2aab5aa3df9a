"""Benchmark data: file readers, the dataset registry, and verified download + cache."""

from __future__ import annotations

from wvad.data.download import (
    ChecksumError,
    DownloadError,
    cache_dir,
    dataset_path,
    default_data_dir,
    load_dataset,
    shipped_path,
)
from wvad.data.readers import read_any, read_mat, read_npz, read_table
from wvad.data.registry import (
    PAPER_DATASETS,
    SHIPPED_DATASETS,
    DatasetInfo,
    get_info,
    list_datasets,
)

__all__ = [
    "PAPER_DATASETS",
    "SHIPPED_DATASETS",
    "ChecksumError",
    "DatasetInfo",
    "DownloadError",
    "cache_dir",
    "dataset_path",
    "default_data_dir",
    "get_info",
    "list_datasets",
    "load_dataset",
    "read_any",
    "read_mat",
    "read_npz",
    "read_table",
    "shipped_path",
]

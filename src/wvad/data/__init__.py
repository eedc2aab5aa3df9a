"""Benchmark data: file readers, the dataset registry, and verified download + cache."""

from __future__ import annotations

from wvad.data.readers import read_any, read_mat, read_npz, read_table
from wvad.data.registry import PAPER_DATASETS, DatasetInfo, get_info, list_datasets

__all__ = [
    "PAPER_DATASETS",
    "DatasetInfo",
    "get_info",
    "list_datasets",
    "read_any",
    "read_mat",
    "read_npz",
    "read_table",
]

"""Benchmark data: file readers, the dataset registry, and verified download + cache."""

from __future__ import annotations

from wvad.data.readers import read_any, read_mat, read_npz, read_table

__all__ = ["read_any", "read_mat", "read_npz", "read_table"]

"""The results file: one JSON object per line, one line per finished grid cell.

Lines are appended whole and fsynced, so a crash can leave at most one unterminated last
line; readers skip it and `repair_results` cuts it off before a run appends again.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "KEY_FIELDS",
    "MEASURED_FIELDS",
    "META_FILE",
    "RESULTS_FILE",
    "ResultsWriter",
    "cell_key",
    "label_setting",
    "latest_rows",
    "read_rows",
    "repair_results",
    "setting_order",
]

RESULTS_FILE = "results.jsonl"
META_FILE = "meta.json"
#: The fields every result row has; a cell's labels are its "ratio" or, where that is
#: null, its "n_labels" (a label count), and a results file holds one row per cell key.
KEY_FIELDS = ("dataset", "ratio", "seed", "model")
#: The fields of a row that measure the run rather than the model (times, memory, when):
#: they differ between two runs of the same cell, every other field does not.
MEASURED_FIELDS = (
    "fit_seconds",
    "score_seconds",
    "start_mb",
    "fit_peak_mb",
    "score_peak_mb",
    "finished_at",
)

Key = tuple[str, str, int, str]


def label_setting(row: dict[str, Any]) -> str:
    """How a cell's rows were labeled, as one name: its ratio ("0.1") or its label count
    ("3 labels"), the share of normal rows marked known normal ("0.1 +0.05 normals"), and
    the corruption of the training part ("0.1 wrong=0.25": see `CORRUPTIONS`)."""
    name = f"{int(row['n_labels'])} labels" if row.get("n_labels") is not None else None
    name = name or f"{float(row['ratio']):g}"
    share = row.get("known_normals")
    name = f"{name} +{float(share):g} normals" if share else name
    corruption = row.get("corruption")
    return f"{name} {corruption}" if corruption else name


def setting_order(setting: str) -> tuple[int, float, float, str]:
    """Sort key of label settings: ratios from the largest, then counts from the smallest,
    each before its variants with known normals."""
    words = setting.split()
    corruption = words.pop() if "=" in words[-1] else ""
    base, _, normals = " ".join(words).partition(" +")
    share = float(normals.split()[0]) if normals else 0.0
    if base.endswith(" labels"):
        return (1, float(base.split()[0]), share, corruption)
    return (0, -float(base), share, corruption)


def cell_key(row: dict[str, Any]) -> Key:
    """The (dataset, label setting, seed, model) key of a row, as plain types."""
    return (str(row["dataset"]), label_setting(row), int(row["seed"]), str(row["model"]))


def _results_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p / RESULTS_FILE if p.is_dir() else p


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete row of a results file (or of the results file in a directory).

    An unterminated last line (a write cut short) and lines that are not JSON objects with
    the key fields are skipped; a missing file reads as no rows.
    """
    p = _results_path(path)
    if not p.exists():
        return []
    lines = p.read_bytes().split(b"\n")
    rows = []
    for number, raw in enumerate(lines[:-1], start=1):  # lines[-1] is b"" or a partial line
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            row = None
        if isinstance(row, dict) and all(k in row for k in KEY_FIELDS):
            rows.append(row)
        else:
            warnings.warn(f"{p}:{number}: skipping a line that is not a result row", stacklevel=2)
    return rows


def latest_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per cell key: the last one written wins (a retried cell replaces its error)."""
    by_key: dict[Key, dict[str, Any]] = {}
    for row in rows:
        key = cell_key(row)
        by_key.pop(key, None)
        by_key[key] = row
    return list(by_key.values())


def repair_results(path: str | os.PathLike[str]) -> int:
    """Cut an unterminated trailing line off the results file; returns the bytes removed."""
    p = _results_path(path)
    if not p.exists():
        return 0
    with open(p, "rb+") as fh:
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep == len(data):
            return 0
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    return len(data) - keep


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class ResultsWriter:
    """Appends rows to a results file, each as one whole line, flushed and fsynced."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> ResultsWriter:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def write(self, row: dict[str, Any]) -> None:
        if self._fd is None:
            raise RuntimeError("ResultsWriter is not open; use it as a context manager")
        data = (json.dumps(_plain(row), allow_nan=False, sort_keys=False) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

"""Readers for the table formats anomaly-detection benchmarks ship in.

Each reader returns ``(X, y)``: X a finite 2-D float64 array, y an int64 array of 0 (normal)
and 1 (anomaly), or None when a table has no label column. Problems with the file itself
(missing, wrong format, missing arrays or columns) raise errors that name the file.
"""

from __future__ import annotations

import difflib
import errno
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wvad.validation import check_target, check_X

__all__ = ["check_target", "read_any", "read_mat", "read_npz", "read_table"]

_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
_SUFFIXES = (".npz", ".mat", *_TABLE_SUFFIXES)


def _existing_file(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "No such data file", str(path))
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    return path


def _pair(X: Any, y: Any, path: Path) -> tuple[np.ndarray, np.ndarray]:
    X, _ = check_X(X, name=f"X in {path.name}")
    return X, check_target(y, X.shape[0], name=f"y in {path.name}")


def _missing_arrays(path: Path, found: Sequence[str], kind: str) -> ValueError:
    listed = ", ".join(repr(k) for k in found) or "none"
    return ValueError(f"{path} must hold {kind} 'X' and 'y'; it holds: {listed}")


def read_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read an ADBench ``.npz`` file holding arrays ``X`` (rows x features) and ``y``."""
    path = _existing_file(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array, not an .npz archive of 'X' and 'y'")
    with archive:
        if not {"X", "y"} <= set(archive.files):
            raise _missing_arrays(path, archive.files, "arrays")
        X, y = archive["X"], archive["y"]
    return _pair(X, y, path)


def read_mat(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read an ODDS ``.mat`` file holding variables ``X`` and ``y`` (y may be a column)."""
    from scipy.io import loadmat
    from scipy.sparse import issparse

    path = _existing_file(path)
    try:
        content = loadmat(path)
    except NotImplementedError:
        raise ValueError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which scipy cannot read; "
            "re-save it with MATLAB's -v7 flag or convert it to .npz"
        ) from None
    except (ValueError, TypeError, OSError) as exc:
        raise ValueError(f"{path} is not a readable .mat file ({exc})") from None
    if "X" not in content or "y" not in content:
        raise _missing_arrays(path, [k for k in content if not k.startswith("__")], "variables")
    X = content["X"]
    if issparse(X):
        X = X.toarray()
    return _pair(X, content["y"], path)


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "reading CSV or Parquet tables needs pandas (and pyarrow for Parquet); "
            "install them with: pip install wvad[data]"
        ) from None
    return pandas


def _unknown_column(column: str, columns: Sequence[str], path: Path) -> ValueError:
    message = f"column {column!r} is not in {path.name}"
    close = difflib.get_close_matches(column, columns, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    listed = ", ".join(repr(c) for c in columns[:10])
    more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
    return ValueError(f"{message} (columns: {listed}{more})")


def read_table(
    path: str | os.PathLike[str],
    label_col: str | None,
    feature_cols: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a CSV, TSV or Parquet table (chosen by suffix) into ``(X, y)``.

    ``label_col`` names the 0/1 anomaly column, or is None for an unlabeled table (y is then
    None). ``feature_cols`` picks the feature columns; by default every other column.
    """
    path = _existing_file(path)
    suffix = path.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        raise ValueError(
            f"{path} has suffix {suffix!r}; read_table reads {', '.join(_TABLE_SUFFIXES)}"
        )
    frame = _read_frame(path, suffix)
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)

    y = None
    if label_col is not None:
        if label_col not in columns:
            raise _unknown_column(label_col, columns, path)
        labels = frame[label_col].to_numpy()
        y = check_target(labels, len(frame), name=f"{label_col!r} in {path.name}")
    if feature_cols is None:
        feature_cols = [c for c in columns if c != label_col]
    else:
        feature_cols = list(feature_cols)
        for column in feature_cols:
            if column not in columns:
                raise _unknown_column(column, columns, path)
        if label_col is not None and label_col in feature_cols:
            raise ValueError(f"the label column {label_col!r} is also listed as a feature")
    X, _ = check_X(frame[feature_cols], name=f"X in {path.name}")
    return X, y


def _read_frame(path: Path, suffix: str) -> Any:
    """The whole table as a DataFrame; a file pandas cannot parse is refused by name."""
    pd = _import_pandas()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except ImportError as exc:
        raise ImportError(f"{exc}; install it with: pip install wvad[data]") from None
    except (ValueError, OSError) as exc:  # pandas' parser and Arrow errors are of these kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path} is not a table wvad can read: {first}") from None


def read_any(
    path: str | os.PathLike[str], label_col: str | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read any supported file, chosen by suffix: ``.npz``, ``.mat``, ``.csv``, ``.tsv``,
    ``.parquet`` or ``.pq``.

    ``label_col`` is used only for tables; ``.npz`` and ``.mat`` files always carry ``y``.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return read_npz(path)
    if suffix == ".mat":
        return read_mat(path)
    if suffix in _TABLE_SUFFIXES:
        return read_table(path, label_col)
    raise ValueError(f"{path} has unsupported suffix {suffix!r}; supported: {', '.join(_SUFFIXES)}")

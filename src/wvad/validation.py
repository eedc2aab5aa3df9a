"""Input checks shared by the estimators, the peers and the command line.

Every public entry point calls these once, at the boundary, so that bad input fails with a
message that names the problem instead of a stack trace from inside torch or numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_X",
    "check_consistent",
    "check_known_normal",
    "check_labels",
    "check_mixture_rows",
    "check_target",
    "describe_columns",
]

_MAX_NAMED = 5


def describe_columns(columns: Sequence[Any], names: Sequence[str] | None) -> str:
    """Render a short list of column names (or indices) for an error message."""
    labels = [repr(names[c]) if names is not None else str(c) for c in columns]
    more = len(labels) - _MAX_NAMED
    text = ", ".join(labels[:_MAX_NAMED])
    return text + (f" and {more} more" if more > 0 else "")


def _column_names(X: Any) -> list[str] | None:
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    return [str(c) for c in columns]


def check_X(X: Any, *, name: str = "X") -> tuple[np.ndarray, list[str] | None]:  # noqa: N802
    """Return X as a 2-D float64 array plus its column names (None for plain arrays).

    Raises ValueError for anything that is not a non-empty, finite, numeric 2-D table.
    """
    names = _column_names(X)
    if names is not None:
        X = _frame_values(X, names, name)
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise ValueError(
            f"{name} is a sparse matrix, which is not supported; pass a dense array "
            f"({name}.toarray())"
        )
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a table of numbers; got {type(X).__name__} ({exc})"
        ) from None
    if raw.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} holds complex numbers")
    if raw.dtype.kind in "USO" and _holds_text(raw):
        raise ValueError(
            f"{name} holds text; convert its columns to numbers first (wvad reads no "
            "numbers out of strings)"
        )
    try:
        array = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric; could not convert it to floats ({exc})"
        ) from None
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (rows x features); got an array with shape {array.shape}. "
            "Reshape your data: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for "
            "a single row."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    if array.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required."
        )
    bad = ~np.isfinite(array)
    if bad.any():
        nan_cols = np.flatnonzero(np.isnan(array).any(axis=0))
        inf_cols = np.flatnonzero(np.isinf(array).any(axis=0))
        parts = []
        if nan_cols.size:
            parts.append(f"NaN in column(s) {describe_columns(nan_cols, names)}")
        if inf_cols.size:
            parts.append(f"infinite values in column(s) {describe_columns(inf_cols, names)}")
        first_row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"{name} has {'; '.join(parts)} (first bad row: {first_row})")
    return np.ascontiguousarray(array), names  # one memory layout: one set of scores


def _frame_values(X: Any, names: list[str], name: str) -> np.ndarray:
    """A DataFrame's values as floats, its missing values (pd.NA too) as NaN; refuses
    repeated and non-numeric columns by name."""
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        listed = describe_columns(range(len(repeated)), repeated)
        raise ValueError(f"{name} has repeated column names: {listed}")
    dtypes = zip(names, X.dtypes, strict=True)
    non_numeric = [c for c, dt in dtypes if not _is_numeric_dtype(dt)]
    if non_numeric:
        listed = describe_columns(range(len(non_numeric)), non_numeric)
        raise ValueError(f"{name} has non-numeric columns: {listed}")
    return X.to_numpy(dtype=np.float64, na_value=np.nan)


def _holds_text(raw: np.ndarray) -> bool:
    if raw.dtype.kind in "US":
        return True
    return any(isinstance(v, (str, bytes)) for v in raw.flat)


def _is_numeric_dtype(dtype: Any) -> bool:
    kind = getattr(dtype, "kind", None)
    return kind in ("b", "i", "u", "f")


def check_labels(
    y: Any, n_rows: int, *, name: str = "y", meaning: str = "0 (unlabeled) and 1 (known anomaly)"
) -> np.ndarray:
    """Return weak labels as an int64 array of 0 (unlabeled) and 1 (known anomaly).

    Accepts a column vector (n x 1, as ODDS stores y) and any numeric or boolean dtype.
    """
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one label per row; got shape {array.shape}")
    if array.shape[0] != n_rows:
        raise ValueError(f"{name} has {array.shape[0]} labels but X has {n_rows} rows")
    try:
        numeric = array.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must contain only {meaning}; found non-numeric values such as {array[0]!r}"
        ) from None
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        others = np.unique(array[bad])[:_MAX_NAMED]
        found = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in others)
        raise ValueError(f"{name} must contain only {meaning}; found {found}")
    return numeric.astype(np.int64)


def check_target(y: Any, n_rows: int, *, name: str = "y") -> np.ndarray:
    """Return ground-truth labels as an int64 array of 0 (normal) and 1 (anomaly)."""
    return check_labels(y, n_rows, name=name, meaning="0 (normal) and 1 (anomaly)")


def check_consistent(
    n_features: int,
    names: list[str] | None,
    n_features_in: int,
    feature_names_in: list[str] | None,
    *,
    name: str = "X",
    model: str = "the model",
) -> None:
    """Refuse a table whose columns differ from the one the model was fitted on."""
    if n_features != n_features_in:
        raise ValueError(
            f"{name} has {n_features} features, but {model} is expecting {n_features_in} "
            "features as input (as many as in fit)"
        )
    if feature_names_in is not None and names is not None and names != feature_names_in:
        missing = [c for c in feature_names_in if c not in names]
        extra = [c for c in names if c not in feature_names_in]
        if missing or extra:
            detail = []
            if missing:
                detail.append(f"missing {describe_columns(range(len(missing)), missing)}")
            if extra:
                detail.append(f"unexpected {describe_columns(range(len(extra)), extra)}")
            raise ValueError(f"{name} columns differ from those seen in fit: {'; '.join(detail)}")
        raise ValueError(
            f"{name} has the fitted columns in a different order; reorder them as in fit: "
            f"{describe_columns(range(len(feature_names_in)), feature_names_in)}"
        )


def check_mixture_rows(y: np.ndarray, n_clusters: int | str) -> None:
    """Refuse a fit with too few unlabeled rows for the mixture's components (EM needs two
    rows even for one component; "auto" needs two)."""
    n_unlabeled = int((y == 0).sum())
    needed = 2 if n_clusters == "auto" else max(2, int(n_clusters))
    if n_unlabeled < needed:
        raise ValueError(
            f"n_clusters={n_clusters!r} needs at least {needed} unlabeled rows "
            f"to fit the mixture; got {n_unlabeled}"
        )


def check_known_normal(mask: Any, y: np.ndarray, *, name: str = "known_normal") -> np.ndarray:
    """A boolean mask of the rows known to be normal (all False for None); refuses a mask
    of the wrong length or kind, and a row marked both a known anomaly and a known normal."""
    if mask is None:
        return np.zeros(len(y), dtype=bool)
    if hasattr(mask, "to_numpy"):
        mask = mask.to_numpy()
    array = np.asarray(mask)
    if array.ndim != 1 or array.shape[0] != len(y):
        raise ValueError(f"{name} must be one flag per row ({len(y)}); got shape {array.shape}")
    if array.dtype.kind == "b":
        flags = array
    else:
        try:
            numeric = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must hold True/False (or 1/0); found {array[0]!r}") from None
        if not np.isin(numeric, (0.0, 1.0)).all():
            raise ValueError(f"{name} must hold True/False (or 1/0) only")
        flags = numeric == 1.0
    both = np.flatnonzero(flags & (y == 1))
    if both.size:
        raise ValueError(
            f"row {int(both[0])} is marked both a known anomaly (y = 1) and a known normal "
            f"({both.size} such row(s))"
        )
    return flags.astype(bool)

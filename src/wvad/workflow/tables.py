"""Tables in, tables out: column checks, chunked reading, encoding and atomic output files.

Everything here works one chunk at a time, so a file of any size is read with flat memory.
Row numbers in messages and outputs are 0-based data rows (the header is not counted).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wvad.data.readers import _existing_file, _import_pandas, _unknown_column
from wvad.files import staged

__all__ = [
    "SPEC_FILE",
    "AtomicTableWriter",
    "TableSpec",
    "check_output_path",
    "encode_features",
    "iter_chunks",
    "model_input",
    "parse_labels",
    "table_columns",
]

SPEC_FILE = "table.json"
SPEC_FORMAT = "wvad-table"
SPEC_VERSION = 1
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: The cells a table file marks a missing value with, unless `wvad fit --missing` says
#: otherwise: an empty cell, pandas' markers and "?" (the UCI tables' mark).
MISSING_MARKERS = (
    "", "?", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "NULL", "null", "None", "<NA>", "#N/A",
)  # fmt: skip
#: A non-numeric column counts as categorical (not "numeric with a few bad cells") when fewer
#: than this share of its non-empty values parse as numbers.
NUMERIC_SHARE = 0.5


@dataclass
class TableSpec:
    """What `wvad fit` learnt about the table, kept as table.json beside the model.

    `input_columns` are the columns read from a data file, in order, and `features` the
    model's input columns: the same (the model encodes categories and missing values
    itself, `wvad.encoding`), except for models fitted before it did, whose categories this
    side one-hot encoded (`one_hot` maps such a column to its categories). `missing_markers`
    are the cells read as missing values.
    """

    input_columns: list[str]
    features: list[str]
    label_col: str | None = None
    id_col: str | None = None
    one_hot: dict[str, list[str]] = field(default_factory=dict)
    source: str | None = None
    n_rows: int | None = None
    n_labeled: int | None = None
    n_known_normal: int | None = None
    preset: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    missing_markers: list[str] = field(default_factory=lambda: list(MISSING_MARKERS))

    def document(self) -> dict[str, Any]:
        """The JSON object saved as table.json, under the model's checksums."""
        return {"format": SPEC_FORMAT, "format_version": SPEC_VERSION, **asdict(self)}

    @classmethod
    def from_document(cls, payload: dict[str, Any] | None, model: Any, where: Path) -> TableSpec:
        """The spec of a model folder's table.json (`payload`, None where there is none:
        a model saved by `WVAD.save` gets a spec from its column names), checked against
        the model it describes."""
        if payload is None:
            names = getattr(model, "feature_names_in_", None)
            if names is None:
                raise ValueError(
                    f"{where} has no {SPEC_FILE} and its model has no column names; "
                    "fit it with `wvad fit` (or fit WVAD on a pandas DataFrame)"
                )
            names = [str(n) for n in names]
            return cls(input_columns=names, features=names)
        source = where / SPEC_FILE
        if payload.get("format") != SPEC_FORMAT or payload.get("format_version") != SPEC_VERSION:
            raise ValueError(f"{source} does not describe a wvad table (version {SPEC_VERSION})")
        known = set(cls.__dataclass_fields__)
        missing = [k for k in ("input_columns", "features") if k not in payload]
        if missing:
            raise ValueError(f"{source} lacks {', '.join(map(repr, missing))}")
        try:
            spec = cls(**{k: v for k, v in payload.items() if k in known})
        except TypeError as exc:
            raise ValueError(f"{source} is not a table description: {exc}") from None
        spec.check(model, source)
        return spec

    def check(self, model: Any, source: Path) -> None:
        """Refuse a spec that does not describe `model`'s columns."""
        encoded = []
        for column in self.input_columns:
            categories = self.one_hot.get(column)
            encoded += [column] if categories is None else one_hot_names(column, categories)
        names = getattr(model, "feature_names_in_", None)
        expected = None if names is None else [str(n) for n in names]
        if encoded != list(self.features) or (expected is not None and encoded != expected):
            raise ValueError(
                f"{source} does not describe this model's columns (it encodes "
                f"{len(encoded)} column(s), the model reads {model.n_features_in_})"
            )

    def read_columns(self, *, with_label: bool = False) -> list[str]:
        """Columns to read from a data file: id, features and optionally the label."""
        columns = [self.id_col] if self.id_col else []
        columns += self.input_columns
        if with_label and self.label_col:
            columns.append(self.label_col)
        return columns


# -- files -----------------------------------------------------------------------------------
def table_kind(path: Path) -> str:
    """'csv' or 'parquet', by suffix."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    supported = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    raise ValueError(f"{path} has suffix {suffix!r}; supported table files: {supported}")


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def table_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a CSV or Parquet file, read without loading its rows; refuses a
    file that names two columns alike (a reader would rename one, e.g. to 'a.1')."""
    path = _existing_file(path)
    kind = table_kind(path)
    pd = _import_pandas()
    try:
        if kind == "csv":  # header=None: the names as written, not de-duplicated
            header = pd.read_csv(path, sep=_sep(path), header=None, nrows=1, dtype=str)
            names = ["" if pd.isna(c) else str(c) for c in header.iloc[0]]
        else:
            import pyarrow.parquet as pq

            names = [str(c) for c in pq.ParquetFile(path).schema_arrow.names]
    except Exception as exc:  # pandas, pyarrow and the CSV parser raise their own types
        raise ValueError(f"{path} is not a readable {kind} file ({exc})") from None
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        where = "; ".join(
            f"{c!r} (columns {', '.join(str(i) for i, n in enumerate(names) if n == c)})"
            for c in repeated
        )
        raise ValueError(f"{path.name} names more than one column alike: {where}; rename them")
    return names


def check_columns(path: Path, wanted: Sequence[str], present: Sequence[str]) -> None:
    """Refuse a missing column, naming the closest one present (also for short names such
    as 'xl' for 'x1', and for a difference in case only)."""
    present = list(present)
    for column in wanted:
        if column in present:
            continue
        error = _unknown_column(column, present, path)
        if "did you mean" not in str(error):
            same_case = [c for c in present if c.lower() == column.lower()]
            close = same_case or difflib.get_close_matches(column, present, n=1, cutoff=0.5)
            if close:
                message = str(error).replace(
                    f"is not in {path.name}", f"is not in {path.name}; did you mean {close[0]!r}?"
                )
                error = ValueError(message)
        raise error


def count_rows(path: Path) -> int | None:
    """Rows of a Parquet file from its metadata; None for CSV (unknown without a pass)."""
    if table_kind(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def iter_chunks(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    chunk_rows: int,
    *,
    text_columns: Sequence[str] = (),
    missing: Sequence[str] = MISSING_MARKERS,
) -> Iterator[Any]:
    """Yield DataFrames of at most `chunk_rows` rows holding `columns`, in that order.

    `text_columns` are read as strings (ids, categories), so every chunk types them alike;
    cells equal to one of `missing` are missing values (in a Parquet file: its nulls, and
    text cells equal to a marker).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk size must be at least 1 row; got {chunk_rows}")
    path = _existing_file(path)
    present = table_columns(path)
    check_columns(path, columns, present)
    columns = list(dict.fromkeys(columns))
    pd = _import_pandas()
    if table_kind(path) == "csv":
        dtypes = {c: str for c in text_columns if c in columns}
        reader = pd.read_csv(
            path,
            sep=_sep(path),
            usecols=columns,
            dtype=dtypes,
            chunksize=chunk_rows,
            keep_default_na=False,
            na_values=list(missing),
        )
        with reader:
            for frame in reader:
                frame.columns = [str(c) for c in frame.columns]
                yield frame[columns]
        return
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    for batch in source.iter_batches(batch_size=chunk_rows, columns=columns):
        frame = batch.to_pandas()
        frame.columns = [str(c) for c in frame.columns]
        for column in text_columns:
            if column in frame.columns:
                text = as_text(frame[column])
                frame[column] = text.where(~text.isin(list(missing)), None)
        yield frame[columns]


def read_frame(
    path: Path,
    columns: Sequence[str],
    *,
    text_columns: Sequence[str] = (),
    missing: Sequence[str] = MISSING_MARKERS,
) -> Any:
    """The whole table (for fitting), through the same reader as the chunks."""
    pd = _import_pandas()
    chunks = iter_chunks(path, columns, 1_000_000, text_columns=text_columns, missing=missing)
    frames = list(chunks)
    if not frames:
        raise ValueError(f"{path} has no rows")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frame) == 0:
        raise ValueError(f"{path} has no rows")
    return frame


# -- columns -> numbers -----------------------------------------------------------------------
def as_text(series: Any) -> Any:
    """Strings, with missing values kept missing (None)."""
    values = series.astype(object)
    missing = values.isna().to_numpy()
    out = values.map(str).to_numpy(dtype=object)
    out[missing] = None
    return _import_pandas().Series(out, index=series.index, dtype=object)


def _shown(value: Any) -> Any:
    """A cell value as plain Python, for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _is_numeric(series: Any) -> bool:
    return getattr(series.dtype, "kind", "O") in "biuf"


def is_categorical(series: Any) -> bool:
    """A non-numeric column most of whose non-empty values are not numbers."""
    if _is_numeric(series):
        return False
    values = series.dropna()
    if len(values) == 0:
        return False
    parsed = _import_pandas().to_numeric(values.astype(object).map(str), errors="coerce")
    return float(parsed.notna().mean()) < NUMERIC_SHARE


def numeric_column(
    series: Any, column: str, offset: int, source: str, *, allow_missing: bool = False
) -> np.ndarray:
    """The column as float64 (missing values NaN where `allow_missing`); text, inf, and a
    missing value otherwise, name the column and first bad row."""
    pd = _import_pandas()
    if _is_numeric(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        text = np.zeros(len(values), dtype=bool)
    else:
        raw = series.astype(object)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        text = raw.notna().to_numpy() & np.isnan(values)
    bad = ~np.isfinite(values)
    if allow_missing:
        bad &= ~np.isnan(values) | text
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if text[i]:
            what = f"text {_shown(series.iloc[i])!r}"
        elif np.isnan(values[i]):
            what = "a missing value (empty or NaN)"
        else:
            what = "an infinite value"
        raise ValueError(f"column {column!r} in {source} has {what} at row {offset + i}")
    return values


#: How a label cell says what a row is, case and surrounding spaces ignored.
ANOMALY_WORDS = frozenset(
    {"1", "1.0", "anomaly", "anomalous", "outlier", "abnormal", "yes", "y", "true", "t"}
)
NORMAL_WORDS = frozenset({"0", "0.0", "normal", "inlier", "no", "n", "false", "f"})
UNKNOWN_WORDS = frozenset(
    {"", "nan", "none", "null", "na", "n/a", "?", "unknown", "unlabeled", "unlabelled"}
)


def parse_labels(
    series: Any, column: str, offset: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Three kinds of label: a known anomaly (1, "anomaly", "yes", ...), a known normal
    (0, "normal", "no", ...) or unknown (an empty cell, "?", "unknown", ...). Returns y
    (1 = known anomaly) and the known normal mask; anything else is refused by row."""
    text = series.astype(object).map(
        lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    )
    words = text.str.strip().str.lower().to_numpy(dtype=object)
    anomaly = np.isin(words, list(ANOMALY_WORDS))
    normal = np.isin(words, list(NORMAL_WORDS))
    bad = ~(anomaly | normal | np.isin(words, list(UNKNOWN_WORDS)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"label column {column!r} in {source} must hold 1 / anomaly (known anomaly), "
            f"0 / normal (known normal) or an empty cell (unknown); found "
            f"{_shown(series.iloc[i])!r} at row {offset + i}"
        )
    return anomaly.astype(np.int64), normal


def categories_of(series: Any) -> list[str]:
    """Sorted distinct values of a categorical column, as strings (missing left out)."""
    return sorted({str(v) for v in series.dropna().astype(object)})


def one_hot_names(column: str, categories: Sequence[str]) -> list[str]:
    return [f"{column}={c}" for c in categories]


def encode_features(frame: Any, spec: TableSpec, offset: int, source: str) -> np.ndarray:
    """The model's input matrix for one chunk: numbers checked, categories one-hot encoded.

    A category not seen in fit (or an empty cell in a categorical column) encodes as all
    zeros: the row is scored on its other columns.
    """
    pd = _import_pandas()
    parts = []
    for column in spec.input_columns:
        series = frame[column]
        categories = spec.one_hot.get(column)
        if categories is None:
            parts.append(numeric_column(series, column, offset, source)[:, None])
            continue
        codes = pd.Index(categories).get_indexer(as_text(series))
        block = np.zeros((len(series), len(categories)), dtype=np.float64)
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        parts.append(block)
    return np.hstack(parts) if parts else np.empty((len(frame), 0))


def text_columns(spec: TableSpec, model: Any) -> list[str]:
    """The columns a data file's reader reads as text: the id, and the categorical ones
    (the model's own, or those this side one-hot encodes for a model from before)."""
    categorical = [*spec.one_hot, *model.encoder_.categorical_columns()]
    return [c for c in dict.fromkeys([spec.id_col, *categorical]) if c]


def model_input(frame: Any, spec: TableSpec, model: Any, offset: int, source: str) -> Any:
    """What `model` reads for one chunk of the file `source` (its first row `offset`): the
    input columns, numbers checked (a cell that is text, not a missing marker, is refused
    by its row) and categories as text; one-hot encoded numbers for a model that
    predates its own encoding (`TableSpec.one_hot`)."""
    if spec.one_hot:
        return encode_features(frame, spec, offset, source)
    pd = _import_pandas()
    columns = {}
    for column, code in zip(spec.input_columns, model.encoder_.codes, strict=True):
        series = frame[column]
        if code.kind == "category":
            columns[column] = as_text(series).to_numpy(dtype=object)
        else:
            columns[column] = numeric_column(
                series, column, offset, source, allow_missing=code.fill is not None
            )
    return pd.DataFrame(columns, index=range(len(frame)))


# -- output -----------------------------------------------------------------------------------
def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output_path(out: Path, inputs: Sequence[Path], *, force: bool) -> None:
    """Before any work: never the input, never a folder, an existing file only with force,
    and a folder that exists and can be written to."""
    for source in inputs:
        if same_file(out, source):
            raise ValueError(f"output {out} is the input file {source}; choose another path")
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder; name a file to write the scores to")
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists; pass --force to replace it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"the folder of {out} does not exist: {out.parent}")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write in the folder of {out}: {out.parent}")


class AtomicTableWriter:
    """Write a CSV or Parquet file chunk by chunk into a temporary file beside the target,
    published only when every chunk is written (`wvad.files.staged`: without `replace`
    never over a file that appeared meanwhile); on any error or interruption the
    temporary file is removed and the target is left as it was."""

    def __init__(self, target: Path, *, replace: bool = False) -> None:
        self.target = target
        self.kind = table_kind(target)
        self._staging = staged(target, replace=replace)
        self._tmp: Path | None = None
        self._file: Any = None
        self._parquet: Any = None

    def __enter__(self) -> AtomicTableWriter:
        self._tmp = self._staging.__enter__()
        if self.kind == "csv":
            self._file = open(self._tmp, "w", newline="")  # closed in __exit__
        return self

    def write(self, frame: Any) -> None:
        if self.kind == "csv":
            first = self._file.tell() == 0
            frame.to_csv(self._file, sep=_sep(self.target), index=False, header=first)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._tmp, table.schema)
        self._parquet.write_table(table.cast(self._parquet.schema))

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        try:
            if self._file is not None:
                self._file.close()
            if self._parquet is not None:
                self._parquet.close()
        except BaseException:
            self._staging.__exit__(*sys.exc_info())  # removes the temporary file
            raise
        return self._staging.__exit__(exc_type, exc, tb)

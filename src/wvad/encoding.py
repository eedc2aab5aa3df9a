"""Tables as users have them, turned into the numbers WVAD's pieces read.

`read_table` checks a table's outer form once, at the boundary (2-D, rows and columns,
distinct names, no sparse or complex data, no infinity, no dates), and splits its columns
into numbers (float64, NaN where missing: NaN, None, pd.NA) and text (strings, None where
missing). Which columns are categorical follows from the dtype: text (pandas `object`,
`string`, `category`, numpy strings) always is; `categorical_features` names further ones
(numeric codes).

`TableEncoder` learns, per column, at fit:

- a number column: its median (what a missing value becomes, scikit-learn's
  `SimpleImputer(strategy="median")` rule) and, as `Config.missing_indicators` says (all,
  none, or "auto": where they are not missing completely at random, `wvad.missingness`),
  when it had missing values, a "was missing" indicator column
  (`SimpleImputer(add_indicator=True)`'s "missing-only" rule); a column with no value at
  fit keeps its indicator alone (values seen later are ignored);
- a categorical column: one 0/1 column per category seen (`OneHotEncoder`), the rarest
  grouped into one "(other)" column beyond `MAX_CATEGORIES`, plus the indicator when it
  had missing values.

What fit did not see: a category never seen encodes as "(other)" where that column exists,
else as all zeros (the row is read on its other columns); a missing value in a column that
had none at fit takes the median (numbers) or all zeros (categories), with no indicator to
set. Nothing becomes NaN. The encoder is a few lists and numbers (its `document` is JSON),
so it is saved with the model under the model's checksums, without pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wvad.validation import describe_columns

__all__ = ["MAX_CATEGORIES", "ColumnCode", "Table", "TableEncoder", "category_text", "read_table"]

#: A categorical column keeps its most frequent categories up to this many columns; the
#: rest share one "(other)" column.
MAX_CATEGORIES = 100
OTHER = "(other)"
MISSING = "(missing)"


@dataclass(frozen=True)
class Table:
    """A checked table: `numbers` holds every column as float64 (NaN = missing; NaN too in
    the text columns), `text` the text columns by position (str, None = missing)."""

    numbers: np.ndarray
    text: dict[int, np.ndarray]
    names: list[str] | None

    @property
    def width(self) -> int:
        return int(self.numbers.shape[1])

    def column_names(self) -> list[str]:
        return self.names if self.names is not None else [f"x{j}" for j in range(self.width)]


# -- reading ---------------------------------------------------------------------------------
def read_table(X: Any, *, name: str = "X") -> Table:
    """`X` (a pandas DataFrame, a numpy array, a list of rows) as a checked `Table`."""
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise ValueError(
            f"{name} is a sparse matrix, which is not supported; pass a dense array "
            f"({name}.toarray())"
        )
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        names = [str(c) for c in X.columns]
        _refuse_repeated(names, name)
        columns = [X.iloc[:, j] for j in range(X.shape[1])]
        table = _from_columns(columns, (len(X), len(names)), names, name)
    else:
        table = _from_array(X, name)
    _refuse_infinite(table, name)
    return table


def _refuse_repeated(names: list[str], name: str) -> None:
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        listed = describe_columns(range(len(repeated)), repeated)
        raise ValueError(f"{name} has repeated column names: {listed}")


def _from_array(X: Any, name: str) -> Table:
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a table; got {type(X).__name__} ({exc})") from None
    if raw.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} holds complex numbers")
    _check_shape(raw.shape, name)
    if raw.dtype.kind in "biuf":
        return Table(np.ascontiguousarray(raw, dtype=np.float64), {}, None)
    import pandas as pd

    columns = [pd.Series(raw[:, j], dtype=object) for j in range(raw.shape[1])]
    return _from_columns(columns, raw.shape, None, name)


def _check_shape(shape: tuple[int, ...], name: str) -> None:
    if len(shape) != 2:
        raise ValueError(
            f"{name} must be 2-D (rows x features); got an array with shape {shape}. "
            "Reshape your data: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for "
            "a single row."
        )
    if shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    if shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={shape}) while a minimum of 1 is required."
        )


def _from_columns(
    columns: list[Any], shape: tuple[int, int], names: list[str] | None, name: str
) -> Table:
    _check_shape(shape, name)
    numbers = np.full(shape, np.nan)
    text = {}
    for j, series in enumerate(columns):
        label = repr(names[j]) if names is not None else str(j)
        values = _column(series, f"{name}'s column {label}")
        if values.dtype == object:
            text[j] = values
        else:
            numbers[:, j] = values
    return Table(numbers, text, names)


def _column(series: Any, where: str) -> np.ndarray:
    """One column as float64 (a number column) or object (a text column)."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return category_text(series.astype(object))
    kind = getattr(dtype, "kind", "O")
    if kind in "biuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind in "Mm":
        raise ValueError(f"{where} holds dates or times; convert them to numbers first")
    if kind == "c":
        raise ValueError(f"Complex data not supported: {where} holds complex numbers")
    values = series.astype(object)
    present = values[values.notna()]
    if any(isinstance(v, (str, bytes)) for v in present):
        return category_text(values)
    try:
        return np.array([np.nan if pd.isna(v) else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        example = next(v for v in present if not _is_number(v))
        raise ValueError(
            f"{where} holds values that are neither numbers nor text, such as "
            f"{type(example).__name__} {example!r}"
        ) from None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def category_text(values: Any) -> np.ndarray:
    """Strings, missing values (None, NaN, pd.NA, NaT) as None."""
    import pandas as pd

    array = np.array(values, dtype=object)
    missing = np.asarray(pd.isna(array), dtype=bool)
    array[missing] = None
    kept = np.flatnonzero(~missing)
    array[kept] = [v if type(v) is str else _category_name(v) for v in array[kept]]
    return array


def _category_name(value: Any) -> str:
    """A category as text: integral numbers without a trailing ".0" (so a numeric code
    reads the same whichever dtype carried it)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _refuse_infinite(table: Table, name: str) -> None:
    infinite = np.isinf(table.numbers)
    if infinite.any():
        columns = np.flatnonzero(infinite.any(axis=0))
        first_row = int(np.flatnonzero(infinite.any(axis=1))[0])
        raise ValueError(
            f"{name} has infinite values in column(s) "
            f"{describe_columns(columns, table.names)} (first bad row: {first_row})"
        )


# -- encoding --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnCode:
    """How one source column becomes model columns.

    kind "number": its value (missing -> `fill`; `fill` None: missing is refused, the rule
    of models saved before missing values were learnt), unless `values` is False (no value
    at fit); kind "category": one column per `categories` entry and one for `other`. Both
    add a "was missing" column when `flags_missing`.
    """

    name: str
    kind: str
    fill: float | None = None
    values: bool = True
    flags_missing: bool = False
    categories: tuple[str, ...] = ()
    other: bool = False

    def encoded_names(self) -> list[str]:
        if self.kind == "number":
            names = [self.name] if self.values else []
        else:
            names = [f"{self.name}={c}" for c in self.categories]
            names += [f"{self.name}={OTHER}"] if self.other else []
        return names + ([f"{self.name}={MISSING}"] if self.flags_missing else [])

    def encode(
        self, numbers: np.ndarray, text: np.ndarray | None, keep_missing: bool = False
    ) -> np.ndarray:
        """This column's block of model columns, for its values `numbers` / `text`; a
        missing number NaN with `keep_missing` (to be filled by `TableEncoder.fill_missing`),
        else its fill."""
        missing = np.isnan(numbers) if text is None else _none_mask(text)
        if self.kind == "number":
            block = self._number_block(numbers, missing, keep_missing)
        else:
            block = self._category_block(numbers if text is None else text, missing)
        if self.flags_missing:
            block = np.column_stack([block, missing.astype(np.float64)])
        return block

    def _number_block(
        self, numbers: np.ndarray, missing: np.ndarray, keep_missing: bool = False
    ) -> np.ndarray:
        if not self.values:
            return np.empty((len(numbers), 0))
        if missing.any() and self.fill is None:
            raise ValueError(
                f"X's column {self.name!r} has a missing value (first at row "
                f"{int(np.flatnonzero(missing)[0])}); this model was saved by a wvad that "
                "did not learn how to fill one: fill it, or refit with this wvad"
            )
        if keep_missing:
            return numbers[:, None]
        return np.where(missing, self.fill if self.fill is not None else 0.0, numbers)[:, None]

    def fills(self) -> list[float]:
        """What fills a missing value in each of this column's model columns (only a
        number's value column can hold one)."""
        fill = self.fill if self.fill is not None else 0.0
        values = [fill] if self.kind == "number" and self.values else []
        return values + [0.0] * (len(self.encoded_names()) - len(values))

    def _category_block(self, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
        import pandas as pd

        names = values if values.dtype == object else category_text(values)
        codes = pd.Index(self.categories, dtype=object).get_indexer(names)
        width = len(self.categories) + int(self.other)
        block = np.zeros((len(values), width))
        unseen = (codes < 0) & ~missing
        if self.other:
            codes = np.where(unseen, len(self.categories), codes)
        rows = np.flatnonzero(codes >= 0)
        block[rows, codes[rows]] = 1.0
        return block


def _none_mask(text: np.ndarray) -> np.ndarray:
    return np.asarray(text == None, dtype=bool)  # noqa: E711 (elementwise on objects)


@dataclass(frozen=True)
class TableEncoder:
    """The per-column codes of a training table (see the module's docstring)."""

    codes: tuple[ColumnCode, ...]
    names_given: bool = True
    sources: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        widths = [len(code.encoded_names()) for code in self.codes]
        object.__setattr__(self, "sources", tuple(np.repeat(np.arange(len(widths)), widths)))

    @classmethod
    def fit(cls, table: Table, categorical: Any, *, indicators: bool | str) -> TableEncoder:
        """Learn each column's code from the training `table`; `categorical` is
        "from_dtype" or further columns (names or positions) to read as categories;
        `indicators`: whether a number column with a missing value gets a "was missing"
        column (`Config.missing_indicators`): True, False, or "auto", where its missing
        values are not completely at random (`wvad.missingness.informative_missing`). A
        column with no value at fit keeps its indicator either way, the only thing it can
        say."""
        forced = _categorical_positions(categorical, table)
        names = table.column_names()
        texts = {
            j: table.text[j] if j in table.text else category_text(table.numbers[:, j])
            for j in range(table.width)
            if j in table.text or j in forced
        }
        flagged = _flagged_columns(table, texts, indicators)
        codes = []
        for j, name in enumerate(names):
            if j in texts:
                codes.append(_category_code(name, texts[j]))
            else:
                codes.append(_number_code(name, table.numbers[:, j], j in flagged))
        return cls(tuple(codes), table.names is not None)

    @classmethod
    def numeric(cls, names: Sequence[str] | None, width: int) -> TableEncoder:
        """The identity on `width` number columns that refuses missing values: what a model
        saved before the encoder existed did."""
        labels = list(names) if names is not None else [f"x{j}" for j in range(width)]
        return cls(tuple(ColumnCode(n, "number") for n in labels), names is not None)

    def encode(self, table: Table, *, keep_missing: bool = False) -> np.ndarray:
        """The model's columns for `table` (already checked to have the fitted columns); a
        missing number is its column's fill, or NaN with `keep_missing` (`fill_missing`
        fills it later and says where it was)."""
        if self.is_plain() and not table.text:
            return self._plain_numbers(table.numbers, keep_missing)
        for j in table.text:
            if self.codes[j].kind == "number":
                example = next((v for v in table.text[j] if v is not None), None)
                raise ValueError(
                    f"X's column {self.codes[j].name!r} holds text (such as {example!r}); "
                    "it held numbers in fit"
                )
        blocks = [
            code.encode(table.numbers[:, j], table.text.get(j), keep_missing)
            for j, code in enumerate(self.codes)
        ]
        return np.ascontiguousarray(np.column_stack(blocks), dtype=np.float64)

    def fill_missing(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Encoded rows `X` with every NaN (a missing number, `encode(keep_missing=True)`)
        replaced by its column's fill, and where they were (None: nowhere, and `X` is
        returned as it is)."""
        missing = np.isnan(X)
        if not missing.any():
            return X, None
        fills = np.array([f for code in self.codes for f in code.fills()], dtype=np.float64)
        return np.ascontiguousarray(np.where(missing, fills, X)), missing

    def is_plain(self) -> bool:
        """Every column a number read as itself (no indicator, no category)."""
        return all(c.kind == "number" and c.values and not c.flags_missing for c in self.codes)

    def _plain_numbers(self, numbers: np.ndarray, keep_missing: bool = False) -> np.ndarray:
        if keep_missing and all(c.fill is not None for c in self.codes):
            return np.ascontiguousarray(numbers)  # nothing to refuse: fill_missing finds NaNs
        missing = np.isnan(numbers)
        if not missing.any():
            return np.ascontiguousarray(numbers)
        columns = np.flatnonzero(missing.any(axis=0))
        for j in columns:
            self.codes[j]._number_block(numbers[:, j], missing[:, j])  # refuses a None fill
        if keep_missing:
            return np.ascontiguousarray(numbers)
        fills = np.array([c.fill if c.fill is not None else 0.0 for c in self.codes])
        return np.ascontiguousarray(np.where(missing, fills, numbers))

    def encoded_names(self) -> list[str]:
        return [n for code in self.codes for n in code.encoded_names()]

    def per_source(self, values: np.ndarray) -> np.ndarray:
        """Per-model-column `values` (rows x model columns) summed into their source
        columns (rows x source columns): a category's columns and an indicator into their
        column, for shares that add up, such as attributions."""
        out = np.zeros((values.shape[0], len(self.codes)))
        np.add.at(out.T, np.asarray(self.sources, dtype=np.int64), values.T)
        return out

    def category_blocks(self) -> tuple[tuple[int, ...], ...]:
        """Each categorical source column's model columns (its categories, "(other)" and
        "(missing)"), in column order: where a piece reads a category as one value
        (`trees.native_categories`)."""
        sources = np.asarray(self.sources, dtype=np.int64)
        return tuple(
            tuple(int(i) for i in np.flatnonzero(sources == j))
            for j, code in enumerate(self.codes)
            if code.kind == "category"
        )

    @property
    def source_names(self) -> list[str]:
        return [code.name for code in self.codes]

    def categorical_columns(self) -> list[str]:
        return [code.name for code in self.codes if code.kind == "category"]

    def document(self) -> dict[str, Any]:
        """The encoder as JSON (saved with the model)."""
        return {
            "names_given": self.names_given,
            "columns": [{**vars(code), "categories": list(code.categories)} for code in self.codes],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> TableEncoder:
        codes = tuple(
            ColumnCode(**{**c, "categories": tuple(c["categories"])}) for c in document["columns"]
        )
        return cls(codes, bool(document["names_given"]))


def _categorical_positions(categorical: Any, table: Table) -> set[int]:
    if isinstance(categorical, str) and categorical == "from_dtype":
        return set()
    names = table.column_names()
    positions = set()
    for ref in categorical:
        if isinstance(ref, str):
            if ref not in names:
                raise ValueError(
                    f"categorical_features names {ref!r}, which is not a column of X "
                    f"(columns: {describe_columns(range(len(names)), names)})"
                )
            positions.add(names.index(ref))
        elif not 0 <= int(ref) < table.width:
            raise ValueError(
                f"categorical_features holds position {ref}; X has {table.width} column(s)"
            )
        else:
            positions.add(int(ref))
    return positions


def _flagged_columns(
    table: Table, texts: dict[int, np.ndarray], indicators: bool | str
) -> set[int]:
    """The number columns (positions) that get a "was missing" column."""
    numeric = [j for j in range(table.width) if j not in texts]
    missing = [j for j in numeric if np.isnan(table.numbers[:, j]).any()]
    if indicators != "auto":
        return set(missing) if indicators else set()
    if not missing:
        return set()
    from wvad.missingness import informative_missing

    codes = [_text_codes(text) for text in texts.values()]
    informative = informative_missing(table.numbers[:, numeric], codes)
    return {j for j, flag in zip(numeric, informative, strict=True) if flag}


def _text_codes(text: np.ndarray) -> np.ndarray:
    """A categorical column's values as integer codes, -1 where missing."""
    import pandas as pd

    return pd.factorize(pd.Series(text, dtype=object))[0]


def _number_code(name: str, numbers: np.ndarray, indicators: bool) -> ColumnCode:
    missing = np.isnan(numbers)
    if missing.all():
        return ColumnCode(name, "number", fill=0.0, values=False, flags_missing=True)
    fill = float(np.median(numbers[~missing]))
    return ColumnCode(name, "number", fill=fill, flags_missing=indicators and bool(missing.any()))


def _category_code(name: str, text: np.ndarray) -> ColumnCode:
    present = np.array([v for v in text if v is not None], dtype=object)
    categories: list[str] = []
    other = False
    if present.size:
        found, counts = np.unique(present.astype(str), return_counts=True)
        order = sorted(range(len(found)), key=lambda i: (-counts[i], found[i]))
        kept = order[:MAX_CATEGORIES] if len(order) > MAX_CATEGORIES else order
        other = len(order) > len(kept)
        categories = sorted(str(found[i]) for i in kept)
    return ColumnCode(
        name,
        "category",
        categories=tuple(categories),
        other=other,
        flags_missing=bool(present.size < len(text)),
    )

"""Benchmark tables derived from a registered one, for a choice no registered table can
inform, built on the fly from the registered file (nothing is copied or stored).

- ``campaign-categories``: ADBench's campaign (UCI Bank Marketing; tuning table
  ``campaign``) with its one-hot blocks read back as the categorical columns they encode.
  ADBench one-hot encoded the source's ten categorical columns; nine are blocks of 3-12
  columns, each summing to one on every row (checked when the table is built), and
  ``contact`` is one 0/1 column, kept. So the same rows and labels as ``campaign``, as a
  user would hand them over: nine text columns beside 11 numbers. It is the tuning half's
  only table with categories of more than two values (the real tables, which have them,
  are report tables); what reads them natively is chosen on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CAMPAIGN_BLOCKS", "DERIVED_TABLES", "DerivedTable", "campaign_categories"]

#: campaign's one-hot blocks: (source column, first model column, end), in the source's order.
CAMPAIGN_BLOCKS: tuple[tuple[str, int, int], ...] = (
    ("job", 1, 13),
    ("marital", 13, 17),
    ("education", 17, 25),
    ("default", 25, 28),
    ("housing", 28, 31),
    ("loan", 31, 34),
    ("month", 35, 45),
    ("day_of_week", 45, 50),
    ("poutcome", 54, 57),
)


@dataclass(frozen=True)
class DerivedTable:
    """A table built from registered dataset `source`'s (X, y) by `build`."""

    name: str
    source: str
    build: Callable[[np.ndarray], Any]


def campaign_categories(X: np.ndarray) -> Any:
    """campaign's rows as a DataFrame: each one-hot block one text column (its values
    "<column>_<k>", k the block's column holding the row's 1), the other columns numbers
    named x<j> by their position in campaign."""
    import pandas as pd

    if X.shape[1] != 62:
        raise ValueError(f"campaign has 62 columns; this table has {X.shape[1]}")
    inside = np.zeros(X.shape[1], dtype=bool)
    columns: dict[str, Any] = {}
    for name, start, end in CAMPAIGN_BLOCKS:
        block = X[:, start:end]
        if not np.array_equal(np.sort(np.unique(block)), [0.0, 1.0]) or not np.all(
            block.sum(axis=1) == 1
        ):
            raise ValueError(f"campaign's columns {start}-{end - 1} are not one-hot ({name})")
        codes = block.argmax(axis=1)
        columns[name] = pd.Categorical([f"{name}_{k}" for k in codes])
        inside[start:end] = True
    numbers = {f"x{j}": X[:, j] for j in np.flatnonzero(~inside)}
    return pd.DataFrame(numbers | columns)


DERIVED_TABLES: dict[str, DerivedTable] = {
    "campaign-categories": DerivedTable("campaign-categories", "campaign", campaign_categories),
}

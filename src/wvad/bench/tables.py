"""How each benchmark model reads a mixed table (text columns, missing values).

WVAD and CatBoost read the DataFrames themselves (`reads_tables`): WVAD through its own
encoding (`wvad.encoding`), CatBoost natively (its categorical features and missing
values). Every other peer gets the usual preprocessing, fitted on the training part:
scikit-learn's median imputation with a "was missing" indicator and min-max scaling for
the numbers, and one-hot encoding (missing as a category, unseen ones as zeros) for the
text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wvad.protocol import is_mixed_table

__all__ = ["model_inputs", "peer_preprocessing"]

MISSING_CATEGORY = "(missing)"


def model_inputs(model: Any, X_train: Any, X_test: Any) -> tuple[Any, Any]:
    """The training and test parts as `model` reads them: a mixed table, or an array with
    removed cells (NaN), preprocessed for the peers that read complete numbers only."""
    if getattr(model, "reads_tables", False) or not _needs_reading(X_train, X_test):
        return X_train, X_test
    import pandas as pd

    train, test = (pd.DataFrame(x).rename(columns=str) for x in (X_train, X_test))
    preprocessing = peer_preprocessing(train).fit(train)
    return preprocessing.transform(train), preprocessing.transform(test)


def _needs_reading(X_train: Any, X_test: Any) -> bool:
    if is_mixed_table(X_train):
        return True
    return bool(np.isnan(X_train).any() or np.isnan(X_test).any())


def _text_as_categories(frame: Any) -> Any:
    return frame.astype(object).where(frame.notna(), MISSING_CATEGORY).astype(str)


def peer_preprocessing(frame: Any) -> Any:
    """The ColumnTransformer for the peers that read numbers only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder

    numeric = [c for c, dt in frame.dtypes.items() if getattr(dt, "kind", "O") in "biuf"]
    text = [c for c in frame.columns if c not in numeric]
    numbers = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        MinMaxScaler(),
    )
    categories = make_pipeline(
        FunctionTransformer(_text_as_categories),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
    )
    return ColumnTransformer(
        [("numbers", numbers, numeric), ("categories", categories, text)],
        sparse_threshold=0.0,
    )

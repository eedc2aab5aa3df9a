"""Gradient-boosted classifiers on the weak labels: the practitioner's plain baseline.

ADBench's semi-supervised setting for its supervised models: the library's defaults, the
labeled anomalies as class 1 and every unlabeled row as class 0 (Han et al., NeurIPS 2022;
CatBoost is its best method at 10% labeled). No anomaly-detection machinery at all, which
is what makes them the bar a specialised detector has to clear.

- `CatBoost` (Prokhorenkova et al., NeurIPS 2018): `CatBoostClassifier` with its defaults;
  it reads text columns as its categorical features and missing numbers natively, as a
  user would hand it a table.
- `LightGBM` (Ke et al., NeurIPS 2017): `LGBMClassifier` with its defaults.

Both score by the raw log-odds (the margin before the sigmoid), which ranks like the
class-1 probability but does not saturate into ties.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from wvad.base import BaseDetector, store_params
from wvad.encoding import Table, category_text, read_table
from wvad.runtime import resolve_seed

__all__ = ["CatBoost", "LightGBM"]


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"this peer needs the optional benchmark dependency {module}; install it with "
            "`pip install wvad[bench]`"
        ) from exc


class _BoostedClassifier(BaseDetector):
    """A classifier of labeled anomalies (1) against unlabeled rows (0), library defaults.

    `n_jobs` threads; `device` is accepted for a uniform peer interface (CPU only).
    """

    def __init__(
        self,
        n_jobs: int = 1,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit(self, X: np.ndarray, y: np.ndarray, normal: np.ndarray) -> None:
        self.seed_ = resolve_seed(self.random_state)
        self.model_ = self._classifier().fit(X, y)
        self.history_: list[float] = []  # no epochs to report


class CatBoost(_BoostedClassifier):
    """CatBoost with its defaults on the weak labels; score = raw log-odds. Text columns
    are its categorical features (a missing one the category "(missing)"), missing numbers
    its own NaN handling."""

    reads_tables = True

    def _classifier(self) -> Any:
        catboost = _require("catboost")
        return catboost.CatBoostClassifier(
            random_seed=self.seed_,
            thread_count=self.n_jobs,
            verbose=self.verbose,
            allow_writing_files=False,  # no catboost_info/ folder in the caller's directory
            cat_features=list(self.categorical_) or None,
        )

    def _fit_input(self, X: Any) -> tuple[Any, list[str] | None, int]:
        table = read_table(X)
        self.categorical_ = tuple(sorted(table.text))
        return self._as_pool_input(table), table.names, table.width

    def _validate_for_scoring(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "categorical_")
        return self._as_pool_input(self._scoring_table(X))

    def _as_pool_input(self, table: Table) -> Any:
        """Numbers as a float array (NaN kept), or with categories a DataFrame whose
        categorical columns are strings."""
        if not self.categorical_:
            return table.numbers
        import pandas as pd

        frame = pd.DataFrame(table.numbers)
        for j in self.categorical_:
            values = table.text.get(j)
            text = category_text(table.numbers[:, j]) if values is None else values
            frame[j] = np.where(text == None, "(missing)", text).astype(str)  # noqa: E711
        return frame

    def _score(self, X: Any) -> np.ndarray:
        raw = self.model_.predict(X, prediction_type="RawFormulaVal")
        return np.asarray(raw, dtype=np.float64)


class LightGBM(_BoostedClassifier):
    """LightGBM with its defaults on the weak labels; score = raw log-odds."""

    def _classifier(self) -> Any:
        lightgbm = _require("lightgbm")
        return lightgbm.LGBMClassifier(
            random_state=self.seed_, n_jobs=self.n_jobs, verbose=1 if self.verbose else -1
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(X, raw_score=True), dtype=np.float64)

"""The detector face shared by WVAD and the peers: PyOD's conventions on scikit-learn's base.

A subclass implements `_fit(X, y)` and `_score(X)` on validated float arrays (`_fit` may
return the training rows' scores where those differ from `_score`'s); this class owns
input checking, the training-score threshold and the derived `predict` / `predict_proba`.

Outlier convention: PyOD's. `predict` returns 1 for an anomaly and 0 for a normal row, and
`decision_function` is higher for more anomalous rows. scikit-learn's outlier detectors
return -1 / +1 and score normal rows higher, so these detectors do not use its
`OutlierMixin`: they are plain estimators to scikit-learn, and `clone`, `get_params` and
pipelines work as usual.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erf
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, Tags
from sklearn.utils.validation import check_is_fitted

from wvad.checks import OneOf, Real
from wvad.encoding import Table, read_table
from wvad.validation import check_consistent, check_known_normal, check_labels, check_X

__all__ = ["BaseDetector", "store_params"]

#: PyOD's range for the expected share of anomalies.
CONTAMINATION = Real(0.0, 0.5, open_low=True)
PROBABILITY_METHODS = OneOf(("linear", "unify"))


def store_params(estimator: Any, arguments: dict[str, Any]) -> None:
    """Store every constructor argument (`locals()` in `__init__`) unchanged under its own
    name: scikit-learn's contract, which `get_params` and `clone` read back."""
    vars(estimator).update({k: v for k, v in arguments.items() if k not in ("self", "__class__")})


class BaseDetector(BaseEstimator):
    """Weakly-supervised detector: y marks known anomalies with 1, unlabeled rows with 0.

    Higher `decision_function` means more anomalous. `threshold_` is the training-score
    quantile at 1 - `contamination`; `predict` returns 1 for rows above it. A `fit` that
    fails leaves the detector as it was before the call (unfitted, or fitted as before).
    """

    #: Weakly-supervised detectors refuse to fit without at least one labeled anomaly.
    requires_labels: bool = True
    #: Whether `fit` takes `known_normal`, rows known to be normal (only WVAD does).
    accepts_known_normals: bool = False
    #: Whether `fit` reads tables with text columns and missing values itself (else a
    #: benchmark hands it numbers, `wvad.bench.tables`).
    reads_tables: bool = False

    def __sklearn_tags__(self) -> Tags:
        """Binary weak labels are needed (ClassifierTags(multi_class=False) says "binary
        targets" to scikit-learn's checks; the detector is no classifier)."""
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.requires_labels
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags

    contamination: float

    # -- to implement -------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray, normal: np.ndarray) -> np.ndarray | None:
        """Fit on rows X, weak labels y and the known normal mask (all False for the
        detectors that take none); return the training rows' scores if a training row must
        be scored unlike a new row (a row is not its own neighbour), else None."""
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- public face ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, known_normal: Any = None) -> BaseDetector:
        """Fit on X with weak labels y (1 = known anomaly, 0 = not known to be one); returns
        self. `known_normal` marks, among the rows with y = 0, those known to be normal
        (a boolean mask), for the detectors that use them (`accepts_known_normals`)."""
        before = _fitted_state(self)
        _clear_fitted_state(self)
        try:
            self._fit_checked(X, y, known_normal)
        except BaseException:
            _clear_fitted_state(self)
            self.__dict__.update(before)
            raise
        return self

    def _fit_checked(self, X: Any, y: Any, known_normal: Any) -> None:
        self._check_contamination()
        X_arr, names, width = self._fit_input(X)
        if X_arr.shape[0] < 2:
            raise ValueError("X has 1 sample (n_samples=1); fit needs at least 2 rows")
        y_arr = self._check_fit_labels(y, X_arr.shape[0])
        if known_normal is not None and not self.accepts_known_normals:
            raise ValueError(f"{type(self).__name__} does not use known normal rows")
        normal = check_known_normal(known_normal, y_arr)
        self.n_features_in_ = width
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        training_scores = self._fit(X_arr, y_arr, normal)
        self.decision_scores_ = self._score(X_arr) if training_scores is None else training_scores
        self._set_threshold(self.decision_scores_, y_arr)

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly score per row; higher means more anomalous."""
        return self._score(self._validate_for_scoring(X))

    def predict(self, X: Any) -> np.ndarray:
        """1 for rows scored above `threshold_`, else 0."""
        scores = self.decision_function(X)
        return (scores > self.threshold_).astype(np.int64)

    def predict_proba(self, X: Any, method: str = "linear") -> np.ndarray:
        """Probability of [normal, anomalous] per row, derived from the training scores.

        method="linear" rescales scores by the training minimum and maximum (clipped to
        [0, 1]); method="unify" applies a Gaussian CDF to standardized scores
        (Kriegel et al. 2011), as in PyOD.
        """
        scores = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            lo, hi = float(train.min()), float(train.max())
            p = (scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)
            p = np.clip(p, 0.0, 1.0)
        elif method == "unify":
            std = float(train.std())
            z = (scores - float(train.mean())) / (std if std > 0 else 1.0)
            p = np.clip(erf(z / np.sqrt(2.0)), 0.0, 1.0)
        else:
            PROBABILITY_METHODS.check("method", method)
        return np.column_stack([1.0 - p, p])

    # -- helpers --------------------------------------------------------------------------
    def _fit_input(self, X: Any) -> tuple[np.ndarray, list[str] | None, int]:
        """The training rows as the float array `_fit` reads, the table's column names and
        its width (as given: a detector that encodes columns may read more)."""
        X_arr, names = check_X(X)
        return X_arr, names, X_arr.shape[1]

    def _validate_for_scoring(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X_arr, names = check_X(X)
        self._check_fitted_columns(X_arr.shape[1], names)
        return X_arr

    def _scoring_table(self, X: Any) -> Table:
        """X read as a table (`wvad.encoding.read_table`: text and missing values kept) and
        checked to have the fitted columns, for the detectors that read tables."""
        check_is_fitted(self, "n_features_in_")
        table = read_table(X)
        self._check_fitted_columns(table.width, table.names)
        return table

    def _check_fitted_columns(self, width: int, names: list[str] | None) -> None:
        fitted_names = getattr(self, "feature_names_in_", None)
        check_consistent(
            width,
            names,
            self.n_features_in_,
            None if fitted_names is None else list(fitted_names),
            model=type(self).__name__,
        )

    def _check_fit_labels(self, y: Any, n_rows: int) -> np.ndarray:
        if y is None:
            if self.requires_labels and not getattr(self, "allow_unsupervised", False):
                raise ValueError(
                    f"{type(self).__name__} is weakly supervised: fit(X, y) needs labels y with "
                    "1 for known anomalies and 0 for unlabeled rows" + self._unsupervised_hint()
                )
            return np.zeros(n_rows, dtype=np.int64)
        y_arr = check_labels(y, n_rows)
        if (
            self.requires_labels
            and not getattr(self, "allow_unsupervised", False)
            and not y_arr.any()
        ):
            raise ValueError(
                "y has no labeled anomalies (no 1s); at least one known anomaly is needed"
                + self._unsupervised_hint()
            )
        return y_arr

    def _unsupervised_hint(self) -> str:
        if "allow_unsupervised" in self.get_params():
            return f"; pass {type(self).__name__}(allow_unsupervised=True) to train without any"
        return ""

    def _check_contamination(self) -> None:
        CONTAMINATION.check("contamination", self.contamination)

    def _set_threshold(self, scores: np.ndarray, y: np.ndarray) -> None:
        """`threshold_` and `labels_` from the training scores (and weak labels `y`)."""
        self.threshold_ = float(np.quantile(scores, 1.0 - float(self.contamination)))
        self.labels_ = (scores > self.threshold_).astype(np.int64)


def _is_fitted_name(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


def _fitted_state(detector: BaseDetector) -> dict[str, Any]:
    """The learned attributes (scikit-learn's convention: a name ending in "_")."""
    return {k: v for k, v in vars(detector).items() if _is_fitted_name(k)}


def _clear_fitted_state(detector: BaseDetector) -> None:
    for name in list(_fitted_state(detector)):
        delattr(detector, name)

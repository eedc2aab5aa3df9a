"""WVAD: the weakly-supervised variational-mixture anomaly detector (Tan et al., 2024).

The estimator wires the parts and owns no maths: it validates and scales the input, asks
the fused score (`wvad.fused`) to cross-fit its supervised pieces, trains the mixture
(`wvad.training`), asks the fused score to fit, and delegates scoring to it.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from wvad.archive import load_wvad, save_wvad
from wvad.base import BaseDetector, store_params
from wvad.checks import Columns, Either, Flag, Int, OneOf, Real
from wvad.config import CONFIG_FIELDS, Config, parameter_docs
from wvad.encoding import TableEncoder, read_table
from wvad.evidence import Rows, TrainingData, iter_rows
from wvad.explain import explain_frame
from wvad.fused import RECALL, ScorePlan
from wvad.model.mixture import MixtureFeatures
from wvad.presets import DEFAULT, preset_config
from wvad.runtime import resolve_device, resolve_seed, steady_arithmetic
from wvad.scaling import Scaler
from wvad.suggest import DEFAULT_STRATEGY, REASON_STEPS
from wvad.training import TrainedMixture, fit_mixture
from wvad.validation import check_mixture_rows

__all__ = ["WVAD"]

#: The threshold rule: the contamination quantile, or a target recall of the labels.
THRESHOLD = Either(OneOf(("contamination",)), RECALL)
#: Which columns are categories: those holding text, or those and further ones named.
CATEGORICAL = Either(OneOf(("from_dtype",)), Columns())
#: The settings a warm start keeps: the shape of the network it continues.
NETWORK_SETTINGS = ("latent_dim", "hidden_dims", "head_hidden_dims", "head_features")


class WVAD(TransformerMixin, BaseDetector):
    """Weakly-supervised Variational-mixture-model-based Anomaly Detector.

    Fit on a table X with weak labels y: 1 for the rows known to be anomalies, 0 for every
    other (unlabeled) row. A deep variational mixture model learns the unlabeled data; its
    five per-row features (cluster probabilities, latent mean, cluster entropy, relative
    reconstruction error, cosine similarity) feed a score estimator trained jointly to
    separate the labeled anomalies. The default score fuses that estimator with further
    evidence (`wvad.fused`). Higher `decision_function` means more anomalous; `transform`
    gives the five features, so WVAD is also a scikit-learn transformer.

    Parameters
    ----------
    The configuration (`wvad.config.Config`, each setting declared there once); the
    defaults are the "default" preset (`WVAD.from_preset("paper")`: the paper's):

    {settings}

    The detector's own:

    categorical_features : "from_dtype" (default: the columns holding text, i.e. pandas
        `object`, `string` and `category` columns and numpy string arrays, are categories)
        or a sequence of further column names or positions to read as categories (numeric
        codes). See `wvad.encoding` for how columns, missing values and categories unseen
        in fit are encoded.
    contamination : expected share of anomalies; sets `threshold_` for `predict`.
    threshold : "contamination" (the training scores' 1 - contamination quantile, PyOD's
        rule) or a target recall in (0, 1]: `threshold_` flags that share of the labeled
        anomalies scored as held out (`threshold_for_recall`), and `flagged_share_` says
        which share of the unlabeled training rows it flags.
    allow_unsupervised : permit fit without labeled anomalies.
    warm_start : bool, default False. With True, a fit after an earlier one continues that
        fit's mixture (and score estimator) for `warm_epochs` joint epochs instead of
        training one from the start, and refits every other piece on the new labels: the
        cheaper update of a labelling loop. The table must encode to the same columns and
        the network settings (latent_dim, hidden_dims, head_hidden_dims, head_features,
        a fixed n_clusters) must be those of the earlier fit.
    device : "auto" (CUDA when available), "cpu" or "cuda".
    random_state : seed for initialisation, sampling and EM; same seed, same scores.
    verbose : show a progress bar over epochs.

    Attributes
    ----------
    config_ : Config, the checked configuration of the fit.
    mixture_ : the trained `VariationalMixture` (torch module).
    score_ : the fitted `FusedScore`: its pieces, weights and cross-fitted Ginis.
    scaler_ : the `Scaler` fitted on the training rows.
    score_mode_ : the read-out used ("elbo" where "head" met a fit without labels).
    n_clusters_ : mixture components (chosen by BIC for n_clusters="auto").
    n_features_in_, feature_names_in_ : the training table's width and column names.
    encoder_ : the `TableEncoder` that turns its columns (numbers with missing values,
        categories) into the model's columns (`encoder_.encoded_names()`).
    n_samples_fit_, n_labeled_ : training rows, and labeled anomalies among them.
    labeled_rows_ : the labeled anomalies' positions among the training rows.
    labels_set_aside_ : the positions of those the fit set aside as doubtful
        (`fusion.set_aside_doubtful`; `labels_to_recheck`), fitted as if unlabeled.
    decision_scores_, threshold_, labels_ : training scores, the threshold (see
        `threshold`), and the training rows' 0/1 predictions (PyOD's names).
    flagged_share_ : the share of the unlabeled training rows above `threshold_`.
    history_, fit_seconds_ : per-epoch loss means, wall time of the fit; seed_, device_.
    """

    def __init__(
        self,
        *,
        n_clusters: int | str = DEFAULT.n_clusters,
        latent_dim: int = DEFAULT.latent_dim,
        hidden_dims: tuple[int, ...] = DEFAULT.hidden_dims,
        head_hidden_dims: tuple[int, ...] = DEFAULT.head_hidden_dims,
        head_features: tuple[str, ...] = DEFAULT.head_features,
        pretrain_epochs: int = DEFAULT.pretrain_epochs,
        warmup_epochs: int = DEFAULT.warmup_epochs,
        joint_epochs: int = DEFAULT.joint_epochs,
        warm_epochs: int = DEFAULT.warm_epochs,
        epoch_rows: int | None = DEFAULT.epoch_rows,
        pretrain_epoch_rows: int | None = DEFAULT.pretrain_epoch_rows,
        warmup_lambda: float = DEFAULT.warmup_lambda,
        joint_lambda: float = DEFAULT.joint_lambda,
        anomaly_penalty: float = DEFAULT.anomaly_penalty,
        batch_size: int = DEFAULT.batch_size,
        joint_batch_size: int = DEFAULT.joint_batch_size,
        anomaly_batch_size: int = DEFAULT.anomaly_batch_size,
        learning_rate: float = DEFAULT.learning_rate,
        weight_decay: float = DEFAULT.weight_decay,
        score_mode: str = DEFAULT.score_mode,
        fusion_prior: float = DEFAULT.fusion_prior,
        n_neighbors: int = DEFAULT.n_neighbors,
        clean_unlabeled: bool = DEFAULT.clean_unlabeled,
        scaling: str = DEFAULT.scaling,
        missing_indicators: bool | str = DEFAULT.missing_indicators,
        numerics: Any = DEFAULT.numerics,
        deviation: Any = DEFAULT.deviation,
        trees: Any = DEFAULT.trees,
        fusion: Any = DEFAULT.fusion,
        categorical_features: Any = "from_dtype",
        contamination: float = 0.1,
        threshold: str | float = "contamination",
        allow_unsupervised: bool = False,
        warm_start: bool = False,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    @classmethod
    def from_preset(cls, name: str = "default", **params: Any) -> WVAD:
        """A WVAD with preset `name`'s configuration ("default" or "paper", see
        `wvad.presets`), any of its parameters overridden by `params`."""
        return cls(**{**preset_config(name).params(), **params})

    def get_config(self) -> Config:
        """The checked configuration these parameters give (a ValueError names a bad one)."""
        return Config(**{name: getattr(self, name) for name in CONFIG_FIELDS})

    def __sklearn_tags__(self) -> Any:
        """Missing values and text categories are input WVAD reads (`wvad.encoding`)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # -- fitting --------------------------------------------------------------------------
    accepts_known_normals = True
    reads_tables = True

    def fit(self, X: Any, y: Any = None, *, known_normal: Any = None) -> WVAD:
        """Fit on X with weak labels y (1 = known anomaly, 0 = not known to be one); returns
        self. `known_normal` marks, among the rows with y = 0, those known to be normal (a
        boolean mask). With `warm_start` and an earlier fit, the mixture continues from
        that fit's."""
        # read before the fit clears the learned state; a failed fit restores it
        self._warm_from = self._previous_mixture()
        try:
            return super().fit(X, y, known_normal=known_normal)
        finally:
            del self._warm_from

    def _previous_mixture(self) -> tuple[TrainedMixture, Config, list[str]] | None:
        """With `warm_start`, the fitted mixture and score estimator, the configuration they
        were trained with and the encoded columns they read; None for a fit from the start."""
        if not Flag().check("warm_start", self.warm_start) or not hasattr(self, "score_"):
            return None
        head = self.score_.pieces.get("head")
        trained = TrainedMixture(self.mixture_, getattr(head, "head", None), {})
        return trained, self.config_, self.encoder_.encoded_names()

    def _warm_start(self, config: Config) -> TrainedMixture | None:
        """The mixture a warm start continues (None: none to continue), refused where this
        fit's columns or network settings differ from those it was trained with."""
        if self._warm_from is None:
            return None
        trained, before, names = self._warm_from
        changed = [n for n in NETWORK_SETTINGS if getattr(config, n) != getattr(before, n)]
        if config.n_clusters not in ("auto", trained.network.n_clusters):
            changed.append("n_clusters")
        if changed:
            raise ValueError(
                f"warm_start=True continues the previous fit's network, but {changed} "
                "changed since; fit with warm_start=False to train a new one"
            )
        now = self.encoder_.encoded_names()
        if now != names:
            raise ValueError(
                f"warm_start=True continues the previous fit's network, which read {len(names)} "
                f"encoded columns; this table encodes to {len(now)} other ones; fit with "
                "warm_start=False to train a new one"
            )
        return trained

    @steady_arithmetic()
    def _fit(self, X: np.ndarray, y: np.ndarray, normal: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        config, _ = self.get_config(), self._recall_target()  # bad settings fail before work
        start = self._warm_start(config)
        check_mixture_rows(y, config.n_clusters)
        seed, device = resolve_seed(self.random_state), resolve_device(self.device)
        X, missing = self.encoder_.fill_missing(X)
        scaler = Scaler.fit(X, config.scaling, config.numerics.max_scaled)
        plain_array = self.encoder_.is_plain() and not self.encoder_.names_given
        names = None if plain_array else self.encoder_.encoded_names()  # None: by position
        rows = scaler.training_rows(X, names)
        blocks = self.encoder_.category_blocks()
        data = TrainingData(rows, y, seed, device, normal, missing, categories=blocks)
        plan = ScorePlan.make(data, config)
        negatives, used = plan.normal_unlabeled(), plan.data.y  # the labels it keeps
        mixture = fit_mixture(
            data.X, used, config, seed, device, head_negatives=negatives, start=start,
            verbose=self.verbose,
        )  # fmt: skip
        score, training_scores = plan.fit(config, mixture)
        self.config_, self.seed_, self.device_, self.scaler_ = config, seed, device, scaler
        self.mixture_, self.score_, self.history_ = mixture.network, score, mixture.history
        self.score_mode_, self.n_clusters_ = score.mode, mixture.network.n_clusters
        self.n_samples_fit_, self.n_labeled_ = int(X.shape[0]), data.n_labeled
        self.labeled_rows_ = np.flatnonzero(y == 1)
        self.labels_set_aside_ = self.labeled_rows_[score.set_aside]
        self.n_known_normal_ = int(normal.sum())
        self.fit_seconds_ = time.perf_counter() - started
        return training_scores

    def _fit_input(self, X: Any) -> tuple[np.ndarray, list[str] | None, int]:
        """Learn the training table's encoding (`wvad.encoding`) and encode it."""
        categorical = CATEGORICAL.check("categorical_features", self.categorical_features)
        indicators = self.get_config().missing_indicators
        table = read_table(X)
        self.encoder_ = TableEncoder.fit(table, categorical, indicators=indicators)
        return self.encoder_.encode(table, keep_missing=True), table.names, table.width

    def _validate_for_scoring(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return self.encoder_.encode(self._scoring_table(X), keep_missing=True)

    def threshold_for_recall(self, recall: float) -> float:
        """The threshold above which `predict` flags at least `recall` of the labeled
        anomalies, scored with the cross-fitted pieces held out
        (`FusedScore.threshold_for_recall`)."""
        check_is_fitted(self, "score_")
        return self.score_.threshold_for_recall(recall)

    def _set_threshold(self, scores: np.ndarray, y: np.ndarray) -> None:
        target = self._recall_target()
        if target is None:
            super()._set_threshold(scores, y)
        else:
            self.threshold_ = self.threshold_for_recall(target)
            self.labels_ = (scores > self.threshold_).astype(np.int64)
        self.flagged_share_ = float(self.labels_[y == 0].mean()) if (y == 0).any() else 0.0

    def _recall_target(self) -> float | None:
        """The `threshold` parameter, checked: None for "contamination", else the recall."""
        target = THRESHOLD.check("threshold", self.threshold)
        return None if target == "contamination" else target

    def labels_to_recheck(self, max_rank: float | None = None) -> Any:
        """The labeled anomalies worth a second look, most doubtful first, as a pandas
        DataFrame: `row` (position among the training rows), `mean_rank` and one column per
        piece that did not learn from the labels (the neighbour distance, the cross-fitted
        pieces' held-out scores): the row's rank among the unlabeled training rows on it,
        0 = the most typical, 1 = beyond all; and `set_aside`, whether the fit set the label
        aside (`labels_set_aside_`). By default a label is listed when its mean rank is an
        outlier low among the labels' (`FusedScore.labels_to_recheck`); with `max_rank`,
        when it is below that. Empty without such pieces."""
        import pandas as pd

        check_is_fitted(self, "score_")
        if max_rank is not None:
            max_rank = Real(0.0, 1.0, open_low=True).check("max_rank", max_rank)
        ranks, found = self.score_.label_ranks, self.score_.labels_to_recheck(max_rank)
        rows = [int(self.labeled_rows_[i]) for i, _ in found]
        return pd.DataFrame(
            {
                "row": rows,
                "mean_rank": [rank for _, rank in found],
                "set_aside": np.isin(rows, self.labels_set_aside_),
                **{name: [float(v[i]) for i, _ in found] for name, v in ranks.items()},
            }
        )

    def suggest(
        self, X: Any, n: int = 10, *, exclude: Any = None, strategy: str = DEFAULT_STRATEGY
    ) -> Any:
        """The `n` rows of `X` most worth an analyst's look, in the order to ask, as a
        pandas DataFrame: `row` (position in X), `score`, `uncertainty` (1 at the
        threshold, `wvad.suggest.uncertainty`), `why` ("high score" or "near the
        threshold") and the row's `column` with the largest share of its score's distance
        from a typical row (`explain`), with that `share`. `exclude`: the rows already
        labeled either way (a boolean mask or positions), never suggested. `strategy`:
        "top" (default), "uncertain" or "mixed" (`wvad.suggest`)."""
        import pandas as pd

        from wvad.suggest import choose_rows, uncertainty

        check_is_fitted(self, "score_")
        n = Int(1).check("n", n)
        scores = self.decision_function(X)
        candidates = _candidates(exclude, len(scores))
        gap = np.abs(scores - self.threshold_)
        n_labels = int(self.n_labeled_) + int(self.n_known_normal_)
        chosen = choose_rows(scores, gap, candidates, n, strategy, n_labels)
        rows = np.array([c.row for c in chosen], dtype=np.int64)
        columns, shares = self._leading_columns(X, rows)
        return pd.DataFrame(
            {
                "row": rows,
                "score": scores[rows],
                "uncertainty": uncertainty(scores[rows], self.threshold_, self.decision_scores_),
                "why": [c.why for c in chosen],
                "column": columns,
                "share": shares,
            }
        )

    def _leading_columns(self, X: Any, rows: np.ndarray) -> tuple[list[str], list[float]]:
        from wvad.suggest import leading_columns

        if rows.size == 0:
            return [], []
        subset = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
        return leading_columns(self.explain(subset, steps=REASON_STEPS), rows.size)

    def score_weights(self) -> dict[str, float]:
        """Each piece's weight in a fused score ("fusion" or "stacked"), by name; empty for
        the read-outs of one piece alone."""
        check_is_fitted(self, "score_")
        return self.score_.weights()

    # -- scoring --------------------------------------------------------------------------
    def _rows(self, X: np.ndarray) -> Iterator[Rows]:
        """Encoded rows `X` (NaN where a number is missing) filled, scaled, in chunks."""
        filled, missing = self.encoder_.fill_missing(X)
        scale = self.scaler_.on(self.device_)
        return iter_rows(filled, self.device_, self.mixture_, scale, missing=missing)

    @steady_arithmetic()
    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.score_.score(self._rows(X))

    def _features(self, X: Any) -> list[MixtureFeatures]:
        with torch.inference_mode(), steady_arithmetic():
            return [rows.features for rows in self._rows(self._validate_for_scoring(X))]

    @steady_arithmetic()
    def explain(self, X: Any, *, steps: int = 32) -> Any:
        """Why each row scores as it does, as a tidy pandas DataFrame (row, part, piece,
        column, value, method): per piece its contribution ("piece"; they sum to
        `decision_function`), the reference row's ("reference") and its columns' shares
        ("column"; with the reference's they sum to the piece's, exactly for the trees,
        up to `steps`-point integrated gradients for the others). See `wvad.explain`."""
        check_is_fitted(self, "score_")
        steps = Int(1).check("steps", steps)
        return explain_frame(self, self._validate_for_scoring(X), self.encoder_, steps)

    @steady_arithmetic()
    def label_free_decision_function(self, X: Any) -> np.ndarray:
        """What the fitted pieces say with no label used to weigh them: the unsupervised
        ones (log f_r, negative ELBO, neighbour distance) alike (`FusedScore.label_free`)."""
        check_is_fitted(self, "score_")
        return self.score_.label_free().score(self._rows(self._validate_for_scoring(X)))

    @steady_arithmetic()
    def score_and_transform(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """`decision_function(X)` and `transform(X)` with one pass of the mixture per chunk
        of rows (what writing scores with their clusters, or plotting, needs)."""
        check_is_fitted(self, "score_")
        features: list[np.ndarray] = []

        def rows() -> Iterator[Rows]:
            for chunk in self._rows(self._validate_for_scoring(X)):
                yield chunk  # scored first; its features are computed once, cached on it
                features.append(chunk.features.stack().double().cpu().numpy())

        scores = self.score_.score(rows())
        return scores, np.concatenate(features)

    @steady_arithmetic()
    def transform(self, X: Any) -> np.ndarray:
        """The five-feature matrix [y (K), z (D), f_e, f_r, f_c]; see get_feature_names_out."""
        return np.concatenate([f.stack().double().cpu().numpy() for f in self._features(X)])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Column names of `transform`'s output."""
        check_is_fitted(self, "mixture_")
        names = [f"y{k}" for k in range(self.n_clusters_)]
        names += [f"z{d}" for d in range(self.mixture_.latent_dim)]
        return np.asarray([*names, "f_e", "f_r", "f_c"], dtype=object)

    @steady_arithmetic()
    def reconstruction_errors(self, X: Any) -> np.ndarray:
        """Squared reconstruction error per row and input column, in the scaled space (a
        category's and a missing indicator's model columns summed into their column): the
        largest entries name the columns the mixture explains worst (rows sum to
        ||x - x^||^2, f_r's numerator squared)."""
        with torch.inference_mode():
            parts = [
                self.mixture_.reconstruction_errors(rows.x).double().cpu().numpy()
                for rows in self._rows(self._validate_for_scoring(X))
            ]
        return self.encoder_.per_source(np.concatenate(parts))

    def predict_cluster(self, X: Any) -> np.ndarray:
        """Index of the most probable mixture component per row."""
        parts = [f.y.argmax(dim=1).cpu().numpy() for f in self._features(X)]
        return np.concatenate(parts).astype(np.int64)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to a directory (JSON config + tensors, no pickle)."""
        check_is_fitted(self, "score_", msg="only a fitted WVAD can be saved; call fit first")
        return save_wvad(self, Path(path), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> WVAD:
        """Read a model written by `save`; scores are bit-identical on the same device."""
        return load_wvad(cls, Path(path), device)[0]


def _candidates(exclude: Any, n_rows: int) -> np.ndarray:
    """The rows that may be suggested: all but `exclude` (a boolean mask or positions)."""
    candidates = np.ones(n_rows, dtype=bool)
    if exclude is None:
        return candidates
    marks = np.asarray(exclude)
    if marks.dtype == bool:
        if marks.shape != (n_rows,):
            raise ValueError(
                f"exclude must be one flag per row ({n_rows}); got shape {marks.shape}"
            )
        return ~marks
    if marks.dtype.kind not in "iu" or marks.ndim != 1:
        raise ValueError("exclude must be a boolean mask or a list of row positions")
    if marks.size and (marks.min() < 0 or marks.max() >= n_rows):
        raise ValueError(f"exclude holds a position outside 0..{n_rows - 1}")
    candidates[marks] = False
    return candidates


WVAD.__doc__ = WVAD.__doc__.replace("    {settings}", textwrap.indent(parameter_docs(), "    "))

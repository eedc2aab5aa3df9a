"""Every setting that changes a WVAD fit's result, typed, checked and visible.

`Config` mirrors `WVAD`'s constructor: one field per parameter that changes scores, so a
fitted model's `config_` says exactly how it was fitted and tests can shorten any part of
it. The deeper knobs are grouped in frozen settings objects (`Numerics`, `DeviationSettings`,
`TreeSettings`, `FusionSettings`), passed to `WVAD` as `numerics=`, `deviation=`, `trees=`
and `fusion=`. The presets (`wvad.presets`) are instances of `Config`.

Each class checks its own values when built, so a bad setting fails with a message that
names it, before any training starts.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "CONFIG_FIELDS",
    "FEATURE_GROUPS",
    "SCORE_MODES",
    "Config",
    "DeviationSettings",
    "FusionSettings",
    "Numerics",
    "TreeSettings",
]

#: The score estimator's input groups, in their canonical order (the paper's five features).
FEATURE_GROUPS = ("y", "z", "f_e", "f_r", "f_c")
#: Read-outs of the score (`wvad.fused.READOUTS` says what each reads).
SCORE_MODES = ("stacked", "fusion", "head", "elbo", "reconstruction")
SCALINGS = ("minmax", "standard", "none")
#: How Gaussianising treats values beyond the training quantiles (`wvad.fusion`).
TAILS = ("bounded", "linear")
#: The cross-fitted pieces (`wvad.evidence`), whose fold models can replace their refit.
BAGGABLE = ("deviation", "boosting")


def _fail(name: str, expected: str, value: Any) -> None:
    raise ValueError(f"{name} must be {expected}; got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(name: str, value: Any, low: int) -> int:
    if not (_is_int(value) and value >= low):
        _fail(name, f"an int >= {low}", value)
    return int(value)


def _real(name: str, value: Any, low: float = 0.0, *, open_low: bool = False) -> float:
    above = value > low if open_low else value >= low
    if not (_is_real(value) and above):
        _fail(name, f"a number {'>' if open_low else '>='} {low}", value)
    return float(value)


def _fraction(name: str, value: Any) -> float:
    if not (_is_real(value) and 0.0 <= value <= 1.0):
        _fail(name, "a number in [0, 1]", value)
    return float(value)


def _widths(name: str, value: Any) -> tuple[int, ...]:
    ok = isinstance(value, (list, tuple)) and all(_is_int(d) and d >= 1 for d in value)
    if not ok:
        _fail(name, "a sequence of ints >= 1", value)
    return tuple(int(d) for d in value)


def _range(name: str, value: Any) -> tuple[float, float]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(map(_is_real, value))
    if not ok or not value[0] < value[1]:
        _fail(name, "a pair (low, high) of numbers with low < high", value)
    return (float(value[0]), float(value[1]))


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        _fail(name, f"one of {choices}", value)
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, "True or False", value)
    return bool(value)


class _Settings:
    """Shared by the settings classes: normalising setters and a JSON-able form."""

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # frozen: normalise once, in __post_init__

    def to_dict(self) -> dict[str, Any]:
        """Plain values (nested settings as dicts, tuples as lists): JSON-ready."""
        return json_ready(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Any:
        """Rebuild from `to_dict`'s output (or any mapping of field names)."""
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{cls.__name__} has no setting(s) {sorted(unknown)}")
        return cls(**values)


def json_ready(value: Any) -> Any:
    """`value` with tuples as lists, recursively: what json.dump writes unchanged."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def _nested(name: str, value: Any, cls: type) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return cls.from_dict(value)
    _fail(name, f"a {cls.__name__} (or a mapping of its fields)", value)
    return None


@dataclass(frozen=True)
class Numerics(_Settings):
    """Guards that keep the mixture's training finite, and EM's settings.

    reg_covar : variance added to every EM component (scikit-learn's GaussianMixture).
    em_max_rows : latent codes EM sees at most (a seeded subsample beyond).
    max_auto_clusters : the largest K that n_clusters="auto" tries (BIC, K = 1, 2, ...).
    posterior_variance_share : q(z|x)'s starting variance, as a share of the components'.
    grad_clip_norm : gradient norm clip of every mixture training step.
    z_logvar_range, prior_logvar_range, x_logvar_range : clamps of the log-variances of
        q(z|x), of the mixture components and of the decoder.
    min_norm : ||x|| below this counts as this in f_r (an all-zero row stays finite).
    max_scaled : the largest magnitude a scaled value may have. A training value beyond it
        is refused (only possible with scaling "standard" or "none"); a row scored later is
        clipped to it, so a value far outside the training range (1e300) still gets a
        finite, extreme score instead of an overflow.
    """

    reg_covar: float = 1e-4
    em_max_rows: int = 50_000
    max_auto_clusters: int = 10
    posterior_variance_share: float = 0.1
    grad_clip_norm: float = 10.0
    z_logvar_range: tuple[float, float] = (-8.0, 8.0)
    prior_logvar_range: tuple[float, float] = (-6.0, 6.0)
    x_logvar_range: tuple[float, float] = (-8.0, 4.0)
    min_norm: float = 1e-3
    max_scaled: float = 1e6

    def __post_init__(self) -> None:
        names = ("reg_covar", "posterior_variance_share", "grad_clip_norm", "min_norm")
        for name in (*names, "max_scaled"):
            self._set(name, _real(name, getattr(self, name), open_low=True))
        self._set("em_max_rows", _int("em_max_rows", self.em_max_rows, 2))
        self._set("max_auto_clusters", _int("max_auto_clusters", self.max_auto_clusters, 1))
        for name in ("z_logvar_range", "prior_logvar_range", "x_logvar_range"):
            self._set(name, _range(name, getattr(self, name)))


@dataclass(frozen=True)
class DeviationSettings(_Settings):
    """The deviation network piece (Pang et al., KDD 2019; DevNet's and ADBench's defaults).

    hidden : hidden layer widths. margin, n_ref : the deviation loss's margin and number of
    N(0, 1) reference draws. epochs x steps_per_epoch balanced batches of batch_size rows,
    optimizer ("rmsprop" with Keras' defaults, or "adam") at learning_rate, an L2 penalty
    l2 on the hidden kernels and a per-tensor gradient norm clip clip_norm (None: none).
    """

    hidden: tuple[int, ...] = (20,)
    margin: float = 5.0
    n_ref: int = 5000
    epochs: int = 50
    steps_per_epoch: int = 20
    batch_size: int = 512
    learning_rate: float = 1e-3
    optimizer: str = "rmsprop"
    l2: float = 0.01
    clip_norm: float | None = 0.001

    def __post_init__(self) -> None:
        self._set("hidden", _widths("deviation.hidden", self.hidden))
        self._set("margin", _real("deviation.margin", self.margin, open_low=True))
        for name in ("n_ref", "batch_size"):
            self._set(name, _int(f"deviation.{name}", getattr(self, name), 2))
        for name in ("epochs", "steps_per_epoch"):
            self._set(name, _int(f"deviation.{name}", getattr(self, name), 1))
        rate = _real("deviation.learning_rate", self.learning_rate, open_low=True)
        self._set("learning_rate", rate)
        _choice("deviation.optimizer", self.optimizer, ("rmsprop", "adam"))
        self._set("l2", _real("deviation.l2", self.l2))
        if self.clip_norm is not None:
            self._set("clip_norm", _real("deviation.clip_norm", self.clip_norm, open_low=True))


@dataclass(frozen=True)
class TreeSettings(_Settings):
    """The boosted trees piece: which learner grows the trees, and its settings.

    learner : "hist", scikit-learn's HistGradientBoostingClassifier (smaller, regularised
        trees than its defaults, for a few dozen positives), or "catboost", CatBoost's
        oblivious trees (Prokhorenkova et al., NeurIPS 2018), the strongest classifier of
        ADBench's weakly-supervised benchmark, grown one thread at a time (the default:
        it ranks held-out anomalies better with few labels, docs/method.md). The previous
        default's trees are TreeSettings(learner="hist", learning_rate=0.1,
        l2_regularization=1.0).
    max_iter : trees (boosting rounds). learning_rate : the step of each (None: the
        learner's own choice; CatBoost sets it from the table's size and max_iter).
    l2_regularization : L2 penalty on leaf values (CatBoost's l2_leaf_reg).
    max_leaf_nodes, min_samples_leaf, class_weight ("hist" only): leaves per tree, rows per
        leaf, and "balanced" to weigh the few labeled anomalies like the many unlabeled
        rows (None: unweighted). depth ("catboost" only): levels of each oblivious tree.
    Early stopping is always off, so every fit is deterministic.
    """

    learner: str = "catboost"
    max_iter: int = 100
    learning_rate: float | None = None
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 5
    l2_regularization: float = 3.0
    class_weight: str | None = "balanced"
    depth: int = 6

    def __post_init__(self) -> None:
        self._set("learner", _choice("trees.learner", self.learner, ("hist", "catboost")))
        self._set("max_iter", _int("trees.max_iter", self.max_iter, 1))
        if self.learning_rate is not None:
            rate = _real("trees.learning_rate", self.learning_rate, open_low=True)
            self._set("learning_rate", rate)
        elif self.learner == "hist":
            _fail("trees.learning_rate", "a number > 0 for learner 'hist'", None)
        self._set("max_leaf_nodes", _int("trees.max_leaf_nodes", self.max_leaf_nodes, 2))
        depth = _int("trees.depth", self.depth, 1)
        if depth > 6:
            _fail("trees.depth", "at most 6 (64 leaves)", depth)
        self._set("depth", depth)
        self._set("min_samples_leaf", _int("trees.min_samples_leaf", self.min_samples_leaf, 1))
        self._set("l2_regularization", _real("trees.l2_regularization", self.l2_regularization))
        if self.class_weight is not None:
            _choice("trees.class_weight", self.class_weight, ("balanced",))


@dataclass(frozen=True)
class FusionSettings(_Settings):
    """How the fused score weighs and standardises its pieces (`wvad.fused`).

    gini_floor, max_weight : a cross-fitted piece weighs 0 up to this Gini (2 AUROC - 1)
        and rises linearly to max_weight at a perfect held-out ranking.
    max_folds : cross-fitting folds (fewer with fewer labeled anomalies).
    spy_quantile : an unlabeled row is left out of "normal" when its held-out score reaches
        this quantile of the held-out labeled anomalies' scores (the reliable-rows step).
    max_quantiles : quantiles kept per piece for Gaussianising.
    max_reference : unlabeled rows the neighbour distance keeps (a seeded sample beyond);
        1,024 scored like 8,192 on the tuning half, at an eighth of the distances.
    bagged : the cross-fitted pieces scored by the mean of their fold models instead of
        one more fit on all rows (cheaper by a fit); the deviation network's bag scored
        like its refit on the tuning half (docs/method.md).
    min_known_normals : with at least this many known normal rows (in a cross-fitting
        fold), a piece's Gini ranks the labeled anomalies among them alone, certain
        negatives, instead of among every row not labeled an anomaly; so a piece that ranks
        known normals high loses weight.
    tails : how a piece's value beyond its training quantiles is Gaussianised
        (`wvad.fusion.gaussianize`): "bounded" (flat below, linear then logarithmic above,
        so no piece can outvote the others without bound) or "linear" (both sides linear
        and unbounded: how models saved by format version 8 score).
    """

    gini_floor: float = 0.5
    max_weight: float = 2.0
    max_folds: int = 5
    spy_quantile: float = 0.25
    max_quantiles: int = 1000
    max_reference: int = 1024
    bagged: tuple[str, ...] = ("deviation",)
    min_known_normals: int = 5
    tails: str = "bounded"

    def __post_init__(self) -> None:
        _choice("fusion.tails", self.tails, TAILS)
        self._set("min_known_normals", _int("fusion.min_known_normals", self.min_known_normals, 1))
        bagged = self.bagged
        ok = isinstance(bagged, (list, tuple)) and all(b in BAGGABLE for b in bagged)
        if not ok:
            _fail("fusion.bagged", f"a subset of {BAGGABLE}", bagged)
        self._set("bagged", tuple(bagged))
        floor = _fraction("fusion.gini_floor", self.gini_floor)
        if floor >= 1.0:
            _fail("fusion.gini_floor", "below 1", floor)
        self._set("gini_floor", floor)
        self._set("max_weight", _real("fusion.max_weight", self.max_weight))
        self._set("max_folds", _int("fusion.max_folds", self.max_folds, 2))
        self._set("spy_quantile", _fraction("fusion.spy_quantile", self.spy_quantile))
        self._set("max_quantiles", _int("fusion.max_quantiles", self.max_quantiles, 2))
        self._set("max_reference", _int("fusion.max_reference", self.max_reference, 2))


@dataclass(frozen=True)
class Config(_Settings):
    """One WVAD configuration; the fields are `WVAD`'s parameters of the same names.

    Mixture: n_clusters (K, or "auto": chosen by BIC on the pretrained latent codes),
    latent_dim (D), hidden_dims (encoder widths; the decoder mirrors them), head_hidden_dims
    (the score estimator's widths) and head_features (the feature groups it reads, a subset
    of y, z, f_e, f_r, f_c).

    Training (docs/method.md): pretrain_epochs, warmup_epochs, joint_epochs are e1, e2, e3;
    warmup_lambda and joint_lambda weigh the score estimator's cross-entropy in e2 and e3;
    anomaly_penalty weighs the bounded push-away term of labeled anomalies; batch_size rows
    per pretraining step (and per step of the estimator's cross-entropy), joint_batch_size
    unlabeled rows per e2/e3 step (learning rate scaled by the square root of the ratio),
    anomaly_batch_size labeled anomalies (resampled) added to every e2/e3 step; Adam at
    learning_rate with weight_decay.

    Score: score_mode picks the read-out ("stacked", "fusion", "head", "elbo",
    "reconstruction"; `wvad.fused`); fusion_prior is the number of labeled anomalies at
    which the fused score gives the score estimator half its weight; n_neighbors the k of
    the neighbour distance piece (0 leaves it out); clean_unlabeled lets the cross-fitted
    trees pick the unlabeled rows that "normal" is learned from. scaling ("minmax",
    "standard" or "none") is fitted on the training rows.
    """

    n_clusters: int | str = 2
    latent_dim: int = 8
    hidden_dims: tuple[int, ...] = (64, 32)
    head_hidden_dims: tuple[int, ...] = (32, 16)
    head_features: tuple[str, ...] = FEATURE_GROUPS
    pretrain_epochs: int = 50
    warmup_epochs: int = 100
    joint_epochs: int = 200
    warmup_lambda: float = 0.01
    joint_lambda: float = 1.0
    anomaly_penalty: float = 1.0
    batch_size: int = 128
    joint_batch_size: int = 2048
    anomaly_batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    score_mode: str = "stacked"
    fusion_prior: float = 25.0
    n_neighbors: int = 5
    clean_unlabeled: bool = True
    scaling: str = "minmax"
    numerics: Numerics = field(default_factory=Numerics)
    deviation: DeviationSettings = field(default_factory=DeviationSettings)
    trees: TreeSettings = field(default_factory=TreeSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)

    def __post_init__(self) -> None:
        if self.n_clusters != "auto":
            if not (_is_int(self.n_clusters) and self.n_clusters >= 1):
                _fail("n_clusters", "'auto' or an int >= 1", self.n_clusters)
            self._set("n_clusters", int(self.n_clusters))
        for name in ("latent_dim", "batch_size", "joint_batch_size", "anomaly_batch_size"):
            self._set(name, _int(name, getattr(self, name), 1))
        for name in ("pretrain_epochs", "warmup_epochs", "joint_epochs", "n_neighbors"):
            self._set(name, _int(name, getattr(self, name), 0))
        for name in ("warmup_lambda", "joint_lambda", "anomaly_penalty", "weight_decay"):
            self._set(name, _real(name, getattr(self, name)))
        self._set("fusion_prior", _real("fusion_prior", self.fusion_prior))
        self._set("learning_rate", _real("learning_rate", self.learning_rate, open_low=True))
        for name in ("hidden_dims", "head_hidden_dims"):
            self._set(name, _widths(name, getattr(self, name)))
        groups = self.head_features
        ok = isinstance(groups, (list, tuple)) and bool(groups)
        if not (ok and all(g in FEATURE_GROUPS for g in groups)):
            _fail("head_features", f"a non-empty subset of {FEATURE_GROUPS}", groups)
        self._set("head_features", tuple(g for g in FEATURE_GROUPS if g in groups))
        _choice("score_mode", self.score_mode, SCORE_MODES)
        _choice("scaling", self.scaling, SCALINGS)
        self._set("clean_unlabeled", _bool("clean_unlabeled", self.clean_unlabeled))
        for name, cls in (
            ("numerics", Numerics),
            ("deviation", DeviationSettings),
            ("trees", TreeSettings),
            ("fusion", FusionSettings),
        ):
            self._set(name, _nested(name, getattr(self, name), cls))

    def params(self) -> dict[str, Any]:
        """The fields as `WVAD` keyword arguments (nested settings as their objects)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: Any) -> Config:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


#: `Config`'s fields: the estimator parameters that change a fit's result.
CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Config))

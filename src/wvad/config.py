"""Every setting that changes a WVAD fit's result, declared once: name, type, default,
what it may be and one line of help.

`Config` mirrors `WVAD`'s constructor: one field per parameter that changes scores, so a
fitted model's `config_` says exactly how it was fitted and tests can shorten any part of
it. The deeper knobs are grouped in frozen settings objects (`Numerics`, `DeviationSettings`,
`TreeSettings`, `FusionSettings`), passed to `WVAD` as `numerics=`, `deviation=`, `trees=`
and `fusion=`. The presets (`wvad.presets`) are instances of `Config`.

Each field declares its rule (`wvad.checks`); a settings object checks every field by it
when built, so a bad setting fails with a message that names it, before any training
starts. The estimator's docstring (`parameter_docs`) and `wvad fit`'s options are built
from the same declarations, and tests hold the estimator's defaults to them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from wvad.checks import (
    Either,
    Flag,
    Int,
    Names,
    OneOf,
    Optional,
    Pair,
    Real,
    Rule,
    Subset,
    Widths,
)

__all__ = [
    "CONFIG_FIELDS",
    "FEATURE_GROUPS",
    "SCORE_MODES",
    "Config",
    "DeviationSettings",
    "FusionSettings",
    "Numerics",
    "TreeSettings",
    "parameter_docs",
    "setting",
]

#: The score estimator's input groups, in their canonical order (the paper's five features).
FEATURE_GROUPS = ("y", "z", "f_e", "f_r", "f_c")
#: Read-outs of the score (`wvad.fused.SHARING`; each piece says which read it).
SCORE_MODES = ("stacked", "fusion", "head", "elbo", "reconstruction")
SCALINGS = ("minmax", "standard", "none")
#: How Gaussianising treats values beyond the training quantiles (`wvad.fusion`).
TAILS = ("bounded", "linear")
#: How Gaussianising treats training quantiles equal up to rounding (`wvad.fusion.merge_ties`).
TIES = ("merged", "split")


class Nested(Rule):
    """A settings object of `cls`, or a mapping of its fields."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def describe(self) -> str:
        return f"a {self.cls.__name__} (or a mapping of its fields)"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (self.cls, Mapping))

    def normalise(self, value: Any) -> Any:
        return value if isinstance(value, self.cls) else self.cls.from_dict(value)


def setting(default: Any, rule: Rule, help: str) -> Any:
    """A settings field: its default, what it may be (`wvad.checks`) and one line of help;
    the constructor's checks, the estimator's docstring and the command line read these."""
    return field(default=default, metadata={"rule": rule, "help": help})


class _Settings:
    """Shared by the settings classes: every field checked by its declared rule, a
    JSON-able form, and the rebuild from it."""

    #: How errors name this class's fields ("" for Config's own, "trees." for TreeSettings').
    prefix: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = f.metadata["rule"].check(self.prefix + f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)  # frozen: normalised once, here
        self._check_together()

    def _check_together(self) -> None:
        """Checks that read more than one field (none by default)."""

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

    @classmethod
    def documented(cls) -> list[tuple[str, Any, str, str]]:
        """(name, default, what it may be, help) of every field, in order."""
        out = []
        for f in fields(cls):
            default = f.default
            out.append((f.name, default, f.metadata["rule"].describe(), f.metadata["help"]))
        return out


def json_ready(value: Any) -> Any:
    """`value` with tuples as lists, recursively: what json.dump writes unchanged."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


POSITIVE = Real(0.0, open_low=True)
NON_NEGATIVE = Real(0.0)


@dataclass(frozen=True)
class Numerics(_Settings):
    """Guards that keep the mixture's training finite, and EM's settings."""

    prefix: ClassVar[str] = "numerics."

    reg_covar: float = setting(
        1e-4, POSITIVE, "variance added to every EM component (scikit-learn's GaussianMixture)"
    )
    em_max_rows: int = setting(50_000, Int(2), "latent codes EM sees at most (a seeded sample)")
    max_auto_clusters: int = setting(10, Int(1), 'the largest K n_clusters="auto" tries (BIC)')
    posterior_variance_share: float = setting(
        0.1, POSITIVE, "q(z|x)'s starting variance, as a share of the components'"
    )
    grad_clip_norm: float = setting(10.0, POSITIVE, "gradient norm clip of every mixture step")
    z_logvar_range: tuple[float, float] = setting((-8.0, 8.0), Pair(), "clamp of log var q(z|x)")
    prior_logvar_range: tuple[float, float] = setting(
        (-6.0, 6.0), Pair(), "clamp of the mixture components' log-variances"
    )
    x_logvar_range: tuple[float, float] = setting(
        (-8.0, 4.0), Pair(), "clamp of the decoder's log-variance"
    )
    min_norm: float = setting(1e-3, POSITIVE, "||x|| below this counts as this in f_r")
    max_scaled: float = setting(
        1e6,
        POSITIVE,
        "the largest magnitude of a scaled value: a training value beyond is refused, a row "
        "scored later is clipped to it (a 1e300 gets a finite, extreme score)",
    )


@dataclass(frozen=True)
class DeviationSettings(_Settings):
    """The deviation network piece (Pang et al., KDD 2019; DevNet's and ADBench's defaults)."""

    prefix: ClassVar[str] = "deviation."

    hidden: tuple[int, ...] = setting((20,), Widths(), "hidden layer widths")
    margin: float = setting(5.0, POSITIVE, "the deviation loss's margin")
    n_ref: int = setting(
        5000,
        Int(2),
        "N(0, 1) reference draws of the loss (their mean and sd drawn from their exact law)",
    )
    epochs: int = setting(50, Int(1), "epochs")
    steps_per_epoch: int = setting(20, Int(1), "balanced batches per epoch")
    max_passes: float | None = setting(
        250.0,
        Optional(POSITIVE),
        "at most this many passes over the unlabeled rows in all: fewer batches per epoch "
        "where a network has under about 1,000 unlabeled rows (None: always epochs x "
        "steps_per_epoch batches, DevNet's schedule)",
    )
    batch_size: int = setting(512, Int(2), "rows per balanced batch")
    learning_rate: float = setting(1e-3, POSITIVE, "the optimiser's learning rate")
    optimizer: str = setting("rmsprop", OneOf(("rmsprop", "adam")), "RMSprop (Keras') or Adam")
    l2: float = setting(0.01, NON_NEGATIVE, "L2 penalty on the hidden kernels")
    clip_norm: float | None = setting(
        0.001, Optional(POSITIVE), "per-tensor gradient norm clip (None: none)"
    )


@dataclass(frozen=True)
class TreeSettings(_Settings):
    """The boosted trees piece: which learner grows the trees, and its settings. Early
    stopping is always off, so every fit is deterministic."""

    prefix: ClassVar[str] = "trees."

    learner: str = setting(
        "catboost",
        OneOf(("hist", "catboost")),
        "CatBoost's oblivious trees (Prokhorenkova et al., NeurIPS 2018; one thread), or "
        "scikit-learn's HistGradientBoostingClassifier ('hist')",
    )
    max_iter: int = setting(100, Int(1), "trees (boosting rounds)")
    learning_rate: float | None = setting(
        None,
        Optional(POSITIVE),
        "the step of each tree (None: CatBoost's own choice from the table's size; 'hist' "
        "needs a number)",
    )
    max_leaf_nodes: int = setting(15, Int(2), "leaves per tree ('hist' only)")
    min_samples_leaf: int = setting(5, Int(1), "rows per leaf ('hist' only)")
    l2_regularization: float = setting(
        3.0, NON_NEGATIVE, "L2 penalty on leaf values (CatBoost's l2_leaf_reg)"
    )
    class_weight: str | None = setting(
        "balanced",
        Optional(OneOf(("balanced",))),
        "'balanced' weighs the few labeled anomalies like the unlabeled rows ('hist' only)",
    )
    depth: int = setting(6, Int(1, 16), "levels of each oblivious tree ('catboost' only)")
    max_unlabeled: int | None = setting(
        10_000,
        Optional(Int(2)),
        "with more unlabeled rows than this, the trees learn from a seeded sample of this many "
        "of them and every labeled anomaly and known normal (None: every row)",
    )
    native_missing: bool = setting(
        True,
        Flag(),
        "the trees read a missing number as missing (NaN, which both learners split on "
        "natively) instead of its column's fill, so 'not measured' can itself be evidence",
    )
    native_categories: bool = setting(
        True,
        Flag(),
        "the trees read a categorical column as one column of categories (CatBoost's "
        "target statistics) instead of its one-hot columns ('catboost' only)",
    )

    def _check_together(self) -> None:
        if self.learner == "hist" and self.learning_rate is None:
            raise ValueError("trees.learning_rate must be a number > 0 for learner 'hist'")


@dataclass(frozen=True)
class FusionSettings(_Settings):
    """How the fused score weighs and standardises its pieces (`wvad.fused`)."""

    prefix: ClassVar[str] = "fusion."

    gini_floor: float = setting(
        0.5,
        Real(0.0, 1.0, open_high=True),
        "a cross-fitted piece weighs 0 up to this held-out Gini (2 AUROC - 1)",
    )
    max_weight: float = setting(
        2.0, NON_NEGATIVE, "a cross-fitted piece's weight at a perfect held-out ranking"
    )
    max_folds: int = setting(5, Int(2), "cross-fitting folds (fewer with fewer labels)")
    spy_quantile: float = setting(
        0.25,
        Real(0.0, 1.0),
        "an unlabeled row whose held-out score reaches this quantile of the held-out labeled "
        "anomalies' is left out of 'normal' (the reliable-rows step)",
    )
    max_quantiles: int = setting(1000, Int(2), "quantiles kept per piece for Gaussianising")
    max_reference: int = setting(
        1024,
        Int(2),
        "unlabeled rows the neighbour distance keeps, and labeled anomalies the closeness to "
        "them keeps (a seeded sample beyond)",
    )
    bagged: tuple[str, ...] = setting(
        ("deviation",),
        Names(),
        "the cross-fitted pieces scored by the mean of their fold models instead of a refit "
        "(checked against the pieces that declare themselves baggable, at fit)",
    )
    min_known_normals: int = setting(
        5,
        Int(1),
        "with at least this many known normal rows, a Gini ranks the labeled anomalies among "
        "them alone",
    )
    proximity_weight: float = setting(
        0.5,
        NON_NEGATIVE,
        "weight of the closeness to the labeled anomalies (the 'proximity' piece), which "
        "counts from one label on; 0 leaves the piece out",
    )
    proximity_grows: bool = setting(
        False,
        Flag(),
        "whether the closeness to the labeled anomalies may weigh more than "
        "`proximity_weight` where the labels' held-out ranks back it (off: they can lower "
        "its weight, not raise it, by the rule or by the refit)",
    )
    supervised_prior: float = setting(
        0.5,
        NON_NEGATIVE,
        "a cross-fitted piece's weight before any held-out evidence (one labeled anomaly "
        "cannot be held out); it moves toward what the held-out Gini earns as labels grow, "
        "`supervised_strength` held-out labels counting as much as it (0: earned by "
        "cross-fitting alone)",
    )
    supervised_strength: float = setting(
        1.0,
        POSITIVE,
        "held-out anomalies that count as much as `supervised_prior` (unused while it is 0)",
    )
    prior_strength: float = setting(
        4.0,
        POSITIVE,
        "held-out labels that count as much as a prior-weighted piece's prior weight: its "
        "weight moves from the prior toward what its held-out Gini earns as labels grow",
    )
    refit_weights: float = setting(
        30.0,
        NON_NEGATIVE,
        "from two labeled anomalies, the pieces' weights (the score estimator's kept) are "
        "refitted to rank the labels above the unlabeled rows on their held-out evidence, "
        "pulled toward the rule-made weights as strongly as this many labels (0: off)",
    )
    set_aside_doubtful: bool = setting(
        True,
        Flag(),
        "labeled anomalies that the pieces which do not learn from the labels rank as "
        "outliers among the labels (`WVAD.labels_to_recheck`) are set aside: the fit goes on "
        "as if they were unlabeled",
    )
    set_aside_min_labels: int = setting(
        5,
        Int(3),
        "labeled anomalies from which doubtful ones are set aside (`set_aside_doubtful`); "
        "with fewer, an outlier among the labels is too weak a sign",
    )
    tails: str = setting(
        "bounded",
        OneOf(TAILS),
        "values beyond a piece's training quantiles: 'bounded' (flat below, linear then "
        "logarithmic above) or 'linear' (both sides, unbounded: format-8 models)",
    )
    ties: str = setting(
        "merged",
        OneOf(TIES),
        "training quantiles equal up to float32 rounding: 'merged' (one point at their mean "
        "normal score, so the map has no jump) or 'split' (each its own: format-10 models)",
    )


CLUSTERS = Either(OneOf(("auto",)), Int(1))


@dataclass(frozen=True)
class Config(_Settings):
    """One WVAD configuration; the fields are `WVAD`'s parameters of the same names, each
    declared once here with its default, what it may be and its help (`documented`),
    which the estimator's docstring and `wvad fit`'s options are built from. The deeper
    knobs are grouped in frozen settings objects (`Numerics`, `DeviationSettings`,
    `TreeSettings`, `FusionSettings`). The presets (`wvad.presets`) are instances."""

    n_clusters: int | str = setting(
        2, CLUSTERS, 'mixture components K, or "auto" (BIC on the pretrained latent codes)'
    )
    latent_dim: int = setting(8, Int(1), "latent dimension D")
    hidden_dims: tuple[int, ...] = setting(
        (64, 32), Widths(), "encoder widths (the decoder mirrors them)"
    )
    head_hidden_dims: tuple[int, ...] = setting((32, 16), Widths(), "the score estimator's widths")
    head_features: tuple[str, ...] = setting(
        FEATURE_GROUPS,
        Subset(FEATURE_GROUPS, empty=False),
        "the feature groups the score estimator reads",
    )
    pretrain_epochs: int = setting(50, Int(0), "e1: autoencoder pretraining epochs")
    warmup_epochs: int = setting(100, Int(0), "e2: mixture warm-up epochs")
    joint_epochs: int = setting(100, Int(0), "e3: joint training epochs")
    warm_epochs: int = setting(
        50, Int(0), "joint epochs of a fit that continues the previous one (warm_start=True)"
    )
    epoch_rows: int | None = setting(
        7_500,
        Optional(Int(1)),
        "with more unlabeled rows than this, each phase runs ceil(epochs x epoch_rows / rows) "
        "epochs: the mixture sees as many rows as on a table of this size (None: every epoch)",
    )
    pretrain_epoch_rows: int | None = setting(
        5_000,
        Optional(Int(1)),
        "epoch_rows for pretraining alone (None: epoch_rows's): with more unlabeled rows than "
        "this, pretraining sees as many rows as on a table of this size",
    )
    warmup_lambda: float = setting(
        0.01, NON_NEGATIVE, "weight of the estimator's cross-entropy in e2"
    )
    joint_lambda: float = setting(
        1.0, NON_NEGATIVE, "weight of the estimator's cross-entropy in e3"
    )
    anomaly_penalty: float = setting(
        1.0, NON_NEGATIVE, "weight of the labeled anomalies' bounded push-away term"
    )
    batch_size: int = setting(128, Int(1), "rows per pretraining step and estimator step")
    joint_batch_size: int = setting(
        2048, Int(1), "unlabeled rows per e2/e3 step (learning rate scaled by sqrt of the ratio)"
    )
    anomaly_batch_size: int = setting(
        32, Int(1), "labeled anomalies (resampled) added to every e2/e3 step"
    )
    learning_rate: float = setting(1e-3, POSITIVE, "Adam's learning rate")
    weight_decay: float = setting(0.0, NON_NEGATIVE, "Adam's weight decay")
    score_mode: str = setting(
        "stacked",
        OneOf(SCORE_MODES),
        "the read-out: stacked (every piece), fusion (the mixture's three), head (the "
        "paper's score estimator), elbo or reconstruction (`wvad.fused`)",
    )
    fusion_prior: float = setting(
        25.0,
        NON_NEGATIVE,
        "labeled anomalies at which the fused score gives the score estimator half its weight",
    )
    n_neighbors: int = setting(5, Int(0), "k of the neighbour distance piece (0 leaves it out)")
    clean_unlabeled: bool = setting(
        True,
        Flag(),
        "let the cross-fitted trees pick the unlabeled rows 'normal' is learned from",
    )
    scaling: str = setting("minmax", OneOf(SCALINGS), "column scaling fitted on the training rows")
    missing_indicators: bool | str = setting(
        "auto",
        Either(Flag(), OneOf(("auto",))),
        "add a 'was missing' column for each number column with a missing value at fit "
        "(True), for none (False), or for those whose missing values are not missing "
        "completely at random, by a test against the other columns ('auto')",
    )
    numerics: Numerics = setting(Numerics(), Nested(Numerics), "numerical guards and EM")
    deviation: DeviationSettings = setting(
        DeviationSettings(), Nested(DeviationSettings), "the deviation network piece"
    )
    trees: TreeSettings = setting(TreeSettings(), Nested(TreeSettings), "the boosted trees piece")
    fusion: FusionSettings = setting(
        FusionSettings(), Nested(FusionSettings), "how the fused score weighs its pieces"
    )

    def params(self) -> dict[str, Any]:
        """The fields as `WVAD` keyword arguments (nested settings as their objects)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: Any) -> Config:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


def parameter_docs(settings: type[_Settings] | None = None) -> str:
    """numpydoc lines for every field of `settings` (Config's by default): name, what it may
    be, default and help; nested settings list their own fields indented below."""
    settings = settings or Config
    lines = []
    for name, default, allowed, text in settings.documented():
        if isinstance(default, _Settings):
            lines.append(f"{name} : {type(default).__name__}, default {type(default).__name__}()")
            lines.append(f"    {text}:")
            for sub, sub_default, sub_allowed, sub_text in type(default).documented():
                lines.append(f"    - {sub} ({sub_allowed}, default {sub_default!r}): {sub_text}")
            continue
        lines.append(f"{name} : {allowed}, default {default!r}")
        lines.append(f"    {text}")
    return "\n".join(lines)


#: `Config`'s fields: the estimator parameters that change a fit's result.
CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Config))

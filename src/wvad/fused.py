"""WVAD's score: how its pieces of evidence (`wvad.evidence`) become one number.

A read-out (chosen by `score_mode`) uses the pieces that declare it (`Evidence.readouts`). "head",
"elbo" and "reconstruction" read one piece alone, unchanged. "fusion" and "stacked" fuse
theirs: each piece is standardised by its median and inter-quartile range on the
unlabeled training rows and Gaussianised through its quantiles there (`wvad.fusion`), so
no piece outvotes the others by the length of its tail, then added with a weight that
follows from what the labels show about it (its `Trust`):

- the score estimator (label count): n / (n + fusion_prior) for n labeled anomalies;
- the unsupervised pieces: the rest, 1 - that, scaled by the best in-sample Gini
  G = max(0, 2 AUROC - 1) of the labeled anomalies among the training rows; "fusion"
  gives it all to the best piece, "stacked" shares it in proportion to G^2 (with a few
  labels two pieces often tie within noise, and following the best would follow chance);
  without labels they weigh the same;
- the cross-fitted pieces: what their held-out Gini earns, 0 up to `fusion.gini_floor`,
  then linearly up to `fusion.max_weight` at a perfect held-out ranking (`wvad.crossfit`),
  reached from a prior (`fusion.supervised_prior`, the weight at one label, where nothing
  can be held out) as the held-out anomalies grow (`supervised_weight`). A piece that
  would weigh nothing is not fitted at all, unless the weights are refitted (below);
- the pieces weighed by a prior (closeness to the labeled anomalies): the weight the piece
  reads from its settings (`Evidence.prior_weight`) at one label, moving toward what its
  held-out Gini earns as labels grow (`prior_shrunk_weight`; a labeled row's evidence is
  measured without it).

With `fusion.refit_weights` > 0 and two labeled anomalies or more, those weights (the score
estimator's kept) are then refitted to rank the labels first on every piece's held-out
evidence, pulled toward the rule-made ones (`wvad.weight_refit`).

Cross-fitting runs before the mixture is trained (`ScorePlan`): where the piece that
`cleans` (the boosted trees) earns weight, its held-out scores also pick the reliable
unlabeled rows, and the score estimator and that piece's final fit learn "normal" from
those rows only. docs/method.md gives the measurements behind each rule.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from torch import Tensor

from wvad.checks import Real
from wvad.config import Config, FusionSettings
from wvad.crossfit import (
    CrossFit,
    can_cross_fit,
    cross_fit,
    gini,
    negatives,
    reliable_rows,
    share_below,
)
from wvad.evidence import PIECES, Evidence, Rows, TrainingData, Trust, iter_rows
from wvad.evidence.bag import Bag
from wvad.fusion import (
    fit_quantiles,
    gaussianize,
    gaussianize_tensor,
    merge_ties,
    normal_levels,
    robust_standardize,
    rounding_noise,
)
from wvad.persistence import prefixed
from wvad.training import TrainedMixture
from wvad.weight_refit import refitted_weights

__all__ = [
    "RECALL",
    "SHARING",
    "FusedScore",
    "Readout",
    "ScorePlan",
    "check_bagged",
    "cross_fitted_weight",
    "prior_shrunk_weight",
    "readout_pieces",
    "shared_weights",
    "supervised_weight",
]


#: Labels worth re-checking (`FusedScore.labels_to_recheck`): a label whose mean rank lies
#: this many median absolute deviations (at least RECHECK_MIN_SPREAD) below the labels'
#: median, and below RECHECK_CAP. Chosen on six tuning tables with five wrong labels planted
#: among twenty (docs/method.md, "Labels worth re-checking").
RECHECK_SPREADS = 4.0
RECHECK_MIN_SPREAD = 0.01
RECHECK_CAP = 0.75
#: Labels set aside (`fusion.set_aside_doubtful`): those listed for re-checking whose mean
#: rank is also below this. Stricter than the list, because a right label set aside is
#: information lost while a right label listed costs the analyst one look; chosen on the
#: tuning tables' label ranks (docs/method.md, "Labels worth re-checking").
SET_ASIDE_CAP = 0.65
#: A doubtful label with another labeled anomaly (not a copy of it) among its this many
#: nearest training rows is kept: a wrong label is a normal row, which seldom lies next
#: to another label; two labels of a rare kind of anomaly often do (docs/method.md).
SUPPORT_NEIGHBOURS = 5
#: A share of the labeled anomalies a threshold is to flag.
RECALL = Real(0.0, 1.0, open_low=True)


@dataclass(frozen=True)
class Readout:
    """How a score mode shares the unsupervised pieces' weight: None (one piece read
    alone), "best" or "squares"; its pieces are those that declare the mode
    (`Evidence.readouts`), in `PIECES`' order."""

    sharing: str | None

    def pieces(self, mode: str) -> tuple[str, ...]:
        return tuple(name for name, piece in PIECES.items() if mode in piece.readouts)


#: The score modes' ways of sharing; the pieces each reads come from the pieces themselves.
SHARING: Mapping[str, Readout] = MappingProxyType(
    {
        "stacked": Readout("squares"),
        "fusion": Readout("best"),
        "head": Readout(None),
        "elbo": Readout(None),
        "reconstruction": Readout(None),
    }
)


def readout_pieces(mode: str) -> tuple[str, ...]:
    """The pieces score mode `mode` may use, in order."""
    return SHARING[mode].pieces(mode)


def check_bagged(config: Config) -> None:
    """Refuse a `fusion.bagged` that names no baggable piece."""
    bad = [n for n in config.fusion.bagged if n not in PIECES or not PIECES[n].baggable]
    if bad:
        baggable = sorted(n for n, p in PIECES.items() if p.baggable)
        raise ValueError(f"fusion.bagged must name cross-fitted pieces (of {baggable}); got {bad}")


def cross_fitted_weight(gini_held_out: float, settings: FusionSettings) -> float:
    """A cross-fitted piece's weight for its held-out Gini."""
    floor = settings.gini_floor
    return settings.max_weight * max(0.0, gini_held_out - floor) / (1.0 - floor)


def prior_shrunk_weight(
    prior: float,
    held_out_gini: float,
    n_held: int,
    settings: FusionSettings,
    strength: float,
) -> float:
    """A weight from a prior and held-out evidence: the prior without any, moving toward
    the weight its held-out Gini earns (as a cross-fitted piece's would) as the `n_held`
    labels it is measured on grow; `strength` labels count as much as the prior."""
    earned = cross_fitted_weight(held_out_gini, settings)
    held = max(n_held, 0)
    return (strength * prior + held * earned) / (strength + held)


def supervised_weight(cross: CrossFit | None, n_labeled: int, settings: FusionSettings) -> float:
    """A cross-fitted piece's weight: what its held-out Gini earns (0 without one), or, with
    `fusion.supervised_prior` and labeled anomalies, that prior moving toward it as the
    distinct anomalies held out grow (`fusion.supervised_strength` of them count as much
    as the prior)."""
    prior = settings.supervised_prior
    if prior == 0:
        return 0.0 if cross is None else cross_fitted_weight(cross.gini, settings)
    if n_labeled == 0:
        return 0.0
    gini_held_out, held = (0.0, 0) if cross is None else (cross.gini, cross.n_held)
    return prior_shrunk_weight(prior, gini_held_out, held, settings, settings.supervised_strength)


def doubtful_labels(
    ranks: Mapping[str, np.ndarray], max_rank: float | None = None, cap: float = RECHECK_CAP
) -> list[tuple[int, float]]:
    """(position among the labeled anomalies, mean rank) of each labeled anomaly the
    pieces of `ranks` (label-blind, or held out; `label_ranks`) rank, on average, below
    `max_rank` of the unlabeled rows, most typical first; empty without such pieces.

    `max_rank` None: the labels are compared with one another, and a label is listed
    when its mean rank lies more than RECHECK_SPREADS median absolute deviations below
    the labels' median rank, and below `cap`: an outlier among the labels where the
    pieces tell labeled anomalies apart, and none where they cannot."""
    if not ranks:
        return []
    mean = np.mean(np.vstack(list(ranks.values())), axis=0)
    if max_rank is None:
        median = float(np.median(mean))
        spread = max(float(np.median(np.abs(mean - median))), RECHECK_MIN_SPREAD)
        max_rank = min(cap, median - RECHECK_SPREADS * spread)
    doubtful = np.flatnonzero(mean < max_rank)
    return [(int(i), float(mean[i])) for i in doubtful[np.argsort(mean[doubtful])]]


def supported_labels(X: np.ndarray, labeled: np.ndarray, among: np.ndarray) -> np.ndarray:
    """The positions in `among` (indices into `labeled`, the labeled anomalies' rows of X)
    of the labels with another labeled anomaly among their SUPPORT_NEIGHBOURS nearest rows
    of X (Euclidean), copies of the label itself not counted."""
    if len(among) == 0 or len(X) < 2:
        return np.zeros(0, dtype=np.int64)
    k = min(SUPPORT_NEIGHBOURS, len(X) - 1)  # and the label itself
    distance, index = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X[labeled[among]])
    is_label = np.isin(index, labeled) & (distance > 0)  # a copy sits at distance 0
    return np.flatnonzero(is_label.any(axis=1)).astype(np.int64)


def labels_to_set_aside(
    ranks: Mapping[str, np.ndarray], data: TrainingData, fusion: FusionSettings
) -> np.ndarray:
    """Positions among the labeled anomalies of those the fit sets aside: with
    `fusion.set_aside_doubtful` and at least `set_aside_min_labels` labels, the doubtful
    ones below SET_ASIDE_CAP that no other label stands beside (`supported_labels`)."""
    if not fusion.set_aside_doubtful or data.n_distinct_labeled < fusion.set_aside_min_labels:
        return np.zeros(0, dtype=np.int64)
    listed = doubtful_labels(ranks, cap=SET_ASIDE_CAP)
    doubtful = np.array([i for i, _ in listed], dtype=np.int64)
    supported = supported_labels(data.X, np.flatnonzero(data.y == 1), doubtful)
    return np.sort(np.delete(doubtful, supported))


def label_ranks(evidence: Mapping[str, np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
    """Per piece of `evidence` (one value per training row), each labeled anomaly's rank
    among the unlabeled training rows: the share scoring below it (0 = the most typical
    row, 1 = beyond every one)."""
    return {name: share_below(v[y == 0], v[y == 1]) for name, v in evidence.items()}


def shared_weights(ginis: np.ndarray) -> np.ndarray:
    """Unsupervised pieces' weights from their Ginis G: together max G, shared as G^2."""
    ginis = np.asarray(ginis, dtype=np.float64)
    squares = ginis**2
    total = squares.sum()
    return np.zeros_like(ginis) if total == 0 else ginis.max() * squares / total


@dataclass(frozen=True)
class Standardiser:
    """One piece's map to a standard normal scale: median, inter-quartile range and the
    quantiles of the standardised values, all on the unlabeled training rows."""

    center: float
    scale: float
    quantiles: np.ndarray
    tails: str = "bounded"
    ties: str = "merged"

    @classmethod
    def fit(cls, values: np.ndarray, settings: FusionSettings) -> Standardiser:
        center, scale = robust_standardize(values)
        quantiles = fit_quantiles((values - center) / scale, settings.max_quantiles)
        return cls(float(center), float(scale), quantiles, settings.tails, settings.ties)

    @functools.cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The quantiles the map interpolates and their normal scores, computed once: with
        `ties` "merged", quantiles equal up to float32 rounding are one point."""
        normal = normal_levels(len(self.quantiles))
        if self.ties != "merged":
            return self.quantiles, normal
        noise = rounding_noise(self.quantiles, self.center, self.scale)
        return merge_ties(self.quantiles, normal, noise)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        z = (values - self.center) / self.scale
        grid, normal = self._grid
        return gaussianize(z[:, None], grid[:, None], self.tails, normal)[:, 0]

    def tensor(self, values: Tensor) -> Tensor:
        """The same map on a tensor, differentiable (for explanations)."""
        z = (values - self.center) / self.scale
        grid, normal = self._grid
        return gaussianize_tensor(z, grid, self.tails, normal)


class ScorePlan:
    """The fused score before the mixture is trained: its mode, its pieces, what
    cross-fitting found, the reliable rows it picked (None: every row), the labels as the
    fit uses them (`data`: the doubtful ones set aside where `fusion.set_aside_doubtful`),
    every given label's ranks on the pieces that did not learn from the labels, and the
    label-blind pieces already fitted on `data` with their training rows' evidence."""

    def __init__(
        self,
        mode: str,
        pieces: tuple[type[Evidence], ...],
        cross_fits: dict[str, CrossFit],
        reliable: np.ndarray | None,
        data: TrainingData,
        ranks: dict[str, np.ndarray],
        set_aside: np.ndarray,
        blind: dict[str, tuple[Evidence, np.ndarray]],
    ) -> None:
        self.mode = mode
        self.pieces = pieces
        self.cross_fits = cross_fits
        self.reliable = reliable
        self.data = data
        self.ranks = ranks
        self.set_aside = set_aside
        self.blind = blind

    @classmethod
    def make(cls, data: TrainingData, config: Config) -> ScorePlan:
        """Choose the pieces for `config.score_mode`, rank the labels on the pieces that do
        not learn from them, set the doubtful ones aside (`fusion.set_aside_doubtful`) and
        cross-fit the supervised pieces on the labels that remain."""
        mode = _checked_mode(config, data)
        names = readout_pieces(mode)
        pieces = tuple(PIECES[n] for n in names if PIECES[n].applies(config, data))
        blind = _fit_label_blind(pieces, data, config)
        cross_fits = _cross_fit_supervised(pieces, data, config)
        held = {n: c.scores for n, c in cross_fits.items()}
        ranks = label_ranks({n: v for n, (_, v) in blind.items()} | held, data.y)
        set_aside = labels_to_set_aside(ranks, data, config.fusion)
        if set_aside.size:  # the fit goes on as if those rows had not been labeled
            data = data.without_labels(np.flatnonzero(data.y == 1)[set_aside])
            blind = _fit_label_blind(pieces, data, config)
            cross_fits = _cross_fit_supervised(pieces, data, config)
        reliable = _reliable(pieces, cross_fits, data, config)
        return cls(mode, pieces, cross_fits, reliable, data, ranks, set_aside, blind)

    def normal_unlabeled(self) -> np.ndarray | None:
        """The reliable mask over the unlabeled rows alone, in their order (None: all)."""
        return None if self.reliable is None else self.reliable[self.data.y == 0]

    def fit(self, config: Config, mixture: TrainedMixture) -> tuple[FusedScore, np.ndarray]:
        """Fit the pieces on `data` and weigh them; returns the fused score and the training
        rows' scores (where a training row does not count as evidence about itself)."""
        data = self.data
        pieces = self._fit_pieces(data, config, mixture)
        ginis = {name: cross.gini for name, cross in self.cross_fits.items()}
        evidence = self._training_evidence(pieces, data, mixture)
        held = self._held_out(evidence)
        if SHARING[self.mode].sharing is None:
            score = FusedScore(self.mode, pieces, dict.fromkeys(pieces, 1.0), {}, ginis)
        else:
            unlabeled = data.y == 0
            standard = {
                n: Standardiser.fit(v[unlabeled], config.fusion) for n, v in evidence.items()
            }
            gaussian = {n: standard[n](v) for n, v in evidence.items()}
            upper = _upper_bounds(pieces, config)  # what the rules and the refit respect
            weights = _bounded(self._weights(pieces, gaussian, data, config), upper)
            if config.fusion.refit_weights > 0:
                held_gaussian = {n: standard[n](v) for n, v in held.items()}
                fixed = [n for n, p in pieces.items() if p.trust is Trust.LABEL_COUNT]
                strength = config.fusion.refit_weights
                weights = refitted_weights(
                    weights,
                    held_gaussian,
                    data.y,
                    strength,
                    fixed,
                    data.n_distinct_labeled,
                    upper=upper,
                )
            score = FusedScore(self.mode, pieces, weights, standard, ginis)
        score.held_out_anomalies = score.combine(held)[data.y == 1]
        score.reference_row = np.median(data.X[data.y == 0], axis=0)
        score.label_ranks, score.set_aside = self.ranks, self.set_aside
        return score, score.combine(evidence)

    def _training_evidence(
        self, pieces: dict[str, Evidence], data: TrainingData, mixture: TrainedMixture
    ) -> dict[str, np.ndarray]:
        """Every fitted piece's evidence for the training rows, in `pieces`' order; the
        label-blind pieces' as computed when they were fitted."""
        fresh = {n: p for n, p in pieces.items() if n not in self.blind}
        rows = iter_rows(data.X, data.device, mixture.network, missing=data.missing)
        computed = _collect(fresh, rows, training=True)
        return {n: self.blind[n][1] if n in self.blind else computed[n] for n in pieces}

    def _held_out(self, evidence: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The training rows' evidence with every cross-fitted piece's value replaced by its
        held-out one (from the fold model that did not see the row)."""
        held = dict(evidence)
        for name, cross in self.cross_fits.items():
            if name in held:
                held[name] = cross.scores
        return held

    def _fit_pieces(
        self, data: TrainingData, config: Config, mixture: TrainedMixture
    ) -> dict[str, Evidence]:
        pieces: dict[str, Evidence] = {}
        for piece in self.pieces:
            rows = data
            if piece.name in self.blind:
                pieces[piece.name] = self.blind[piece.name][0]
                continue
            if piece.trust is Trust.CROSS_FITTED:
                cross = self.cross_fits.get(piece.name)
                refitted = cross is not None and config.fusion.refit_weights > 0
                if not refitted and supervised_weight(cross, data.n_labeled, config.fusion) == 0:
                    continue  # it would not count (refitted weights may still weigh it)
                if cross is not None and piece.name in config.fusion.bagged:
                    pieces[piece.name] = Bag(list(cross.models))
                    continue
                if piece.cleans and self.reliable is not None:
                    rows = data.subset(self.reliable)
            pieces[piece.name] = piece.fit(rows, config, mixture)
        return pieces

    def _weights(
        self,
        pieces: dict[str, Evidence],
        gaussian: dict[str, np.ndarray],
        data: TrainingData,
        config: Config,
    ) -> dict[str, float]:
        by_trust = {t: [n for n, p in pieces.items() if p.trust is t] for t in Trust}
        unsupervised = by_trust[Trust.UNSUPERVISED]
        weights = dict.fromkeys(pieces, 0.0)
        if not by_trust[Trust.LABEL_COUNT]:  # no labels: the unsupervised pieces alike
            weights.update(dict.fromkeys(unsupervised, 1.0 / len(unsupervised)))
            return weights
        n, prior = data.n_distinct_labeled, config.fusion_prior
        trust_head = n / (n + prior) if prior > 0 else 1.0
        weights.update(dict.fromkeys(by_trust[Trust.LABEL_COUNT], trust_head))
        minimum = config.fusion.min_known_normals
        rows = np.flatnonzero(data.y == 1)
        rows = np.r_[rows, negatives(np.flatnonzero(data.y == 0), data.known_normal, minimum)]
        in_sample = np.array([gini(data.y[rows], gaussian[n][rows]) for n in unsupervised])
        if SHARING[self.mode].sharing == "squares":
            shares = shared_weights(in_sample)
        else:  # "best": a tie keeps the first (the reconstruction error)
            shares = np.zeros_like(in_sample)
            best = int(np.argmax(in_sample))
            shares[best] = in_sample[best]
        weights.update(zip(unsupervised, map(float, (1.0 - trust_head) * shares), strict=True))
        for name in by_trust[Trust.CROSS_FITTED]:
            weights[name] = supervised_weight(self.cross_fits.get(name), n, config.fusion)
        for name in by_trust[Trust.PRIOR]:  # each label measured without it (and its copies)
            held_out = gini(data.y[rows], gaussian[name][rows]) if n > 1 else 0.0
            prior = pieces[name].prior_weight(config, n)
            weights[name] = prior_shrunk_weight(
                prior, held_out, n - 1, config.fusion, config.fusion.prior_strength
            )
        return weights


def _upper_bounds(pieces: dict[str, Evidence], config: Config) -> dict[str, float]:
    """The pieces that declare a most weight (`Evidence.max_weight`), with it."""
    bounds = {name: piece.max_weight(config) for name, piece in pieces.items()}
    return {name: bound for name, bound in bounds.items() if bound is not None}


def _bounded(weights: dict[str, float], upper: dict[str, float]) -> dict[str, float]:
    """`weights` with each piece in `upper` at most its bound."""
    return {name: min(w, upper.get(name, w)) for name, w in weights.items()}


class FusedScore:
    """The fitted score: its pieces, their weights and standardisers, and the cross-fitted
    Gini of every supervised piece that was cross-fitted (fitted or not)."""

    def __init__(
        self,
        mode: str,
        pieces: dict[str, Evidence],
        weights: dict[str, float],
        standard: dict[str, Standardiser],
        ginis: dict[str, float],
    ) -> None:
        self.mode = mode
        self.pieces = pieces
        self._weights = weights
        self._standard = standard
        self.ginis = ginis
        # the labeled anomalies' scores with every cross-fitted piece held out (the score
        # estimator and the unsupervised pieces as fitted): what a threshold can learn from
        self.held_out_anomalies = np.zeros(0)
        # a typical normal row (the unlabeled training rows' median, scaled): the point
        # explanations measure a row's difference from
        self.reference_row = np.zeros(0)
        # per label-blind or held-out piece, each labeled anomaly's rank among the unlabeled
        # training rows (`label_ranks`, of every given label), in training order
        self.label_ranks: dict[str, np.ndarray] = {}
        # positions among the labeled anomalies of those the fit set aside as doubtful
        self.set_aside = np.zeros(0, dtype=np.int64)

    @property
    def fused(self) -> bool:
        """Whether the score adds weighted pieces (else it reads one piece alone)."""
        return SHARING[self.mode].sharing is not None

    def weights(self) -> dict[str, float]:
        """Each piece's weight by name, in the read-out's order; {} when one piece is read
        alone."""
        return dict(self._weights) if self.fused else {}

    def labels_to_recheck(self, max_rank: float | None = None) -> list[tuple[int, float]]:
        """The labeled anomalies worth a second look (`doubtful_labels` of `label_ranks`)."""
        return doubtful_labels(self.label_ranks, max_rank)

    def threshold_for_recall(self, recall: float) -> float:
        """The highest threshold that flags (score > threshold) at least `recall` of the
        labeled anomalies scored as held out. The score estimator and the unsupervised
        pieces enter as fitted, so with few labels the recall it promises leans high."""
        recall = RECALL.check("recall", recall)
        held = np.sort(self.held_out_anomalies)[::-1]
        if held.size == 0:
            raise ValueError("a threshold from the labels needs labeled anomalies")
        kth = held[int(np.ceil(recall * held.size)) - 1]
        return float(np.nextafter(kth, -np.inf))

    def label_free(self) -> FusedScore:
        """The same fitted pieces read out without the labels: the unsupervised ones, alike
        in weight (what the mixture and the distance say with no label used to weigh them).
        For a score of one piece, that piece."""
        if not self.fused:
            return self
        names = [n for n, p in self.pieces.items() if p.trust is Trust.UNSUPERVISED]
        pieces = {n: self.pieces[n] for n in names}
        standard = {n: self._standard[n] for n in names}
        free = FusedScore(self.mode, pieces, dict.fromkeys(names, 1.0 / len(names)), standard, {})
        free.reference_row = self.reference_row
        return free

    def readout(self, name: str) -> Callable[[Tensor], Tensor]:
        """Piece `name`'s map from its raw evidence (a float64 tensor) to its share of the
        score, differentiable: weight x Gaussianised evidence, or the evidence itself for
        a piece read alone."""
        if not self.fused:
            return lambda values: values
        weight, standard = self._weights[name], self._standard[name]
        return lambda values: weight * standard.tensor(values)

    def evidence(self, rows: Iterable[Rows]) -> dict[str, np.ndarray]:
        """Each counting piece's (weight > 0) raw evidence for `rows`."""
        counting = {n: p for n, p in self.pieces.items() if self._weights[n] != 0}
        return _collect(counting, rows, training=False)

    def contributions(self, evidence: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each piece's share of the score, weight x standardised evidence; for a piece read
        alone, its evidence. They sum to `combine(evidence)`."""
        if not self.fused:
            return dict(evidence)
        return {n: self._weights[n] * self._standard[n](v) for n, v in evidence.items()}

    def combine(self, evidence: dict[str, np.ndarray]) -> np.ndarray:
        """The score from `evidence` (pieces of weight 0 may be missing)."""
        parts = self.contributions({n: v for n, v in evidence.items() if self._weights[n]})
        return np.sum(list(parts.values()), axis=0)

    def score(self, rows: Iterable[Rows]) -> np.ndarray:
        """One score per row of `rows`, higher = more anomalous."""
        return self.combine(self.evidence(rows))

    def state(self) -> dict[str, Tensor]:
        """Weights, standardisers, Ginis and every piece's state, as tensors."""
        tensors = {f"gini.{n}": torch.tensor(g, dtype=torch.float64) for n, g in self.ginis.items()}
        tensors["held_out_anomalies"] = torch.as_tensor(self.held_out_anomalies)
        tensors["reference_row"] = torch.as_tensor(self.reference_row)
        tensors |= {f"label_rank.{n}": torch.as_tensor(v) for n, v in self.label_ranks.items()}
        tensors["set_aside"] = torch.as_tensor(self.set_aside, dtype=torch.int64)
        for name, piece in self.pieces.items():
            tensors[f"{name}.weight"] = torch.tensor(self._weights[name], dtype=torch.float64)
            if name in self._standard:
                s = self._standard[name]
                tensors[f"{name}.center"] = torch.tensor(s.center, dtype=torch.float64)
                tensors[f"{name}.scale"] = torch.tensor(s.scale, dtype=torch.float64)
                tensors[f"{name}.quantiles"] = torch.as_tensor(s.quantiles)
            tensors.update({f"{name}.state.{k}": v for k, v in piece.state().items()})
        return tensors

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], mode: str, config: Config, device: torch.device
    ) -> FusedScore:
        """Rebuild the fitted score of read-out `mode` from `state()`'s tensors."""
        names = [n for n in readout_pieces(mode) if f"{n}.weight" in state]
        pieces, weights, standard = {}, {}, {}
        for name in names:
            own = prefixed(state, f"{name}.state.")
            if "bag_size" in own:
                pieces[name] = Bag.from_members_state(PIECES[name], own, config, device)
            else:
                pieces[name] = PIECES[name].from_state(own, config, device)
            weights[name] = float(state[f"{name}.weight"])
            if f"{name}.quantiles" in state:
                standard[name] = Standardiser(
                    float(state[f"{name}.center"]),
                    float(state[f"{name}.scale"]),
                    state[f"{name}.quantiles"].numpy(),
                    config.fusion.tails,
                    config.fusion.ties,
                )
        ginis = {k: float(v) for k, v in prefixed(state, "gini.").items()}
        score = cls(mode, pieces, weights, standard, ginis)
        score.held_out_anomalies = state["held_out_anomalies"].numpy()
        score.reference_row = state["reference_row"].numpy()
        score.label_ranks = {n: v.numpy() for n, v in prefixed(state, "label_rank.").items()}
        none = torch.zeros(0, dtype=torch.int64)  # models before format 12 set none aside
        score.set_aside = state.get("set_aside", none).numpy()
        return score


def _checked_mode(config: Config, data: TrainingData) -> str:
    """`config.score_mode`, or "elbo" (with a warning) where "head" meets no labels."""
    mode = config.score_mode
    if mode == "head" and data.n_labeled == 0:
        warnings.warn(
            "score_mode='head' reads the score estimator, which needs labeled anomalies; "
            "without any the score is the negative ELBO (score_mode='elbo')",
            UserWarning,
            stacklevel=5,
        )
        mode = "elbo"
    check_bagged(config)
    return mode


def _fit_label_blind(
    pieces: tuple[type[Evidence], ...], data: TrainingData, config: Config
) -> dict[str, tuple[Evidence, np.ndarray]]:
    """Each piece that does not learn from the labels, fitted on `data` (from the rows
    alone: it needs no mixture), with its evidence for the training rows."""
    blind = {p.name: p.fit(data, config, None) for p in pieces if not p.sees_labels}
    rows = iter_rows(data.X, data.device, missing=data.missing)
    evidence = _collect(blind, rows, training=True)
    return {n: (piece, evidence[n]) for n, piece in blind.items()}


def _cross_fit_supervised(
    pieces: tuple[type[Evidence], ...], data: TrainingData, config: Config
) -> dict[str, CrossFit]:
    """Each cross-fitted piece's `CrossFit` ({} where the labels cannot be held out)."""
    supervised = [p for p in pieces if p.trust is Trust.CROSS_FITTED]
    if not supervised or not can_cross_fit(data):
        return {}
    return {p.name: cross_fit(p, data, config) for p in supervised}


def _reliable(
    pieces: tuple[type[Evidence], ...],
    cross_fits: dict[str, CrossFit],
    data: TrainingData,
    config: Config,
) -> np.ndarray | None:
    """The rows that look normal to the piece that `cleans`, where it earns weight and
    `clean_unlabeled` is on (`reliable_rows`); None: every row."""
    cleaner = next((p.name for p in pieces if p.trust is Trust.CROSS_FITTED and p.cleans), None)
    cross = cross_fits.get(cleaner) if config.clean_unlabeled else None
    if cross is None or cross_fitted_weight(cross.gini, config.fusion) == 0:
        return None
    return reliable_rows(cross.scores, data.y, config.fusion.spy_quantile, data.known_normal)


def _collect(
    pieces: dict[str, Evidence], rows: Iterable[Rows], *, training: bool
) -> dict[str, np.ndarray]:
    """Each piece's evidence for every chunk of `rows`, as float64 arrays by name."""
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in pieces}
    with torch.inference_mode():
        for chunk in rows:
            for name, piece in pieces.items():
                values = piece.score_training(chunk) if training else piece.score(chunk)
                chunks[name].append(values.double().cpu().numpy())
    return {n: np.concatenate(c) if c else np.zeros(0) for n, c in chunks.items()}

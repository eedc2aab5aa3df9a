"""The one interface every piece of WVAD's score shares.

A piece of evidence maps scaled rows to one number per row, higher = more anomalous. Each
is one class with the same small surface:

- `name`, and `trust`: how the fused score may learn how much to believe it
  (`Trust`; a property of the piece, not a branch in the fused score);
- `readouts`: the score modes that read it (`wvad.fused.readout_pieces` reads these),
  `baggable`: whether its cross-fitted fold models may score in place of a refit, and
  `exact_shares`: its columns' exact shares of its score where it has them (explanations
  fall back to integrated gradients, so every other piece must be differentiable);
- `fit(data, config, mixture)`: fitted on the scaled training rows and weak labels
  (`TrainingData`) and, for the pieces that read it, the trained mixture; `fit_each`
  fits one independent copy per dataset (cross-fitting's folds);
- `score(rows)` on a chunk of `Rows`, and `score_training(rows)` for the training rows
  (the same, except where a row must not count as evidence about itself);
- `state()` / `from_state(state, config, device)`: plain tensors, no pickle.

A concrete piece registers itself by being defined (`PIECES`, in definition order, which
is the order read-outs list their pieces in): adding a piece is its own class; the fused
score, persistence and explanations find it by name. `wvad.fused.FusedScore` fits, weighs
and combines them; nothing else knows which pieces exist.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from wvad.config import Config
from wvad.model.mixture import MixtureFeatures, VariationalMixture

if TYPE_CHECKING:
    from typing import Self

    from wvad.training import TrainedMixture

__all__ = [
    "PIECES",
    "SCORING_BATCH",
    "Evidence",
    "Rows",
    "TrainingData",
    "Trust",
    "content_groups",
    "iter_rows",
    "twin_groups",
]

#: Rows per scoring chunk: large enough for fast matrix products, small enough for memory.
SCORING_BATCH = 16384


class Trust(Enum):
    """How the fused score learns a piece's weight from the labels."""

    #: Not fitted to the labels: how it ranks the labeled anomalies among the training
    #: rows is an honest estimate of how it ranks unseen ones.
    UNSUPERVISED = "unsupervised"
    #: Fitted to the labels with the mixture (the score estimator): trusted by how many
    #: labels there are, since cross-fitting it would mean refitting the mixture.
    LABEL_COUNT = "label_count"
    #: Fitted to the labels alone: its in-sample ranking would be near perfect and say
    #: nothing, so its weight comes from a cross-fitted (held-out) ranking.
    CROSS_FITTED = "cross_fitted"
    #: The labels themselves, meaningful from one label on, when nothing can be held out:
    #: weighed by a prior the piece reads from its settings (`Evidence.prior_weight`).
    PRIOR = "prior"


@dataclass(frozen=True)
class TrainingData:
    """What a piece is fitted on: scaled rows (float64), weak labels (1 = known anomaly,
    0 = not known to be one), the seed of its random draws, the device of its tensors, and
    which of the rows with y = 0 are known normals (`normal`; None: none)."""

    X: np.ndarray
    y: np.ndarray
    seed: int
    device: torch.device
    normal: np.ndarray | None = None
    #: where X's cells were missing before they were filled (None: nowhere); the pieces
    #: that read missing values themselves (`Evidence.with_missing`) see them as NaN
    missing: np.ndarray | None = None
    #: each categorical source column's one-hot columns of X (`TableEncoder.category_blocks`)
    categories: tuple[tuple[int, ...], ...] = ()

    @property
    def known_normal(self) -> np.ndarray:
        """The known normal mask over the rows (all False where none were given)."""
        return np.zeros(len(self.y), dtype=bool) if self.normal is None else self.normal

    @property
    def n_labeled(self) -> int:
        return int((self.y == 1).sum())

    @property
    def n_distinct_labeled(self) -> int:
        """Labeled anomalies with a row and its copies counted once (`twin_groups`): what
        the labels are worth as evidence, where four copies of one row are one label."""
        return len(twin_groups(self.X, np.flatnonzero(self.y == 1)))

    @property
    def n_unlabeled(self) -> int:
        return int((self.y == 0).sum())

    def without_labels(self, rows: np.ndarray) -> TrainingData:
        """The same rows with those at `rows` (indices) unlabeled (y = 0)."""
        y = self.y.copy()
        y[rows] = 0
        return replace(self, y=y)

    def subset(self, rows: np.ndarray, seed: int | None = None) -> TrainingData:
        """The rows selected by `rows` (a mask or indices), optionally with another seed."""
        normal = None if self.normal is None else self.normal[rows]
        missing = None if self.missing is None else self.missing[rows]
        seed = self.seed if seed is None else seed
        return replace(
            self, X=self.X[rows], y=self.y[rows], seed=seed, normal=normal, missing=missing
        )


def content_groups(X: np.ndarray) -> np.ndarray:
    """Each row's group of identical content (equal values in every column), numbered in
    order of first appearance: the one test of "a row and its copies" every piece uses."""
    if len(X) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, group = np.unique(X, axis=0, return_index=True, return_inverse=True)
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    return renumber[group.ravel()]


def twin_groups(X: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
    """`rows` (indices) grouped by identical content (`content_groups`), each group a row
    and its copies, in order of first appearance (without copies: each row alone, in
    order)."""
    rows = np.asarray(rows, dtype=np.int64)
    group = content_groups(X[rows])
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    return [rows[g] for g in np.split(order, bounds)] if len(rows) else []


class Rows:
    """A chunk of scaled rows being scored, and what the mixture says of them.

    `start` is the chunk's first row's position in the table being scored (the training
    table, in `score_training`). The mixture's features are computed once per chunk, at
    the first piece that asks, and shared by every piece that reads them. `missing` marks
    the cells of `x` that were missing and hold their column's fill (None: none).
    """

    def __init__(
        self,
        x: Tensor,
        start: int = 0,
        mixture: VariationalMixture | None = None,
        missing: np.ndarray | None = None,
    ):
        self.x = x
        self.start = start
        self.mixture = mixture
        self.missing = missing

    def __len__(self) -> int:
        return len(self.x)

    @cached_property
    def features(self) -> MixtureFeatures:
        """The mixture's features of these rows, the negative ELBO at the mean included."""
        if self.mixture is None:
            raise RuntimeError("these rows were built without the mixture")
        return self.mixture.features(self.x, density=True)


def iter_rows(
    X: np.ndarray,
    device: torch.device,
    mixture: VariationalMixture | None = None,
    scale: Callable[[Tensor], Tensor] | None = None,
    batch: int = SCORING_BATCH,
    missing: np.ndarray | None = None,
) -> Iterator[Rows]:
    """`X` in chunks of float32 `Rows`, each scaled by `scale` (in float64) when given,
    with its part of the `missing` mask. Call it under `torch.inference_mode()`."""
    for start in range(0, len(X), batch):
        x = _as_tensor_readonly(X[start : start + batch], device)
        if scale is not None:
            x = scale(x)
        chunk = None if missing is None else missing[start : start + batch]
        yield Rows(x.to(torch.float32), start, mixture, chunk)


def _as_tensor_readonly(array: np.ndarray, device: torch.device) -> Tensor:
    """A tensor sharing `array`'s memory, which is only read: the user's read-only arrays
    (memory maps, pandas buffers) need no copy and deserve no warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array, device=device)


_REGISTRY: dict[str, type[Evidence]] = {}
#: Every piece of evidence by name, in the order the pieces were defined.
PIECES: Mapping[str, type[Evidence]] = MappingProxyType(_REGISTRY)


class Evidence(ABC):
    """One piece of the score; see the module docstring for the contract."""

    name: ClassVar[str]
    trust: ClassVar[Trust]
    #: The score modes (`Config.score_mode`) whose read-out uses this piece.
    readouts: ClassVar[tuple[str, ...]] = ("stacked",)
    #: Whether the piece's held-out scores pick the reliable unlabeled rows and its final
    #: fit learns "normal" from them (the reliable-rows step, `wvad.crossfit`).
    cleans: ClassVar[bool] = False
    #: Whether its cross-fitted fold models may score instead of a refit on all rows
    #: (`FusionSettings.bagged`); only for cross-fitted pieces.
    baggable: ClassVar[bool] = False
    #: Whether its fit reads the labels (directly, or through the mixture they shaped); a
    #: blind piece's view of a labeled row is evidence on whether the label is right. A
    #: blind piece is fitted before the mixture is trained, from the rows alone.
    sees_labels: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class that names itself is a piece: registered under its name."""
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if isinstance(name, str):
            if name in _REGISTRY and _REGISTRY[name].__qualname__ != cls.__qualname__:
                raise TypeError(f"two pieces of evidence are named {name!r}")
            _REGISTRY[name] = cls

    @classmethod
    def applies(cls, config: Config, data: TrainingData) -> bool:
        """Whether this piece is part of a fit with `config` on `data`."""
        return True

    @classmethod
    @abstractmethod
    def fit(cls, data: TrainingData, config: Config, mixture: TrainedMixture | None) -> Self:
        """Fit on `data`; `mixture` is None while cross-fitting (before it is trained)."""

    @classmethod
    def fit_each(cls, datasets: list[TrainingData], config: Config) -> list[Self]:
        """One piece fitted on each of `datasets` without the mixture (cross-fitting's
        folds), each as `fit` would alone; pieces whose fits can share their steps
        override this to fit them together."""
        return [cls.fit(data, config, None) for data in datasets]

    @abstractmethod
    def score(self, rows: Rows) -> Tensor:
        """One float32 score per row, higher = more anomalous."""

    def score_training(self, rows: Rows) -> Tensor:
        """`score` of the training rows, chunk by chunk in order."""
        return self.score(rows)

    @classmethod
    def prior_weight(cls, config: Config, n_labeled: int) -> float:
        """A `Trust.PRIOR` piece's weight for `n_labeled` labeled anomalies."""
        return 0.0

    @classmethod
    def max_weight(cls, config: Config) -> float | None:
        """The most weight the piece may take, by the rules and by the refit (None: no
        bound of its own)."""
        return None

    def exact_shares(self, X: np.ndarray) -> tuple[np.ndarray, str] | None:
        """Each column's exact share of each row's raw score (float64 scaled rows, as
        `with_missing` gives them), up to a part no column owns, with the method's name;
        None where the piece has none and explanations integrate its gradient instead."""
        return None

    def with_missing(self, X: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
        """Rows `X` (filled) as this piece reads them given where cells were `missing`:
        filled, for every piece but those that read a missing value themselves (NaN)."""
        return X

    def state(self) -> dict[str, Tensor]:
        """The fitted piece as plain tensors."""
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Tensor], config: Config, device: torch.device) -> Self:
        """Rebuild the fitted piece from `state()`'s tensors."""
        return cls()

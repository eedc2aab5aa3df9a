"""The distance piece: how far a row lies from its nearest unlabeled training rows.

The mixture describes the unlabeled rows with K Gaussian clusters in a small latent space;
anomalies that sit in the gaps of a many-shaped normal class (letters drawn by many hands,
radar returns) look ordinary to it but are far from every normal row in the input space.
The log of the mean Euclidean distance to the k nearest unlabeled training rows measures
exactly that (it is the k-nearest-neighbour detector, a strong unsupervised baseline on
tabular data). It is unsupervised evidence, weighed in the fused score like the mixture's
own. A training row is not its own neighbour (`score_training`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wvad.config import Config
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust, content_groups
from wvad.training import TrainedMixture

__all__ = ["NeighbourDistance"]

#: Query rows per distance block: a block x reference matrix of float32 stays a few MB.
_BLOCK = 256
#: Candidates beyond k whose exact distance is computed: more than enough to absorb the
#: float32 ranking's rounding, which can only swap near-equal neighbours.
CANDIDATE_MARGIN = 8


class NeighbourDistance(Evidence):
    """log mean distance from a row to its `k` nearest rows of `reference` (scaled rows)."""

    name = "neighbours"
    trust = Trust.UNSUPERVISED
    sees_labels = False  # its reference rows are unlabeled ones; the labels choose none

    def __init__(self, reference: Tensor, k: int, training_position: np.ndarray | None = None):
        self.reference = reference
        self.k = int(k)
        self._reference64 = reference.double()
        self._squared_norms = (reference * reference).sum(dim=1)
        # per training row, its place in `reference` (-1: not in it); known right after fit
        self._training_position = training_position

    @classmethod
    def applies(cls, config: Config, data: TrainingData) -> bool:
        return config.n_neighbors > 0

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> NeighbourDistance:
        """Keep up to `fusion.max_reference` of the distinct unlabeled rows (a seeded
        sample above that) and use k = min(n_neighbors, rows kept - 1) neighbours.

        Copies count once: four copies of an anomaly would otherwise be three of its
        nearest rows, at distance 0, and make its kind look dense; and a training row is
        never measured against a copy of itself, as cross-fitting never scores a row
        with its twin. A table of fewer than two distinct unlabeled rows keeps them all."""
        distinct, group = _distinct_unlabeled(data.X, data.y)
        n, limit = len(distinct), config.fusion.max_reference
        kept = np.arange(n)
        if n > limit:
            kept = np.sort(np.random.default_rng(data.seed).choice(n, limit, replace=False))
        in_reference = np.full(group.max() + 1, -1, dtype=np.int64)
        in_reference[group[distinct[kept]]] = np.arange(len(kept))
        position = in_reference[group]  # a row's own content's place in `reference`
        rows = data.X[distinct[kept]]
        reference = torch.as_tensor(rows, dtype=torch.float32, device=data.device)
        return cls(reference, min(config.n_neighbors, len(kept) - 1), position)

    def score(self, rows: Rows) -> Tensor:
        return self._log_mean_distance(rows.x, None)

    def score_training(self, rows: Rows) -> Tensor:
        if self._training_position is None:
            raise RuntimeError("training rows are scored right after fit only")
        own = self._training_position[rows.start : rows.start + len(rows)]
        return self._log_mean_distance(rows.x, torch.as_tensor(own, device=rows.x.device))

    def _log_mean_distance(self, rows: Tensor, own: Tensor | None) -> Tensor:
        take = min(self.k + (0 if own is None else 1) + CANDIDATE_MARGIN, len(self.reference))
        out = []
        for start in range(0, len(rows), _BLOCK):
            block = rows[start : start + _BLOCK].to(self.reference.dtype)
            index = self._candidates(block, take)
            # the candidates' distances exactly, in float64: the float32 expansion loses the
            # small distances that matter most, and would shift with the rows alongside
            chosen = self._reference64.index_select(0, index.flatten()).view(*index.shape, -1)
            gap = block.double().unsqueeze(1) - chosen
            d2 = (gap * gap).sum(dim=2)
            if own is not None:  # a row is not its own neighbour
                d2 = d2.masked_fill(index == own[start : start + _BLOCK, None], float("inf"))
            d2 = d2.sort(dim=1).values[:, : self.k]
            out.append(d2.sqrt().mean(dim=1))
        distance = torch.cat(out) if out else rows.new_zeros(0, dtype=torch.float64)
        return distance.clamp_min(1e-12).log().to(self.reference.dtype)

    def _candidates(self, block: Tensor, take: int) -> Tensor:
        """The `take` reference rows nearest each row of `block` by the float32 proxy
        ||r||^2 - 2 q.r (||q||^2 is the same for every r of a row).

        One top-k over all reference rows: at 1,024 rows a grouped search prunes too
        little to pay for its gathers. It runs on the proxy's bits as integers
        (`_ordered_bits`), which order like the floats: torch's top-k over integers,
        conversion included, takes about four fifths of its time over floats, for the
        same rows.
        """
        with torch.no_grad():  # indices only: explanations differentiate the exact step
            proxy = torch.addmm(self._squared_norms, block, self.reference.T, alpha=-2.0)
            return _ordered_bits(proxy).topk(take, dim=1, largest=False, sorted=False).indices

    def state(self) -> dict[str, Tensor]:
        return {"reference": self.reference.detach().cpu(), "k": torch.tensor(self.k)}

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> NeighbourDistance:
        return cls(state["reference"].to(device), int(state["k"]))


def _distinct_unlabeled(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first unlabeled row of each distinct content, in order (indices into X), and
    each row's content group (labeled rows included, so a labeled copy of an unlabeled
    row is measured without it). All unlabeled rows, each its own group, where fewer
    than two contents are distinct."""
    unlabeled = np.flatnonzero(y == 0)
    group = content_groups(X)
    _, first = np.unique(group[unlabeled], return_index=True)
    if len(first) < 2:
        return unlabeled, np.arange(len(X))
    return np.sort(unlabeled[first]), group


def _ordered_bits(values: Tensor) -> Tensor:
    """int32 keys that sort like the float32 `values` (no NaN): a non-negative float's
    bits already do; a negative one's have every bit but the sign flipped. `values`
    are overwritten (in place, to save two passes over the block)."""
    bits = values.view(torch.int32)
    flip = bits >> 31
    flip &= 0x7FFFFFFF
    return bits.bitwise_xor_(flip)

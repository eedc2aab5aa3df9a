"""The distance piece of WVAD's "stacked" score: how far a row lies from its nearest
unlabeled training rows.

The mixture describes the unlabeled rows with K Gaussian clusters in a small latent space;
anomalies that sit in the gaps of a many-shaped normal class (letters drawn by many hands,
radar returns) look ordinary to it but are far from every normal row in the input space.
The log of the mean Euclidean distance to the k nearest unlabeled training rows measures
exactly that (it is the k-nearest-neighbour detector, a strong unsupervised baseline on
tabular data). It is unsupervised evidence, weighed in the fused score like the mixture's
own (`wvad.stacking.unsupervised_weights`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["MAX_REFERENCE", "NeighbourDistance"]

#: Unlabeled rows kept as neighbours (a seeded sample above this): bounds memory and the
#: cost of scoring, which grows with the reference set.
MAX_REFERENCE = 8192
#: Query rows per distance block: a block x reference matrix stays a few tens of MB.
_BLOCK = 1024
#: Candidates beyond k whose exact distance is computed: more than enough to absorb the
#: float32 ranking's rounding, which can only swap near-equal neighbours.
CANDIDATE_MARGIN = 8


class NeighbourDistance:
    """log mean distance from a row to its `k` nearest rows of `reference` (scaled rows)."""

    def __init__(self, reference: torch.Tensor, k: int) -> None:
        self.reference = reference
        self.k = int(k)
        self._reference64 = reference.double()
        self._squared_norms = (reference * reference).sum(dim=1)

    @classmethod
    def fit(
        cls, unlabeled: np.ndarray, k: int, seed: int, device: torch.device
    ) -> tuple[NeighbourDistance, np.ndarray]:
        """Keep up to MAX_REFERENCE of the scaled `unlabeled` rows (at least two) and use
        k = min(k, rows kept - 1) neighbours. Also returns, per unlabeled row, its position
        in the reference set or -1, which `leave_one_out` needs."""
        n = len(unlabeled)
        kept = np.arange(n)
        if n > MAX_REFERENCE:
            kept = np.sort(np.random.default_rng(seed).choice(n, MAX_REFERENCE, replace=False))
        position = np.full(n, -1, dtype=np.int64)
        position[kept] = np.arange(len(kept))
        reference = torch.as_tensor(unlabeled[kept], dtype=torch.float32, device=device)
        return cls(reference, min(k, len(kept) - 1)), position

    def score(self, rows: torch.Tensor) -> torch.Tensor:
        """One score per row of `rows` (scaled, float32)."""
        return self._log_mean_distance(rows, None)

    def leave_one_out(self, rows: torch.Tensor, position: np.ndarray) -> torch.Tensor:
        """As `score`, but a row that is itself reference row `position` (>= 0) does not
        count as its own neighbour: training rows then look as a new row would."""
        own = torch.as_tensor(position, dtype=torch.int64, device=rows.device)
        return self._log_mean_distance(rows, own)

    def _log_mean_distance(self, rows: torch.Tensor, own: torch.Tensor | None) -> torch.Tensor:
        reference = self.reference
        take = min(self.k + (0 if own is None else 1) + CANDIDATE_MARGIN, len(reference))
        out = []
        for start in range(0, len(rows), _BLOCK):
            block = rows[start : start + _BLOCK].to(reference.dtype)
            # candidates by ||r||^2 - 2 q.r in float32 (||q||^2 is the same for every r of a
            # row); their distances exactly, in float64: the float32 expansion loses the small
            # distances that matter most, and would shift with the rows scored alongside
            proxy = torch.addmm(self._squared_norms, block, reference.T, alpha=-2.0)
            index = proxy.topk(take, dim=1, largest=False).indices
            gap = block.double().unsqueeze(1) - self._reference64[index]
            d2 = (gap * gap).sum(dim=2)
            if own is not None:  # a row is not its own neighbour
                d2 = d2.masked_fill(index == own[start : start + _BLOCK, None], float("inf"))
            d2 = d2.sort(dim=1).values[:, : self.k]
            out.append(d2.sqrt().mean(dim=1))
        distance = torch.cat(out) if out else rows.new_zeros(0, dtype=torch.float64)
        return distance.clamp_min(1e-12).log().to(reference.dtype)

    def state(self) -> dict[str, torch.Tensor]:
        return {"reference": self.reference.detach().cpu(), "k": torch.tensor(self.k)}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], device: torch.device) -> NeighbourDistance:
        return cls(state["reference"].to(device), int(state["k"]))

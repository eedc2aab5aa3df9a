"""The pieces of evidence WVAD's score is made of, each one object with one interface
(`wvad.evidence.base.Evidence`), and `PIECES`, every piece by name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from wvad.evidence.base import SCORING_BATCH, Evidence, Rows, TrainingData, Trust, iter_rows
from wvad.evidence.deviation import DeviationPiece
from wvad.evidence.mixture import HeadLogit, LogReconstruction, NegativeElbo
from wvad.evidence.neighbours import NeighbourDistance
from wvad.evidence.trees import BoostedTrees

__all__ = [
    "PIECES",
    "SCORING_BATCH",
    "BoostedTrees",
    "DeviationPiece",
    "Evidence",
    "HeadLogit",
    "LogReconstruction",
    "NegativeElbo",
    "NeighbourDistance",
    "Rows",
    "TrainingData",
    "Trust",
    "iter_rows",
]

PIECES: Mapping[str, type[Evidence]] = MappingProxyType(
    {
        piece.name: piece
        for piece in (
            HeadLogit,
            LogReconstruction,
            NegativeElbo,
            NeighbourDistance,
            DeviationPiece,
            BoostedTrees,
        )
    }
)

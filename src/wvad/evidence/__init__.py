"""The pieces of evidence WVAD's score is made of, each one object with one interface
(`wvad.evidence.base.Evidence`), and `PIECES`, every piece by name: each registers itself
when its module is imported, as here."""

from __future__ import annotations

from wvad.evidence.base import (
    PIECES,
    SCORING_BATCH,
    Evidence,
    Rows,
    TrainingData,
    Trust,
    iter_rows,
)

# the pieces register in import order, the order read-outs list them in
# isort: off
from wvad.evidence.mixture import HeadLogit, LogReconstruction, NegativeElbo
from wvad.evidence.neighbours import NeighbourDistance
from wvad.evidence.deviation import DeviationPiece
from wvad.evidence.trees import BoostedTrees
from wvad.evidence.proximity import KnownAnomalyProximity

# isort: on

__all__ = [
    "PIECES",
    "SCORING_BATCH",
    "BoostedTrees",
    "DeviationPiece",
    "Evidence",
    "HeadLogit",
    "KnownAnomalyProximity",
    "LogReconstruction",
    "NegativeElbo",
    "NeighbourDistance",
    "Rows",
    "TrainingData",
    "Trust",
    "iter_rows",
]

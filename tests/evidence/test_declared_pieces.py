"""A piece of evidence declares itself: defining the class is all it takes for the fused
score, persistence and explanations to use it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.evidence import PIECES, Evidence, Trust
from wvad.evidence.base import _REGISTRY
from wvad.fused import readout_pieces

QUICK = dict(
    pretrain_epochs=2,
    warmup_epochs=2,
    joint_epochs=2,
    deviation=DeviationSettings(epochs=2),
    trees=TreeSettings(max_iter=5),
    random_state=0,
)


@pytest.fixture
def toy_piece():
    """A toy piece, defined here and nowhere else: the distance of a row's first column
    from the typical unlabeled row's."""

    class FirstColumn(Evidence):
        name = "toy_first_column"
        trust = Trust.UNSUPERVISED
        readouts = ("stacked",)

        def __init__(self, centre: float = 0.0) -> None:
            self.centre = centre

        @classmethod
        def fit(cls, data, config, mixture):
            return cls(float(np.median(data.X[data.y == 0, 0])))

        def score(self, rows):
            return (rows.x[:, 0] - self.centre).abs()

        def state(self):
            return {"centre": torch.tensor(self.centre, dtype=torch.float64)}

        @classmethod
        def from_state(cls, state, config, device):
            return cls(float(state["centre"]))

    yield FirstColumn
    del _REGISTRY[FirstColumn.name]  # the registry is the process's: leave it as found


def test_a_piece_defined_alone_is_fitted_weighed_saved_and_explained(toy_piece, tmp_path):
    assert PIECES[toy_piece.name] is toy_piece
    assert readout_pieces("stacked")[-1] == toy_piece.name
    assert toy_piece.name not in readout_pieces("fusion")
    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    X[:8, 0] += 3.0  # the anomalies differ in the toy piece's column
    y = np.zeros(200, dtype=int)
    y[:4] = 1
    model = WVAD(**QUICK).fit(X, y)
    assert model.score_weights()[toy_piece.name] > 0
    loaded = WVAD.load(model.save(tmp_path / "model"))
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))
    table = model.explain(X[:5], steps=8)
    mine = table[(table.piece == toy_piece.name) & (table.part == "column")]
    assert mine.method.str.startswith("integrated gradients").all()
    assert (
        mine.groupby("row")
        .value.apply(lambda v: np.abs(v).idxmax())
        .map(table.column)
        .eq("x0")
        .all()
    )


def test_two_pieces_cannot_share_a_name():
    with pytest.raises(TypeError, match="two pieces of evidence are named 'neighbours'"):

        class Impostor(Evidence):
            name = "neighbours"
            trust = Trust.UNSUPERVISED

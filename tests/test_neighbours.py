"""The neighbour distance: copies of a row count once, and never measure their twin."""

import numpy as np
import torch

from wvad import Config
from wvad.evidence import TrainingData, iter_rows
from wvad.evidence.neighbours import NeighbourDistance

CPU = torch.device("cpu")


def _training_scores(piece: NeighbourDistance, X: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([piece.score_training(r).numpy() for r in iter_rows(X, CPU)])


def _scores(piece: NeighbourDistance, X: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([piece.score(r).numpy() for r in iter_rows(X, CPU)])


def _table(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4))
    y = np.zeros(300, dtype=np.int64)
    y[:5] = 1
    return X, y


def test_copies_of_unlabeled_rows_change_neither_reference_nor_scores():
    X, y = _table()
    plain = NeighbourDistance.fit(TrainingData(X, y, 0, CPU), Config())
    copies = np.repeat(X[50:60], 3, axis=0)  # ten unlabeled rows three more times each
    X4, y4 = np.vstack([X, copies]), np.r_[y, np.zeros(len(copies), dtype=np.int64)]
    copied = NeighbourDistance.fit(TrainingData(X4, y4, 0, CPU), Config())
    assert torch.equal(copied.reference, plain.reference)  # the same distinct rows
    probe = np.random.default_rng(1).normal(size=(40, 4))
    np.testing.assert_array_equal(_scores(copied, probe), _scores(plain, probe))
    # a copied training row is measured without any of its copies, as without copies
    train4 = _training_scores(copied, X4)
    np.testing.assert_allclose(train4[: len(X)], _training_scores(plain, X), rtol=1e-6)
    np.testing.assert_allclose(train4[len(X) :], np.repeat(train4[50:60], 3), rtol=1e-6)
    assert np.all(train4 > np.log(1e-6))  # no copy at distance 0 among the neighbours


def test_a_labeled_copy_of_an_unlabeled_row_is_not_measured_against_it():
    X, y = _table()
    X2 = np.vstack([X, X[100]])  # row 300, labeled, copies unlabeled row 100
    y2 = np.r_[y, 1]
    piece = NeighbourDistance.fit(TrainingData(X2, y2, 0, CPU), Config())
    train = _training_scores(piece, X2)
    assert train[300] == train[100]  # both measured against the same rows, not each other
    assert train[300] > _scores(piece, X2[300:])[0]  # a new row would see the twin at 0


def test_a_table_of_one_distinct_unlabeled_row_keeps_its_rows():
    X = np.vstack([np.zeros((20, 3)), np.ones((2, 3))])
    y = np.r_[np.zeros(20), np.ones(2)].astype(np.int64)
    piece = NeighbourDistance.fit(TrainingData(X, y, 0, CPU), Config())
    assert len(piece.reference) == 20 and piece.k >= 1
    assert np.isfinite(_training_scores(piece, X)).all()

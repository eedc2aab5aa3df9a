"""The neighbour distance piece."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from wvad import WVAD, Config, FusionSettings
from wvad.evidence import NeighbourDistance, Rows, TrainingData, Trust, iter_rows
from wvad.evidence.neighbours import _ordered_bits

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    return rng.random((300, 4)), rng.random((40, 4))


def _fit(reference: np.ndarray, k: int, seed: int = 0, **fusion) -> NeighbourDistance:
    data = TrainingData(reference, np.zeros(len(reference), dtype=np.int64), seed, CPU)
    return NeighbourDistance.fit(data, Config(n_neighbors=k, fusion=FusionSettings(**fusion)))


def _score(piece: NeighbourDistance, X: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return piece.score(Rows(torch.as_tensor(X, dtype=torch.float32))).numpy()


def _expected(reference: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    distances, _ = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(queries)
    return np.log(distances.mean(axis=1))


def test_score_is_the_log_mean_distance_to_the_k_nearest_rows(rows):
    reference, queries = rows
    piece = _fit(reference, 5)
    assert piece.k == 5 and piece.trust is Trust.UNSUPERVISED
    expected = _expected(reference.astype(np.float32), queries, 5)
    assert np.allclose(_score(piece, queries), expected, atol=1e-5)


def test_training_rows_are_not_their_own_neighbours(rows):
    reference, queries = rows
    piece = _fit(reference, 5)
    with torch.inference_mode():  # two chunks, so the chunk offsets must line up
        x = torch.as_tensor(reference, dtype=torch.float32)
        loo = torch.cat(
            [piece.score_training(Rows(x[:120], 0)), piece.score_training(Rows(x[120:], 120))]
        ).numpy()
    ref32 = reference.astype(np.float32)
    distances, _ = NearestNeighbors(n_neighbors=6).fit(ref32).kneighbors(ref32)
    assert np.allclose(loo, np.log(distances[:, 1:].mean(axis=1)), atol=1e-5)
    # a new row's neighbours are all the reference rows
    assert np.allclose(_score(piece, queries), _expected(ref32, queries, 5), atol=1e-5)


def test_a_row_scores_the_same_alone_or_in_a_batch(rows):
    reference, queries = rows
    piece = _fit(reference, 5)
    together = _score(piece, queries)
    alone = np.concatenate([_score(piece, queries[i : i + 1]) for i in range(len(queries))])
    assert np.allclose(together, alone, rtol=0, atol=1e-7)


def test_reference_is_a_seeded_sample_of_large_tables_and_k_fits_it(rows):
    reference, _ = rows
    piece, again = (
        _fit(reference, 5, seed=3, max_reference=50),
        _fit(reference, 5, seed=3, max_reference=50),
    )
    assert piece.reference.shape == (50, 4) and torch.equal(piece.reference, again.reference)
    kept = np.isin(reference.astype(np.float32), piece.reference.numpy()).all(axis=1)
    assert kept.sum() == 50
    assert _fit(reference[:3], 5).k == 2  # one fewer than the rows: each has neighbours


def test_labeled_rows_are_not_neighbours():
    X = np.vstack([np.zeros((10, 2)), np.full((3, 2), 9.0)])
    y = np.r_[np.zeros(10, dtype=np.int64), np.ones(3, dtype=np.int64)]
    piece = NeighbourDistance.fit(TrainingData(X, y, 0, CPU), Config(n_neighbors=3))
    assert len(piece.reference) == 10 and float(piece.reference.abs().max()) == 0.0


def test_state_round_trips(rows):
    reference, queries = rows
    piece = _fit(reference, 4)
    again = NeighbourDistance.from_state(piece.state(), Config(), CPU)
    assert again.k == 4 and np.array_equal(_score(again, queries), _score(piece, queries))


def test_stacked_training_scores_do_not_count_a_row_as_its_own_neighbour(
    table, short, quick_pieces
):
    X, _, y_weak = table
    every_row = FusionSettings(max_reference=8192)  # every unlabeled row is a neighbour
    quick = {**short, **quick_pieces}
    model = WVAD(random_state=0, fusion=every_row, **quick).fit(X, y_weak)
    assert "neighbours" in model.score_weights() and model.score_.pieces["neighbours"].k == 5
    # scored as new rows, the unlabeled training rows would look closer to the data than
    # they are; the threshold is set on the scores they get as a new row would
    assert not np.allclose(model.decision_scores_, model.decision_function(X))
    unlabeled = y_weak == 0
    assert np.mean(model.decision_scores_[unlabeled] > model.decision_function(X)[unlabeled]) > 0.9
    without = WVAD(random_state=0, n_neighbors=0, **quick).fit(X, y_weak)
    assert "neighbours" not in without.score_.pieces and "neighbours" not in without.score_weights()
    # (a labeled row's closeness to the other labeled anomalies leaves itself out too)
    assert np.allclose(without.decision_scores_[unlabeled], without.decision_function(X)[unlabeled])


@pytest.mark.parametrize("bad", [-1, 2.5, "5"])
def test_n_neighbors_must_be_a_count(table, short, bad):
    X, _, y_weak = table
    with pytest.raises(ValueError, match="n_neighbors must be an int >= 0"):
        WVAD(n_neighbors=bad, **short).fit(X, y_weak)


def test_candidate_keys_order_like_the_floats():
    values = torch.tensor([3.5, -0.0, 0.0, -2.0, 1e-30, -1e-30, -7.25, 1e30, -1e30])
    keys = _ordered_bits(values.clone())
    order = torch.argsort(keys)
    assert torch.equal(values[order], torch.sort(values).values)


def test_candidates_are_the_nearest_rows_by_the_proxy(rows):
    reference, queries = rows
    piece = _fit(reference, 5)
    block = torch.as_tensor(queries, dtype=torch.float32)
    chosen = piece._candidates(block, 13).sort(dim=1).values
    ref = piece.reference
    proxy = (ref * ref).sum(dim=1) - 2 * block @ ref.T
    expected = proxy.topk(13, dim=1, largest=False).indices.sort(dim=1).values
    assert torch.equal(chosen, expected)


def _training_scores(piece: NeighbourDistance, X: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([piece.score_training(r).numpy() for r in iter_rows(X, CPU)])


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
    np.testing.assert_array_equal(_score(copied, probe), _score(plain, probe))
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
    assert train[300] > _score(piece, X2[300:])[0]  # a new row would see the twin at 0


def test_a_table_of_one_distinct_unlabeled_row_keeps_its_rows():
    X = np.vstack([np.zeros((20, 3)), np.ones((2, 3))])
    y = np.r_[np.zeros(20), np.ones(2)].astype(np.int64)
    piece = NeighbourDistance.fit(TrainingData(X, y, 0, CPU), Config())
    assert len(piece.reference) == 20 and piece.k >= 1
    assert np.isfinite(_training_scores(piece, X)).all()

"""The neighbour distance of the "stacked" score and the weights of the unsupervised pieces."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

import wvad.neighbours as neighbours_module
from wvad import WVAD
from wvad.neighbours import NeighbourDistance
from wvad.stacking import unsupervised_weights

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    return rng.random((300, 4)), rng.random((40, 4))


def _expected(reference: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    distances, _ = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(queries)
    return np.log(distances.mean(axis=1))


def test_score_is_the_log_mean_distance_to_the_k_nearest_rows(rows):
    reference, queries = rows
    piece, position = NeighbourDistance.fit(reference, 5, seed=0, device=CPU)
    assert np.array_equal(position, np.arange(300)) and piece.k == 5
    with torch.inference_mode():
        got = piece.score(torch.as_tensor(queries, dtype=torch.float32)).numpy()
    assert np.allclose(got, _expected(reference.astype(np.float32), queries, 5), atol=1e-5)


def test_leave_one_out_skips_only_the_row_itself(rows):
    reference, queries = rows
    piece, position = NeighbourDistance.fit(reference, 5, seed=0, device=CPU)
    both = np.vstack([reference, queries])
    own = np.r_[position, np.full(len(queries), -1)]
    with torch.inference_mode():
        loo = piece.leave_one_out(torch.as_tensor(both, dtype=torch.float32), own).numpy()
        new = piece.score(torch.as_tensor(queries, dtype=torch.float32)).numpy()
    # a reference row's neighbours are the other reference rows; a new row's are unchanged
    ref32 = reference.astype(np.float32)
    distances, _ = NearestNeighbors(n_neighbors=6).fit(ref32).kneighbors(ref32)
    assert np.allclose(loo[:300], np.log(distances[:, 1:].mean(axis=1)), atol=1e-5)
    assert np.allclose(loo[300:], new, atol=1e-6)


def test_a_row_scores_the_same_alone_or_in_a_batch(rows):
    reference, queries = rows
    piece, _ = NeighbourDistance.fit(reference, 5, seed=0, device=CPU)
    batch = torch.as_tensor(queries, dtype=torch.float32)
    with torch.inference_mode():
        together = piece.score(batch)
        alone = torch.cat([piece.score(batch[i : i + 1]) for i in range(len(batch))])
    assert torch.allclose(together, alone, rtol=0, atol=1e-7)


def test_reference_is_a_seeded_sample_of_large_tables_and_k_fits_it(rows, monkeypatch):
    reference, _ = rows
    monkeypatch.setattr(neighbours_module, "MAX_REFERENCE", 50)
    piece, position = NeighbourDistance.fit(reference, 5, seed=3, device=CPU)
    again, same = NeighbourDistance.fit(reference, 5, seed=3, device=CPU)
    assert piece.reference.shape == (50, 4) and torch.equal(piece.reference, again.reference)
    assert np.array_equal(position, same) and (position >= 0).sum() == 50
    kept = position >= 0
    assert np.array_equal(piece.reference.numpy(), reference[kept].astype(np.float32))
    assert np.array_equal(position[kept], np.arange(50))
    small, _ = NeighbourDistance.fit(reference[:3], 5, seed=0, device=CPU)
    assert small.k == 2  # one fewer than the rows, so each row has neighbours but itself


def test_state_round_trips(rows):
    reference, queries = rows
    piece, _ = NeighbourDistance.fit(reference, 4, seed=0, device=CPU)
    again = NeighbourDistance.from_state(piece.state(), CPU)
    q = torch.as_tensor(queries, dtype=torch.float32)
    with torch.inference_mode():
        assert again.k == 4 and torch.equal(again.score(q), piece.score(q))


def test_unsupervised_weights_share_the_best_gini_by_squares():
    weights = unsupervised_weights(np.array([0.2, 0.6, 0.0]))
    assert weights.sum() == pytest.approx(0.6)
    assert weights[2] == 0.0 and weights[1] / weights[0] == pytest.approx(9.0)
    assert np.array_equal(unsupervised_weights(np.zeros(3)), np.zeros(3))
    assert np.allclose(unsupervised_weights(np.array([0.0, 0.7])), [0.0, 0.7])


def test_stacked_training_scores_do_not_count_a_row_as_its_own_neighbour(table, short):
    X, _, y_weak = table
    model = WVAD(random_state=0, **short).fit(X, y_weak)
    assert "neighbours" in model.score_weights() and model.neighbours_.k == 5
    # scored as new rows, the unlabeled training rows would look closer to the data than
    # they are; the threshold is set on the scores they get as a new row would
    assert not np.allclose(model.decision_scores_, model.decision_function(X))
    unlabeled = y_weak == 0
    assert np.mean(model.decision_scores_[unlabeled] > model.decision_function(X)[unlabeled]) > 0.9
    without = WVAD(random_state=0, n_neighbors=0, **short).fit(X, y_weak)
    assert without.neighbours_ is None and "neighbours" not in without.score_weights()
    assert np.allclose(without.decision_scores_, without.decision_function(X))


@pytest.mark.parametrize("bad", [-1, 2.5, "5"])
def test_n_neighbors_must_be_a_count(table, short, bad):
    X, _, y_weak = table
    with pytest.raises(ValueError, match="n_neighbors must be an int >= 0"):
        WVAD(n_neighbors=bad, **short).fit(X, y_weak)

"""Rows known to be normal: accepted beside the weak labels, used where certainty helps."""

import numpy as np
import pytest
import torch

from wvad import WVAD, Config, FusionSettings
from wvad.crossfit import negatives, reliable_rows
from wvad.evidence import TrainingData
from wvad.fused import ScorePlan
from wvad.peers import IForest

CPU = torch.device("cpu")


def _blobs(seed: int = 0):
    """400 normal rows around 0, 12 labeled anomalies and 10 hidden ones around 3."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (400, 5)), rng.normal(3, 0.5, (22, 5))])
    y = np.r_[np.zeros(400), np.ones(12), np.zeros(10)].astype(int)
    return X, y


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        ("short", "one flag per row"),
        ("text", "True/False"),
        ("twos", "True/False"),
        ("anomaly", "both a known anomaly"),
    ],
)
def test_a_bad_known_normal_mask_is_named(short, mask, message):
    X, y = _blobs()
    masks = {
        "short": np.zeros(len(y) - 1, bool),
        "text": np.array(["x"] * len(y)),
        "twos": np.full(len(y), 2),
        "anomaly": y == 1,
    }
    with pytest.raises(ValueError, match=message):
        WVAD(random_state=0, **short).fit(X, y, known_normal=masks[mask])


def test_detectors_that_cannot_use_known_normals_say_so():
    X, y = _blobs()
    with pytest.raises(ValueError, match="IForest does not use known normal rows"):
        IForest(random_state=0).fit(X, y, known_normal=np.zeros(len(y), bool))


def test_the_reliable_rows_never_drop_a_known_normal():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    held_out = np.array([5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 9.0, 6.0, 9.0])
    normal = np.array([0, 0, 0, 0, 0, 0, 1, 0, 0], bool)
    assert reliable_rows(held_out, y, 0.25).tolist()[6] is False
    assert reliable_rows(held_out, y, 0.25, normal).tolist()[6] is True
    X, y = _blobs()
    normal = np.zeros(len(y), bool)
    normal[-10:-5] = True  # marked normal although they sit with the anomalies
    plan = ScorePlan.make(TrainingData(X, y, 0, CPU, normal), Config())
    assert plan.reliable is not None and plan.reliable[normal].all()


def test_ginis_rank_anomalies_among_the_known_normals_when_there_are_enough():
    rows = np.arange(10)
    normal = np.zeros(12, bool)
    normal[[2, 5, 7]] = True
    assert negatives(rows, normal, 5).tolist() == rows.tolist()
    assert negatives(rows, normal, 3).tolist() == [2, 5, 7]


def test_a_piece_that_ranks_known_normals_high_loses_weight(short):
    rng = np.random.default_rng(1)
    normal_rows = rng.normal(0, 1, (400, 5))
    far = rng.normal(0, 1, (40, 5)) * 0.2 + 6.0  # isolated normal rows: far from the rest
    anomalies = rng.normal(0, 1, (12, 5)) * 0.1 + np.array([0, 0, 0, 0, 4.0])
    X = np.vstack([normal_rows, far, anomalies])
    y = np.r_[np.zeros(440), np.ones(12)].astype(int)
    known = np.r_[np.zeros(400), np.ones(40), np.zeros(12)].astype(bool)
    fusion = FusionSettings(min_known_normals=5)
    blind = WVAD(random_state=0, fusion=fusion, **short).fit(X, y)
    told = WVAD(random_state=0, fusion=fusion, **short).fit(X, y, known_normal=known)
    assert told.n_known_normal_ == 40
    # the far rows are the neighbour distance's favourite: told they are normal, the
    # fused score trusts that piece less
    assert told.score_weights()["neighbours"] < blind.score_weights()["neighbours"]


def test_known_normals_are_kept_with_the_model(short, tmp_path):
    X, y = _blobs()
    known = np.zeros(len(y), bool)
    known[:50] = True
    model = WVAD(random_state=0, **short).fit(X, y, known_normal=known)
    loaded = WVAD.load(model.save(tmp_path / "m"))
    assert loaded.n_known_normal_ == 50
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))

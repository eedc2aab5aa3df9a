"""Labels worth re-checking: a labeled anomaly that the pieces which did not learn from the
labels rank among the typical rows is listed, in the API and in `wvad info`."""

from __future__ import annotations

import numpy as np
import pytest

from wvad import WVAD
from wvad.data import load_dataset
from wvad.fused import SET_ASIDE_CAP
from wvad.protocol import weak_split

SHORT = {"pretrain_epochs": 5, "warmup_epochs": 5, "joint_epochs": 10, "random_state": 0}


def _planted(shared_dir, seed: int):
    X, y = load_dataset("thyroid", data_dir=shared_dir)
    split = weak_split(X, y, n_labeled=20, seed=seed)
    weak = split.y_train_weak.copy()
    rng = np.random.default_rng(seed + 10)
    planted = rng.choice(np.flatnonzero(split.y_train == 0), 5, replace=False)
    weak[planted] = 1  # five normal rows labeled as anomalies
    return split.X_train, weak, set(planted.tolist())


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_wrong_labels_are_listed_and_right_ones_are_not(shared_dir, seed):
    X, weak, planted = _planted(shared_dir, seed)
    model = WVAD(**SHORT).fit(X, weak)
    table = model.labels_to_recheck()
    listed = set(table.row)
    assert len(listed & planted) >= 4  # most of the five
    assert len(listed - planted) <= 1  # and at most one of the twenty right labels
    assert list(table.columns[:3]) == ["row", "mean_rank", "set_aside"]
    assert table.mean_rank.is_monotonic_increasing  # the most doubtful first
    assert set(table.columns[3:]) == {"neighbours", "deviation", "boosting"}
    # by default the listed ones below SET_ASIDE_CAP are set aside, and only those
    below = table.mean_rank < SET_ASIDE_CAP
    assert table.set_aside.equals(below) and set(model.labels_set_aside_) == set(table.row[below])
    everything = model.labels_to_recheck(max_rank=1.0)
    assert set(everything.row) == set(np.flatnonzero(weak == 1))


def test_without_label_blind_pieces_nothing_is_listed(table):
    X, _, weak = table
    model = WVAD(score_mode="fusion", **SHORT).fit(X, weak)
    assert model.labels_to_recheck().empty
    with pytest.raises(ValueError, match=r"max_rank must be a number in \(0, 1\]"):
        model.labels_to_recheck(max_rank=0)


def test_the_list_survives_a_save(shared_dir, tmp_path):
    X, weak, _ = _planted(shared_dir, 0)
    model = WVAD(**SHORT).fit(X, weak)
    loaded = WVAD.load(model.save(tmp_path / "m"))
    assert loaded.labels_to_recheck().equals(model.labels_to_recheck())


def test_wvad_info_lists_the_labels_to_recheck(shared_dir, tmp_path, capsys):
    import json

    import pandas as pd

    from wvad.cli import main

    X, weak, planted = _planted(shared_dir, 0)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame["label"] = np.where(weak == 1, "1", "")
    frame.to_csv(tmp_path / "t.csv", index=False)
    args = ["fit", tmp_path / "t.csv", "--label-col", "label", "--epochs", "5", "5", "10"]
    assert main([str(a) for a in [*args, "--out", tmp_path / "m", "--quiet"]]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "m"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    rows = {d["row"] for d in card["labels_to_recheck"]}
    assert len(rows & planted) >= 4 and len(rows - planted) <= 1
    aside = set(card["labels_set_aside"])  # the default sets the listed labels aside
    below = {d["row"] for d in card["labels_to_recheck"] if d["mean_rank"] < SET_ASIDE_CAP}
    assert aside == below and len(aside & planted) >= 3
    assert main(["info", str(tmp_path / "m")]) == 0
    text = capsys.readouterr().out
    assert "re-check" in text and "look typical to the pieces" in text
    line = next(t for t in text.splitlines() if t.startswith("re-check"))
    assert f"the fit set {len(aside)} of them aside" in line


ALL_LABELS = {"fusion": {"set_aside_doubtful": False}}


def test_set_aside_labels_are_the_most_doubtful_listed_and_the_fit_treats_them_as_unlabeled(
    shared_dir,
):
    X, weak, planted = _planted(shared_dir, 0)
    model = WVAD(**SHORT).fit(X, weak)
    listed = model.labels_to_recheck()
    below = listed.row[listed.mean_rank < SET_ASIDE_CAP]
    assert set(model.labels_set_aside_) == set(below) and listed.set_aside.sum() == len(below)
    assert 0 < len(below) < len(listed)  # the cap holds back a listed label here
    assert set(model.labels_set_aside_) <= planted
    assert model.n_labeled_ == int(weak.sum())  # the labels given, all of them
    cleaned = weak.copy()
    cleaned[model.labels_set_aside_] = 0
    as_unlabeled = WVAD(**SHORT, **ALL_LABELS).fit(X, cleaned)
    np.testing.assert_array_equal(model.decision_function(X), as_unlabeled.decision_function(X))


def test_nothing_is_set_aside_where_no_label_stands_out(table):
    X, _, weak = table
    model = WVAD(**SHORT).fit(X, weak)
    assert model.labels_set_aside_.size == 0
    plain = WVAD(**SHORT, **ALL_LABELS).fit(X, weak)
    np.testing.assert_array_equal(model.decision_function(X), plain.decision_function(X))


def test_what_was_set_aside_survives_a_save(shared_dir, tmp_path):
    X, weak, _ = _planted(shared_dir, 1)
    model = WVAD(**SHORT).fit(X, weak)
    assert model.labels_set_aside_.size > 0
    loaded = WVAD.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.labels_set_aside_, model.labels_set_aside_)
    assert loaded.labels_to_recheck().equals(model.labels_to_recheck())


def test_below_the_minimum_count_a_listed_label_is_kept(shared_dir):
    X, weak, planted = _planted(shared_dir, 0)
    many = int(weak.sum()) + 1  # one more label than given
    model = WVAD(**SHORT, fusion={"set_aside_min_labels": many}).fit(X, weak)
    assert len(set(model.labels_to_recheck().row) & planted) >= 4  # listed all the same
    assert model.labels_set_aside_.size == 0
    assert not model.labels_to_recheck().set_aside.any()


def test_a_doubtful_label_beside_another_label_is_supported_and_a_copy_is_not():
    from wvad.fused import SUPPORT_NEIGHBOURS, supported_labels

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[0], X[1] = [6.0, 6.0, 6.0], [6.1, 6.0, 6.0]  # two labels of one rare kind
    X[2] = X[3] = [-6.0, 6.0, -6.0]  # a label and its copy, alone otherwise
    labeled = np.array([0, 1, 2, 3, 50])  # row 50: a label among the normal rows
    assert supported_labels(X, labeled, np.arange(5)).tolist() == [0, 1]
    assert supported_labels(X, labeled, np.array([2, 4])).size == 0
    assert SUPPORT_NEIGHBOURS >= 1 and supported_labels(X, labeled, np.array([], int)).size == 0

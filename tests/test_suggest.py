"""Which rows to ask an analyst about, and the answers back into a fit."""

import numpy as np
import pandas as pd
import pytest

from wvad.suggest import MIX_LABELS, choose_rows, uncertainty


def _rows(chosen):
    return [c.row for c in chosen]


def test_each_strategy_orders_the_candidates_its_own_way():
    scores = np.array([9.0, 1.0, 5.2, 4.9, 0.0, 8.0])
    gap = np.abs(scores - 5.0)
    everyone = np.ones(6, dtype=bool)
    assert _rows(choose_rows(scores, gap, everyone, 3, "top", 0)) == [0, 5, 2]
    assert _rows(choose_rows(scores, gap, everyone, 3, "uncertain", 0)) == [3, 2, 5]
    # mixed: no uncertainty question with no label, half of them at MIX_LABELS labels
    assert _rows(choose_rows(scores, gap, everyone, 4, "mixed", 0)) == [0, 5, 2, 3]
    mixed = choose_rows(scores, gap, everyone, 4, "mixed", MIX_LABELS)
    assert [c.why for c in mixed] == ["high score"] * 2 + ["near the threshold"] * 2
    assert _rows(mixed) == [0, 5, 3, 2]


def test_labeled_rows_are_never_asked_and_a_small_pool_gives_fewer():
    scores = np.arange(5.0)
    candidates = np.array([True, False, True, False, False])
    chosen = choose_rows(scores, np.abs(scores - 2), candidates, 10, "mixed", 100)
    assert sorted(_rows(chosen)) == [0, 2]
    with pytest.raises(ValueError, match="strategy must be one of"):
        choose_rows(scores, scores, candidates, 1, "random", 0)


def test_uncertainty_is_one_at_the_threshold_and_falls_away_from_it():
    training = np.linspace(0.0, 4.0, 101)  # IQR 2
    u = uncertainty(np.array([3.0, 5.0, 1.0]), 3.0, training)
    assert np.allclose(u, [1.0, 0.5, 0.5])


@pytest.fixture(scope="module")
def fitted_mixed():
    from test_encoding import QUICK, _mixed
    from wvad import WVAD

    frame, y = _mixed()
    return WVAD(**QUICK).fit(frame, y), frame, y


def test_the_estimator_suggests_unlabeled_rows_with_a_reason(fitted_mixed):
    model, frame, y = fitted_mixed
    table = model.suggest(frame, 7, exclude=y == 1, strategy="top")
    assert list(table.columns) == ["row", "score", "uncertainty", "why", "column", "share"]
    assert len(table) == 7 and not set(table.row) & set(np.flatnonzero(y))
    assert table.score.is_monotonic_decreasing
    assert set(table.column) <= set(frame.columns)
    same = model.suggest(frame, 7, exclude=np.flatnonzero(y), strategy="top")
    assert same.row.tolist() == table.row.tolist()
    with pytest.raises(ValueError, match="exclude must be one flag per row"):
        model.suggest(frame, 3, exclude=np.ones(3, dtype=bool))


def test_the_loop_on_files_suggests_then_fits_on_the_answers(tmp_path, capsys):
    from cli.cli_helpers import EPOCHS, make_frame, run
    from wvad.workflow import load_table_model

    table = make_frame()
    table["label"] = np.where(table["label"] == 1, "anomaly", "")
    table.loc[10, "label"] = "normal"
    table.drop(columns=["truth", "colour"]).to_csv(tmp_path / "t.csv", index=False)
    fit = ["fit", tmp_path / "t.csv", "--label-col", "label", "--id-col", "key", *EPOCHS]
    assert run(capsys, *fit, "--clusters", "2", "--out", tmp_path / "m1")[0] == 0
    code, out, _ = run(capsys, "suggest", tmp_path / "m1", tmp_path / "t.csv", "--n", "6",
                       "--out", tmp_path / "ask.csv")  # fmt: skip
    asked = pd.read_csv(tmp_path / "ask.csv", dtype={"key": str, "label": str})
    labeled = set(table.key[table.label != ""])
    assert code == 0 and len(asked) == 6 and not set(asked.key) & labeled
    assert asked["label"].isna().all() and "fill in its label column" in out
    asked["label"] = ["anomaly", "normal", "normal", "", "anomaly", "normal"]
    asked.to_csv(tmp_path / "ask.csv", index=False)
    code, _, _ = run(capsys, *fit, "--clusters", "2", "--answers", tmp_path / "ask.csv",
                     "--out", tmp_path / "m2")  # fmt: skip
    before, _ = load_table_model(tmp_path / "m1")
    after, _ = load_table_model(tmp_path / "m2")
    assert code == 0
    assert after.n_labeled_ == before.n_labeled_ + 2
    assert after.n_known_normal_ == before.n_known_normal_ + 3
    code, _, _ = run(capsys, "suggest", tmp_path / "m2", tmp_path / "t.csv", "--n", "6",
                     "--answers", tmp_path / "ask.csv", "--out", tmp_path / "ask2.csv")  # fmt: skip
    again = pd.read_csv(tmp_path / "ask2.csv", dtype={"key": str})
    answered = set(asked.key[asked.label.fillna("") != ""])
    assert code == 0 and not set(again.key) & (labeled | answered)
    asked.loc[0, "key"] = "nobody"
    asked.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run(capsys, *fit, "--answers", tmp_path / "bad.csv", "--out", tmp_path / "m3")
    assert code == 2 and "bad.csv names 1 row(s) not in the table, such as key 'nobody'" in err


def test_the_command_line_continues_a_model_by_a_warm_start(tmp_path, capsys):
    from cli.cli_helpers import EPOCHS, make_frame, run
    from wvad.workflow import load_table_model

    table = make_frame()
    table["label"] = np.where(table["label"] == 1, "anomaly", "")
    table.drop(columns=["truth", "colour"]).to_csv(tmp_path / "t.csv", index=False)
    fit = ["fit", tmp_path / "t.csv", "--label-col", "label", "--id-col", "key"]
    assert run(capsys, *fit, *EPOCHS, "--clusters", "2", "--out", tmp_path / "m1")[0] == 0
    table.loc[table.truth == 1, "label"] = "anomaly"  # the analyst found the rest
    table.drop(columns=["truth", "colour"]).to_csv(tmp_path / "t.csv", index=False)
    code, out, _ = run(capsys, *fit, "--warm-start", tmp_path / "m1", "--out", tmp_path / "m2")
    first, _ = load_table_model(tmp_path / "m1")
    warm, _ = load_table_model(tmp_path / "m2")
    assert code == 0 and "fitted on 300 rows" in out and warm.n_labeled_ > first.n_labeled_
    assert warm.warm_start and warm.n_clusters_ == 2
    assert warm.history_["phase"] == ["warm"] * first.config_.warm_epochs
    assert "epochs 2 pretrain, 2 warmup, 4 joint, seed 0" in run(capsys, "info", tmp_path / "m1")[1]
    card = run(capsys, "info", tmp_path / "m2")[1]
    assert "epochs 50 warm (a warm start: continuing an earlier fit), seed 0" in card
    code, _, err = run(capsys, *fit, "--warm-start", tmp_path / "m1", "--clusters", "3",
                       "--out", tmp_path / "m3")  # fmt: skip
    assert code == 2 and "drop the settings given (['n_clusters']; only warm_epochs" in err
    code, _, _ = run(capsys, *fit, "--warm-start", tmp_path / "m2", "--warm-epochs", "3",
                     "--out", tmp_path / "m4")  # fmt: skip
    assert code == 0 and load_table_model(tmp_path / "m4")[0].history_["phase"] == ["warm"] * 3
    code, _, err = run(capsys, *fit, "--warm-start", tmp_path / "m1", "--preset", "paper",
                       "--out", tmp_path / "m3")  # fmt: skip
    assert code == 2 and "fitted with preset 'default'" in err
    assert not (tmp_path / "m3").exists()

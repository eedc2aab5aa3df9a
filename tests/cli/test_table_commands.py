"""fit -> score -> explain -> info -> plot through `wvad.cli.main`, CSV and Parquet."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from cli_helpers import EPOCHS, FEATURES, run

from wvad import WVAD
from wvad.cli import EPOCH_FIELDS
from wvad.presets import DEFAULT
from wvad.workflow import load_table_model

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_command_has_help_with_an_example(capsys):
    for command in ("fit", "score", "explain", "info", "plot"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "example:" in out and f"wvad {command}" in out


def test_fit_writes_model_and_table_description(model_dir, capsys):
    spec = json.loads((model_dir / "table.json").read_text())
    assert spec["label_col"] == "label" and spec["id_col"] == "key"
    assert spec["input_columns"] == FEATURES and spec["source"] == "train.csv"
    model = WVAD.load(model_dir)
    assert model.n_clusters_ == 3 and model.n_labeled_ >= 1
    assert model.config_.joint_epochs == 4


def test_fit_takes_the_score_read_out(train_csv, tmp_path, capsys):
    out = tmp_path / "fusion"
    args = ["fit", train_csv, "--label-col", "label", "--features", *FEATURES, *EPOCHS]
    code, _, _ = run(capsys, *args, "--score", "fusion", "--out", out, "--quiet")
    assert code == 0 and WVAD.load(out).score_mode_ == "fusion"
    code, _, err = run(capsys, *args, "--score", "magic", "--out", tmp_path / "x")
    assert code != 0 and "--score" in err


def test_fit_without_the_neighbour_distance_keeps_no_training_rows(train_csv, tmp_path, capsys):
    out = tmp_path / "bare"
    args = ["fit", train_csv, "--label-col", "label", "--features", *FEATURES, *EPOCHS]
    code, _, _ = run(capsys, *args, "--neighbors", "0", "--out", out, "--quiet")
    model = WVAD.load(out)
    assert code == 0 and model.score_mode_ == "stacked" and "neighbours" not in model.score_.pieces
    tensors = torch.load(next(out.glob("weights-*.pt")))
    assert any(k.startswith("score.head.") for k in tensors)
    assert not any(k.startswith("score.neighbours.") for k in tensors)
    code, _, err = run(capsys, *args, "--neighbors", "-1", "--out", tmp_path / "x")
    assert code != 0 and "--neighbors" in err


def test_fit_can_treat_every_unlabeled_row_as_normal(train_csv, tmp_path, capsys):
    args = ["fit", train_csv, "--label-col", "label", "--features", *FEATURES, *EPOCHS]
    code, _, _ = run(capsys, *args, "--all-unlabeled-normal", "--out", tmp_path / "a", "--quiet")
    assert code == 0 and WVAD.load(tmp_path / "a").clean_unlabeled is False
    code, _, _ = run(capsys, *args, "--out", tmp_path / "b", "--quiet")
    assert code == 0 and WVAD.load(tmp_path / "b").clean_unlabeled is True  # the preset's


def test_chunked_scores_match_in_memory_scores(model_dir, train_csv, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    code, stdout, err = run(capsys, "score", model_dir, train_csv, "--out", out, "--chunk-rows", 7)
    assert code == 0 and err == "" and "scored 300 rows" in stdout
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["key", "score", "predicted", "cluster"]
    model = WVAD.load(model_dir)
    X = pd.read_csv(train_csv)[FEATURES].to_numpy()
    np.testing.assert_allclose(scores["score"], model.decision_function(X), rtol=0, atol=1e-5)
    assert (scores["predicted"] == (scores["score"] > model.threshold_)).all()
    assert (scores["cluster"] == model.predict_cluster(X)).mean() > 0.99
    assert scores["key"].tolist() == [f"k{i}" for i in range(300)]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_parquet_in_and_out(model_dir, data_dir, tmp_path, capsys):
    code, _, _ = run(
        capsys, "score", model_dir, data_dir / "train.csv", "--out", tmp_path / "a.csv"
    )
    assert code == 0
    out = tmp_path / "b.parquet"
    code, _, _ = run(
        capsys, "score", model_dir, data_dir / "train.parquet", "--out", out, "--chunk-rows", 50
    )
    assert code == 0 and out.read_bytes()[:4] == b"PAR1"
    a = pd.read_csv(tmp_path / "a.csv")
    b = pd.read_parquet(out)
    assert list(b.columns) == ["key", "score", "predicted", "cluster"] and len(b) == 300
    np.testing.assert_allclose(a["score"], b["score"], rtol=0, atol=1e-5)


def test_explain_by_id_and_by_row(model_dir, train_csv, capsys):
    code, out, _ = run(capsys, "explain", model_dir, train_csv, "--rows", "k5", "k2", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ["k5", "k2"] and [r["row"] for r in rows] == [5, 2]
    first = rows[0]
    assert set(first["features"]) == {"f_e", "f_r", "f_c"}
    assert 0 <= first["cluster"] < 3 and len(first["top_columns"]) == 4
    shares = [abs(c["share"]) for c in first["top_columns"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1.0)
    for c in first["top_columns"]:
        assert c["share"] == pytest.approx(c["contribution"] / first["columns_abs_total"])
    contributions = sum(p["contribution"] for p in first["pieces"])
    assert contributions == pytest.approx(first["score"], abs=1e-6)
    assert [abs(p["contribution"]) for p in first["pieces"]] == sorted(
        (abs(p["contribution"]) for p in first["pieces"]), reverse=True
    )
    assert "boosting" not in first["methods"] or "SHAP" in first["methods"]["boosting"]
    assert all("integrated gradients" in m or "SHAP" in m for m in first["methods"].values())
    model = WVAD.load(model_dir)
    X = pd.read_csv(train_csv)[FEATURES].to_numpy()[[5]]
    assert first["score"] == pytest.approx(model.decision_function(X)[0], abs=1e-5)

    code, out, _ = run(
        capsys, "explain", model_dir, train_csv, "--rows", "3", "--by-row", "--top", 2
    )
    assert code == 0
    assert out.startswith("row 3 (id k3): score") and "pieces (weight x" in out
    assert out.count("  value ") == 2 and "cluster" in out and "f_r" in out


def test_explain_text_notes_cancelling_columns_and_groups_methods(capsys):
    from wvad.cli import _print_columns

    row = {
        "score": 0.5,
        "reference_score": 0.4,
        "columns_abs_total": 8.0,
        "top_columns": [
            {"column": "a", "value": 1.0, "contribution": 4.05, "share": 0.50625},
            {"column": "b", "value": "red", "contribution": -3.95, "share": -0.49375},
        ],
        "methods": {"boosting": "Saabas", "head": "IG", "neighbours": "IG"},
    }
    _print_columns(row)
    out = capsys.readouterr().out
    assert "a  value            1       +4.05  (+51%)" in out
    assert "b  value          red       -3.95  (-49%)" in out
    assert "mostly cancel: their absolute total is 8 for a distance of +0.1" in out
    assert "(boosting: Saabas)" in out and "(head, neighbours: IG)" in out
    _print_columns({**row, "columns_abs_total": 0.5})
    assert "cancel" not in capsys.readouterr().out


def test_info_shows_the_model_card(model_dir, capsys):
    code, out, _ = run(capsys, "info", model_dir)
    assert code == 0
    for text in ("train.csv: 300 rows", "label column  label", "clusters K    3", "threshold"):
        assert text in out
    assert "score         stacked (head " in out
    code, out, _ = run(capsys, "info", model_dir, "--json")
    card = json.loads(out)
    assert card["n_clusters"] == 3 and card["contamination"] == 0.1
    assert card["preset"] == "default" and card["config"]["pretrain_epochs"] == 2
    assert {"wvad", "torch", "numpy", "pandas"} <= set(card["versions"])
    assert card["score_mode"] == "stacked"
    assert card["branch_ginis"] == {}  # one known anomaly: nothing to cross-fit
    pieces = ["head", "log_f_r", "neg_elbo", "neighbours", "deviation", "boosting", "proximity"]
    assert list(card["score_weights"]) == pieces  # the supervised ones at their prior


def test_fit_recall_sets_the_threshold_from_the_known_anomalies(frame, tmp_path, capsys):
    table = frame.copy()
    table.loc[table.index[table["truth"] == 1][:8], "label"] = 1.0
    table.to_csv(tmp_path / "many.csv", index=False)
    base = ["fit", tmp_path / "many.csv", "--label-col", "label", "--features", *FEATURES]
    base += ["--clusters", "2", *EPOCHS, "--quiet"]
    assert run(capsys, *base, "--recall", "1", "--out", tmp_path / "m")[0] == 0
    code, out, _ = run(capsys, "info", tmp_path / "m", "--json")
    card = json.loads(out)
    assert card["threshold_rule"] == 1.0
    model = WVAD.load(tmp_path / "m")
    assert card["threshold"] == pytest.approx(model.threshold_for_recall(1.0))
    unlabeled = pd.isna(table["label"]).to_numpy()
    assert card["flagged_share"] == pytest.approx(model.labels_[unlabeled].mean(), abs=1e-9)
    assert 0 < card["flagged_share"] < 1
    out = run(capsys, "info", tmp_path / "m")[1]
    line = [row for row in out.splitlines() if row.startswith("threshold")]
    assert "flags 100% of the known anomalies scored held out" in line[0]

    code, _, err = run(capsys, *base, "--recall", "0", "--out", tmp_path / "r")
    assert code == 2 and "recall must be a number in (0, 1]; got 0.0" in err
    both = ["--recall", "0.9", "--contamination", "0.2"]
    code, _, err = run(capsys, *base, *both, "--out", tmp_path / "r")
    assert code == 2 and "not allowed with argument" in err


def test_info_score_line_names_weights_and_branch_ginis():
    from wvad.cli import _score_line

    card = {
        "score_mode": "stacked",
        "score_weights": {"head": 0.25, "log_f_r": 0.0, "neg_elbo": 0.4, "deviation": 1.5},
        "branch_ginis": {"deviation": 0.875, "boosting": 0.3},
        "config": {"fusion": {"gini_floor": 0.5}},
    }
    assert _score_line(card) == (
        "stacked (head 0.25, neg_elbo 0.40, deviation 1.50); cross-fitted Gini of the "
        "branches: deviation 0.88, boosting 0.30 (weight above 0.50)"
    )
    assert _score_line({"score_mode": "head", "score_weights": {}, "branch_ginis": {}}) == "head"


def test_plot_writes_pngs(model_dir, train_csv, tmp_path, capsys):
    out = tmp_path / "plots"
    code, _, _ = run(capsys, "plot", model_dir, train_csv, "--out", out, "--label-col", "truth")
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["latent.png", "roc_pr.png", "scores.png", "training.png"]
    assert all((out / n).read_bytes()[:8] == PNG for n in names)
    code, _, err = run(capsys, "plot", model_dir, train_csv, "--out", out)
    assert code == 2 and "already exists" in err
    assert run(capsys, "plot", model_dir, train_csv, "--out", out, "--force")[0] == 0
    assert not (out / "contributions.png").exists()
    args = ["plot", model_dir, train_csv, "--out", out, "--force", "--rows", "k5", "k9"]
    assert run(capsys, *args)[0] == 0
    assert (out / "contributions.png").read_bytes()[:8] == PNG


def test_force_semantics(model_dir, train_csv, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert run(capsys, "score", model_dir, train_csv, "--out", out)[0] == 0
    code, _, err = run(capsys, "score", model_dir, train_csv, "--out", out)
    expected = f"wvad score: error: {out} already exists; pass --force to replace it"
    assert code == 2 and err.strip() == expected
    assert run(capsys, "score", model_dir, train_csv, "--out", out, "--force")[0] == 0
    before = train_csv.read_bytes()
    code, _, err = run(capsys, "score", model_dir, train_csv, "--out", train_csv, "--force")
    assert code == 2 and "is the input file" in err and train_csv.read_bytes() == before
    code, _, err = run(
        capsys, "fit", train_csv, "--label-col", "label", "--features", "x0", "--out", model_dir
    )
    assert code == 2 and "--force" in err


def test_interrupted_scoring_leaves_no_output(model_dir, train_csv, tmp_path, monkeypatch, capsys):
    calls = []
    original = WVAD.score_and_transform

    def interrupt_on_third_chunk(self, X):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, X)

    monkeypatch.setattr(WVAD, "score_and_transform", interrupt_on_third_chunk)
    out = tmp_path / "s.csv"
    code, _, err = run(capsys, "score", model_dir, train_csv, "--out", out, "--chunk-rows", 50)
    assert code == 130 and "interrupted" in err
    assert list(tmp_path.iterdir()) == []


def test_text_categories_and_missing_cells_need_no_preprocessing(frame, data_dir, tmp_path, capsys):
    model_dir = tmp_path / "m"
    base = ["fit", data_dir / "train.parquet", "--label-col", "label", "--clusters", "2", *EPOCHS]
    code, _, _ = run(capsys, *base, "--features", *FEATURES, "colour", "--out", model_dir)
    assert code == 0
    model, spec = load_table_model(model_dir)
    assert spec.one_hot == {} and spec.features == [*FEATURES, "colour"]
    assert model.encoder_.encoded_names()[4:] == ["colour=blue", "colour=red"]

    new = frame.head(20).astype({"x1": object}).copy()
    new.loc[:4, "colour"] = "green"  # unseen in fit
    new.loc[1, "x1"] = "?"  # a missing marker
    new.loc[2, "x1"] = None  # an empty cell
    new.to_csv(tmp_path / "new.csv", index=False)
    code, _, _ = run(capsys, "score", model_dir, tmp_path / "new.csv", "--out", tmp_path / "s.csv")
    scores = pd.read_csv(tmp_path / "s.csv")
    assert code == 0 and scores["row"].tolist() == list(range(20))
    assert np.isfinite(scores["score"]).all()
    code, out, _ = run(
        capsys, "explain", model_dir, tmp_path / "new.csv", "--rows", "1", "--json", "--top", "5"
    )
    columns = {c["column"]: c["value"] for c in json.loads(out)[0]["top_columns"]}
    assert code == 0 and columns["colour"] == "green" and columns["x1"] is None

    new.loc[3, "x1"] = "oops"  # text that is no marker: refused by its row, not guessed
    new.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run(
        capsys, "score", model_dir, tmp_path / "bad.csv", "--out", tmp_path / "b.csv"
    )
    assert code == 2 and "column 'x1' in bad.csv has text 'oops' at row 3" in err


def test_missing_markers_and_numeric_categories_are_the_users_to_choose(
    frame, data_dir, tmp_path, capsys
):
    table = frame.copy()
    table["x2"] = table["x2"].astype(object)
    table.loc[:9, "x2"] = "-"
    table["grade"] = np.arange(len(table)) % 3
    table.to_csv(tmp_path / "t.csv", index=False)
    base = ["fit", tmp_path / "t.csv", "--label-col", "label", "--clusters", "2", *EPOCHS]
    features = ["--features", *FEATURES, "grade"]
    code, _, err = run(capsys, *base, *features, "--out", tmp_path / "a")
    assert code == 2 and "column 'x2' in t.csv has text '-' at row 0" in err
    code, _, _ = run(
        capsys,
        *base,
        *features,
        "--missing",
        "-",
        "--categorical",
        "grade",
        "--missing-indicators",
        "--out",
        tmp_path / "b",
    )
    assert code == 0
    model, spec = load_table_model(tmp_path / "b")
    assert spec.missing_markers == ["", "-"]
    assert "x2=(missing)" in model.encoder_.encoded_names()
    assert model.encoder_.categorical_columns() == ["grade"]
    code, out, _ = run(capsys, "info", tmp_path / "b")
    assert code == 0 and "categories: grade (3)" in out and "missing-value columns: x2" in out


def test_progress_is_quiet_when_stderr_is_not_a_terminal(train_csv, tmp_path, capsys):
    code, out, err = run(
        capsys, "fit", train_csv, "--label-col", "label", "--features", "x0", "x1",
        "--clusters", "2", "--epochs-scale", "0.02", "--out", tmp_path / "m",
    )  # fmt: skip
    assert code == 0 and err == "" and "fitted on 300 rows" in out
    config = WVAD.load(tmp_path / "m").config_
    scaled = [max(1, round(getattr(DEFAULT, k) * 0.02)) for k in EPOCH_FIELDS]
    assert [getattr(config, k) for k in EPOCH_FIELDS] == scaled


def test_fit_with_automatic_cluster_count(data_dir, tmp_path, capsys):
    model_dir = tmp_path / "auto"
    code, out, _ = run(
        capsys, "fit", data_dir / "train.csv", "--label-col", "label", "--clusters", "auto",
        "--features", *FEATURES, *EPOCHS, "--out", model_dir,
    )  # fmt: skip
    assert code == 0
    model = WVAD.load(model_dir)
    assert model.config_.n_clusters == "auto" and 1 <= model.n_clusters_ <= 10
    assert f"K={model.n_clusters_}" in out


def test_the_label_column_holds_three_kinds_of_label(frame, tmp_path, capsys):
    table = frame.copy()
    table["label"] = table["label"].astype(object)
    spelled = {0: "Anomaly", 1: "yes"}
    anomalies = [i for i, v in enumerate(frame["label"]) if v == 1]
    for j, i in enumerate(anomalies[:2]):
        table.loc[i, "label"] = spelled[j]
    normals = [i for i, v in enumerate(frame["label"]) if v != 1][:20]
    table.loc[normals[:10], "label"] = "0"
    table.loc[normals[10:], "label"] = " Normal "
    path = tmp_path / "three.csv"
    table.to_csv(path, index=False)
    args = ["fit", path, "--label-col", "label", "--features", *FEATURES, *EPOCHS]
    code, out, _ = run(capsys, *args, "--out", tmp_path / "m")
    assert code == 0 and "20 known normal" in out
    model = WVAD.load(tmp_path / "m")
    assert model.n_known_normal_ == 20 and model.n_labeled_ == len(anomalies)
    code, out, _ = run(capsys, "info", tmp_path / "m")
    assert f"{len(anomalies)} known anomalies, 20 known normal, " in out
    card = json.loads(run(capsys, "info", tmp_path / "m", "--json")[1])
    assert card["n_unlabeled"] == len(table) - len(anomalies) - 20

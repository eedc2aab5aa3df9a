"""Every user mistake exits 2 with one clear line on stderr and no traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from cli_helpers import EPOCHS, FEATURES, run


def fails(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    command = str(argv[0])
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"wvad {command}: error: ")
    return err.strip()


def fit_args(data, out, *extra):
    return ("fit", data, "--label-col", "label", "--out", out, *EPOCHS, "--clusters", "2", *extra)


@pytest.fixture
def write_csv(frame, tmp_path):
    def write(change=None, name="data.csv"):
        table = frame[["key", *FEATURES, "label"]].copy()
        table[[*FEATURES, "label"]] = table[[*FEATURES, "label"]].astype(object)
        if change is not None:
            change(table)
        table.to_csv(tmp_path / name, index=False)
        return tmp_path / name

    return write


def test_missing_files(model_dir, train_csv, tmp_path, capsys):
    err = fails(capsys, *fit_args(tmp_path / "nope.csv", tmp_path / "m"))
    assert "No such data file" in err and "nope.csv" in err
    err = fails(capsys, "score", model_dir, tmp_path / "nope.csv", "--out", tmp_path / "s.csv")
    assert "nope.csv" in err
    err = fails(capsys, "score", tmp_path / "no-model", train_csv, "--out", tmp_path / "s.csv")
    assert "no model directory" in err
    err = fails(capsys, "info", tmp_path)
    assert "config.json is missing" in err


def test_misspelt_columns_suggest_the_closest(model_dir, write_csv, tmp_path, capsys):
    data = write_csv()
    err = fails(capsys, "fit", data, "--label-col", "lable", "--out", tmp_path / "m")
    assert "column 'lable' is not in data.csv; did you mean 'label'?" in err
    err = fails(capsys, *fit_args(data, tmp_path / "m", "--features", "x0", "X1"))
    assert "column 'X1' is not" in err and "did you mean 'x1'?" in err
    err = fails(capsys, *fit_args(data, tmp_path / "m", "--id-col", "keys"))
    assert "did you mean 'key'?" in err
    renamed = write_csv(
        lambda t: setattr(t, "columns", [c.replace("x2", "x_2") for c in t]), "new.csv"
    )
    err = fails(capsys, "score", model_dir, renamed, "--out", tmp_path / "s.csv")
    assert "column 'x2' is not in new.csv; did you mean 'x_2'?" in err
    assert not (tmp_path / "s.csv").exists()


def test_bad_labels_name_the_value_and_row(write_csv, tmp_path, capsys):
    data = write_csv(lambda t: t.loc.__setitem__((7, "label"), 2))
    err = fails(capsys, *fit_args(data, tmp_path / "m"))
    assert "label column 'label'" in err and "found '2' at row 7" in err  # as the file has it
    data = write_csv(lambda t: t.loc.__setitem__((9, "label"), "maybe"))
    err = fails(capsys, *fit_args(data, tmp_path / "m"))
    assert "found 'maybe' at row 9" in err
    data = write_csv(lambda t: t.__setitem__("label", np.nan))
    err = fails(capsys, *fit_args(data, tmp_path / "m"))
    assert "has no 1s" in err
    assert not (tmp_path / "m").exists()


def test_text_in_a_number_column_names_its_column_and_row(model_dir, write_csv, tmp_path, capsys):
    data = write_csv(lambda t: t.loc.__setitem__((12, "x1"), "n/a?"))
    err = fails(capsys, *fit_args(data, tmp_path / "m", "--id-col", "key"))
    assert "column 'x1' in data.csv has text 'n/a?' at row 12" in err
    # while scoring in chunks, the row number counts from the start of the file
    data = write_csv(lambda t: t.loc.__setitem__((150, "x0"), "oops"))
    out = tmp_path / "s.csv"
    err = fails(capsys, "score", model_dir, data, "--out", out, "--chunk-rows", 40)
    assert "column 'x0' in data.csv has text 'oops' at row 150" in err
    assert not out.exists() and not list(tmp_path.glob(".s.csv.*"))


def test_damaged_or_foreign_model_folders(model_dir, train_csv, tmp_path, capsys):
    newer = tmp_path / "newer"
    shutil.copytree(model_dir, newer)
    config = json.loads((newer / "config.json").read_text())
    config["format_version"] = 99
    (newer / "config.json").write_text(json.dumps(config))
    err = fails(capsys, "score", newer, train_csv, "--out", tmp_path / "s.csv")
    assert "model format version 99" in err

    damaged = tmp_path / "damaged"
    shutil.copytree(model_dir, damaged)
    weights = next(damaged.glob("weights-*.pt"))
    weights.write_bytes(b"not a torch archive")
    err = fails(capsys, "info", damaged)
    assert f"{weights.name} is damaged" in err

    table = tmp_path / "table"
    shutil.copytree(model_dir, table)
    spec = json.loads((table / "table.json").read_text())
    (table / "table.json").write_text(json.dumps({**spec, "format_version": 7}))
    err = fails(capsys, "explain", table, train_csv, "--rows", "k1")
    assert "table.json was changed after the model was saved" in err


def test_other_argument_mistakes(model_dir, train_csv, tmp_path, capsys):
    err = fails(capsys, "score", model_dir, train_csv, "--out", tmp_path / "s.json")
    assert "suffix '.json'" in err
    err = fails(capsys, "explain", model_dir, train_csv, "--rows", "k1", "nobody")
    assert "no id(s) in column 'key': nobody" in err
    err = fails(capsys, "explain", model_dir, train_csv, "--rows", "9999", "--by-row")
    assert "no row number(s)" in err and "9999" in err
    err = fails(capsys, "fit", train_csv, "--label-col", "label", "--out", tmp_path / "m",
                "--clusters", "many")  # fmt: skip
    assert "--clusters" in err
    err = fails(capsys, "fit", train_csv, "--label-col", "label", "--out", train_csv, "--force")
    assert "is the input file" in err

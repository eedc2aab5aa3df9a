"""Both real tables, as published, through every command with no hand preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run

from wvad.data.realdata import load_real_table

QUICK = ["--epochs", "1", "1", "2", "--set", "deviation.epochs=1", "--set", "trees.max_iter=5"]


@pytest.mark.parametrize("name", ["thyroid0387", "kddcup10"])
def test_a_real_table_goes_through_every_command(name, real_dir, tmp_path, capsys):
    frame, y = load_real_table(name, data_dir=real_dir, rows=1500)
    rng = np.random.default_rng(0)
    frame["label"] = ""
    frame.loc[rng.choice(np.flatnonzero(y == 1), size=5, replace=False), "label"] = "anomaly"
    frame.to_csv(tmp_path / "t.csv", index=False, na_rep="?")
    frame.assign(truth=y).to_csv(tmp_path / "truth.csv", index=False, na_rep="?")
    model = tmp_path / "model"
    code, out, err = run(capsys, "fit", tmp_path / "t.csv", "--label-col", "label", *QUICK,
                         "--out", model)  # fmt: skip
    assert code == 0, err
    code, _, _ = run(capsys, "score", model, tmp_path / "t.csv", "--out", tmp_path / "s.csv")
    scores = pd.read_csv(tmp_path / "s.csv")
    assert code == 0 and len(scores) == 1500 and np.isfinite(scores.score).all()
    code, out, _ = run(capsys, "explain", model, tmp_path / "t.csv", "--rows", "0", "--json")
    columns = {c["column"] for c in json.loads(out)[0]["top_columns"]}
    assert code == 0 and columns <= set(frame.columns)
    code, out, _ = run(capsys, "info", model)
    text_columns = [c for c in frame.columns if frame[c].dtype.kind == "O" and c != "label"]
    assert code == 0 and all(f"{c} (" in out for c in text_columns)
    code, _, _ = run(capsys, "plot", model, tmp_path / "truth.csv", "--label-col", "truth",
                     "--out", tmp_path / "plots")  # fmt: skip
    assert code == 0 and (tmp_path / "plots" / "roc_pr.png").is_file()

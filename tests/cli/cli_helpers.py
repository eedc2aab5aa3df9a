"""Helpers shared by the command-line tests: run `wvad`, build a small table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wvad import make_multimodal
from wvad.cli import main

EPOCHS = ["--epochs", "2", "2", "4"]
FEATURES = ["x0", "x1", "x2", "x3"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `wvad argv...`; returns (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def make_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Id, four numeric features, a category, weak label (1 or empty) and the truth."""
    X, y, y_weak = make_multimodal(n_samples=n, n_features=4, random_state=seed)
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(0, "key", [f"k{i}" for i in range(n)])
    frame["label"] = np.where(y_weak == 1, 1.0, np.nan)
    frame["truth"] = y
    frame["colour"] = np.where(X[:, 0] > np.median(X[:, 0]), "red", "blue")
    return frame

"""`wvad score` and `wvad bench` killed with SIGKILL at random points, then run again: the
output is absent or complete, never half-written; the bench resumes without redoing or
repeating a cell; and the results equal those of a run nobody interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wvad import WVAD, DeviationSettings, TreeSettings
from wvad.bench.results import MEASURED_FIELDS

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals only")
KILL_POINTS = np.random.default_rng(19).uniform(0.05, 0.9, size=3)  # shares of a full run


def _wvad(*argv: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from wvad.cli import main; sys.exit(main())", *argv]


def _run(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=_env())
    return time.perf_counter() - started


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _killed_after(argv: list[str], seconds: float) -> None:
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
    )
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def scoring_job(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(0)
    X = rng.random((300, 4))
    y = np.r_[np.ones(10), np.zeros(290)].astype(int)
    quick = {"pretrain_epochs": 1, "warmup_epochs": 1, "joint_epochs": 1, "random_state": 0}
    model = WVAD(**quick, deviation=DeviationSettings(epochs=1), trees=TreeSettings(max_iter=5))
    model.fit(pd.DataFrame(X, columns=list("abcd")), y)
    model.save(folder / "model")
    big = pd.DataFrame(rng.random((200_000, 4)), columns=list("abcd"))
    big.to_csv(folder / "rows.csv", index=False)
    return folder / "model", folder / "rows.csv"


def test_a_killed_score_leaves_no_half_written_file(scoring_job, tmp_path):
    model, rows = scoring_job
    reference = tmp_path / "reference.csv"
    full = _run(_wvad("score", str(model), str(rows), "--out", str(reference), "--quiet"))
    expected = reference.read_bytes()
    for i, share in enumerate(KILL_POINTS):
        out = tmp_path / f"scores{i}.csv"
        _killed_after(
            _wvad("score", str(model), str(rows), "--out", str(out), "--quiet"), share * full
        )
        assert not out.exists() or out.read_bytes() == expected  # absent or complete
        _run(_wvad("score", str(model), str(rows), "--out", str(out), "--quiet", "--force"))
        assert out.read_bytes() == expected


def _bench(out: Path) -> list[str]:
    return _wvad(
        "bench", "--datasets", "ionosphere", "--ratios", "0.1", "0.05", "--seeds", "0-9",
        "--models", "iforest", "lightgbm", "--out", str(out), "--quiet",
    )  # fmt: skip


def _cells(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return sorted(
        ({k: v for k, v in row.items() if k not in MEASURED_FIELDS} for row in rows),
        key=lambda r: (r["model"], r["ratio"], r["seed"]),
    )


def test_a_killed_bench_resumes_to_the_uninterrupted_results(tmp_path):
    reference = tmp_path / "reference"
    full = _run(_bench(reference))
    expected = _cells(reference)
    assert len(expected) == 40
    out = tmp_path / "interrupted"
    for share in KILL_POINTS:  # killed three times at different points, each run resuming
        _killed_after(_bench(out), share * full)
    _run(_bench(out))
    got = _cells(out)
    keys = [(r["model"], r["ratio"], r["seed"]) for r in got]
    assert len(keys) == len(set(keys)) == 40  # nothing repeated, nothing missing
    assert got == expected

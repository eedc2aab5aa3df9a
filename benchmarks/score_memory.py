"""Peak memory of `wvad score` against file size: it should not grow with the rows.

Writes CSV files of N rows x C numeric columns (generated in chunks, so this script stays
flat too), fits a tiny model on a small sample with `wvad fit`, then scores each file with
`wvad score` in its own subprocess and reports that process's peak resident set size
(getrusage RUSAGE_CHILDREN ru_maxrss, read by a one-child wrapper so runs do not mix).

    python benchmarks/score_memory.py                        # 500k and 5M rows (slow)
    python benchmarks/score_memory.py --rows 100000 400000   # a quick check

Results are recorded in docs/cli.md.
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GENERATE_CHUNK = 200_000
# Runs `argv` as its only child and prints that child's peak RSS in KiB (Linux units).
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(done.stdout)\n"
    "sys.stderr.write(done.stderr)\n"
    "print('MAXRSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(done.returncode)\n"
)


def write_table(path: Path, n_rows: int, n_cols: int, seed: int, *, labels: bool) -> None:
    """Two Gaussian blobs plus 0.5% scattered anomalies; a 'label' column marks half of
    those anomalies when `labels`. Written chunk by chunk."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, size=(2, n_cols))
    header = [f"x{j}" for j in range(n_cols)] + (["label"] if labels else [])
    with path.open("w") as f:
        f.write(",".join(header) + "\n")
        for start in range(0, n_rows, GENERATE_CHUNK):
            n = min(GENERATE_CHUNK, n_rows - start)
            X = centres[rng.integers(0, 2, size=n)] + rng.normal(size=(n, n_cols))
            anomalous = rng.random(n) < 0.005
            X[anomalous] = rng.uniform(-12, 12, size=(int(anomalous.sum()), n_cols))
            columns = [X]
            if labels:
                known = anomalous & (rng.random(n) < 0.5)
                columns.append(known[:, None].astype(float))
            np.savetxt(f, np.hstack(columns), delimiter=",", fmt="%.6g")


def run_measured(argv: list[str]) -> tuple[int, float, str]:
    """(peak RSS in MiB, seconds, stdout) of one command."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    kib = int(lines[-1].split()[1])
    return kib // 1024, seconds, "\n".join(lines[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", type=int, default=[500_000, 5_000_000])
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        wvad = [sys.executable, "-m", "wvad"]
        sample = work / "sample.csv"
        write_table(sample, 2000, args.cols, seed=1, labels=True)
        model = work / "model"
        fit = [*wvad, "fit", str(sample), "--label-col", "label", "--out", str(model)]
        fit += ["--clusters", "2", "--epochs", "2", "2", "4", "--quiet"]
        fit_mib, fit_s, _ = run_measured(fit)
        baseline_mib, _, _ = run_measured([*wvad, "info", str(model)])
        print(f"python {platform.python_version()}, {args.cols} columns, chunk {args.chunk_rows}")
        print(f"fit on 2000 rows: {fit_s:.1f} s, peak RSS {fit_mib} MiB")
        print(f"`wvad info` (imports + model load, the floor): peak RSS {baseline_mib} MiB")
        print(f"{'rows':>10} {'file MiB':>9} {'score s':>8} {'peak RSS MiB':>13}")
        for n_rows in args.rows:
            data = work / f"data_{n_rows}.csv"
            write_table(data, n_rows, args.cols, seed=2, labels=False)
            size = data.stat().st_size / 2**20
            out = work / f"scores_{n_rows}.csv"
            score = [*wvad, "score", str(model), str(data), "--out", str(out)]
            score += ["--chunk-rows", str(args.chunk_rows)]
            mib, seconds, stdout = run_measured(score)
            assert f"scored {n_rows} rows" in stdout, stdout
            print(f"{n_rows:>10} {size:>9.0f} {seconds:>8.1f} {mib:>13}")
            data.unlink()
            out.unlink()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"this script (generator) peak RSS: {own} MiB")


if __name__ == "__main__":
    main()

"""Peak memory of a fit against the rows it sees: it should grow no faster than the rows.

For each size N, a fresh process takes the first N training rows of one weak split of a
benchmark table (ADBench's protocol, `--labels` labeled anomalies kept among them), fits
one model on one thread, and reports its peak resident memory (Linux VmHWM) before the fit
(data loaded, libraries imported) and at the end, and the fit's seconds. The fit's own
memory is the difference. Fresh processes, because a process that fitted before keeps
memory it freed, which would hide the next fit's peak.

    python benchmarks/fit_memory.py --dataset donors --sizes 50000 100000 200000 433528 \\
        --models wvad catboost

Prints a table and the log-log slope of the fit's memory over the rows. Results are
recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def one_fit(dataset: str, size: int, labels: int, seed: int, model_name: str) -> dict:
    """Runs in the child: fit `model_name` on the first `size` training rows."""
    from wvad.bench.models import make_model
    from wvad.bench.runner import peak_memory_mb, reset_peak_memory
    from wvad.data import default_data_dir, load_dataset
    from wvad.protocol import weak_split
    from wvad.runtime import one_torch_thread

    X, y = load_dataset(dataset, data_dir=default_data_dir())
    split = weak_split(X, y, n_labeled=labels, seed=seed)
    labeled = np.flatnonzero(split.y_train_weak == 1)
    others = np.setdiff1d(np.arange(len(split.y_train_weak)), labeled)
    others = others[: max(size - len(labeled), 0)]
    rows = np.sort(np.concatenate([labeled, others]))
    X_fit, y_fit = np.ascontiguousarray(split.X_train[rows]), split.y_train_weak[rows]
    del X, y, split
    model = make_model(model_name, seed)
    with one_torch_thread():
        before = reset_peak_memory()
        start = time.perf_counter()
        model.fit(X_fit, y_fit)
        seconds = time.perf_counter() - start
    return {"rows": len(rows), "before_mb": before, "peak_mb": peak_memory_mb(), "seconds": seconds}


def in_child(args: argparse.Namespace, size: int, model_name: str) -> dict:
    command = [sys.executable, __file__, "--child", "--dataset", args.dataset, "--labels"]
    command += [str(args.labels), "--seed", str(args.seed), "--sizes", str(size)]
    command += ["--models", model_name]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="donors")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    parser.add_argument("--labels", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=["wvad", "catboost"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fit = one_fit(args.dataset, args.sizes[0], args.labels, args.seed, args.models[0])
        print(json.dumps(fit))
        return
    print(f"{args.dataset}, {args.labels} labels, seed {args.seed}, one thread, fresh processes")
    print("| model | rows | fit s | resident before, MiB | peak, MiB | fit's own, MiB |")
    print("|---|--:|--:|--:|--:|--:|")
    for name in args.models:
        own = []
        for size in args.sizes:
            r = in_child(args, size, name)
            own.append(r["peak_mb"] - r["before_mb"])
            print(
                f"| {name} | {r['rows']:,} | {r['seconds']:.1f} | {r['before_mb']:.0f} | "
                f"{r['peak_mb']:.0f} | {own[-1]:.0f} |",
                flush=True,
            )
        if len(args.sizes) > 1 and min(own) > 0:
            slope = np.polyfit(np.log(args.sizes), np.log(own), 1)[0]
            print(f"| {name}: log-log slope of the fit's own memory over rows | {slope:.2f} |")


if __name__ == "__main__":
    main()

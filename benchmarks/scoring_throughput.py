"""Scoring throughput of `WVAD.decision_function` against a bare forward pass of its modules.

The bare pass is the practical limit: the same encoder, decoder, mixture, score head,
neighbour distance and fitted raw-feature branches (the default's deviation network and
boosted trees) run over
an already scaled float32 tensor under `torch.inference_mode`, with nothing else
(no input checks, no scaling, no copies back to numpy). It is timed in the estimator's
scoring batch and over the whole array at once; the faster counts. `decision_function`
gets the raw float64 array, as a user would pass it.

    python benchmarks/scoring_throughput.py --rows 1000000 --features 36

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from wvad import WVAD
from wvad.datasets import make_multimodal
from wvad.evidence import SCORING_BATCH, Rows


def bare_forward(model: WVAD, Xs: torch.Tensor, batch: int) -> None:
    """The score's model work alone: every piece of evidence that counts, on scaled
    float32 chunks."""
    pieces = [p for n, p in model.score_.pieces.items() if model.score_weights().get(n, 1)]
    with torch.inference_mode():
        for start in range(0, len(Xs), batch):
            rows = Rows(Xs[start : start + batch], start, model.mixture_)
            for piece in pieces:
                piece.score(rows)


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=36)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, _, y_weak = make_multimodal(
        n_samples=args.rows, n_features=args.features, contamination=0.02, random_state=0
    )
    # the model's quality does not matter here, only its shape: a short fit on a sample
    model = WVAD(pretrain_epochs=2, warmup_epochs=2, joint_epochs=2, random_state=0)
    model.fit(X[:20_000], y_weak[:20_000])
    Xs = torch.as_tensor(model.scaler_.transform(X), dtype=torch.float32)

    bare_batch = best_of(args.repeats, lambda: bare_forward(model, Xs, SCORING_BATCH))
    bare_whole = best_of(args.repeats, lambda: bare_forward(model, Xs, len(Xs)))
    bare = min(bare_batch, bare_whole)
    full = best_of(args.repeats, lambda: model.decision_function(X))
    print(
        f"{args.rows} x {args.features} rows, {args.threads} torch thread(s), "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}\n"
    )
    print(f"| pass | seconds (best of {args.repeats}) | rows/s |")
    print("|---|---|---|")
    for label, seconds in (
        (f"bare forward, batches of {SCORING_BATCH}", bare_batch),
        ("bare forward, whole array", bare_whole),
        ("decision_function", full),
    ):
        print(f"| {label} | {seconds:.3f} | {args.rows / seconds:,.0f} |")
    print(f"\ndecision_function throughput / bare forward throughput: {bare / full:.2f}")
    print(f"pieces that count: {', '.join(n for n, w in model.score_weights().items() if w)}")


if __name__ == "__main__":
    main()

"""Scoring throughput of the default score, piece by piece, beside what this machine allows.

For each piece of the fitted default score the arithmetic a row needs is counted (FLOPs,
and the bytes it must move through memory at least once), and turned into the rows per
second this machine's measured float32 matrix-multiply rate and memory bandwidth allow:
limit = min(rate / FLOPs, bandwidth / bytes). Each piece's measured rows/s (its `score`
over an already scaled float32 tensor, in the estimator's chunks) is printed beside its
limit; the mixture's three pieces (score estimator, log f_r, negative ELBO) share one
encoder/decoder pass and count as one. `decision_function` on the raw float64 array, as a
user calls it, is printed beside the combined limit of all pieces (times add up) plus the
input's own bytes (reading float64 rows, scaling them, casting to float32).

    python benchmarks/scoring_throughput.py --rows 1000000 --features 36
    python benchmarks/scoring_throughput.py --rows 1000000 --features 36 --data-seed 1

(with --data-seed 1 the boosted trees earn weight in the short fit, and get their row).

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time

import numpy as np
import torch

from wvad import WVAD
from wvad.datasets import make_multimodal
from wvad.evidence import SCORING_BATCH, BoostedTrees, Rows
from wvad.evidence.bag import Bag
from wvad.evidence.trees import CatBoostEnsemble


def matmul_rate(size: int = 2048, repeats: int = 5) -> float:
    """float32 FLOP/s of a large square matrix product on this thread."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best


def bandwidth(n_bytes: int = 1 << 29, repeats: int = 5) -> float:
    """Bytes/s of a large copy (read + write counted)."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    best = min(_seconds(lambda: np.copyto(dst, src)) for _ in range(repeats))
    return 2 * n_bytes / best


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _mlp_flops(widths: list[int]) -> int:
    return sum(2 * a * b for a, b in itertools.pairwise(widths))


def costs(model: WVAD) -> dict[str, tuple[float, float]]:
    """(FLOPs, bytes) per row of each counting piece; "mixture" stands for the three that
    read the mixture's features."""
    cfg, d = model.config_, model.n_features_in_
    k, z = model.n_clusters_, cfg.latent_dim
    encoder = [d, *cfg.hidden_dims, 2 * z]
    decoder = [z, *reversed(cfg.hidden_dims), d]
    head = [k + z + 3, *cfg.head_hidden_dims, 1]
    activations = sum(encoder + decoder + head)
    elementwise = 12 * k * z + 10 * d  # cluster posterior, ELBO terms, f_r, f_c
    out = {
        "mixture": (
            _mlp_flops(encoder) + _mlp_flops(decoder) + _mlp_flops(head) + elementwise,
            8.0 * activations,  # each activation written once and read once, float32
        )
    }
    pieces = model.score_.pieces
    weights = model.score_weights()
    if weights.get("neighbours"):
        ref = len(pieces["neighbours"].reference)
        take = pieces["neighbours"].k + 8
        # proxy products, one ranking pass over them, the candidates' exact distances
        flops = 2 * ref * d + ref + 3 * take * d
        out["neighbours"] = (flops, 8.0 * ref)  # the proxy row written and read once
    if weights.get("deviation"):
        net = pieces["deviation"]
        members = net.members if isinstance(net, Bag) else [net]
        widths = [d, *members[0].network.widths(), 1]
        out["deviation"] = (len(members) * _mlp_flops(widths), 8.0 * len(members) * sum(widths))
    if weights.get("boosting"):
        out["boosting"] = _tree_cost(pieces["boosting"])
    return out


def _tree_cost(piece: BoostedTrees | Bag) -> tuple[float, float]:
    """(FLOPs, bytes) per row of a tree ensemble: per level and tree, read the column value,
    compare and step into the node or leaf index (read and written); then one leaf value
    gathered per tree. The same count for CatBoost's predictor and the node walk."""
    members = piece.members if isinstance(piece, Bag) else [piece]
    levels = n_trees = 0.0
    for member in members:
        ensemble = member.ensemble
        if isinstance(ensemble, CatBoostEnsemble):
            leaves = np.asarray(ensemble.model.get_tree_leaf_counts(), dtype=float)
        else:
            roots, is_leaf = ensemble.arrays["roots"], ensemble.arrays["is_leaf"]
            leaves = np.add.reduceat(is_leaf.astype(float), roots) if len(roots) else []
        levels += float(np.log2(np.maximum(leaves, 1)).sum())
        n_trees += len(leaves)
    return 3 * levels + 2 * n_trees, 24.0 * levels


def measured(model: WVAD, Xs: torch.Tensor, repeats: int) -> dict[str, float]:
    """Rows/s of each counting piece's score alone over scaled float32 rows."""
    pieces, weights = model.score_.pieces, model.score_weights()
    groups = {"mixture": [n for n in ("head", "log_f_r", "neg_elbo") if weights.get(n)]}
    groups |= {n: [n] for n in ("neighbours", "deviation", "boosting") if weights.get(n)}

    def run(names: list[str]) -> None:
        with torch.inference_mode():
            for start in range(0, len(Xs), SCORING_BATCH):
                rows = Rows(Xs[start : start + SCORING_BATCH], start, model.mixture_)
                for name in names:
                    pieces[name].score(rows)

    return {
        g: len(Xs) / min(_seconds(lambda n=names: run(n)) for _ in range(repeats))
        for g, names in groups.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=36)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the synthetic table; which pieces earn weight depends on it",
    )
    parser.add_argument(
        "--max-reference",
        type=int,
        default=None,
        help="the neighbour distance's reference rows (fusion.max_reference; default: the "
        "default's)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, _, y_weak = make_multimodal(
        n_samples=args.rows,
        n_features=args.features,
        contamination=0.02,
        random_state=args.data_seed,
    )
    # the model's quality does not matter here, only its shape: a short fit on a sample
    fusion = {} if args.max_reference is None else {"max_reference": args.max_reference}
    model = WVAD(pretrain_epochs=2, warmup_epochs=2, joint_epochs=2, fusion=fusion, random_state=0)
    model.fit(X[:20_000], y_weak[:20_000])
    Xs = torch.as_tensor(model.scaler_.transform(X), dtype=torch.float32)
    rate, bw = matmul_rate(), bandwidth()
    limits = {name: min(rate / f, bw / b) for name, (f, b) in costs(model).items()}
    speeds = measured(model, Xs, args.repeats)
    full = args.rows / min(
        _seconds(lambda: model.decision_function(X)) for _ in range(args.repeats)
    )
    input_bytes = (8 + 16 + 4) * args.features  # read float64, scale in float64, cast
    combined = 1.0 / (sum(1.0 / v for v in limits.values()) + input_bytes / bw)
    print(
        f"{args.rows} x {args.features} rows, {args.threads} torch thread(s), "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}; "
        f"matmul {rate / 1e9:.0f} GFLOP/s, bandwidth {bw / 1e9:.1f} GB/s\n"
    )
    print("| piece | FLOPs / row | bytes / row | limit rows/s | measured rows/s | share of limit |")
    print("|---|---|---|---|---|---|")
    for name, (f, b) in costs(model).items():
        print(
            f"| {name} | {f:,.0f} | {b:,.0f} | {limits[name]:,.0f} | {speeds[name]:,.0f} | "
            f"{speeds[name] / limits[name]:.2f} |"
        )
    print(
        f"| decision_function (all, raw float64 in) | | | {combined:,.0f} | {full:,.0f} | "
        f"{full / combined:.2f} |"
    )
    print(f"\npieces that count: {', '.join(n for n, w in model.score_weights().items() if w)}")


if __name__ == "__main__":
    main()

"""The neighbour distance's candidate search against faiss's exact flat index, one thread.

The piece (`wvad.evidence.neighbours`) picks, per scored row, the k + 1 + margin reference
rows nearest by a float32 proxy product and a top-k over int32 keys, then measures their
exact distances in float64. This times that candidate search against faiss-cpu's
`IndexFlatL2.search` (the compiled library for exactly this search) on the same rows, and
says how often the two pick the same candidate set. faiss is not a wvad dependency:

    pip install faiss-cpu
    OMP_NUM_THREADS=1 python benchmarks/knn_search.py --rows 200000 --features 36

Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from wvad.evidence.neighbours import _BLOCK, CANDIDATE_MARGIN, _ordered_bits


def torch_candidates(reference: np.ndarray, queries: np.ndarray, take: int) -> np.ndarray:
    """The piece's own search: float32 proxy ||r||^2 - 2 q.r, top-k over int32 keys."""
    ref = torch.as_tensor(reference)
    squared = (ref * ref).sum(dim=1)
    out = []
    for start in range(0, len(queries), _BLOCK):
        block = torch.as_tensor(queries[start : start + _BLOCK])
        proxy = torch.addmm(squared, block, ref.T, alpha=-2.0)
        out.append(_ordered_bits(proxy).topk(take, dim=1, largest=False, sorted=False).indices)
    return torch.cat(out).numpy()


def faiss_candidates(index, queries: np.ndarray, take: int, block: int = 16384) -> np.ndarray:
    return np.concatenate(
        [index.search(queries[s : s + block], take)[1] for s in range(0, len(queries), block)]
    )


def _rate(fn, rows: int, repeats: int) -> float:
    fn()  # warm-up
    best = min(_seconds(fn) for _ in range(repeats))
    return rows / best


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=36)
    parser.add_argument("--reference", type=int, default=1024)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    reference = rng.random((args.reference, args.features), dtype=np.float32)
    queries = rng.random((args.rows, args.features), dtype=np.float32)
    take = args.k + 1 + CANDIDATE_MARGIN
    ours = _rate(lambda: torch_candidates(reference, queries, take), args.rows, args.repeats)
    print(f"{args.rows} x {args.features} rows, {args.reference} reference rows, {take} taken")
    print(f"| search | rows/s |\n|---|---|\n| wvad's proxy + int32 top-k | {ours:,.0f} |")
    try:
        import faiss
    except ImportError:
        print("(faiss-cpu is not installed: pip install faiss-cpu)")
        return
    faiss.omp_set_num_threads(1)
    index = faiss.IndexFlatL2(args.features)
    index.add(reference)
    theirs = _rate(lambda: faiss_candidates(index, queries, take), args.rows, args.repeats)
    print(f"| faiss {faiss.__version__} IndexFlatL2 | {theirs:,.0f} |")
    a = np.sort(torch_candidates(reference, queries, take), axis=1)
    b = np.sort(faiss_candidates(index, queries, take), axis=1)
    print(f"\nsame candidate sets: {(a == b).all(axis=1).mean():.5f} of rows")


if __name__ == "__main__":
    main()

"""The neighbour distance's candidate search against faiss's exact flat index, one thread.

The piece (`wvad.evidence.neighbours`) picks, per scored row, the k + 1 + margin reference
rows nearest by a float32 proxy product and a top-k over int32 keys, then measures their
exact distances in float64. This times that candidate search against faiss-cpu's
`IndexFlatL2.search` (the compiled library for exactly this search) and against the same
proxy product followed by a compiled selection loop (numba: one pass per row keeping the
`take` smallest, which skips a value above the current worst in one comparison), on the
same rows, and says how often each picks the piece's candidate set. Neither faiss nor
numba is a wvad dependency (numba comes with pyod, a benchmark extra):

    pip install faiss-cpu numba
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


def numba_selection():
    """A compiled keep-the-smallest loop over each proxy row, or None without numba."""
    try:
        from numba import njit
    except ImportError:
        return None

    @njit(nogil=True, boundscheck=False)
    def smallest(proxy, take, out):  # pragma: no cover - compiled
        values = np.empty(take, np.float32)
        for i in range(proxy.shape[0]):
            row = proxy[i]
            for j in range(take):
                values[j] = row[j]
                out[i, j] = j
            worst = np.argmax(values)
            for j in range(take, row.shape[0]):
                if row[j] < values[worst]:
                    values[worst] = row[j]
                    out[i, worst] = j
                    worst = np.argmax(values)
        return out

    return smallest


def compiled_candidates(smallest, reference: np.ndarray, queries: np.ndarray, take: int):
    """The piece's float32 proxy product, then the compiled selection per block."""
    ref = torch.as_tensor(reference)
    squared = (ref * ref).sum(dim=1)
    out = np.empty((len(queries), take), dtype=np.int64)
    for start in range(0, len(queries), _BLOCK):
        block = torch.as_tensor(queries[start : start + _BLOCK])
        proxy = torch.addmm(squared, block, ref.T, alpha=-2.0)
        smallest(proxy.numpy(), take, out[start : start + _BLOCK])
    return out


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
    mine = np.sort(torch_candidates(reference, queries, take), axis=1)
    smallest = numba_selection()
    if smallest is None:
        print("(numba is not installed: pip install numba)")
    else:
        compiled_candidates(smallest, reference, queries[:_BLOCK], take)  # compile first
        run = lambda: compiled_candidates(smallest, reference, queries, take)  # noqa: E731
        rate = _rate(run, args.rows, args.repeats)
        same = (np.sort(run(), axis=1) == mine).all(axis=1).mean()
        print(f"| proxy + compiled selection (numba) | {rate:,.0f} | same sets {same:.5f} |")
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
    b = np.sort(faiss_candidates(index, queries, take), axis=1)
    print(f"\nfaiss: same candidate sets on {(mine == b).all(axis=1).mean():.5f} of rows")


if __name__ == "__main__":
    main()

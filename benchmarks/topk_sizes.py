"""How torch's top-k selection costs per row as the candidates grow.

The neighbour distance picks each row's nearest reference rows by one `torch.topk` over
its proxy distances to all of them (`wvad.evidence.neighbours`). This times that call
alone, on int32 keys (as the piece runs it) and on float32 values, for blocks of 256 rows
and 128 to 2,048 candidates, on one torch thread: whether fewer reference rows would make
scoring faster.

    python benchmarks/topk_sizes.py
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import torch

from wvad.config import Config
from wvad.evidence.neighbours import _BLOCK, CANDIDATE_MARGIN


def best_seconds(call: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` timed calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def per_row_microseconds(values: torch.Tensor, take: int, calls: int, repeats: int) -> float:
    """Microseconds per row of `calls` top-k selections of the `take` smallest per row."""

    def run() -> None:
        for _ in range(calls):
            values.topk(take, dim=1, largest=False, sorted=False)

    return best_seconds(run, repeats) / (calls * len(values)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=_BLOCK, help="rows per block (the piece's)")
    take = Config().n_neighbors + CANDIDATE_MARGIN
    parser.add_argument("--take", type=int, default=take, help="k + the candidate margin")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread")
    print("| candidates | int32 keys, us/row | float32, us/row |")
    print("|--:|--:|--:|")
    for size in args.sizes:
        values = torch.rand(args.rows, size)
        keys = values.view(torch.int32).clone()  # non-negative floats' bits order alike
        as_int = per_row_microseconds(keys, args.take, args.calls, args.repeats)
        as_float = per_row_microseconds(values, args.take, args.calls, args.repeats)
        print(f"| {size:,} | {as_int:.2f} | {as_float:.2f} |")


if __name__ == "__main__":
    main()

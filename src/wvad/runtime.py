"""Torch runtime choices shared by every neural detector: device and random seeds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

__all__ = [
    "flush_denormals",
    "one_torch_thread",
    "resolve_device",
    "resolve_seed",
    "seeded",
    "steady_arithmetic",
]


def resolve_device(device: str | torch.device) -> torch.device:
    """Map "auto" to CUDA when available, else CPU; refuse CUDA when it is absent."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch sees no CUDA device")
    return resolved


def resolve_seed(random_state: int | np.random.Generator | None) -> int:
    """Turn a scikit-learn style random_state into one integer seed for torch and numpy."""
    if random_state is None:
        return int(np.random.default_rng().integers(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, (int, np.integer)) and random_state >= 0:
        return int(random_state)
    raise ValueError(f"random_state must be None or a non-negative int; got {random_state!r}")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator for the block without disturbing the caller's state."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat float32 values below 1.2e-38 as zero on the CPU for the block, then restore.

    Weights that weight decay or clipping drive towards zero can become denormal, and every
    multiplication with a denormal costs on x86 about a hundred times a normal one: on
    Satellite a fifth of a fit's time went to a few dozen such weights of the deviation
    network. What they add to a score (below 1e-38) is nothing a float32 score can hold.
    """
    before = _flushing()
    changed = torch.set_flush_denormal(True)  # False where the CPU cannot
    try:
        yield
    finally:
        if changed and not before:
            torch.set_flush_denormal(False)


def _flushing() -> bool:
    """Whether denormal inputs are read as zero right now (probed: torch has no getter)."""
    denormal = torch.tensor([1e-40], dtype=torch.float32)
    return bool((denormal * 1.0).item() == 0.0)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch's CPU work on one thread for the block, then restore the setting.

    A float32 matrix product rounds differently with another thread count (MKL splits the
    sum another way) on some shapes and CPUs; through training that moved scores by up to
    1 on Satellite between 1 and 4 threads. On one thread a fit is the same whatever
    OMP_NUM_THREADS or torch.set_num_threads say, and no slower at WVAD's widths (64-wide
    layers on batches of at most a few thousand rows gain nothing from more threads).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def steady_arithmetic() -> Iterator[None]:
    """What every fit and scoring pass runs under: one torch thread (the same scores for
    any thread count) and denormals flushed (no slow path for near-zero weights)."""
    with one_torch_thread(), flush_denormals():
        yield

"""The small training loop shared by the deviation piece and every neural peer, with its
batch samplers and helpers.

The loop knows nothing about any network: it draws the index batches of an epoch from a
sampler, hands each batch to a loss callback and steps one optimizer. Callers own their
networks (torch modules) and losses; this module owns iteration, optimisation, determinism
and the loss history. (The mixture's own schedule is `wvad.training`.)

Determinism: every random draw of the loop (batch indices) comes from the numpy
``Generator`` passed in; every torch draw (weight initialisation, noise inside a loss)
comes from torch's global generator, which callers seed with
:func:`wvad.runtime.seeded` around the whole fit. Same seed, same scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "balanced_batches",
    "clip_each_norm_",
    "lockstep",
    "make_optimizer",
    "score_in_batches",
    "shuffled_batches",
    "split_labels",
    "to_tensor",
    "train",
    "unlabeled_per_batch",
]

Batch = Any
BatchSampler = Callable[[np.random.Generator], Iterable[Batch]]


def split_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the unlabeled rows (y == 0) and of the labeled anomalies (y == 1)."""
    return np.flatnonzero(y == 0), np.flatnonzero(y == 1)


def balanced_batches(
    unlabeled: np.ndarray, anomalies: np.ndarray, batch_size: int, steps: int
) -> BatchSampler:
    """Sampler of `steps` batches per epoch, half unlabeled rows and half labeled anomalies.

    Both halves are drawn with replacement, so the few labeled anomalies are oversampled,
    as in DevNet (Pang et al., KDD 2019), PReNet and FeaWAD. Each batch is a pair
    ``(indices, targets)`` with target 1 for the anomaly half and 0 for the unlabeled half.
    """
    n_unlabeled = unlabeled_per_batch(batch_size)
    half = batch_size - n_unlabeled
    target = np.concatenate([np.zeros(n_unlabeled), np.ones(half)])
    target.flags.writeable = False  # the same array every batch

    def sample(rng: np.random.Generator) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        for _ in range(steps):
            # rng.choice(a, m) with replacement is a[rng.integers(0, len(a), m)], the same
            # draws, without choice's checks on every call
            idx_u = unlabeled[rng.integers(0, len(unlabeled), n_unlabeled)]
            idx_a = anomalies[rng.integers(0, len(anomalies), half)]
            yield np.concatenate([idx_u, idx_a]), target

    return sample


def unlabeled_per_batch(batch_size: int) -> int:
    """The unlabeled rows in one of `balanced_batches`' batches (the larger half)."""
    return batch_size - batch_size // 2


def lockstep(samplers: Sequence[BatchSampler], rngs: Sequence[np.random.Generator]) -> BatchSampler:
    """Sampler of tuples: one batch from each of `samplers` per step, sampler i drawing
    from its own generator rngs[i] (the generator the loop passes in is not used), so each
    sees the batches it would alone. Every sampler yields as many batches per pass."""

    def sample(_: np.random.Generator) -> Iterable[tuple[Batch, ...]]:
        return zip(*(s(rng) for s, rng in zip(samplers, rngs, strict=True)), strict=True)

    return sample


def shuffled_batches(n_rows: int, batch_size: int, drop_last: bool = True) -> BatchSampler:
    """Sampler of one shuffled pass over the rows per epoch (a plain DataLoader epoch).

    With ``drop_last`` the incomplete final batch is skipped, unless it would be the only
    batch (fewer rows than `batch_size`).
    """

    def sample(rng: np.random.Generator) -> Iterable[np.ndarray]:
        order = rng.permutation(n_rows)
        stop = n_rows
        if drop_last and n_rows >= batch_size:
            stop = n_rows - n_rows % batch_size
        for start in range(0, stop, batch_size):
            yield order[start : start + batch_size]

    return sample


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """Adam, or RMSprop with Keras' defaults (rho 0.9, eps 1e-7) for the Keras-born peers."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, alpha=0.9, eps=1e-7, weight_decay=weight_decay, foreach=True
        )
    raise ValueError(f"optimizer must be 'adam' or 'rmsprop'; got {name!r}")


def train(
    modules: torch.nn.Module | Sequence[torch.nn.Module],
    loss_fn: Callable[[Batch], torch.Tensor],
    sampler: BatchSampler,
    *,
    epochs: int,
    lr: float,
    rng: np.random.Generator,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
    clip_slices: bool = False,
    on_epoch_end: Callable[[int, float], None] | None = None,
    verbose: bool = False,
    name: str = "train",
) -> list[float]:
    """Run `epochs` passes of `sampler` through `loss_fn`, stepping one optimizer.

    `clip_norm` clips each parameter tensor's gradient norm separately (Keras' ``clipnorm``);
    with `clip_slices` each slice along a parameter's first dimension is a tensor of its
    own (k networks' tensors stacked in one, as `StackedDeviationNetworks` holds them).
    Returns the mean loss of each epoch; `on_epoch_end(epoch, mean_loss)` runs after each.
    """
    if isinstance(modules, torch.nn.Module):
        modules = [modules]
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, lr, weight_decay)
    for m in modules:
        m.train()
    history: list[float] = []
    for epoch in range(int(epochs)):
        total, count = torch.zeros(()), 0
        for batch in sampler(rng):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(batch)
            loss.backward()
            if clip_norm is not None:
                clip_each_norm_(_clipped_tensors(params, clip_slices), clip_norm)
            opt.step()
            total = total + loss.detach().cpu()
            count += 1
        mean = float(total) / max(count, 1)
        if not math.isfinite(mean):
            raise ValueError(
                f"{name} training diverged: the loss became {mean} at epoch {epoch + 1}; a "
                "smaller learning rate keeps the steps finite"
            )
        history.append(mean)
        if on_epoch_end is not None:
            on_epoch_end(epoch, mean)
        if verbose:
            print(f"[{name}] epoch {epoch + 1}/{epochs} loss {mean:.5f}")
    for m in modules:
        m.eval()
    return history


def to_tensor(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """float32 tensor on `device`, copied (the input may be a read-only memory map)."""
    return torch.from_numpy(np.array(X, dtype=np.float32, order="C")).to(device)


def score_in_batches(
    fn: Callable[[torch.Tensor], torch.Tensor],
    X: np.ndarray,
    device: torch.device,
    batch_size: int = 8192,
) -> np.ndarray:
    """Apply `fn` (rows -> one score each) in large batches under inference mode."""
    out = []
    with torch.inference_mode():
        for start in range(0, X.shape[0], batch_size):
            xb = to_tensor(X[start : start + batch_size], device)
            out.append(fn(xb).reshape(-1).double().cpu().numpy())
    return np.concatenate(out)


def _clipped_tensors(params: Sequence[torch.nn.Parameter], slices: bool) -> list[torch.Tensor]:
    """The gradients `clip_each_norm_` scales: each parameter's, or each slice of it."""
    grads = [p.grad for p in params if p.grad is not None]
    return [s for g in grads for s in g.unbind(0)] if slices else grads


@torch.no_grad()
def clip_each_norm_(grads: Sequence[torch.Tensor], max_norm: float) -> None:
    """Scale each gradient in place to a norm of at most `max_norm`, tensor by tensor
    (Keras' ``clipnorm``): the arithmetic of ``clip_grad_norm_([p], max_norm)`` for every
    p, in one pass instead of one call per tensor, whose bookkeeping cost five times the
    maths (a fifth of the deviation network's fit time)."""
    if not grads:
        return
    norms = torch.linalg.vector_norm(
        torch.stack(torch._foreach_norm(grads, 2.0)).unsqueeze(1), 2.0, dim=1
    )
    scales = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    torch._foreach_mul_(grads, list(scales.unbind()))

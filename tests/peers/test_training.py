"""The shared training loop and its samplers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wvad.loop import balanced_batches, clip_each_norm_, make_optimizer, shuffled_batches, train
from wvad.runtime import seeded


def test_balanced_batches_are_half_anomalies():
    unlabeled, anomalies = np.arange(100), np.array([100, 101, 102])
    batches = list(balanced_batches(unlabeled, anomalies, 64, 5)(np.random.default_rng(0)))
    assert len(batches) == 5
    for idx, target in batches:
        assert idx.shape == target.shape == (64,)
        assert target.sum() == 32
        assert np.isin(idx[target == 1], anomalies).all()
        assert np.isin(idx[target == 0], unlabeled).all()


def test_shuffled_batches_drop_last_but_never_everything():
    batches = list(shuffled_batches(10, 4)(np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4]
    assert [len(b) for b in shuffled_batches(3, 4)(np.random.default_rng(0))] == [3]
    full = np.concatenate(list(shuffled_batches(10, 4, drop_last=False)(np.random.default_rng(0))))
    assert sorted(full) == list(range(10))


def _fit_line(seed: int) -> tuple[list[float], torch.Tensor]:
    X = torch.linspace(0, 1, 32).unsqueeze(1)
    with seeded(seed):
        net = torch.nn.Linear(1, 1)
        hist = train(
            net,
            lambda idx: ((net(X[torch.as_tensor(idx)]) - 2 * X[torch.as_tensor(idx)]) ** 2).mean(),
            shuffled_batches(32, 8),
            epochs=20,
            lr=0.05,
            rng=np.random.default_rng(seed),
        )
    return hist, net.weight.detach().clone()


def test_train_is_deterministic_and_learns():
    h1, w1 = _fit_line(3)
    h2, w2 = _fit_line(3)
    assert h1 == h2 and torch.equal(w1, w2)
    assert len(h1) == 20 and h1[-1] < h1[0]


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("sgd", [torch.nn.Parameter(torch.zeros(1))], 0.1)


def test_clipping_each_gradient_equals_torchs_clip_per_tensor():
    torch.manual_seed(0)
    scales = [1e-4, 0.5, 3.0, 1e2]
    grads = [torch.randn(5, 3) * s for s in scales] + [torch.randn(7) * 10]

    def params():
        out = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(out, grads, strict=True):
            p.grad = g.clone()
        return [*out, torch.nn.Parameter(torch.zeros(2))]  # no gradient: left alone

    ours, theirs = params(), params()
    clip_each_norm_([p.grad for p in ours if p.grad is not None], 1.0)
    for p in theirs:
        if p.grad is not None:
            torch.nn.utils.clip_grad_norm_([p], 1.0)
    assert all(
        (a.grad is None and b.grad is None) or torch.equal(a.grad, b.grad)
        for a, b in zip(ours, theirs, strict=True)
    )
    assert ours[0].grad.norm() < 1.0 and ours[3].grad.norm() == pytest.approx(1.0, rel=1e-5)

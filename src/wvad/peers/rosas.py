"""RoSAS: contamination-resilient continuous supervision (Xu et al., IP&M 2023).

H. Xu, Y. Wang, G. Pang, S. Jian, N. Liu, Y. Wang. "RoSAS: Deep Semi-Supervised Anomaly
Detection with Contamination-Resilient Continuous Supervision". Information Processing &
Management 60(5), 103459, 2023.

Each step draws triplets (anchor, positive, negative) = (unlabeled, unlabeled, labeled
anomaly). Two objectives are combined:

* a feature-learning triplet loss on the embeddings (margin 1), which pulls unlabeled rows
  together and pushes labeled anomalies away;
* continuous supervision by mass interpolation: every row of the batch, with discrete
  target -1 (unlabeled) or +1 (labeled anomaly), is mixed with a randomly permuted
  partner, x~ = l x_i + (1 - l) x_j with l ~ Dirichlet(alpha, alpha) (i.e.
  Beta(alpha, alpha)), and the tanh-bounded score of x~ regresses onto the interpolated
  continuous (ordinal) target y~ = l y_i + (1 - l) y_j (Smooth-L1), plus a consistency
  regulariser that asks s(x~) to match the interpolated scores l s(x_i) + (1 - l) s(x_j).

The two losses are weighted dynamically, w_k proportional to exp((L_k / L_k^prev) / T) with
the previous epoch's mean losses (T = 2), and an L2 penalty 1e-2 ||e_a + e_p + e_n|| on
the embeddings is added, as in the authors' code. Network and defaults follow the
authors' release (github.com/xuhongzuo/rosas, configs.yaml): LeakyReLU hidden layer of
d + (128 - d) / 2 units, bias-free 128-d embedding, score head 64 -> 1 with tanh; Adam
lr 0.005, weight decay 1e-4; 200 epochs of 16 batches of 32 triplets; k = 2 interpolated
rows; alpha = 0.5.

Simplification: the authors' code early-stops on the AUROC/AUPR of a labeled validation
set; under the weak-supervision protocol no such labels exist, so training runs the full
epoch budget and keeps the final weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from wvad.base import store_params
from wvad.loop import BatchSampler, score_in_batches, split_labels, to_tensor, train
from wvad.peers._base import NeuralPeer

__all__ = ["RoSAS", "RoSASNetwork", "dynamic_weighting"]


def dynamic_weighting(losses: torch.Tensor, previous: list[float], T: float) -> torch.Tensor:
    """sum_k w_k L_k with w_k proportional to exp((L_k / L_k^prev) / T).

    Written as a softmax, which equals the authors' exp(..) / sum exp(..) but cannot
    overflow: when a loss's previous epoch mean is tiny (a triplet loss that reached 0), the
    ratio is huge and exp() of it is inf, and inf / inf gave NaN scores on Letter. The
    weights are not detached, as in the authors' code.
    """
    ratios = losses / losses.new_tensor(previous) / T
    return (torch.softmax(ratios, dim=0) * losses).sum()


class RoSASNetwork(nn.Module):
    """Embedding MLP and tanh-bounded score head."""

    def __init__(self, n_features: int, n_emb: int = 128) -> None:
        super().__init__()
        n_hidden = n_features + int((n_emb - n_features) * 0.5)
        self.hidden = nn.Linear(n_features, n_hidden, bias=False)
        self.emb = nn.Linear(n_hidden, n_emb, bias=False)
        self.score_hidden = nn.Linear(n_emb, n_emb // 2, bias=False)
        self.score_out = nn.Linear(n_emb // 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.emb(functional.leaky_relu(self.hidden(x)))
        s = torch.tanh(self.score_out(functional.leaky_relu(self.score_hidden(z))))
        return z, s.squeeze(-1)


class RoSAS(NeuralPeer):
    """RoSAS (Xu et al., IP&M 2023); higher score = more anomalous (in [-1, 1]).

    Parameters
    ----------
    n_emb : embedding size (128).
    margin : triplet margin (1).
    alpha : Dirichlet concentration of the interpolation weights (0.5).
    k : number of rows mixed per interpolated sample (2).
    T : temperature of the dynamic loss weighting (2).
    l2 : weight of the embedding L2 penalty (1e-2).
    epochs, steps_per_epoch, batch_size : 200 x 16 batches of 32 triplets.
    lr, weight_decay : Adam, 0.005 and 1e-4.
    """

    def __init__(
        self,
        n_emb: int = 128,
        margin: float = 1.0,
        alpha: float = 0.5,
        k: int = 2,
        T: float = 2.0,
        l2: float = 1e-2,
        epochs: int = 200,
        steps_per_epoch: int = 16,
        batch_size: int = 32,
        lr: float = 0.005,
        weight_decay: float = 1e-4,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        """Train the network on triplets and interpolated rows (see the module docstring)."""
        if int(self.k) < 2:
            raise ValueError(f"k must be >= 2 rows per interpolation; got {self.k!r}")
        net = RoSASNetwork(X.shape[1], self.n_emb).to(self.device_)
        Xt = to_tensor(X, self.device_)
        unlabeled, anomalies = split_labels(y)
        epoch_losses = _EpochLosses()
        self.history_ = train(
            net,
            self._loss_fn(net, Xt, epoch_losses),
            self._sampler(unlabeled, anomalies),
            epochs=self.epochs,
            lr=self.lr,
            rng=rng,
            weight_decay=self.weight_decay,
            on_epoch_end=epoch_losses.end_epoch,
            verbose=self.verbose,
            name="RoSAS",
        )
        self.network_ = net

    def _sampler(self, unlabeled: np.ndarray, anomalies: np.ndarray) -> BatchSampler:
        """Each epoch's `steps_per_epoch` batches: (anchor, positive, negative) row indices,
        the k - 1 partner permutations of the 3b rows and their interpolation weights."""
        b, k = int(self.batch_size), int(self.k)
        no_repeat = unlabeled.size >= b

        def sampler(r: np.random.Generator) -> Iterable[tuple[np.ndarray, ...]]:
            for _ in range(self.steps_per_epoch):
                anchor = r.choice(unlabeled, b, replace=not no_repeat)
                pos = r.choice(unlabeled, b, replace=not no_repeat)
                neg = r.choice(anomalies, b, replace=True)
                rows = 3 * b
                perms = np.stack([r.permutation(rows) for _ in range(k - 1)])
                yield anchor, pos, neg, perms, _mix_weights(r, rows, k, self.alpha)

        return sampler

    def _loss_fn(
        self, net: RoSASNetwork, Xt: torch.Tensor, epoch_losses: _EpochLosses
    ) -> Callable[[tuple[np.ndarray, ...]], torch.Tensor]:
        """The step loss: triplet and interpolation losses, dynamically weighted by the
        previous epoch's means in `epoch_losses`, plus the embedding L2 penalty."""
        device, b = self.device_, int(self.batch_size)
        triplet = nn.TripletMarginLoss(margin=self.margin)
        smooth = nn.SmoothL1Loss(reduction="none")

        def loss_fn(batch: tuple[np.ndarray, ...]) -> torch.Tensor:
            anchor, pos, neg, perms, lam = batch
            idx = torch.as_tensor(np.concatenate([anchor, pos, neg]), device=device)
            x_i = Xt[idx]
            emb, s_i = net(x_i)
            e_a, e_p, e_n = emb.split(b)
            loss_emb = triplet(e_a, e_p, e_n)
            target = torch.cat([-torch.ones(2 * b, device=device), torch.ones(b, device=device)])
            x_mix, y_mix, s_mix = _interpolate(x_i, target, s_i, perms, to_tensor(lam, device))
            _, s_tilde = net(x_mix)
            loss_score = (smooth(s_tilde, y_mix) + smooth(s_tilde, s_mix)).mean()
            losses = torch.stack([loss_emb, loss_score])
            loss = dynamic_weighting(losses, epoch_losses.previous, self.T)
            loss = loss + self.l2 * torch.linalg.vector_norm(e_a + e_p + e_n)
            epoch_losses.record(loss_emb, loss_score)
            return loss

        return loss_fn

    def _score(self, X: np.ndarray) -> np.ndarray:
        return score_in_batches(lambda xb: self.network_(xb)[1], X, self.device_)


def _mix_weights(r: np.random.Generator, rows: int, k: int, alpha: float) -> np.ndarray:
    """Interpolation weights, (rows, k), each row summing to 1."""
    if k == 2:  # x~ = l x_i + (1 - l) x_j, l ~ Dirichlet(alpha, alpha)[1]
        first = r.dirichlet([alpha, alpha], size=rows)[:, 1]
        return np.column_stack([first, 1.0 - first])
    # the authors' k-row variant: independent draws, normalised
    lam = r.dirichlet([alpha, alpha], size=(rows, k))[:, :, 1]
    return lam / lam.sum(axis=1, keepdims=True)


def _interpolate(
    x_i: torch.Tensor,
    target: torch.Tensor,
    s_i: torch.Tensor,
    perms: np.ndarray,
    lam_t: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows, targets and scores mixed with their permuted partners: sum_j lam_j v[perm_j]."""
    x_mix = lam_t[:, :1] * x_i
    y_mix = lam_t[:, 0] * target
    s_mix = lam_t[:, 0] * s_i
    for j, perm in enumerate(perms, start=1):
        p = torch.as_tensor(perm, device=x_i.device)
        x_mix = x_mix + lam_t[:, j : j + 1] * x_i[p]
        y_mix = y_mix + lam_t[:, j] * target[p]
        s_mix = s_mix + lam_t[:, j] * s_i[p]
    return x_mix, y_mix, s_mix


class _EpochLosses:
    """Each loss's mean over the previous epoch (1 before the first, or when it was 0), as
    `dynamic_weighting` reads them, and the current epoch's step values."""

    def __init__(self) -> None:
        self.prev = {"emb": 1.0, "score": 1.0}
        self.epoch_terms: dict[str, list[float]] = {"emb": [], "score": []}

    @property
    def previous(self) -> list[float]:
        """The previous epoch's means, in the order (embedding, score)."""
        return [self.prev["emb"], self.prev["score"]]

    def record(self, loss_emb: torch.Tensor, loss_score: torch.Tensor) -> None:
        """Keep one step's two losses for the epoch's means."""
        self.epoch_terms["emb"].append(float(loss_emb.detach()))
        self.epoch_terms["score"].append(float(loss_score.detach()))

    def end_epoch(self, epoch: int, mean: float) -> None:
        """Turn the epoch's step losses into the means the next epoch weighs by."""
        for key in self.prev:
            m = float(np.mean(self.epoch_terms[key])) if self.epoch_terms[key] else 0.0
            self.prev[key] = m if m > 0 else 1.0
            self.epoch_terms[key].clear()

"""PReNet: pairwise relation prediction network (Pang et al., KDD 2023).

G. Pang, C. Shen, H. Jin, A. van den Hengel. "Deep Weakly-supervised Anomaly Detection".
KDD 2023 (arXiv:1910.13601). A shared feature learner embeds both rows of a pair; a linear
head on the concatenated embeddings regresses the pair's relation: 8 for
(anomaly, anomaly), 4 for (anomaly, unlabeled), 0 for (unlabeled, unlabeled), under an
absolute-error loss. A row's anomaly score is the mean predicted relation of the row paired
with E labeled anomalies (as the right member) and with E unlabeled rows (as the left).

Defaults follow the paper and ADBench's PyTorch port: feature learner Linear(d, 20) + ReLU,
head Linear(40, 1); RMSprop lr 1e-3 with weight decay 1e-2; 50 epochs x 20 batches of 512
pairs, half (u, u), a quarter (a, u) and a quarter (a, a), members drawn with replacement;
E = 30 reference anomalies and 30 reference unlabeled rows at scoring.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from wvad.base import store_params
from wvad.loop import score_in_batches, split_labels, to_tensor, train
from wvad.peers._base import NeuralPeer

__all__ = ["PReNet", "PReNetNetwork"]


class PReNetNetwork(nn.Module):
    """Shared feature learner psi and linear relation head on [psi(left), psi(right)]."""

    def __init__(self, n_features: int, hidden: int = 20) -> None:
        super().__init__()
        self.feature = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.head = nn.Linear(2 * hidden, 1)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        pair = torch.cat([self.feature(left), self.feature(right)], dim=-1)
        return self.head(pair).squeeze(-1)


def _pair_sampler(unlabeled, anomalies, batch_size, steps, targets):
    s_aa, s_au, s_uu = targets
    n_uu = batch_size // 2
    n_au = batch_size // 4
    n_aa = batch_size - n_uu - n_au

    def sample(rng: np.random.Generator) -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for _ in range(steps):
            left = np.concatenate(
                [
                    rng.choice(unlabeled, n_uu),
                    rng.choice(anomalies, n_au),
                    rng.choice(anomalies, n_aa),
                ]
            )
            right = np.concatenate(
                [
                    rng.choice(unlabeled, n_uu),
                    rng.choice(unlabeled, n_au),
                    rng.choice(anomalies, n_aa),
                ]
            )
            target = np.repeat([s_uu, s_au, s_aa], [n_uu, n_au, n_aa]).astype(np.float64)
            yield left, right, target

    return sample


class PReNet(NeuralPeer):
    """Pairwise relation network (Pang et al., KDD 2023); higher score = more anomalous.

    Parameters
    ----------
    hidden : width of the feature learner (20).
    targets : relation targets for (a, a), (a, u), (u, u) pairs: (8, 4, 0).
    n_reference : E, reference anomalies and unlabeled rows per scored row (30).
    epochs, steps_per_epoch, batch_size : 50 x 20 batches of 512 pairs.
    lr, weight_decay, optimizer : RMSprop, 1e-3, 1e-2 (ADBench).
    """

    def __init__(
        self,
        hidden: int = 20,
        targets: tuple[float, float, float] = (8.0, 4.0, 0.0),
        n_reference: int = 30,
        epochs: int = 50,
        steps_per_epoch: int = 20,
        batch_size: int = 512,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        optimizer: str = "rmsprop",
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        device = self.device_
        net = PReNetNetwork(X.shape[1], self.hidden).to(device)
        Xt = to_tensor(X, device)
        unlabeled, anomalies = split_labels(y)

        def loss_fn(batch: tuple[np.ndarray, np.ndarray, np.ndarray]) -> torch.Tensor:
            left, right, target = batch
            pred = net(
                Xt[torch.as_tensor(left, device=device)], Xt[torch.as_tensor(right, device=device)]
            )
            return (pred - to_tensor(target, device)).abs().mean()

        sampler = _pair_sampler(
            unlabeled, anomalies, self.batch_size, self.steps_per_epoch, tuple(self.targets)
        )
        self.history_ = train(
            net,
            loss_fn,
            sampler,
            epochs=self.epochs,
            lr=self.lr,
            rng=rng,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            verbose=self.verbose,
            name="PReNet",
        )
        self.network_ = net
        # Fixed reference rows, drawn once, so that decision_function is deterministic.
        e = int(self.n_reference)
        self.reference_anomalies_ = Xt[torch.as_tensor(rng.choice(anomalies, e), device=device)]
        self.reference_unlabeled_ = Xt[torch.as_tensor(rng.choice(unlabeled, e), device=device)]

    def _relation_score(self, xb: torch.Tensor) -> torch.Tensor:
        ref_a, ref_u = self.reference_anomalies_, self.reference_unlabeled_
        b, e = xb.shape[0], ref_a.shape[0]
        x_rep = xb.unsqueeze(1).expand(b, e, -1).reshape(b * e, -1)
        s_ax = self.network_(ref_a.repeat(b, 1), x_rep).reshape(b, e)
        s_xu = self.network_(x_rep, ref_u.repeat(b, 1)).reshape(b, e)
        return torch.cat([s_ax, s_xu], dim=1).mean(dim=1)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return score_in_batches(self._relation_score, X, self.device_, batch_size=2048)

"""DevNet: deviation networks (Pang, Shen and van den Hengel, KDD 2019).

G. Pang, C. Shen, A. van den Hengel. "Deep Anomaly Detection with Deviation Networks".
KDD 2019. An MLP maps a row to a scalar score; the deviation loss pulls the scores of
unlabeled rows to the mean of a N(0, 1) reference and pushes labeled anomalies at least
`margin` reference standard deviations above it.

Defaults follow the paper and ADBench (which runs the authors' Keras code): one hidden
layer of 20 ReLU units with an L2 penalty of 0.01 on its kernel, glorot-normal init,
RMSprop (lr 1e-3, rho 0.9, Keras' per-tensor ``clipnorm=0.001``), 50 epochs of 20 balanced
batches of 512 rows, margin 5, 5000 reference draws.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from wvad.peers._base import NeuralPeer, xavier_init
from wvad.peers._training import (
    balanced_batches,
    score_in_batches,
    split_labels,
    to_tensor,
    train,
)

__all__ = ["DevNet", "DevNetNetwork", "deviation_loss"]


def deviation_loss(
    scores: torch.Tensor, target: torch.Tensor, margin: float = 5.0, n_ref: int = 5000
) -> torch.Tensor:
    """Deviation loss of Pang et al. (KDD 2019), eq. (4)-(5).

    dev = (score - mean(r)) / std(r) with r ~ N(0, 1) (`n_ref` draws, fresh each call,
    from torch's generator); unlabeled rows pay |dev|, labeled anomalies max(0, margin - dev).
    """
    ref = torch.randn(n_ref, device=scores.device, dtype=scores.dtype)
    dev = (scores - ref.mean()) / ref.std()
    inlier = dev.abs()
    outlier = (margin - dev).clamp_min(0.0)
    return torch.mean((1.0 - target) * inlier + target * outlier)


class DevNetNetwork(nn.Module):
    """Row -> hidden ReLU layers -> linear scalar score."""

    def __init__(self, n_features: int, hidden: tuple[int, ...] = (20,)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x)).squeeze(-1)


class DevNet(NeuralPeer):
    """Deviation network (Pang et al., KDD 2019); higher score = more anomalous.

    Parameters
    ----------
    hidden : hidden layer widths; (20,) is the paper's/ADBench's default ("network_depth 2").
    margin : confidence margin `a` of the deviation loss.
    n_ref : number of N(0, 1) reference draws per loss evaluation.
    epochs, steps_per_epoch, batch_size : 50 x 20 balanced batches of 512 (paper).
    lr, optimizer : RMSprop with lr 1e-3 as in the paper ("adam" also accepted).
    l2 : L2 penalty on the hidden kernels (Keras ``l2(0.01)``: adds l2 * sum(w**2)).
    clip_norm : per-tensor gradient norm clip (Keras ``clipnorm``); None disables it.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (20,),
        margin: float = 5.0,
        n_ref: int = 5000,
        epochs: int = 50,
        steps_per_epoch: int = 20,
        batch_size: int = 512,
        lr: float = 1e-3,
        optimizer: str = "rmsprop",
        l2: float = 0.01,
        clip_norm: float | None = 0.001,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.hidden = hidden
        self.margin = margin
        self.n_ref = n_ref
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.l2 = l2
        self.clip_norm = clip_norm
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        device = self.device_
        net = DevNetNetwork(X.shape[1], tuple(self.hidden)).to(device)
        xavier_init(net)
        Xt = to_tensor(X, device)
        unlabeled, anomalies = split_labels(y)
        kernels = [m.weight for m in net.hidden if isinstance(m, nn.Linear)]

        def loss_fn(batch: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
            idx, target = batch
            scores = net(Xt[torch.as_tensor(idx, device=device)])
            loss = deviation_loss(scores, to_tensor(target, device), self.margin, self.n_ref)
            if self.l2:
                loss = loss + self.l2 * sum((w**2).sum() for w in kernels)
            return loss

        self.history_ = train(
            net,
            loss_fn,
            balanced_batches(unlabeled, anomalies, self.batch_size, self.steps_per_epoch),
            epochs=self.epochs,
            lr=self.lr,
            rng=rng,
            optimizer=self.optimizer,
            clip_norm=self.clip_norm,
            verbose=self.verbose,
            name="DevNet",
        )
        self.network_ = net

    def _score(self, X: np.ndarray) -> np.ndarray:
        return score_in_batches(self.network_, X, self.device_)

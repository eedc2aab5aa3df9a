"""FeaWAD: feature encoding with autoencoders for weakly-supervised anomaly detection.

Y. Zhou, X. Song, Y. Zhang, F. Liu, C. Zhu, L. Liu. "Feature Encoding With Autoencoders for
Weakly Supervised Anomaly Detection". IEEE TNNLS 33(6), 2022 (online 2021; arXiv:2105.10500).

An autoencoder encodes each row; the anomaly score generator (an MLP) reads the hidden
representation h, the normalised reconstruction residual r / ||r|| and the reconstruction
error e = ||r||, with e concatenated again to the input of every later layer. Training is
a deviation-style loss on the score plus a reconstruction term: unlabeled rows pay
|s| + e, labeled anomalies pay max(0, a - s) + max(0, a - e). The autoencoder is first
pretrained on the unlabeled rows with MSE.

Architecture and defaults follow the authors' Keras code as run by ADBench: encoder
Dense(d) -> 128 -> 64, decoder 128 -> d, all ReLU, glorot-normal init; score generator
256 -> 32 -> 1; Adam lr 1e-4; pretraining 100 epochs and training 30 epochs, each of 20
batches of 512 rows (pretraining batches from unlabeled rows, training batches balanced);
margin a = 5.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from wvad.base import store_params
from wvad.loop import (
    balanced_batches,
    score_in_batches,
    split_labels,
    to_tensor,
    train,
)
from wvad.model.layers import xavier_init
from wvad.peers._base import NeuralPeer

__all__ = ["FeaWAD", "FeaWADNetwork"]


class FeaWADNetwork(nn.Module):
    """Autoencoder plus the feature-encoded anomaly score generator."""

    def __init__(
        self, n_features: int, enc: tuple[int, int] = (128, 64), head: tuple[int, int] = (256, 32)
    ) -> None:
        super().__init__()
        d = n_features
        self.encoder = nn.Sequential(
            nn.Linear(d, d),
            nn.ReLU(),
            nn.Linear(d, enc[0]),
            nn.ReLU(),
            nn.Linear(enc[0], enc[1]),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(enc[1], enc[0]), nn.ReLU(), nn.Linear(enc[0], d), nn.ReLU()
        )
        self.h1 = nn.Linear(d + enc[1] + 1, head[0])
        self.h2 = nn.Linear(head[0] + 1, head[1])
        self.out = nn.Linear(head[1] + 1, 1)

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h, self.decoder(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Score and reconstruction error of each row."""
        h, x_hat = self.reconstruct(x)
        r = x - x_hat
        e = r.norm(dim=1, keepdim=True)
        feat = torch.cat([r / e.clamp_min(1e-12), h, e], dim=1)
        z = torch.relu(self.h1(feat))
        z = torch.relu(self.h2(torch.cat([z, e], dim=1)))
        s = self.out(torch.cat([z, e], dim=1))
        return s.squeeze(-1), e.squeeze(-1)


class FeaWAD(NeuralPeer):
    """FeaWAD (Zhou et al., TNNLS 2021); higher score = more anomalous.

    Parameters
    ----------
    margin : confidence margin a of the score and reconstruction hinge terms (5).
    epochs, ae_epochs, steps_per_epoch, batch_size : 30 / 100 epochs of 20 batches of 512.
    lr : Adam learning rate for both phases (1e-4).
    """

    def __init__(
        self,
        margin: float = 5.0,
        epochs: int = 30,
        ae_epochs: int = 100,
        steps_per_epoch: int = 20,
        batch_size: int = 512,
        lr: float = 1e-4,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        device = self.device_
        net = FeaWADNetwork(X.shape[1]).to(device)
        xavier_init(net)
        Xt = to_tensor(X, device)
        unlabeled, anomalies = split_labels(y)

        def ae_batches(r: np.random.Generator) -> Iterable[np.ndarray]:
            for _ in range(self.steps_per_epoch):
                yield r.choice(unlabeled, self.batch_size, replace=True)

        def ae_loss(idx: np.ndarray) -> torch.Tensor:
            xb = Xt[torch.as_tensor(idx, device=device)]
            return ((net.reconstruct(xb)[1] - xb) ** 2).mean()

        ae = nn.ModuleList([net.encoder, net.decoder])
        self.pretrain_history_ = train(
            ae,
            ae_loss,
            ae_batches,
            epochs=self.ae_epochs,
            lr=self.lr,
            rng=rng,
            verbose=self.verbose,
            name="FeaWAD-AE",
        )

        a = float(self.margin)

        def loss_fn(batch: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
            idx, target = batch
            s, e = net(Xt[torch.as_tensor(idx, device=device)])
            t = to_tensor(target, device)
            normal = s.abs() + e
            anomalous = (a - s).clamp_min(0.0) + (a - e).clamp_min(0.0)
            return ((1.0 - t) * normal + t * anomalous).mean()

        self.history_ = train(
            net,
            loss_fn,
            balanced_batches(unlabeled, anomalies, self.batch_size, self.steps_per_epoch),
            epochs=self.epochs,
            lr=self.lr,
            rng=rng,
            verbose=self.verbose,
            name="FeaWAD",
        )
        self.network_ = net

    def _score(self, X: np.ndarray) -> np.ndarray:
        return score_in_batches(lambda xb: self.network_(xb)[0], X, self.device_)

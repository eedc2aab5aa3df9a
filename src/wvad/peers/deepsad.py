"""Deep SAD: deep semi-supervised anomaly detection (Ruff et al., ICLR 2020).

L. Ruff, R. A. Vandermeulen, N. Görnitz, A. Binder, E. Müller, K.-R. Müller, M. Kloft.
"Deep Semi-Supervised Anomaly Detection". ICLR 2020.

A bias-free encoder phi maps rows near a fixed center c (the mean of the pretrained
encoder's embeddings); unlabeled rows pay ||phi(x) - c||^2 and labeled anomalies pay
eta * (||phi(x) - c||^2 + eps)^-1, pushing them away. Score = ||phi(x) - c||^2.

Architecture and defaults follow ADBench's copy of the authors' code (its "dense" network
for every tabular data set): hidden widths (100, 20), representation dimension 10, no
biases, BatchNorm1d(eps=1e-4, affine=False) + LeakyReLU after each hidden linear layer,
sigmoid decoder output; autoencoder pretraining 100 epochs, then 50 epochs; Adam lr 1e-3,
weight decay 1e-6, batch 128 (plain shuffled epochs, incomplete last batch dropped);
eta = 1, eps = 1e-6; center coordinates closer than 0.1 to zero are set to +/-0.1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from wvad.base import store_params
from wvad.loop import score_in_batches, shuffled_batches, to_tensor, train
from wvad.peers._base import NeuralPeer

__all__ = ["DeepSAD", "DeepSADDecoder", "DeepSADEncoder", "deepsad_loss"]


def _block(n_in: int, n_out: int) -> list[nn.Module]:
    return [
        nn.Linear(n_in, n_out, bias=False),
        nn.BatchNorm1d(n_out, eps=1e-4, affine=False),
        nn.LeakyReLU(),
    ]


class DeepSADEncoder(nn.Module):
    """Bias-free MLP phi: rows -> representation of size `rep_dim`."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], rep_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += _block(width, h)
            width = h
        layers.append(nn.Linear(width, rep_dim, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DeepSADDecoder(nn.Module):
    """Mirror of the encoder with a sigmoid output (inputs live in [0, 1])."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], rep_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = rep_dim
        for h in reversed(hidden):
            layers += _block(width, h)
            width = h
        layers += [nn.Linear(width, n_features, bias=False), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def deepsad_loss(
    z: torch.Tensor, c: torch.Tensor, labeled: torch.Tensor, eta: float, eps: float = 1e-6
) -> torch.Tensor:
    """Ruff et al. (2020) eq. (4): mean of d for unlabeled, eta (d + eps)^-1 for anomalies."""
    dist = ((z - c) ** 2).sum(dim=1)
    return torch.where(labeled, eta / (dist + eps), dist).mean()


class DeepSAD(NeuralPeer):
    """Deep SAD (Ruff et al., ICLR 2020); higher score = farther from the center.

    Parameters
    ----------
    hidden, rep_dim : encoder widths (ADBench tabular default (100, 20) and 10).
    eta : weight of the labeled-anomaly term.
    epochs, ae_epochs : training and autoencoder-pretraining epochs (50 and 100).
    batch_size, lr, weight_decay : Adam settings for both phases (128, 1e-3, 1e-6).
    pretrain : pretrain encoder + decoder as an autoencoder and start from its encoder.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (100, 20),
        rep_dim: int = 10,
        eta: float = 1.0,
        epochs: int = 50,
        ae_epochs: int = 100,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        pretrain: bool = True,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        device = self.device_
        hidden = tuple(self.hidden)
        encoder = DeepSADEncoder(X.shape[1], hidden, self.rep_dim).to(device)
        Xt = to_tensor(X, device)
        labeled = torch.as_tensor(y == 1, device=device)
        sampler = shuffled_batches(X.shape[0], self.batch_size)
        opt = {
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "rng": rng,
            "verbose": self.verbose,
        }

        self.pretrain_history_: list[float] = []
        if self.pretrain:
            decoder = DeepSADDecoder(X.shape[1], hidden, self.rep_dim).to(device)

            def ae_loss(idx: np.ndarray) -> torch.Tensor:
                xb = Xt[torch.as_tensor(idx, device=device)]
                return ((decoder(encoder(xb)) - xb) ** 2).sum(dim=1).mean()

            self.pretrain_history_ = train(
                [encoder, decoder],
                ae_loss,
                sampler,
                epochs=self.ae_epochs,
                name="DeepSAD-AE",
                **opt,
            )

        encoder.eval()
        with torch.no_grad():
            c = torch.cat([encoder(Xt[i : i + 8192]) for i in range(0, len(Xt), 8192)]).mean(0)
        eps = 0.1
        c[(c.abs() < eps) & (c < 0)] = -eps
        c[(c.abs() < eps) & (c >= 0)] = eps
        self.center_ = c

        def sad_loss(idx: np.ndarray) -> torch.Tensor:
            ib = torch.as_tensor(idx, device=device)
            return deepsad_loss(encoder(Xt[ib]), c, labeled[ib], self.eta)

        self.history_ = train(encoder, sad_loss, sampler, epochs=self.epochs, name="DeepSAD", **opt)
        self.network_ = encoder

    def _score(self, X: np.ndarray) -> np.ndarray:
        c = self.center_
        return score_in_batches(lambda xb: ((self.network_(xb) - c) ** 2).sum(1), X, self.device_)

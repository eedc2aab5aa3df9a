"""The deviation piece: a deviation network on the scaled rows (Pang et al., KDD 2019).

Strong where anomalies form a class of their own in a smooth way (digits,
cardiotocography). The network and loss are `wvad.model.deviation`'s; `fit_deviation_network`
is their training, shared with the DevNet peer (`wvad.peers.devnet`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wvad.config import Config, DeviationSettings
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.loop import balanced_batches, split_labels, to_tensor, train
from wvad.model.deviation import DeviationNetwork, deviation_loss
from wvad.model.layers import xavier_init
from wvad.runtime import seeded
from wvad.training import TrainedMixture

__all__ = ["DeviationPiece", "fit_deviation_network"]


def fit_deviation_network(
    X: np.ndarray,
    y: np.ndarray,
    settings: DeviationSettings,
    rng: np.random.Generator,
    device: torch.device,
    *,
    verbose: bool = False,
) -> tuple[DeviationNetwork, list[float]]:
    """Train a deviation network on rows `X` and weak labels `y` with balanced batches;
    returns it (in eval mode) and the loss per epoch. Torch's draws come from its global
    generator: seed it around the call (`wvad.runtime.seeded`)."""
    net = DeviationNetwork(X.shape[1], settings.hidden).to(device)
    xavier_init(net)
    Xt = to_tensor(X, device)
    unlabeled, anomalies = split_labels(y)
    kernels = net.kernels()

    def loss_fn(batch: tuple[np.ndarray, np.ndarray]) -> Tensor:
        idx, target = batch
        scores = net(Xt[torch.as_tensor(idx, device=device)])
        loss = deviation_loss(scores, to_tensor(target, device), settings.margin, settings.n_ref)
        if settings.l2:
            loss = loss + settings.l2 * sum((w**2).sum() for w in kernels)
        return loss

    history = train(
        net,
        loss_fn,
        balanced_batches(unlabeled, anomalies, settings.batch_size, settings.steps_per_epoch),
        epochs=settings.epochs,
        lr=settings.learning_rate,
        rng=rng,
        optimizer=settings.optimizer,
        clip_norm=settings.clip_norm,
        verbose=verbose,
        name="DevNet",
    )
    return net.eval(), history


class DeviationPiece(Evidence):
    """A fitted deviation network's score."""

    name = "deviation"
    trust = Trust.CROSS_FITTED

    def __init__(self, network: DeviationNetwork) -> None:
        self.network = network.eval()

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> DeviationPiece:
        with seeded(data.seed):
            rng = np.random.default_rng(data.seed)
            network, _ = fit_deviation_network(data.X, data.y, config.deviation, rng, data.device)
        return cls(network)

    def score(self, rows: Rows) -> Tensor:
        return self.network(rows.x)

    def state(self) -> dict[str, Tensor]:
        tensors = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        return {"hidden_widths": torch.tensor(self.network.widths()), **tensors}

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], config: Config, device: torch.device
    ) -> DeviationPiece:
        weights = {k: v for k, v in state.items() if k != "hidden_widths"}
        n_features = int(weights["hidden.0.weight"].shape[1])
        widths = tuple(int(w) for w in state["hidden_widths"])
        network = DeviationNetwork(n_features, widths)
        network.load_state_dict(weights)
        return cls(network.to(device))

"""The deviation piece: a deviation network on the scaled rows (Pang et al., KDD 2019).

Strong where anomalies form a class of their own in a smooth way (digits,
cardiotocography). The network and loss are `wvad.model.deviation`'s; `fit_deviation_network`
is their training, shared with the DevNet peer (`wvad.peers.devnet`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from wvad.config import Config, DeviationSettings
from wvad.evidence.base import Evidence, Rows, TrainingData, Trust
from wvad.loop import (
    balanced_batches,
    lockstep,
    split_labels,
    to_tensor,
    train,
    unlabeled_per_batch,
)
from wvad.model.deviation import (
    DeviationNetwork,
    StackedDeviationNetworks,
    reference_moments,
)
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
    net = new_deviation_network(X.shape[1], settings, device)
    member = Member(X, y, rng)
    history = train_deviation_networks([net], [member], settings, device, verbose=verbose)
    return net.eval(), history


@dataclass(frozen=True)
class Member:
    """One network's training data and the generator of its batches and of its loss's
    reference moments."""

    X: np.ndarray
    y: np.ndarray
    rng: np.random.Generator


def new_deviation_network(
    n_features: int, settings: DeviationSettings, device: torch.device
) -> DeviationNetwork:
    """A deviation network with Keras' glorot-normal kernels, drawn from torch's global
    generator."""
    net = DeviationNetwork(n_features, settings.hidden).to(device)
    xavier_init(net)
    return net


def train_deviation_networks(
    networks: list[DeviationNetwork],
    members: list[Member],
    settings: DeviationSettings,
    device: torch.device,
    *,
    verbose: bool = False,
) -> list[float]:
    """Train network i on members[i], all in one loop (`StackedDeviationNetworks`): each
    step draws one balanced batch per network from its own generator and steps every
    network on its own loss, so network i ends as if trained alone, at about one network's
    cost per step. With `settings.max_passes` the stack takes the batches per epoch its
    largest member's unlabeled rows allow (`steps_per_epoch`), so the fold networks of one
    cross-fit run alike. Trains `networks` in place; returns the summed loss per epoch."""
    stack = StackedDeviationNetworks(networks).to(device)
    rows = to_tensor(np.concatenate([m.X for m in members]), device)
    offsets = np.cumsum([0] + [len(m.X) for m in members[:-1]])
    splits = [split_labels(m.y) for m in members]
    steps = steps_per_epoch(settings, max(len(unlabeled) for unlabeled, _ in splits))
    samplers = [balanced_batches(*split, settings.batch_size, steps) for split in splits]
    rngs = [m.rng for m in members]

    def loss_fn(batches: tuple[tuple[np.ndarray, np.ndarray], ...]) -> Tensor:
        shifted = [idx + offset for (idx, _), offset in zip(batches, offsets, strict=True)]
        x = rows[torch.as_tensor(np.concatenate(shifted), device=device)]
        x = x.view(len(members), -1, rows.shape[1])
        target = to_tensor(np.stack([t for _, t in batches]), device)
        moments = to_tensor(reference_moments(settings.n_ref, rngs), device)
        return stack.loss(x, target, settings.margin, moments, settings.l2)

    history = train(
        stack,
        loss_fn,
        lockstep(samplers, rngs),
        epochs=settings.epochs,
        lr=settings.learning_rate,
        rng=members[0].rng,
        optimizer=settings.optimizer,
        clip_norm=settings.clip_norm,
        clip_slices=True,
        verbose=verbose,
        name="DevNet",
    )
    stack.write_back()
    return history


def steps_per_epoch(settings: DeviationSettings, n_unlabeled: int) -> int:
    """Balanced batches per epoch: `settings.steps_per_epoch`, or fewer where that many
    would pass over the `n_unlabeled` rows more than `settings.max_passes` times in all;
    at least one."""
    if settings.max_passes is None:
        return settings.steps_per_epoch
    per_batch = unlabeled_per_batch(settings.batch_size)
    budget = math.ceil(settings.max_passes * n_unlabeled / (settings.epochs * per_batch))
    return max(1, min(settings.steps_per_epoch, budget))


class DeviationPiece(Evidence):
    """A fitted deviation network's score."""

    name = "deviation"
    trust = Trust.CROSS_FITTED
    baggable = True

    def __init__(self, network: DeviationNetwork) -> None:
        self.network = network.eval()

    @classmethod
    def fit(
        cls, data: TrainingData, config: Config, mixture: TrainedMixture | None = None
    ) -> DeviationPiece:
        return cls.fit_each([data], config)[0]

    @classmethod
    def fit_each(cls, datasets: list[TrainingData], config: Config) -> list[DeviationPiece]:
        """One network per dataset, trained side by side (`train_deviation_networks`);
        each is drawn and trained from its dataset's seed as if alone."""
        networks, members = [], []
        for data in datasets:
            with seeded(data.seed):
                network = new_deviation_network(data.X.shape[1], config.deviation, data.device)
            networks.append(network)
            members.append(Member(data.X, data.y, np.random.default_rng(data.seed)))
        train_deviation_networks(networks, members, config.deviation, datasets[0].device)
        return [cls(network) for network in networks]

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

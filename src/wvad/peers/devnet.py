"""DevNet: deviation networks (Pang, Shen and van den Hengel, KDD 2019).

G. Pang, C. Shen, A. van den Hengel. "Deep Anomaly Detection with Deviation Networks".
KDD 2019. An MLP maps a row to a scalar score; the deviation loss pulls the scores of
unlabeled rows to the mean of a N(0, 1) reference and pushes labeled anomalies at least
`margin` reference standard deviations above it.

Defaults follow the paper and ADBench (which runs the authors' Keras code): one hidden
layer of 20 ReLU units with an L2 penalty of 0.01 on its kernel, glorot-normal init,
RMSprop (lr 1e-3, rho 0.9, Keras' per-tensor ``clipnorm=0.001``), 50 epochs of 20 balanced
batches of 512 rows, margin 5, 5000 reference draws (whose mean and standard deviation
are drawn from their exact law, `wvad.model.deviation.reference_moments`).
"""

from __future__ import annotations

import numpy as np

from wvad.base import store_params
from wvad.config import DeviationSettings
from wvad.evidence.deviation import fit_deviation_network
from wvad.loop import score_in_batches
from wvad.peers._base import NeuralPeer

__all__ = ["DevNet"]

_PAPER = DeviationSettings()  # the paper's and ADBench's settings, shared with wvad's piece


class DevNet(NeuralPeer):
    """Deviation network (Pang et al., KDD 2019); higher score = more anomalous.

    Parameters
    ----------
    hidden : hidden layer widths; (20,) is the paper's/ADBench's default ("network_depth 2").
    margin : confidence margin `a` of the deviation loss.
    n_ref : number of N(0, 1) reference draws per loss evaluation.
    epochs, steps_per_epoch, batch_size : 50 x 20 balanced batches of 512 (paper), on
        every table (wvad's own piece takes fewer on small tables: `max_passes`).
    lr, optimizer : RMSprop with lr 1e-3 as in the paper ("adam" also accepted).
    l2 : L2 penalty on the hidden kernels (Keras ``l2(0.01)``: adds l2 * sum(w**2)).
    clip_norm : per-tensor gradient norm clip (Keras ``clipnorm``); None disables it.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = _PAPER.hidden,
        margin: float = _PAPER.margin,
        n_ref: int = _PAPER.n_ref,
        epochs: int = _PAPER.epochs,
        steps_per_epoch: int = _PAPER.steps_per_epoch,
        batch_size: int = _PAPER.batch_size,
        lr: float = _PAPER.learning_rate,
        optimizer: str = _PAPER.optimizer,
        l2: float = _PAPER.l2,
        clip_norm: float | None = _PAPER.clip_norm,
        contamination: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _fit_torch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        settings = DeviationSettings(
            hidden=tuple(self.hidden),
            margin=self.margin,
            n_ref=self.n_ref,
            epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch,
            batch_size=self.batch_size,
            learning_rate=self.lr,
            optimizer=self.optimizer,
            l2=self.l2,
            clip_norm=self.clip_norm,
            max_passes=None,  # the paper's schedule on every table
        )
        self.network_, self.history_ = fit_deviation_network(
            X, y, settings, rng, self.device_, verbose=self.verbose
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        return score_in_batches(self.network_, X, self.device_)

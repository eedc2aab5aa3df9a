"""WVAD's training schedule: autoencoder pretraining, EM initialisation, joint training.

The loops know tensors and modules only; the estimator hands them validated, scaled arrays.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from torch import Tensor, nn
from tqdm.auto import tqdm

from wvad.config import Config, Numerics
from wvad.model.mixture import VariationalMixture, feature_width
from wvad.model.score_head import ScoreHead
from wvad.runtime import seeded

__all__ = [
    "DivergenceError",
    "History",
    "TrainedMixture",
    "check_finite",
    "fit_gmm_prior",
    "fit_mixture",
    "phase_epochs",
    "pretrain_autoencoder",
    "pretrain_epochs",
    "select_n_clusters",
    "train_joint",
]

_TERMS = ("loss", "neg_elbo", "penalty", "ce")
ENCODE_CHUNK = 65_536
Tick = Callable[[], object]


@dataclass
class History:
    """Per-epoch means of each loss term, JSON-serialisable."""

    records: dict[str, list] = field(default_factory=lambda: {k: [] for k in ("phase", *_TERMS)})

    def add(self, phase: str, **terms: float) -> None:
        self.records["phase"].append(phase)
        for key in _TERMS:
            value = terms.get(key)
            self.records[key].append(None if value is None else float(value))


class DivergenceError(ValueError):
    """A loss became NaN or infinite: the message says where, and what likely drove it."""


def check_finite(phase: str, epoch: int, history: History, X: Tensor) -> None:
    """Stop with a message that names the cause if the last epoch's loss is not finite."""
    loss = history.records["loss"][-1]
    if loss is not None and math.isfinite(loss):
        return
    magnitude = X.abs().amax(dim=0) if len(X) else X.new_zeros(X.shape[1])
    column = int(magnitude.argmax())
    raise DivergenceError(
        f"training diverged: the {phase} loss became {loss} at epoch {epoch}. The scaled "
        f"column with the largest values is column {column} (|x| up to "
        f"{float(magnitude[column]):.3g}); a smaller learning_rate, or scaling='minmax' for "
        "columns of very different magnitudes, keeps the steps finite"
    )


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled index batches covering all n rows once; a tiny last batch joins the previous."""
    order = rng.permutation(n)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < batch_size // 2:
        starts.pop()
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n
        yield order[start:stop]


def _optimizer(params, config: Config, batch_size: int, n_rows: int) -> torch.optim.Optimizer:
    """Adam at `learning_rate` for batches of `config.batch_size` rows, square-root scaled
    for larger ones. Sizes are the batches actually drawn from `n_rows` rows, so a table
    smaller than both batch sizes trains at the base rate in every phase."""
    base = min(config.batch_size, n_rows)
    lr = config.learning_rate * math.sqrt(min(batch_size, n_rows) / max(base, 1))
    return torch.optim.Adam(params, lr=lr, weight_decay=config.weight_decay, fused=True)


def phase_epochs(epochs: int, n_rows: int, epoch_rows: int | None) -> int:
    """The epochs a training phase of `epochs` runs over `n_rows` unlabeled rows: all of
    them up to `epoch_rows` rows (or without a limit), beyond that ceil(epochs x
    epoch_rows / n_rows), so a large table's phase sees about as many rows (and takes as
    many steps) as the same phase on a table of `epoch_rows` rows."""
    if epoch_rows is None or n_rows <= epoch_rows:
        return epochs
    return -(-epochs * epoch_rows // n_rows)


def pretrain_epochs(config: Config, n_rows: int) -> int:
    """The pretraining epochs over `n_rows` unlabeled rows: `phase_epochs` with
    `pretrain_epoch_rows`, or `epoch_rows` where that is None."""
    rows = config.epoch_rows if config.pretrain_epoch_rows is None else config.pretrain_epoch_rows
    return phase_epochs(config.pretrain_epochs, n_rows, rows)


def pretrain_autoencoder(
    model: VariationalMixture,
    X_unlabeled: Tensor,
    config: Config,
    rng: np.random.Generator,
    history: History,
    tick: Tick = lambda: None,
) -> None:
    """Train encoder mean and decoder as a plain autoencoder on reconstruction (MSE)."""
    params = list(model.encoder.parameters()) + list(model.decoder.parameters())
    optimizer = _optimizer(params, config, config.batch_size, len(X_unlabeled))
    clip = config.numerics.grad_clip_norm
    model.train()
    for _ in range(pretrain_epochs(config, len(X_unlabeled))):
        total = torch.zeros((), device=X_unlabeled.device)  # one host sync per epoch
        for idx in _batches(len(X_unlabeled), config.batch_size, rng):
            x = X_unlabeled[idx]
            mu, _ = model.encode(x)
            loss = ((model.decode(mu) - x) ** 2).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, clip, foreach=True)
            optimizer.step()
            total += loss.detach() * len(idx)
        history.add("pretrain", loss=total.item() / len(X_unlabeled))
        check_finite("pretraining", len(history.records["phase"]), history, X_unlabeled)
        tick()


@contextlib.contextmanager
def _numpy_em() -> Iterator[None]:
    """EM on numpy codes with k-means starts, also where a user turned on scikit-learn's
    array API dispatch (which refuses k-means initialisation). scikit-learn's warning that
    k-means found fewer distinct points than clusters is said again in wvad's words."""
    with (
        sklearn.config_context(array_api_dispatch=False),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            warnings.warn(
                "the unlabeled rows' latent codes hold fewer distinct points than mixture "
                f"components ({warning.message}); some components coincide. A smaller "
                "n_clusters (or 'auto') describes such data as well",
                UserWarning,
                stacklevel=4,
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def select_n_clusters(
    codes: np.ndarray, max_clusters: int, seed: int, reg_covar: float = Numerics.reg_covar
) -> int:
    """K in 1..max_clusters with the lowest BIC of a diagonal GMM on the latent codes."""
    best_k, best_bic = 1, np.inf
    for k in range(1, max_clusters + 1):
        gmm = GaussianMixture(k, covariance_type="diag", reg_covar=reg_covar, random_state=seed)
        with _numpy_em():
            bic = gmm.fit(codes).bic(codes)
        if bic < best_bic:
            best_k, best_bic = k, bic
    return best_k


@torch.no_grad()
def fit_gmm_prior(
    model: VariationalMixture,
    X_unlabeled: Tensor,
    seed: int,
    numerics: Numerics,
    *,
    max_clusters: int | None = None,
) -> None:
    """Initialise the mixture prior by EM (diagonal GMM) on the latent means of unlabeled rows.

    With `max_clusters`, K is chosen first by BIC (`select_n_clusters`) and the prior resized.
    Beyond `numerics.em_max_rows` unlabeled rows, EM runs on a seeded subsample of their codes.

    Also starts q(z|x)'s variance at a small share of the components' variance and the
    decoder variance at the per-feature reconstruction error, so that the first ELBO steps
    start from a consistent model instead of blowing up.
    """
    model.eval()
    chunks = X_unlabeled.split(ENCODE_CHUNK)
    mu = torch.cat([model.encode(chunk)[0] for chunk in chunks])
    codes = mu.double().cpu().numpy()
    limit = numerics.em_max_rows
    if len(codes) > limit:
        keep = np.random.default_rng(seed).choice(len(codes), limit, replace=False)
        codes = codes[np.sort(keep)]
    n_clusters = model.n_clusters
    if max_clusters is not None:
        n_clusters = select_n_clusters(codes, max_clusters, seed, numerics.reg_covar)
    gmm = GaussianMixture(
        n_components=n_clusters,
        covariance_type="diag",
        reg_covar=numerics.reg_covar,
        random_state=seed,
    )
    with _numpy_em():
        gmm.fit(codes)
    like = model.prior_means
    model.set_prior(
        torch.as_tensor(gmm.weights_, dtype=like.dtype, device=like.device),
        torch.as_tensor(gmm.means_, dtype=like.dtype, device=like.device),
        torch.as_tensor(gmm.covariances_, dtype=like.dtype, device=like.device),
    )
    share = numerics.posterior_variance_share
    model.set_posterior_variance(share * model.prior_logvars.exp().mean(dim=0))
    pairs = zip(mu.split(ENCODE_CHUNK), chunks, strict=True)
    residual = sum(((model.decode(m) - x) ** 2).sum(dim=0) for m, x in pairs) / len(X_unlabeled)
    model.set_reconstruction_variance(residual)


def train_joint(
    model: VariationalMixture,
    head: ScoreHead | None,
    X_unlabeled: Tensor,
    X_anomalies: Tensor,
    config: Config,
    rng: np.random.Generator,
    history: History,
    tick: Tick = lambda: None,
    head_negatives: np.ndarray | None = None,
    warm: bool = False,
) -> None:
    """Minimise -ELBO(unlabeled) + eta * penalty(anomalies) + lambda * CE(score head).

    lambda is `warmup_lambda` for the first `warmup_epochs`, then `joint_lambda`; a `warm`
    continuation of a trained mixture runs `warm_epochs` at `joint_lambda` only. Batches hold
    `joint_batch_size` unlabeled rows, and every one also carries `anomaly_batch_size`
    labeled anomalies drawn with replacement, since they are a few dozen among thousands.
    Without anomalies (or head) only the ELBO is trained. `head_negatives` (a mask over the
    unlabeled rows) limits the rows the score estimator is told are normal to those it
    marks, where a batch holds enough of them; the ELBO still sees every row.
    """
    step = _JointStep.build(model, head, X_unlabeled, X_anomalies, config, rng)
    model.train()
    if head is not None:
        head.train()
    for phase, epochs, lam in _joint_phases(config, warm):
        for _ in range(phase_epochs(epochs, len(X_unlabeled), config.epoch_rows)):
            history.add(phase, **_joint_epoch(step, X_unlabeled, lam, head_negatives))
            check_finite(f"{phase} training", len(history.records["phase"]), history, X_unlabeled)
            tick()
    model.eval()
    if head is not None:
        head.eval()


def _joint_phases(config: Config, warm: bool) -> list[tuple[str, int, float]]:
    """(phase, epochs, lambda) of joint training: warm-up then joint, or, continuing a
    trained mixture, `warm_epochs` joint epochs (phase "warm" in the history)."""
    if warm:
        return [("warm", config.warm_epochs, config.joint_lambda)]
    return [
        ("warmup", config.warmup_epochs, config.warmup_lambda),
        ("joint", config.joint_epochs, config.joint_lambda),
    ]


def _joint_epoch(
    step: _JointStep, X_unlabeled: Tensor, lam: float, head_negatives: np.ndarray | None
) -> dict[str, float | None]:
    """One pass of joint training over the unlabeled rows: each loss term's epoch mean
    (None for the penalty and CE terms without supervision)."""
    # running sums stay tensors: one host sync per epoch, not per step
    sums = {k: torch.zeros((), device=X_unlabeled.device) for k in _TERMS}
    steps = 0
    for idx in _batches(len(X_unlabeled), step.config.joint_batch_size, step.rng):
        if step.supervised and head_negatives is not None:
            # the score estimator's CE reads the batch's first unlabeled rows
            marked = head_negatives[idx]
            idx = np.concatenate([idx[marked], idx[~marked]])
        for key, value in step.run(X_unlabeled[idx], lam).items():
            sums[key] += value
        steps += 1
    means: dict[str, float | None] = {k: v.item() / steps for k, v in sums.items()}
    if not step.supervised:
        means["penalty"] = means["ce"] = None
    return means


@dataclass
class _JointStep:
    """One optimizer step of joint training on a batch of unlabeled rows (with a draw of
    labeled anomalies when `head` is set, i.e. when training is supervised)."""

    model: VariationalMixture
    head: ScoreHead | None
    X_anomalies: Tensor
    config: Config
    rng: np.random.Generator
    params: list[nn.Parameter]
    optimizer: torch.optim.Optimizer
    bce: nn.BCEWithLogitsLoss = field(default_factory=nn.BCEWithLogitsLoss)

    @classmethod
    def build(
        cls,
        model: VariationalMixture,
        head: ScoreHead | None,
        X_unlabeled: Tensor,
        X_anomalies: Tensor,
        config: Config,
        rng: np.random.Generator,
    ) -> _JointStep:
        """The step for `train_joint`'s arguments: supervised with a head and labeled
        anomalies both; Adam over the model's parameters (and then the head's, if so)."""
        supervised = head is not None and len(X_anomalies) > 0
        params = list(model.parameters()) + (list(head.parameters()) if supervised else [])
        optimizer = _optimizer(params, config, config.joint_batch_size, len(X_unlabeled))
        return cls(model, head if supervised else None, X_anomalies, config, rng, params, optimizer)

    @property
    def supervised(self) -> bool:
        """Whether the anomaly penalty and the score estimator's CE are trained too."""
        return self.head is not None

    def run(self, x_u: Tensor, lam: float) -> dict[str, Tensor]:
        """Take one step on the unlabeled rows `x_u`; the step's detached loss terms."""
        if self.supervised:
            loss, terms = self._supervised_loss(x_u, lam)
        else:
            neg_elbo = self.model.negative_elbo(x_u)[0].mean()
            loss, terms = neg_elbo, {"neg_elbo": neg_elbo}
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, self.config.numerics.grad_clip_norm, foreach=True)
        self.optimizer.step()
        return {"loss": loss.detach(), **{k: v.detach() for k, v in terms.items()}}

    def _supervised_loss(self, x_u: Tensor, lam: float) -> tuple[Tensor, dict[str, Tensor]]:
        """-ELBO + eta * penalty + lambda * CE on `x_u` and a draw of labeled anomalies."""
        config = self.config
        a_idx = self.rng.integers(0, len(self.X_anomalies), size=config.anomaly_batch_size)
        x_a = self.X_anomalies[a_idx]
        x_all = torch.cat([x_u, x_a])
        # the score estimator's CE sees `batch_size` unlabeled rows per step, as
        # in pretraining; decoding the rest at their mean would double the work
        n_head = min(len(x_u), config.batch_size)
        neg_elbo_rows, features = self.model.training_terms(x_all, len(x_u), n_head)
        neg_elbo = neg_elbo_rows.mean()
        penalty = self.model.anomaly_penalty(features.z[n_head:]).mean()
        target = torch.cat([x_u.new_zeros(n_head), x_a.new_ones(len(x_a))])
        ce = self.bce(self.head(features.stack(config.head_features)), target)
        loss = neg_elbo + config.anomaly_penalty * penalty + lam * ce
        return loss, {"neg_elbo": neg_elbo, "penalty": penalty, "ce": ce}


@dataclass
class TrainedMixture:
    """What training gives the evidence pieces: the mixture network, the score estimator
    (None without labeled anomalies) and the per-epoch loss history."""

    network: VariationalMixture
    head: ScoreHead | None
    history: dict[str, list]


def fit_mixture(
    X: np.ndarray,
    y: np.ndarray,
    config: Config,
    seed: int,
    device: torch.device,
    *,
    head_negatives: np.ndarray | None = None,
    start: TrainedMixture | None = None,
    verbose: bool = False,
) -> TrainedMixture:
    """The whole schedule on scaled rows `X` and weak labels `y`: pretraining, EM (K chosen
    by BIC for n_clusters="auto"), joint training; or, from a trained mixture `start`
    (left unchanged), `warm_epochs` of joint training only (a warm start: its K, and its
    score estimator where it has one). `head_negatives` (a mask over the unlabeled rows)
    marks the rows the score estimator may learn "normal" from (None: all).
    Torch's draws are seeded by `seed` inside a forked generator; numpy's come from a
    Generator seeded alike, so the same seed (and start) gives the same model."""
    Xs = torch.as_tensor(X, dtype=torch.float32, device=device)
    labeled = torch.as_tensor(y == 1, device=device)
    X_u, X_a = Xs[~labeled], Xs[labeled]
    rng = np.random.default_rng(seed)
    history = History()
    warm = start is not None
    with seeded(seed), _progress(config, len(X_u), warm, verbose) as bar:
        if start is not None:
            network, head = _continued(start, len(X_a), config, device)
        else:
            network, head = _initialised(X_u, len(X_a), config, seed, device, rng, history, bar)
        train_joint(network, head, X_u, X_a, config, rng, history, bar.update, head_negatives, warm)
    return TrainedMixture(network, head, history.records)


def _progress(config: Config, n_unlabeled: int, warm: bool, verbose: bool) -> tqdm:
    """A progress bar over the epochs the schedule will run."""
    if warm:
        phases: tuple[int, ...] = (config.warm_epochs,)
        before = 0
    else:
        phases = (config.warmup_epochs, config.joint_epochs)
        before = pretrain_epochs(config, n_unlabeled)
    epochs = before + sum(phase_epochs(e, n_unlabeled, config.epoch_rows) for e in phases)
    return tqdm(total=epochs, disable=not verbose, desc="WVAD", unit="epoch")


def _initialised(
    X_u: Tensor,
    n_labeled: int,
    config: Config,
    seed: int,
    device: torch.device,
    rng: np.random.Generator,
    history: History,
    bar: tqdm,
) -> tuple[VariationalMixture, ScoreHead | None]:
    """A new mixture, pretrained and initialised by EM, and its new score estimator."""
    auto = config.n_clusters == "auto"
    k = 1 if auto else int(config.n_clusters)
    network = VariationalMixture(
        X_u.shape[1], config.latent_dim, k, config.hidden_dims, config.numerics
    ).to(device)
    # A fixed K lets the head be built first (this order fixes the seeded results);
    # with K chosen from the data its input size is known only after EM.
    head = None if auto else _score_head(config, k, n_labeled, device)
    pretrain_autoencoder(network, X_u, config, rng, history, tick=bar.update)
    most = min(config.numerics.max_auto_clusters, len(X_u) // 2) if auto else None
    fit_gmm_prior(network, X_u, seed, config.numerics, max_clusters=most)
    if auto:
        head = _score_head(config, network.n_clusters, n_labeled, device)
    return network, head


def _continued(
    start: TrainedMixture, n_labeled: int, config: Config, device: torch.device
) -> tuple[VariationalMixture, ScoreHead | None]:
    """Copies of a trained mixture and its score estimator to train on (a new estimator
    where it had none and labels are there now; none without labels)."""
    network = copy.deepcopy(start.network).to(device)
    if n_labeled == 0:
        return network, None
    if start.head is not None:
        return network, copy.deepcopy(start.head).to(device)
    return network, _score_head(config, network.n_clusters, n_labeled, device)


def _score_head(
    config: Config, n_clusters: int, n_labeled: int, device: torch.device
) -> ScoreHead | None:
    if n_labeled == 0:
        return None
    width = feature_width(config.head_features, n_clusters, config.latent_dim)
    return ScoreHead(width, config.head_hidden_dims).to(device)

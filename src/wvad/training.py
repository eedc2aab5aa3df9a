"""WVAD's training schedule: autoencoder pretraining, EM initialisation, joint training.

The loops know tensors and modules only; the estimator hands them validated, scaled arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import Tensor, nn

from wvad.model.mixture import DENSITY_GROUP, FEATURE_GROUPS, VariationalMixture
from wvad.model.score_head import ScoreHead

__all__ = ["Schedule", "fit_gmm_prior", "pretrain_autoencoder", "select_n_clusters", "train_joint"]

GRAD_CLIP_NORM = 10.0
_TERMS = ("loss", "neg_elbo", "penalty", "ce")
# q(z|x) starts with this share of the fitted components' mean variance.
POSTERIOR_VARIANCE_SHARE = 0.1
# EM sees at most this many latent codes (a seeded subsample beyond): a Gaussian mixture in
# a few dimensions is pinned down long before, and EM's cost stays flat as tables grow.
EM_MAX_ROWS = 50_000
ENCODE_CHUNK = 65_536


@dataclass(frozen=True)
class Schedule:
    """Epoch counts, loss weights and batch sizes of one WVAD fit."""

    pretrain_epochs: int = 50
    warmup_epochs: int = 100
    joint_epochs: int = 400
    warmup_lambda: float = 0.01
    joint_lambda: float = 1.0
    anomaly_penalty: float = 1.0
    batch_size: int = 128
    joint_batch_size: int = 2048
    anomaly_batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    head_groups: tuple[str, ...] = FEATURE_GROUPS


@dataclass
class History:
    """Per-epoch means of each loss term, JSON-serialisable."""

    records: dict[str, list] = field(default_factory=lambda: {k: [] for k in ("phase", *_TERMS)})

    def add(self, phase: str, **terms: float) -> None:
        self.records["phase"].append(phase)
        for key in _TERMS:
            value = terms.get(key)
            self.records[key].append(None if value is None else float(value))


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled index batches covering all n rows once; a tiny last batch joins the previous."""
    order = rng.permutation(n)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < batch_size // 2:
        starts.pop()
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else n
        yield order[start:stop]


def _optimizer(params, schedule: Schedule, batch_size: int, n_rows: int) -> torch.optim.Optimizer:
    """Adam at `learning_rate` for batches of `schedule.batch_size` rows, square-root scaled
    for larger ones. Sizes are the batches actually drawn from `n_rows` rows, so a table
    smaller than both batch sizes trains at the base rate in every phase."""
    base = min(schedule.batch_size, n_rows)
    lr = schedule.learning_rate * math.sqrt(min(batch_size, n_rows) / max(base, 1))
    return torch.optim.Adam(params, lr=lr, weight_decay=schedule.weight_decay, fused=True)


def pretrain_autoencoder(
    model: VariationalMixture,
    X_unlabeled: Tensor,
    schedule: Schedule,
    rng: np.random.Generator,
    history: History,
    tick=lambda: None,
) -> None:
    """Train encoder mean and decoder as a plain autoencoder on reconstruction (MSE)."""
    params = list(model.encoder.parameters()) + list(model.decoder.parameters())
    optimizer = _optimizer(params, schedule, schedule.batch_size, len(X_unlabeled))
    model.train()
    for _ in range(schedule.pretrain_epochs):
        total = torch.zeros((), device=X_unlabeled.device)  # one host sync per epoch
        for idx in _batches(len(X_unlabeled), schedule.batch_size, rng):
            x = X_unlabeled[idx]
            mu, _ = model.encode(x)
            loss = ((model.decode(mu) - x) ** 2).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, GRAD_CLIP_NORM, foreach=True)
            optimizer.step()
            total += loss.detach() * len(idx)
        history.add("pretrain", loss=total.item() / len(X_unlabeled))
        tick()


def select_n_clusters(codes: np.ndarray, max_clusters: int, seed: int) -> int:
    """K in 1..max_clusters with the lowest BIC of a diagonal GMM on the latent codes."""
    best_k, best_bic = 1, np.inf
    for k in range(1, max_clusters + 1):
        gmm = GaussianMixture(k, covariance_type="diag", reg_covar=1e-4, random_state=seed)
        bic = gmm.fit(codes).bic(codes)
        if bic < best_bic:
            best_k, best_bic = k, bic
    return best_k


@torch.no_grad()
def fit_gmm_prior(
    model: VariationalMixture, X_unlabeled: Tensor, seed: int, *, max_clusters: int | None = None
) -> None:
    """Initialise the mixture prior by EM (diagonal GMM) on the latent means of unlabeled rows.

    With `max_clusters`, K is chosen first by BIC (`select_n_clusters`) and the prior resized.
    Beyond `EM_MAX_ROWS` unlabeled rows, EM runs on a seeded subsample of their codes.

    Also starts q(z|x)'s variance at a small share of the components' variance and the
    decoder variance at the per-feature reconstruction error, so that the first ELBO steps
    start from a consistent model instead of blowing up.
    """
    model.eval()
    chunks = X_unlabeled.split(ENCODE_CHUNK)
    mu = torch.cat([model.encode(chunk)[0] for chunk in chunks])
    codes = mu.double().cpu().numpy()
    if len(codes) > EM_MAX_ROWS:
        keep = np.random.default_rng(seed).choice(len(codes), EM_MAX_ROWS, replace=False)
        codes = codes[np.sort(keep)]
    n_clusters = model.n_clusters
    if max_clusters is not None:
        n_clusters = select_n_clusters(codes, max_clusters, seed)
    gmm = GaussianMixture(
        n_components=n_clusters,
        covariance_type="diag",
        reg_covar=1e-4,
        random_state=seed,
    ).fit(codes)
    like = model.prior_means
    model.set_prior(
        torch.as_tensor(gmm.weights_, dtype=like.dtype, device=like.device),
        torch.as_tensor(gmm.means_, dtype=like.dtype, device=like.device),
        torch.as_tensor(gmm.covariances_, dtype=like.dtype, device=like.device),
    )
    model.set_posterior_variance(POSTERIOR_VARIANCE_SHARE * model.prior_logvars.exp().mean(dim=0))
    pairs = zip(mu.split(ENCODE_CHUNK), chunks, strict=True)
    residual = sum(((model.decode(m) - x) ** 2).sum(dim=0) for m, x in pairs) / len(X_unlabeled)
    model.set_reconstruction_variance(residual)


def train_joint(
    model: VariationalMixture,
    head: ScoreHead | None,
    X_unlabeled: Tensor,
    X_anomalies: Tensor,
    schedule: Schedule,
    rng: np.random.Generator,
    history: History,
    tick=lambda: None,
    head_negatives: np.ndarray | None = None,
) -> None:
    """Minimise -ELBO(unlabeled) + eta * penalty(anomalies) + lambda * CE(score head).

    lambda is `warmup_lambda` for the first `warmup_epochs`, then `joint_lambda`. Batches hold
    `joint_batch_size` unlabeled rows, and every one also carries `anomaly_batch_size`
    labeled anomalies drawn with replacement, since they are a few dozen among thousands.
    Without anomalies (or head) only the ELBO is trained. `head_negatives` (a mask over the
    unlabeled rows) limits the rows the score estimator is told are normal to those it
    marks, where a batch holds enough of them; the ELBO still sees every row.
    """
    supervised = head is not None and len(X_anomalies) > 0
    params = list(model.parameters()) + (list(head.parameters()) if supervised else [])
    optimizer = _optimizer(params, schedule, schedule.joint_batch_size, len(X_unlabeled))
    bce = nn.BCEWithLogitsLoss()
    density = DENSITY_GROUP in schedule.head_groups
    model.train()
    if head is not None:
        head.train()
    phases = [("warmup", schedule.warmup_epochs, schedule.warmup_lambda)]
    phases.append(("joint", schedule.joint_epochs, schedule.joint_lambda))
    for phase, epochs, lam in phases:
        for _ in range(epochs):
            # running sums stay tensors: one host sync per epoch, not per step
            sums = {k: torch.zeros((), device=X_unlabeled.device) for k in _TERMS}
            steps = 0
            for idx in _batches(len(X_unlabeled), schedule.joint_batch_size, rng):
                if supervised and head_negatives is not None:
                    # the score estimator's CE reads the batch's first unlabeled rows
                    marked = head_negatives[idx]
                    idx = np.concatenate([idx[marked], idx[~marked]])
                x_u = X_unlabeled[idx]
                if supervised:
                    a_idx = rng.integers(0, len(X_anomalies), size=schedule.anomaly_batch_size)
                    x_a = X_anomalies[a_idx]
                    x_all = torch.cat([x_u, x_a])
                else:
                    x_all = x_u
                if supervised:
                    # the score estimator's CE sees `batch_size` unlabeled rows per step, as
                    # in pretraining; decoding the rest at their mean would double the work
                    n_head = min(len(x_u), schedule.batch_size)
                    neg_elbo_rows, features = model.training_terms(
                        x_all, len(x_u), n_head, density=density
                    )
                    neg_elbo = neg_elbo_rows.mean()
                    penalty = model.anomaly_penalty(features.z[n_head:]).mean()
                    target = torch.cat([x_u.new_zeros(n_head), x_a.new_ones(len(x_a))])
                    ce = bce(head(features.stack(schedule.head_groups)), target)
                    loss = neg_elbo + schedule.anomaly_penalty * penalty + lam * ce
                    sums["penalty"] += penalty.detach()
                    sums["ce"] += ce.detach()
                else:
                    neg_elbo = model.negative_elbo(x_u)[0].mean()
                    loss = neg_elbo
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, GRAD_CLIP_NORM, foreach=True)
                optimizer.step()
                sums["loss"] += loss.detach()
                sums["neg_elbo"] += neg_elbo.detach()
                steps += 1
            means = {k: v.item() / steps for k, v in sums.items()}
            if not supervised:
                means["penalty"] = means["ce"] = None
            history.add(phase, **means)
            tick()
    model.eval()
    if head is not None:
        head.eval()

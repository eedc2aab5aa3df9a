"""The deep variational mixture model at WVAD's core: layers and maths, no training loop.

Generative story (VaDE-style): y ~ Cat(pi), z | y ~ N(mu_y, diag sigma_y^2), x | z ~ N(dec(z),
diag sigma_x^2). Inference: q(z|x) = N(enc_mu(x), diag enc_var(x)) and the cluster posterior
q(y|x) = p(y | z), evaluated at a sample of q(z|x) in training and at its mean otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from wvad.config import FEATURE_GROUPS, Numerics
from wvad.model.layers import mlp

__all__ = ["MixtureFeatures", "VariationalMixture", "feature_width"]

LOG_2PI = math.log(2.0 * math.pi)


def feature_width(groups: Sequence[str], n_clusters: int, latent_dim: int) -> int:
    """Columns of `MixtureFeatures.stack(groups)`: K for y, D for z, one per scalar."""
    sizes = {"y": n_clusters, "z": latent_dim}
    return sum(sizes.get(g, 1) for g in groups)


@dataclass
class MixtureFeatures:
    """The five per-row features WVAD's score estimator reads."""

    y: Tensor  # (N, K) cluster probabilities q(y|x)
    z: Tensor  # (N, D) latent mean
    f_e: Tensor  # (N,) entropy of q(y|x), in [0, log K]
    f_r: Tensor  # (N,) relative reconstruction error ||x - x^|| / ||x||
    f_c: Tensor  # (N,) cosine similarity of x and x^, in [-1, 1]
    f_d: Tensor | None = None  # (N,) negative ELBO at the latent mean, when asked for

    def stack(self, groups: Sequence[str] = FEATURE_GROUPS) -> Tensor:
        """Concatenate the chosen groups column-wise, in the canonical order."""
        parts = []
        for name in FEATURE_GROUPS:
            if name in groups:
                value = getattr(self, name)
                parts.append(value if value.dim() == 2 else value.unsqueeze(1))
        return torch.cat(parts, dim=1)


class VariationalMixture(nn.Module):
    """Encoder, decoder and Gaussian-mixture prior, with the ELBO and the derived features.

    `numerics` holds the clamps that keep every variance positive and every log-density
    finite, and the floor of ||x|| in f_r.
    """

    def __init__(
        self,
        n_features: int,
        latent_dim: int,
        n_clusters: int,
        hidden_dims: Sequence[int],
        numerics: Numerics | None = None,
    ) -> None:
        super().__init__()
        self.numerics = Numerics() if numerics is None else numerics
        self.n_features = n_features
        self.latent_dim = latent_dim
        self.n_clusters = n_clusters
        self.encoder = mlp(n_features, hidden_dims, 2 * latent_dim)
        self.decoder = mlp(latent_dim, tuple(reversed(tuple(hidden_dims))), n_features)
        self.prior_logits = nn.Parameter(torch.zeros(n_clusters))
        self.prior_means = nn.Parameter(torch.randn(n_clusters, latent_dim))
        self.prior_logvars = nn.Parameter(torch.zeros(n_clusters, latent_dim))
        self.x_logvar = nn.Parameter(torch.zeros(n_features))

    @classmethod
    def from_state(
        cls, state: dict[str, Tensor], hidden_dims: Sequence[int], numerics: Numerics
    ) -> VariationalMixture:
        """Rebuild a trained mixture from its `state_dict()` (sizes read off the tensors)."""
        n_clusters, latent_dim = state["prior_means"].shape
        model = cls(len(state["x_logvar"]), latent_dim, n_clusters, hidden_dims, numerics)
        model.load_state_dict(state)
        return model

    # -- encoder / decoder ----------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and (clamped) log-variance of q(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(*self.numerics.z_logvar_range)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    @staticmethod
    def sample(mu: Tensor, logvar: Tensor) -> Tensor:
        """Reparameterised draw from N(mu, exp(logvar))."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    # -- prior ----------------------------------------------------------------------------
    def log_pi(self) -> Tensor:
        return torch.log_softmax(self.prior_logits, dim=0)

    def clamped_prior_logvars(self) -> Tensor:
        return self.prior_logvars.clamp(*self.numerics.prior_logvar_range)

    def component_log_joint(self, z: Tensor) -> Tensor:
        """log pi_k + log N(z; mu_k, sigma_k^2) for every row and component, shape (N, K)."""
        logvars = self.clamped_prior_logvars()
        diff2 = (z.unsqueeze(1) - self.prior_means.unsqueeze(0)) ** 2
        log_normal = -0.5 * (LOG_2PI + logvars.unsqueeze(0) + diff2 / logvars.exp().unsqueeze(0))
        return self.log_pi().unsqueeze(0) + log_normal.sum(dim=2)

    def cluster_log_posterior(self, z: Tensor) -> Tensor:
        """log q(y|x) taken as log p(y|z), normalised stably with log-sum-exp."""
        return torch.log_softmax(self.component_log_joint(z), dim=1)

    # -- objectives -----------------------------------------------------------------------
    def reconstruction_log_likelihood(self, x: Tensor, x_hat: Tensor) -> Tensor:
        """log N(x; x_hat, diag sigma_x^2) per row, with a learned per-feature variance."""
        logvar = self.x_logvar.clamp(*self.numerics.x_logvar_range)
        return -0.5 * (LOG_2PI + logvar + (x - x_hat) ** 2 / logvar.exp()).sum(dim=1)

    def negative_elbo(self, x: Tensor, *, sample: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """Per-row -ELBO and its two parts (-reconstruction term, KL term).

        KL term = E_q[log q(z|x) + log q(y|x) - log p(z|y) - log p(y)], analytic in z given
        q(y|x); with sample=False the mean of q(z|x) replaces the draw (deterministic).
        """
        mu, logvar = self.encode(x)
        z = self.sample(mu, logvar) if sample else mu
        x_hat = self.decode(z)
        return self._negative_elbo_terms(x, mu, logvar, x_hat, self.cluster_log_posterior(z))

    def _negative_elbo_terms(
        self, x: Tensor, mu: Tensor, logvar: Tensor, x_hat: Tensor, log_gamma: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        recon = -self.reconstruction_log_likelihood(x, x_hat)
        gamma = log_gamma.exp()
        prior_logvars = self.clamped_prior_logvars()
        # E_q(z|x)[log p(z|y=k)] for each k, shape (N, K)
        expected_log_pz = -0.5 * (
            LOG_2PI
            + prior_logvars.unsqueeze(0)
            + (logvar.exp().unsqueeze(1) + (mu.unsqueeze(1) - self.prior_means.unsqueeze(0)) ** 2)
            / prior_logvars.exp().unsqueeze(0)
        ).sum(dim=2)
        cross = (gamma * (self.log_pi().unsqueeze(0) + expected_log_pz - log_gamma)).sum(dim=1)
        entropy_z = 0.5 * (LOG_2PI + 1.0 + logvar).sum(dim=1)
        kl = -(cross + entropy_z)
        return recon + kl, recon, kl

    def anomaly_penalty(self, mu: Tensor) -> Tensor:
        """Bounded push-away term for labeled anomalies, in (0, 1] per row.

        sum_k pi_k / (1 + d_k^2 / D), with d_k the Mahalanobis distance of the latent mean to
        component k: 1 at a component's centre, decaying to 0 far from every component, so
        minimising it moves anomalies out of the mixture without a reward for going to infinity.
        """
        logvars = self.clamped_prior_logvars()
        d2 = (
            (mu.unsqueeze(1) - self.prior_means.unsqueeze(0)) ** 2 / logvars.exp().unsqueeze(0)
        ).sum(dim=2)
        return (self.log_pi().exp().unsqueeze(0) / (1.0 + d2 / self.latent_dim)).sum(dim=1)

    def reconstruction_errors(self, x: Tensor) -> Tensor:
        """Squared error per row and column of the reconstruction from the latent mean."""
        return (x - self.decode(self.encode(x)[0])) ** 2

    # -- features -------------------------------------------------------------------------
    def features(self, x: Tensor, *, density: bool = False) -> MixtureFeatures:
        """The five WVAD features, computed deterministically from the mean of q(z|x).

        With density=True also f_d, the negative ELBO at the mean (higher = less explained).
        """
        mu, logvar = self.encode(x)
        return self._features_terms(
            x, mu, logvar, self.decode(mu), self.cluster_log_posterior(mu), density=density
        )

    def training_terms(
        self, x: Tensor, n_unlabeled: int, n_head_unlabeled: int
    ) -> tuple[Tensor, MixtureFeatures]:
        """One joint-training step's forward pass over x = [unlabeled rows; labeled anomalies].

        Returns the per-row -ELBO of the first `n_unlabeled` rows (at a sample of q(z|x)) and
        the features (at the mean) of the first `n_head_unlabeled` unlabeled rows followed by
        the anomalies: the score estimator's batch. One encoder and one decoder pass serve
        both; the result equals `negative_elbo` and `features` on those rows up to rounding.
        """
        mu, logvar = self.encode(x)
        mu_u, logvar_u = mu[:n_unlabeled], logvar[:n_unlabeled]

        def head_rows(t: Tensor) -> Tensor:
            return torch.cat([t[:n_head_unlabeled], t[n_unlabeled:]])

        z = torch.cat([self.sample(mu_u, logvar_u), head_rows(mu)])
        x_hat = self.decode(z)
        log_post = self.cluster_log_posterior(z)
        neg_elbo = self._negative_elbo_terms(
            x[:n_unlabeled], mu_u, logvar_u, x_hat[:n_unlabeled], log_post[:n_unlabeled]
        )[0]
        features = self._features_terms(
            head_rows(x),
            head_rows(mu),
            head_rows(logvar),
            x_hat[n_unlabeled:],
            log_post[n_unlabeled:],
            density=False,
        )
        return neg_elbo, features

    def _features_terms(
        self, x: Tensor, mu: Tensor, logvar: Tensor, x_hat: Tensor, log_y: Tensor, *, density: bool
    ) -> MixtureFeatures:
        y = log_y.exp()
        f_e = (-(y * log_y).sum(dim=1)).clamp_min(0.0)
        x_norm = x.norm(dim=1)
        f_r = (x - x_hat).norm(dim=1) / x_norm.clamp_min(self.numerics.min_norm)
        f_c = nn.functional.cosine_similarity(x, x_hat, dim=1, eps=1e-8).clamp(-1.0, 1.0)
        f_d = self._negative_elbo_terms(x, mu, logvar, x_hat, log_y)[0] if density else None
        return MixtureFeatures(y=y, z=mu, f_e=f_e, f_r=f_r, f_c=f_c, f_d=f_d)

    # -- initialisation -------------------------------------------------------------------
    @torch.no_grad()
    def set_prior(self, weights: Tensor, means: Tensor, variances: Tensor) -> None:
        """Load mixture parameters (e.g. from an EM fit on latent codes); K may change."""
        k = len(weights)
        if k != self.n_clusters:
            self.n_clusters = k
            like = self.prior_means
            self.prior_logits = nn.Parameter(like.new_zeros(k))
            self.prior_means = nn.Parameter(like.new_zeros(k, self.latent_dim))
            self.prior_logvars = nn.Parameter(like.new_zeros(k, self.latent_dim))
        self.prior_logits.copy_(weights.clamp_min(1e-8).log())
        self.prior_means.copy_(means)
        self.prior_logvars.copy_(
            variances.clamp_min(1e-8).log().clamp(*self.numerics.prior_logvar_range)
        )

    @torch.no_grad()
    def set_posterior_variance(self, variances: Tensor) -> None:
        """Make q(z|x)'s variance start at `variances` for every row (learnable from there).

        A pretrained autoencoder leaves the log-variance outputs at their random init; left so,
        the first ELBO steps see q(z|x) far wider than the fitted components and blow up.
        """
        last = self.encoder[-1]
        last.weight[self.latent_dim :].zero_()
        last.bias[self.latent_dim :].copy_(
            variances.clamp_min(1e-8).log().clamp(*self.numerics.z_logvar_range)
        )

    @torch.no_grad()
    def set_reconstruction_variance(self, variances: Tensor) -> None:
        self.x_logvar.copy_(variances.clamp_min(1e-8).log().clamp(*self.numerics.x_logvar_range))

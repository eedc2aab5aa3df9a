import math

import numpy as np
import torch

from wvad.model.mixture import VariationalMixture
from wvad.model.score_head import ScoreHead


def _model(seed: int = 0) -> VariationalMixture:
    torch.manual_seed(seed)
    return VariationalMixture(n_features=5, latent_dim=3, n_clusters=4, hidden_dims=(16, 8))


def test_features_lie_in_their_ranges():
    model = _model()
    x = torch.rand(64, 5)
    x[0] = 0.0  # an all-zero row must not give an infinite relative error
    f = model.features(x)
    assert torch.allclose(f.y.sum(dim=1), torch.ones(64), atol=1e-5)
    assert (f.y >= 0).all()
    assert (f.f_e >= 0).all() and (f.f_e <= math.log(4) + 1e-5).all()
    entropy = -(f.y * f.y.clamp_min(1e-30).log()).sum(dim=1)
    assert torch.allclose(f.f_e, entropy, atol=1e-5)
    assert (f.f_e > 1e-3).any()  # a random model's clusters overlap somewhere
    assert (f.f_r >= 0).all() and torch.isfinite(f.f_r).all()
    assert (f.f_c >= -1).all() and (f.f_c <= 1).all()
    assert f.stack().shape == (64, 4 + 3 + 3)
    assert f.stack(("y", "f_r")).shape == (64, 5)


def test_negative_elbo_is_finite_for_extreme_inputs():
    model = _model()
    x = torch.cat([torch.rand(8, 5), 1e4 * torch.ones(2, 5), torch.zeros(2, 5)])
    neg_elbo, recon, kl = model.negative_elbo(x)
    assert torch.isfinite(neg_elbo).all()
    assert torch.allclose(neg_elbo, recon + kl)
    assert (kl > -1e-4).all()  # a KL divergence, whatever q(y|x) is


def test_negative_elbo_matches_monte_carlo_kl():
    """The analytic KL term equals a Monte-Carlo estimate of E_q[log q(z,y|x) - log p(z,y)]."""
    model = _model(1)
    x = torch.rand(3, 5)
    with torch.no_grad():
        _, _, kl = model.negative_elbo(x, sample=False)
        mu, logvar = model.encode(x)
        z = mu.unsqueeze(0) + torch.randn(20000, *mu.shape) * (0.5 * logvar).exp()
        log_q_z = (-0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp())).sum(-1)
        log_joint = model.component_log_joint(z.reshape(-1, 3)).reshape(20000, 3, 4)
        # q(y|x) is evaluated at the mean in the deterministic ELBO
        log_gamma = model.cluster_log_posterior(mu)
        gamma = log_gamma.exp()
        mc = (gamma * (log_q_z.unsqueeze(-1) + log_gamma - log_joint)).sum(-1).mean(0)
    assert np.allclose(kl.numpy(), mc.numpy(), rtol=0.05, atol=0.05)


def test_anomaly_penalty_is_bounded_and_decays_with_distance():
    model = _model()
    with torch.no_grad():
        model.prior_means.zero_()
        model.prior_logvars.zero_()
    near = model.anomaly_penalty(torch.zeros(1, 3))
    far = model.anomaly_penalty(torch.full((1, 3), 100.0))
    assert torch.allclose(near, torch.ones(1), atol=1e-6)
    assert 0 < far.item() < 1e-3


def test_score_head_outputs_one_logit_per_row():
    torch.manual_seed(0)
    head = ScoreHead(7, (8,))
    logits = head(torch.randn(10, 7))
    assert logits.shape == (10,) and torch.isfinite(logits).all()
    assert logits.std() > 0  # not a constant


def test_training_terms_match_separate_elbo_and_features():
    model = _model()
    x = torch.rand(12, 5)  # 8 unlabeled rows, then 4 anomalies
    torch.manual_seed(3)
    neg_elbo, features = model.training_terms(x, 8, 3)
    torch.manual_seed(3)
    expected_elbo = model.negative_elbo(x[:8])[0]
    expected = model.features(torch.cat([x[:3], x[8:]]))
    torch.testing.assert_close(neg_elbo, expected_elbo)
    for name in ("y", "z", "f_e", "f_r", "f_c"):
        torch.testing.assert_close(getattr(features, name), getattr(expected, name))


def test_clamps_come_from_the_numerics_settings():
    from wvad.config import Numerics

    torch.manual_seed(0)
    tight = VariationalMixture(5, 3, 4, (16, 8), Numerics(z_logvar_range=(-1.0, 1.0)))
    _, logvar = tight.encode(100 * torch.randn(64, 5))
    assert logvar.min() >= -1.0 and logvar.max() <= 1.0


def test_a_mixture_rebuilds_from_its_state():
    model = _model()
    again = VariationalMixture.from_state(model.state_dict(), (16, 8), model.numerics)
    assert (again.n_features, again.latent_dim, again.n_clusters) == (5, 3, 4)
    x = torch.rand(6, 5)
    with torch.no_grad():
        torch.testing.assert_close(again.features(x).f_r, model.features(x).f_r)

import dataclasses

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from wvad import WVAD, Numerics, training
from wvad.fused import ScorePlan
from wvad.model.mixture import VariationalMixture

TINY = {"pretrain_epochs": 3, "warmup_epochs": 2, "joint_epochs": 2}


def test_em_runs_on_a_subsample_of_large_tables(monkeypatch, table, quick_pieces):
    X, _, y_weak = table
    seen: list[int] = []
    real_fit = GaussianMixture.fit

    def spy(self, codes, y=None):
        seen.append(len(codes))
        return real_fit(self, codes, y)

    monkeypatch.setattr(GaussianMixture, "fit", spy)
    numerics = Numerics(em_max_rows=200)
    model = WVAD(n_clusters=3, numerics=numerics, random_state=0, **TINY, **quick_pieces)
    model.fit(X, y_weak)
    assert seen == [200]
    assert np.isfinite(model.decision_function(X)).all()


def test_chunked_encoding_for_em_does_not_change_the_fit(monkeypatch, table, quick_pieces):
    X, _, y_weak = table
    settings = dict(n_clusters=3, random_state=0, **TINY, **quick_pieces)
    whole = WVAD(**settings).fit(X, y_weak).decision_function(X)
    monkeypatch.setattr(training, "ENCODE_CHUNK", 97)
    chunked = WVAD(**settings).fit(X, y_weak).decision_function(X)
    # chunks change the float32 encoder's blocking, so its codes in the last bits; through
    # EM and training that moves a score by up to about 1.5e-4 on some CPUs
    assert np.allclose(whole, chunked, atol=1e-3)


@pytest.mark.parametrize(
    ("epochs", "rows", "epoch_rows", "expected"),
    [
        (50, 20_000, 20_000, 50),  # up to the limit: every epoch
        (50, 20_001, 20_000, 50),  # just above: ceil keeps every epoch
        (50, 400_000, 20_000, 3),  # ceil(50 * 20k / 400k) = ceil(2.5)
        (200, 4_000_000, 20_000, 1),
        (200, 4_000_000, None, 200),  # no limit
        (0, 400_000, 20_000, 0),  # a phase turned off stays off
    ],
)
def test_a_phase_on_a_large_table_runs_the_epochs_of_epoch_rows_rows(
    epochs, rows, epoch_rows, expected
):
    assert training.phase_epochs(epochs, rows, epoch_rows) == expected


def test_the_history_shows_fewer_epochs_when_the_unlabeled_rows_pass_epoch_rows(
    table, quick_pieces
):
    X, _, y_weak = table
    n_unlabeled = int((y_weak == 0).sum())
    schedule = {"pretrain_epochs": 4, "warmup_epochs": 2, "joint_epochs": 6}
    model = WVAD(
        epoch_rows=n_unlabeled // 2,
        pretrain_epoch_rows=None,  # pretraining too
        random_state=0,
        **schedule,
        **quick_pieces,
    )
    phases = model.fit(X, y_weak).history_["phase"]
    assert [phases.count(p) for p in ("pretrain", "warmup", "joint")] == [2, 1, 3]
    assert np.isfinite(model.decision_function(X)).all()


def test_pretraining_takes_its_own_epoch_rows_where_given(table, quick_pieces):
    X, _, y_weak = table
    n_unlabeled = int((y_weak == 0).sum())
    schedule = {"pretrain_epochs": 4, "warmup_epochs": 2, "joint_epochs": 6}
    model = WVAD(pretrain_epoch_rows=n_unlabeled // 4, random_state=0, **schedule, **quick_pieces)
    phases = model.fit(X, y_weak).history_["phase"]
    assert [phases.count(p) for p in ("pretrain", "warmup", "joint")] == [1, 2, 6]
    config = model.config_
    assert training.pretrain_epochs(config, n_unlabeled) == 1
    unset = dataclasses.replace(config, pretrain_epoch_rows=None, epoch_rows=n_unlabeled // 2)
    assert training.pretrain_epochs(unset, n_unlabeled) == 2  # epoch_rows's, as before


@pytest.mark.parametrize("batch_size", [64, 1000])
def test_batches_cover_every_row_once(batch_size):
    batches = list(training._batches(1450, batch_size, np.random.default_rng(0)))
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1450))
    assert min(len(b) for b in batches) >= batch_size // 2 or len(batches) == 1


def test_the_score_estimator_learns_normal_only_from_the_reliable_rows(
    monkeypatch, table, quick_pieces
):
    X, _, y_weak = table
    unlabeled = np.flatnonzero(y_weak == 0)
    left_out = np.zeros(len(y_weak), dtype=bool)
    left_out[unlabeled[::3]] = True  # a third of the unlabeled rows
    real_make = ScorePlan.make.__func__

    def with_rows_left_out(cls, data, config):
        plan = real_make(cls, data, config)
        plan.reliable = ~left_out
        return plan

    monkeypatch.setattr(ScorePlan, "make", classmethod(with_rows_left_out))
    told_normal: list[np.ndarray] = []
    real_terms = VariationalMixture.training_terms

    def spy(self, x, n_unlabeled, n_head_unlabeled):
        told_normal.append(x[:n_head_unlabeled].detach().cpu().numpy())
        return real_terms(self, x, n_unlabeled, n_head_unlabeled)

    monkeypatch.setattr(VariationalMixture, "training_terms", spy)
    model = WVAD(random_state=0, joint_batch_size=256, **TINY, **quick_pieces).fit(X, y_weak)
    scaled = model.scaler_.transform(X).astype(np.float32)
    forbidden = {row.tobytes() for row in scaled[left_out]}
    rows = np.concatenate(told_normal)
    assert len(rows) > 0 and not any(row.tobytes() in forbidden for row in rows)


def test_denormals_are_flushed_inside_a_fit_and_the_callers_mode_comes_back(monkeypatch):
    import torch

    from wvad import runtime

    seen = []
    monkeypatch.setattr(
        training, "pretrain_autoencoder", lambda *a, **k: seen.append(runtime._flushing())
    )
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 3)), np.r_[np.zeros(55), np.ones(5)].astype(int)
    assert not runtime._flushing()
    WVAD(n_clusters=1, random_state=0, **TINY).fit(X, y)
    assert seen == [True] and not runtime._flushing()
    torch.set_flush_denormal(True)
    try:
        with runtime.flush_denormals():
            pass
        assert runtime._flushing()  # a caller's own setting is left as it was
    finally:
        torch.set_flush_denormal(False)

"""The typed configuration: presets are instances, every setting is checked and reachable."""

import json
from dataclasses import fields

import numpy as np
import pytest

from wvad import WVAD, Config, DeviationSettings, FusionSettings, Numerics, TreeSettings
from wvad.presets import DEFAULT, PAPER, PRESETS, preset_name
from wvad.training import pretrain_epochs


def test_the_estimators_parameters_are_the_configurations_fields():
    params = WVAD().get_params()
    for f in fields(Config):
        assert params[f.name] == getattr(DEFAULT, f.name), f.name
    assert WVAD().get_config() == DEFAULT


def test_presets_are_configurations_that_differ_where_documented():
    assert set(PRESETS) == {"default", "paper"}
    differ = {f.name for f in fields(Config) if getattr(DEFAULT, f.name) != getattr(PAPER, f.name)}
    assert differ == {
        "n_clusters",
        "score_mode",
        "joint_epochs",
        "epoch_rows",
        "pretrain_epoch_rows",
        "fusion",
    }
    assert PAPER.fusion == FusionSettings(set_aside_doubtful=False)  # the paper's: every label
    assert pretrain_epochs(PAPER, 10**6) == PAPER.pretrain_epochs  # every epoch on any table
    assert WVAD.from_preset("paper").get_config() == PAPER
    assert preset_name(PAPER) == "paper" and preset_name(DEFAULT.replace(latent_dim=4)) is None
    assert WVAD.from_preset("paper", n_clusters=3).get_config().n_clusters == 3


def test_a_configuration_round_trips_through_json():
    config = DEFAULT.replace(
        hidden_dims=[16, 8],
        trees=TreeSettings(max_iter=7),
        fusion={"gini_floor": 0.6},
        numerics=Numerics(z_logvar_range=[-4, 4]),
    )
    assert config.hidden_dims == (16, 8) and config.fusion == FusionSettings(gini_floor=0.6)
    assert config.numerics.z_logvar_range == (-4.0, 4.0)
    again = Config.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_clusters": 0}, "n_clusters must be 'auto' or an int >= 1"),
        ({"latent_dim": 2.5}, "latent_dim must be an int >= 1"),
        ({"learning_rate": 0}, "learning_rate must be a number > 0"),
        ({"joint_lambda": -1}, "joint_lambda must be a number >= 0"),
        ({"score_mode": "magic"}, "score_mode must be one of"),
        ({"scaling": "log"}, "scaling must be one of"),
        ({"pretrain_epochs": True}, "pretrain_epochs must be an int >= 0"),
        ({"fusion": {"max_folds": 1}}, r"fusion\.max_folds must be an int >= 2"),
        ({"fusion": {"gini_floor": 1.0}}, r"fusion\.gini_floor must be a number in \[0, 1\)"),
        ({"fusion": {"colour": 1}}, r"FusionSettings has no setting\(s\) \['colour'\]"),
        ({"deviation": DeviationSettings}, "deviation must be a DeviationSettings"),
        ({"numerics": {"x_logvar_range": (4, -8)}}, "x_logvar_range must be a pair"),
    ],
)
def test_bad_settings_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        DEFAULT.replace(**changes)


def test_deep_settings_reach_the_fit():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.0, 1.0, (300, 4)), rng.normal(3.0, 0.5, (12, 4))])
    y_weak = np.r_[np.zeros(300), np.ones(12)].astype(int)
    short = {"pretrain_epochs": 1, "warmup_epochs": 1, "joint_epochs": 1, "random_state": 0}
    model = WVAD(
        trees=TreeSettings(max_iter=4),
        deviation=DeviationSettings(epochs=1),
        fusion=FusionSettings(gini_floor=0.0, max_folds=2),
        **short,
    ).fit(X, y_weak)
    assert model.score_.pieces["boosting"].ensemble.model.tree_count_ == 4
    assert model.config_.fusion.max_folds == 2
    # with the floor at 0 every cross-fitted piece with any held-out skill counts
    assert {"deviation", "boosting"} <= set(model.score_weights())

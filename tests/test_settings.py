"""Each setting is declared once (`wvad.config`): the estimator, its docstring, `wvad fit`
and `fit_table` follow the declaration, so no name, default or range can drift."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest

from wvad import WVAD, Config
from wvad.cli import UsageError, build_parser, fit_settings, setting_option
from wvad.config import CONFIG_FIELDS, _Settings
from wvad.presets import PRESETS

#: WVAD's parameters that are the detector's own, not the fit's configuration.
DETECTOR_PARAMS = {
    "categorical_features",
    "contamination",
    "threshold",
    "allow_unsupervised",
    "warm_start",
    "device",
    "random_state",
    "verbose",
}
TOP_LEVEL = [f.name for f in fields(Config) if not isinstance(f.default, _Settings)]


def test_the_estimators_parameters_are_configs_fields_with_their_defaults():
    parameters = inspect.signature(WVAD).parameters
    assert set(parameters) == set(CONFIG_FIELDS) | DETECTOR_PARAMS
    for f in fields(Config):
        assert parameters[f.name].default == f.default, f.name


def test_help_on_the_estimator_lists_every_setting_with_its_default():
    doc = WVAD.__doc__
    for name, default, allowed, text in Config.documented():
        if isinstance(default, _Settings):
            assert f"{name} : {type(default).__name__}" in doc
            for sub, sub_default, _, _ in type(default).documented():
                assert f"- {sub} (" in doc and f"default {sub_default!r}" in doc, sub
        else:
            assert f"{name} : {allowed}, default {default!r}" in doc, name
            assert text in doc


def _fit_args(*options: str) -> list[str]:
    return ["fit", "t.csv", "--label-col", "y", "--out", "m", *options]


def test_wvad_fit_has_an_option_per_setting_with_the_presets_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in TOP_LEVEL:
        assert setting_option(name) in text, name
        for preset, config in PRESETS.items():
            value = getattr(config, name)
            shown = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
            assert f"{preset} {shown}" in text, (name, preset)
    args = build_parser().parse_args(_fit_args())
    assert fit_settings(args) == {}  # nothing given: the preset decides


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--n-clusters", "auto", "auto"),
        ("--clusters", "3", 3),
        ("--score-mode", "fusion", "fusion"),
        ("--n-neighbors", "0", 0),
        ("--fusion-prior", "10", 10.0),
        ("--learning-rate", "0.01", 0.01),
        ("--scaling", "standard", "standard"),
    ],
)
def test_an_option_gives_the_setting_config_reads(option, value, expected):
    given = fit_settings(build_parser().parse_args(_fit_args(option, value)))
    ((name, parsed),) = given.items()
    assert parsed == expected and getattr(Config(**given), name) == expected


def test_tuple_flag_and_epoch_options_reach_config():
    args = build_parser().parse_args(
        _fit_args("--hidden-dims", "16", "8", "--no-clean-unlabeled", "--epochs", "1", "2", "3")
    )
    given = fit_settings(args)
    config = Config(**given)
    assert config.hidden_dims == (16, 8) and config.clean_unlabeled is False
    assert (config.pretrain_epochs, config.warmup_epochs, config.joint_epochs) == (1, 2, 3)
    legacy = fit_settings(build_parser().parse_args(_fit_args("--all-unlabeled-normal")))
    assert legacy == {"clean_unlabeled": False}


@pytest.mark.parametrize("name", ["n_clusters", "latent_dim", "n_neighbors", "score_mode"])
def test_an_option_out_of_range_is_refused_with_configs_message(name, capsys):
    from wvad.cli import main

    bad = {"n_clusters": "0", "latent_dim": "0", "n_neighbors": "-1", "score_mode": "magic"}
    with pytest.raises(ValueError) as from_config:
        rule = Config.__dataclass_fields__[name].metadata["rule"]
        Config(**{name: rule.parse(bad[name])})
    assert main(_fit_args(setting_option(name), bad[name])) == 2
    assert str(from_config.value) in capsys.readouterr().err


def test_fit_table_takes_configs_fields_and_refuses_others(tmp_path):
    from wvad.workflow import fit_table

    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n1,2,1\n2,3,\n3,4,\n")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['neighbours'\]"):
        fit_table(table, "y", tmp_path / "m", settings={"neighbours": 3})
    with pytest.raises(ValueError, match="n_neighbors must be an int >= 0"):
        fit_table(table, "y", tmp_path / "m", settings={"n_neighbors": -3})
    assert not (tmp_path / "m").exists()


def test_nested_settings_are_set_by_name_and_listed_in_the_help(capsys):
    given = fit_settings(
        build_parser().parse_args(
            _fit_args("--set", "trees.max_iter=7", "--set", "deviation.hidden=8,4",
                      "--set", "fusion.tails=linear", "--set", "deviation.clip_norm=none")
        )
    )  # fmt: skip
    config = Config(**given)
    assert config.trees.max_iter == 7 and config.deviation.hidden == (8, 4)
    assert config.fusion.tails == "linear" and config.deviation.clip_norm is None
    assert config.trees.learner == PRESETS["default"].trees.learner  # the rest: the preset's
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, default, _, _ in Config.documented():
        if isinstance(default, _Settings):
            for sub, _, _, _ in type(default).documented():
                assert f"{name}.{sub}=" in text, (name, sub)
    from wvad.cli import UsageError

    with pytest.raises(UsageError, match=r"GROUP\.NAME=VALUE"):
        fit_settings(build_parser().parse_args(_fit_args("--set", "trees.nothing=1")))
    with pytest.raises(ValueError, match=r"trees\.max_iter must be an int >= 1"):
        fit_settings(build_parser().parse_args(_fit_args("--set", "trees.max_iter=0")))
    for text, value in (("true", True), ("No", False), ("1", True), ("off", False)):
        flag = _fit_args("--set", f"fusion.set_aside_doubtful={text}")
        assert fit_settings(build_parser().parse_args(flag))["fusion"].set_aside_doubtful is value
    with pytest.raises(ValueError, match=r"set_aside_doubtful must be True or False"):
        fit_settings(build_parser().parse_args(_fit_args("--set", "fusion.set_aside_doubtful=2")))


def test_a_flag_or_word_setting_reads_bare_word_and_negated_options():
    def read(*options: str) -> dict:
        return fit_settings(build_parser().parse_args(_fit_args(*options)))

    assert read("--missing-indicators")["missing_indicators"] is True
    assert read("--missing-indicators", "auto")["missing_indicators"] == "auto"
    assert read("--missing-indicators", "no")["missing_indicators"] is False
    assert read("--no-missing-indicators")["missing_indicators"] is False
    assert "missing_indicators" not in read()  # the preset's
    with pytest.raises(UsageError, match="True or False or 'auto'; got 'sometimes'"):
        read("--missing-indicators", "sometimes")

"""Named WVAD configurations, each an instance of `wvad.config.Config`.

"paper" follows the description in Tan et al. (2024) and fills its gaps with the choices in
docs/method.md; "default" is the configuration we recommend, dataset-agnostic. It departs
from the paper in its read-out (the "stacked" fused score), in K = 2 and in 100 joint
epochs instead of 400, in fewer epochs on tables of more than 7,500 unlabeled rows
(`Config.epoch_rows`; pretraining's above 5,000, `Config.pretrain_epoch_rows`), and in
setting aside the labels the pieces that did not learn from them call doubtful
(`fusion.set_aside_doubtful`; docs/method.md says where each was chosen). Build an
estimator from one with `WVAD.from_preset(name, **overrides)`.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from wvad.config import Config

__all__ = ["DEFAULT", "PAPER", "PRESETS", "preset_config", "preset_name"]

DEFAULT = Config()
PAPER = DEFAULT.replace(
    n_clusters=5,
    score_mode="head",
    joint_epochs=400,
    epoch_rows=None,
    pretrain_epoch_rows=None,  # epoch_rows's: every epoch
    fusion=replace(DEFAULT.fusion, set_aside_doubtful=False),
)

PRESETS = MappingProxyType({"default": DEFAULT, "paper": PAPER})


def preset_config(name: str) -> Config:
    """The preset called `name`, or a ValueError that lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {name!r}")
    return PRESETS[name]


def preset_name(config: Config) -> str | None:
    """The name of the preset `config` equals, or None for any other configuration."""
    return next((name for name, preset in PRESETS.items() if preset == config), None)

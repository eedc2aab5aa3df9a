"""Named WVAD configurations. Explicit constructor arguments override the preset's values.

"paper" follows the description in Tan et al. (2024) and fills its gaps with the choices in
docs/method.md; "default" is the configuration we recommend, dataset-agnostic.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["PRESETS", "TUNABLE", "resolve_preset"]

_PAPER: dict[str, Any] = {
    "n_clusters": 5,
    "latent_dim": 8,
    "hidden_dims": (64, 32),
    "head_hidden_dims": (32, 16),
    "pretrain_epochs": 50,
    "warmup_epochs": 100,
    "joint_epochs": 400,
    "warmup_lambda": 0.01,
    "joint_lambda": 1.0,
    "anomaly_penalty": 1.0,
    "batch_size": 128,
    "joint_batch_size": 2048,
    "anomaly_batch_size": 32,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "head_features": ("y", "z", "f_e", "f_r", "f_c"),
    "normalize_features": False,
    "score_mode": "head",
    "fusion_prior": 25.0,
    "n_neighbors": 5,
    "clean_unlabeled": True,
}

_DEFAULT: dict[str, Any] = {
    **_PAPER,
    "n_clusters": 2,
    "score_mode": "stacked",
}

PRESETS = MappingProxyType(
    {
        "paper": MappingProxyType(dict(_PAPER)),
        "default": MappingProxyType(dict(_DEFAULT)),
    }
)

#: Parameters a preset provides; None in the constructor means "take the preset's value".
TUNABLE = tuple(_PAPER)


def resolve_preset(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset's values with every non-None override applied."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
    config = dict(PRESETS[preset])
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config

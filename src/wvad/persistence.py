"""Save and load fitted WVAD models: a directory with config.json and weights.pt.

No pickle: the JSON holds parameters and fitted scalars, the weights file holds only tensors
and is read with `torch.load(weights_only=True)`. A format version guards compatibility.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from wvad.branches import load_branch
from wvad.estimator import FUSED_MODES
from wvad.model.mixture import VariationalMixture
from wvad.model.score_head import ScoreHead
from wvad.neighbours import NeighbourDistance
from wvad.runtime import resolve_device

if TYPE_CHECKING:
    from wvad.estimator import WVAD

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "read_versioned_json", "save_model"]

FORMAT = "wvad-model"
FORMAT_VERSION = 5
#: Older versions this wvad still reads: 2 lacks the "stacked" score's branches, 3 its
#: neighbour distance, 4 the clean_unlabeled parameter.
READABLE_VERSIONS = (2, 3, 4, 5)
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"

_SCALARS = (
    "n_features_in_",
    "n_samples_fit_",
    "n_clusters_",
    "seed_",
    "threshold_",
    "n_labeled_",
    "score_mode_",
    "fit_seconds_",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_model(model: WVAD, path: Path, *, overwrite: bool = False) -> Path:
    """Write `model` to the directory `path`; refuses a non-empty directory unless overwrite."""
    from wvad import __version__

    if not hasattr(model, "model_"):
        raise ValueError("only a fitted WVAD can be saved; call fit first")
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{path} is not empty; pass overwrite=True to replace the model in it"
        )
    path.mkdir(parents=True, exist_ok=True)
    names = getattr(model, "feature_names_in_", None)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wvad_version": __version__,
        "torch_version": torch.__version__,
        "params": _jsonable(model.get_params()),
        "fitted": _jsonable(
            {
                **{k: getattr(model, k) for k in _SCALARS},
                "feature_names_in_": None if names is None else list(names),
                "config_": model.config_,
                "head_groups_": model.head_groups_,
                "history_": model.history_,
                "branch_ginis_": model.branch_ginis_,
                "branch_kinds": list(model.branches_),
            }
        ),
    }
    tensors = {f"mixture.{k}": v.detach().cpu() for k, v in model.model_.state_dict().items()}
    if model.head_ is not None:
        tensors.update({f"head.{k}": v.detach().cpu() for k, v in model.head_.state_dict().items()})
    for kind, scorer in model.branches_.items():
        tensors.update({f"branch.{kind}.{k}": v for k, v in scorer.state().items()})
    if model.neighbours_ is not None:
        tensors.update({f"neighbours.{k}": v for k, v in model.neighbours_.state().items()})
    tensors["scale_offset"] = torch.as_tensor(model.scale_offset_)
    tensors["scale_factor"] = torch.as_tensor(model.scale_factor_)
    tensors["decision_scores"] = torch.as_tensor(model.decision_scores_)
    if model.score_mode_ in FUSED_MODES:
        tensors["fusion_center"] = torch.as_tensor(model.fusion_center_)
        tensors["fusion_scale"] = torch.as_tensor(model.fusion_scale_)
        tensors["fusion_weights"] = torch.as_tensor(model.fusion_weights_)
        tensors["fusion_quantiles"] = torch.as_tensor(model.fusion_quantiles_)
    _atomic_write(path / WEIGHTS_FILE, lambda f: torch.save(tensors, f), binary=True)
    _atomic_write(path / CONFIG_FILE, lambda f: json.dump(config, f, indent=2), binary=False)
    return path


def _atomic_write(target: Path, write, *, binary: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(cls: type[WVAD], path: Path, *, device: str | None = None) -> WVAD:
    """Rebuild a fitted model from `path`; errors name the file and what is wrong with it."""
    config_path, weights_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path}")
    for p in (config_path, weights_path):
        if not p.is_file():
            raise FileNotFoundError(f"{path} is not a WVAD model directory: {p.name} is missing")
    config = read_versioned_json(config_path, FORMAT, READABLE_VERSIONS, "model")
    try:
        tensors = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged archive
        raise ValueError(f"{weights_path} is damaged and cannot be read: {exc}") from None

    # JSON has no tuples; every sequence parameter is a tuple of names or widths.
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()}
    model = cls(**params)
    fitted = config["fitted"]
    for key in _SCALARS:
        setattr(model, key, fitted[key])
    if fitted["feature_names_in_"] is not None:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    model.config_ = fitted["config_"]
    for key in ("hidden_dims", "head_hidden_dims", "head_features", "head_groups"):
        model.config_[key] = tuple(model.config_[key])
    model.head_groups_ = tuple(fitted["head_groups_"])
    model.history_ = fitted["history_"]
    model.device_ = resolve_device(device if device is not None else params["device"])
    try:
        mixture = VariationalMixture(
            model.n_features_in_,
            model.config_["latent_dim"],
            model.n_clusters_,
            model.config_["hidden_dims"],
        )
        mixture.load_state_dict(_prefixed(tensors, "mixture."))
        head = None
        head_state = _prefixed(tensors, "head.")
        if head_state:
            in_dim = model._head_in_dim(model.head_groups_, model.config_)
            head = ScoreHead(
                in_dim,
                model.config_["head_hidden_dims"],
                normalize=model.config_["normalize_features"],
            )
            head.load_state_dict(head_state)
        branches = {
            kind: load_branch(
                kind, _prefixed(tensors, f"branch.{kind}."), model.n_features_in_, model.device_
            )
            for kind in fitted.get("branch_kinds", [])
        }
        neighbours_state = _prefixed(tensors, "neighbours.")
        neighbours = (
            NeighbourDistance.from_state(neighbours_state, model.device_)
            if neighbours_state
            else None
        )
        model.scale_offset_ = tensors["scale_offset"].numpy()
        model.scale_factor_ = tensors["scale_factor"].numpy()
        model.decision_scores_ = tensors["decision_scores"].numpy()
        if model.score_mode_ in FUSED_MODES:
            model.fusion_center_ = tensors["fusion_center"].numpy()
            model.fusion_scale_ = tensors["fusion_scale"].numpy()
            model.fusion_weights_ = tensors["fusion_weights"].numpy()
            model.fusion_quantiles_ = tensors["fusion_quantiles"].numpy()
    except (KeyError, RuntimeError) as exc:
        raise ValueError(f"{weights_path} does not match {config_path}: {exc}") from None
    model.model_ = mixture.to(model.device_).eval()
    model.head_ = None if head is None else head.to(model.device_).eval()
    model.branches_ = branches
    model.neighbours_ = neighbours
    model.branch_ginis_ = fitted.get("branch_ginis_", {})
    model.labels_ = (model.decision_scores_ > model.threshold_).astype(np.int64)
    return model


def read_versioned_json(
    path: Path, fmt: str, version: int | tuple[int, ...], what: str
) -> dict[str, Any]:
    """Read a JSON file wvad wrote with "format" and "format_version" keys, or say why not;
    `version` is the one version readable, or a tuple of them (the newest last)."""
    versions = version if isinstance(version, tuple) else (version,)
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is damaged: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise ValueError(f"{path} does not describe a wvad {what}")
    if payload.get("format_version") not in versions:
        written = (
            f" (written by wvad {payload['wvad_version']})" if "wvad_version" in payload else ""
        )
        raise ValueError(
            f"{path} holds {what} format version {payload.get('format_version')}{written}; "
            f"this wvad reads version {' or '.join(map(str, versions))}"
        )
    return payload


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

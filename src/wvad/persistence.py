"""Model directories on disk: config.json (what the model is) and weights.pt (its tensors).

This module knows files and the format version, nothing about what a model holds: the
estimator hands it a JSON-able description and a flat dict of tensors, and gets them back.
No pickle: the weights file holds tensors only and is read with
`torch.load(weights_only=True)`. Files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "prefixed",
    "read_model",
    "read_versioned_json",
    "unreadable_model",
    "write_model",
]

FORMAT = "wvad-model"
#: The one model format this wvad reads and writes; any other version is refused.
FORMAT_VERSION = 6
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"


def write_model(
    path: Path, description: dict[str, Any], tensors: dict[str, torch.Tensor], *, overwrite: bool
) -> Path:
    """Write a model directory; refuses a non-empty directory unless `overwrite`."""
    from wvad import __version__

    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{path} is not empty; pass overwrite=True to replace the model in it"
        )
    path.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wvad_version": __version__,
        "torch_version": torch.__version__,
        **description,
    }
    cpu = {k: v.detach().cpu() for k, v in tensors.items()}
    _atomic_write(path / WEIGHTS_FILE, lambda f: torch.save(cpu, f), binary=True)
    _atomic_write(path / CONFIG_FILE, lambda f: json.dump(config, f, indent=2), binary=False)
    return path


def read_model(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The description and tensors of the model directory `path`, or an error that names
    the file and what is wrong with it."""
    config_path, weights_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path}")
    for p in (config_path, weights_path):
        if not p.is_file():
            raise FileNotFoundError(f"{path} is not a WVAD model directory: {p.name} is missing")
    description = read_versioned_json(config_path, FORMAT, FORMAT_VERSION, "model")
    try:
        tensors = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged archive
        raise ValueError(f"{weights_path} is damaged and cannot be read: {exc}") from None
    if not isinstance(tensors, dict) or not all(
        isinstance(v, torch.Tensor) for v in tensors.values()
    ):
        raise ValueError(f"{weights_path} does not hold a wvad model's tensors")
    return description, tensors


@contextlib.contextmanager
def unreadable_model(path: Path) -> Iterator[None]:
    """Turn a missing or misshapen tensor met while rebuilding the model at `path` into one
    error that names both files."""
    try:
        yield
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(
            f"{path / WEIGHTS_FILE} does not match {path / CONFIG_FILE}: {exc}"
        ) from None


def read_versioned_json(path: Path, fmt: str, version: int, what: str) -> dict[str, Any]:
    """Read a JSON file wvad wrote with "format" and "format_version" keys, or say why not."""
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is damaged: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise ValueError(f"{path} does not describe a wvad {what}")
    if payload.get("format_version") != version:
        written = (
            f" (written by wvad {payload['wvad_version']})" if "wvad_version" in payload else ""
        )
        raise ValueError(
            f"{path} holds {what} format version {payload.get('format_version')}{written}; "
            f"this wvad reads version {version}"
        )
    return payload


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with `prefix`, with it removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _atomic_write(target: Path, write: Callable[[Any], None], *, binary: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

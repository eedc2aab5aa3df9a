"""Model directories on disk: config.json (what the model is) and one weights file.

This module knows files and the format version, nothing about what a model holds: the
estimator hands it a JSON-able description and a flat dict of tensors, and gets them back.

A directory cannot lie about itself: config.json records the SHA-256 of the weights file
and of its own content, and loading refuses a truncated, edited, foreign, newer-format or
incomplete directory with one message that names the file. No pickle: the weights file
holds tensors only and is read with `torch.load(weights_only=True)`.

Saving is atomic: the weights go to a new file named by its hash, then config.json is
replaced in one rename. Until that rename the old config.json names the old weights, which
stay until after it, so a crash at any point leaves either the previous model or the new
one, whole.
"""

from __future__ import annotations

import contextlib
import hashlib
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
FORMAT_VERSION = 8
CONFIG_FILE = "config.json"
WEIGHTS_PREFIX = "weights-"
_CHECKSUM = "config_sha256"


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
    cpu = {k: v.detach().cpu() for k, v in tensors.items()}
    staged = _atomic_write(path / ".weights.pt", lambda f: torch.save(cpu, f), binary=True)
    digest = _sha256(staged)
    weights = path / f"{WEIGHTS_PREFIX}{digest[:16]}.pt"
    os.replace(staged, weights)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wvad_version": __version__,
        "torch_version": torch.__version__,
        "weights": {"file": weights.name, "sha256": digest},
        **description,
    }
    config = json.loads(json.dumps(config))  # as it will read back: lists, plain floats
    config[_CHECKSUM] = _content_hash(config)
    _atomic_write(path / CONFIG_FILE, lambda f: json.dump(config, f, indent=2), binary=False)
    for old in path.glob(f"{WEIGHTS_PREFIX}*.pt"):  # what the replaced config named
        if old != weights:
            old.unlink(missing_ok=True)
    return path


def read_model(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The description and tensors of the model directory `path`, or an error that names
    the file and what is wrong with it."""
    config_path = path / CONFIG_FILE
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path}")
    if not config_path.is_file():
        raise FileNotFoundError(f"{path} is not a WVAD model directory: {CONFIG_FILE} is missing")
    description = read_versioned_json(config_path, FORMAT, FORMAT_VERSION, "model")
    if description.pop(_CHECKSUM, None) != _content_hash(description):
        raise ValueError(f"{config_path} was changed after it was saved (its checksum differs)")
    weights = description.get("weights")
    if not isinstance(weights, dict) or not isinstance(weights.get("file"), str):
        raise ValueError(f"{config_path} names no weights file")
    weights_path = path / Path(weights["file"]).name
    if not weights_path.is_file():
        raise FileNotFoundError(f"{path} is incomplete: {weights_path.name} is missing")
    if _sha256(weights_path) != weights.get("sha256"):
        raise ValueError(
            f"{weights_path} is damaged: its checksum differs from the one {CONFIG_FILE} recorded"
        )
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
    error that names the directory."""
    try:
        yield
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"the weights in {path} do not match its {CONFIG_FILE}: {exc}") from None


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


def _atomic_write(target: Path, write: Callable[[Any], None], *, binary: bool) -> Path:
    """Write into a temporary file beside `target`, fsync it, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _content_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a JSON payload's canonical text (sorted keys), its checksum left out."""
    content = {k: v for k, v in payload.items() if k != _CHECKSUM}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()

"""Model directories on disk: config.json (what the model is), one weights file, and any
further JSON documents (the command line's table.json).

This module knows files and the format version, nothing about what a model holds: the
estimator hands it a JSON-able description, a flat dict of tensors and the documents, and
gets them back.

A directory cannot lie about itself: config.json records the SHA-256 of the weights file,
of every document and of its own content, and loading refuses a truncated, edited,
foreign, newer-format or incomplete directory, or one that mixes two models' files, with
one message that names the file. No pickle: the weights file holds tensors only and is
read with `torch.load(weights_only=True)`.

Format policy: a wvad writes `FORMAT_VERSION` and reads it and every older version that
`MIGRATIONS` lifts, one version at a time, so a model saved before an upgrade still loads
(tests/fixtures holds a directory of each readable older version); a newer version is
refused with the versions this wvad reads.

Saving is atomic per file (`wvad.files.staged`): the weights go to a new file named by
their hash, the documents next, then config.json in one rename. A crash before that rename
leaves the previous config.json and weights; where the documents had changed too, loading
refuses the folder, naming the document, rather than mixing the two.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wvad.files import sha256_of, staged

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFiles",
    "prefixed",
    "read_model",
    "read_versioned_json",
    "unreadable_model",
    "write_model",
]

FORMAT = "wvad-model"
#: The model format this wvad writes; it reads this and the versions `MIGRATIONS` lift.
FORMAT_VERSION = 18
CONFIG_FILE = "config.json"
#: config.json's key for the further JSON files of a model and their SHA-256.
DOCUMENTS = "documents"
WEIGHTS_PREFIX = "weights-"
_CHECKSUM = "config_sha256"


def write_model(
    path: Path,
    description: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    overwrite: bool,
    documents: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write a model directory; refuses a non-empty directory unless `overwrite`.

    `documents` are further JSON files of the model (by file name, e.g. the table
    description), each recorded in config.json by its SHA-256 like the weights."""
    from wvad import __version__

    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{path} is not empty; pass overwrite=True to replace the model in it"
        )
    path.mkdir(parents=True, exist_ok=True)
    replaced = _listed_documents(path / CONFIG_FILE)
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in tensors.items()}, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    weights = path / f"{WEIGHTS_PREFIX}{digest[:16]}.pt"
    _write_bytes(weights, payload, replace=True)  # the same name holds the same bytes
    texts = {
        name: json.dumps(content, indent=2).encode() for name, content in (documents or {}).items()
    }
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wvad_version": __version__,
        "torch_version": torch.__version__,
        "weights": {"file": weights.name, "sha256": digest},
        DOCUMENTS: {name: hashlib.sha256(text).hexdigest() for name, text in texts.items()},
        **description,
    }
    config = json.loads(json.dumps(config))  # as it will read back: lists, plain floats
    config[_CHECKSUM] = _content_hash(config)
    for name, text in texts.items():
        _write_bytes(path / name, text, replace=True)
    _write_bytes(path / CONFIG_FILE, json.dumps(config, indent=2).encode(), replace=overwrite)
    for old in path.glob(f"{WEIGHTS_PREFIX}*.pt"):  # what the replaced config named
        if old != weights:
            old.unlink(missing_ok=True)
    for name in replaced - set(texts):  # the replaced model's documents, not this one's
        (path / name).unlink(missing_ok=True)
    return path


def _listed_documents(config_path: Path) -> set[str]:
    """The documents a model's config.json lists (none where it cannot be read)."""
    try:
        listed = json.loads(config_path.read_text()).get(DOCUMENTS, {})
    except (OSError, ValueError, AttributeError):
        return set()
    return {Path(name).name for name in listed} if isinstance(listed, dict) else set()


@dataclass(frozen=True)
class ModelFiles:
    """What a model directory holds, checked: the description (config.json), the tensors
    and the further JSON documents by file name."""

    description: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    documents: dict[str, dict[str, Any]]


def read_model(path: Path) -> ModelFiles:
    """The description, tensors and documents of the model directory `path`, or an error
    that names the file and what is wrong with it. A directory of an older format version
    is read through its migration (`MIGRATIONS`)."""
    config_path = path / CONFIG_FILE
    if not path.is_dir():
        raise FileNotFoundError(f"no model directory at {path}")
    if not config_path.is_file():
        raise FileNotFoundError(f"{path} is not a WVAD model directory: {CONFIG_FILE} is missing")
    description = read_versioned_json(config_path, FORMAT, READABLE_VERSIONS, "model")
    if description.pop(_CHECKSUM, None) != _content_hash(description):
        raise ValueError(f"{config_path} was changed after it was saved (its checksum differs)")
    weights = description.get("weights")
    if not isinstance(weights, dict) or not isinstance(weights.get("file"), str):
        raise ValueError(f"{config_path} names no weights file")
    weights_path = path / Path(weights["file"]).name
    if not weights_path.is_file():
        raise FileNotFoundError(f"{path} is incomplete: {weights_path.name} is missing")
    if sha256_of(weights_path) != weights.get("sha256"):
        raise ValueError(
            f"{weights_path} is damaged: its checksum differs from the one {CONFIG_FILE} recorded"
        )
    tensors = _read_tensors(weights_path)
    documents = _read_documents(path, description)
    for version in range(description["format_version"], FORMAT_VERSION):
        description, documents = MIGRATIONS[version](path, description, documents)
    return ModelFiles(description, tensors, documents)


def _read_tensors(weights_path: Path) -> dict[str, torch.Tensor]:
    try:
        tensors = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged archive
        raise ValueError(f"{weights_path} is damaged and cannot be read: {exc}") from None
    if not isinstance(tensors, dict) or not all(
        isinstance(v, torch.Tensor) for v in tensors.values()
    ):
        raise ValueError(f"{weights_path} does not hold a wvad model's tensors")
    return tensors


def _read_documents(path: Path, description: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The JSON documents config.json names, each checked against its recorded SHA-256."""
    recorded = description.get(DOCUMENTS, {})
    if not isinstance(recorded, dict):
        raise ValueError(f"{path / CONFIG_FILE} lists its documents wrongly")
    documents = {}
    for name, digest in recorded.items():
        document = path / Path(name).name
        if not document.is_file():
            raise FileNotFoundError(f"{path} is incomplete: {document.name} is missing")
        if sha256_of(document) != digest:
            raise ValueError(
                f"{document} was changed after the model was saved (its checksum differs "
                f"from the one {CONFIG_FILE} recorded)"
            )
        documents[name] = _json_object(document)
    return documents


def _json_object(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is damaged: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return payload


def _from_version_8(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 8 recorded no documents: its table.json, where there is one, is read as
    it is (no checksum to check it against). Its pieces were Gaussianised with linear
    tails on both sides and it had no proximity piece, which its configuration did not
    name."""
    table = path / "table.json"
    if table.is_file():
        documents = {**documents, table.name: _json_object(table)}
    config = description.get("config")
    if isinstance(config, dict) and isinstance(config.get("fusion"), dict):
        # it had no proximity piece either
        fusion = {**config["fusion"], "tails": "linear", "proximity_weight": 0.0}
        config = {**config, "fusion": fusion}
    return {**description, "config": config, "format_version": 9}, documents


def _from_version_9(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 9 read numbers only, every column as itself, and refused missing values:
    the encoding of that is a number column per input column with no value to fill."""
    fitted = description.get("fitted")
    if isinstance(fitted, dict) and "encoding" not in fitted:
        names = fitted.get("feature_names_in_")
        width = fitted.get("n_features_in_")
        labels = names if names is not None else [f"x{j}" for j in range(int(width or 0))]
        column = {"kind": "number", "fill": None, "values": True, "flags_missing": False}
        columns = [{"name": n, **column, "categories": [], "other": False} for n in labels]
        encoding = {"names_given": names is not None, "columns": columns}
        description = {**description, "fitted": {**fitted, "encoding": encoding}}
    return {**description, "format_version": 10}, documents


def _from_version_10(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 10 ran every epoch whatever the table's size (`epoch_rows` None) and kept
    tied quantiles apart when Gaussianising (`fusion.ties` "split")."""
    config = description.get("config")
    if isinstance(config, dict):
        config = {**config, "epoch_rows": None}
        if isinstance(config.get("fusion"), dict):
            config["fusion"] = {**config["fusion"], "ties": "split"}
    return {**description, "config": config, "format_version": 11}, documents


def _from_version_11(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 11 fitted on every label given (`fusion.set_aside_doubtful` False) and its
    trees read a missing value as its column's fill (`trees.native_missing` False)."""
    config = description.get("config")
    if isinstance(config, dict):
        for group, name in (("fusion", "set_aside_doubtful"), ("trees", "native_missing")):
            if isinstance(config.get(group), dict):
                config = {**config, group: {**config[group], name: False}}
    return {**description, "config": config, "format_version": 12}, documents


def _with_setting_default(
    description: dict[str, Any], group: str | None, name: str, value: Any, version: int
) -> dict[str, Any]:
    """`description` as format `version`: its configuration's setting `group.name` (`name`
    with group None) set to `value` where the configuration does not name it (the
    behaviour of the version it was written by, where a later version changed the
    default)."""
    config = description.get("config")
    if isinstance(config, dict) and group is None:
        config = {name: value, **config}
    elif isinstance(config, dict) and isinstance(config.get(group), dict):
        config = {**config, group: {name: value, **config[group]}}
    return {**description, "config": config, "format_version": version}


def _from_version_12(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 12's trees read a categorical column's one-hot columns
    (`trees.native_categories` False)."""
    return _with_setting_default(description, "trees", "native_categories", False, 13), documents


def _from_version_13(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 13 weighed the fused score's pieces by the rules alone
    (`fusion.refit_weights` 0)."""
    return _with_setting_default(description, "fusion", "refit_weights", 0.0, 14), documents


def _from_version_14(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 14's closeness to the labeled anomalies could weigh more than its prior
    (`fusion.proximity_grows` True)."""
    return _with_setting_default(description, "fusion", "proximity_grows", True, 15), documents


def _from_version_15(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 15's cross-fitted pieces moved from their prior (`fusion.supervised_prior`)
    with the closeness to the labels' strength (`fusion.supervised_strength` =
    `fusion.prior_strength`; 4, format 15's default, where the file names none)."""
    config = description.get("config")
    fusion = config.get("fusion") if isinstance(config, dict) else None
    strength = fusion.get("prior_strength", 4.0) if isinstance(fusion, dict) else 4.0
    return (
        _with_setting_default(description, "fusion", "supervised_strength", strength, 16),
        documents,
    )


def _from_version_16(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 16's deviation networks took every epoch's batches on any table
    (`deviation.max_passes` None)."""
    return _with_setting_default(description, "deviation", "max_passes", None, 17), documents


def _from_version_17(
    path: Path, description: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Version 17 pretrained for the rows of `epoch_rows` (`pretrain_epoch_rows` None) and
    grew its trees on every unlabeled row (`trees.max_unlabeled` None)."""
    described = _with_setting_default(description, "trees", "max_unlabeled", None, 18)
    return _with_setting_default(described, None, "pretrain_epoch_rows", None, 18), documents


#: How a directory of format version v is read as version v + 1 (after its checks).
MIGRATIONS: dict[int, Callable[..., tuple[dict[str, Any], dict[str, dict[str, Any]]]]] = {
    8: _from_version_8,
    9: _from_version_9,
    10: _from_version_10,
    11: _from_version_11,
    12: _from_version_12,
    13: _from_version_13,
    14: _from_version_14,
    15: _from_version_15,
    16: _from_version_16,
    17: _from_version_17,
}
#: Every format version this wvad reads: its own and those it migrates.
READABLE_VERSIONS = (*sorted(MIGRATIONS), FORMAT_VERSION)


@contextlib.contextmanager
def unreadable_model(path: Path) -> Iterator[None]:
    """Turn a missing or misshapen tensor met while rebuilding the model at `path` into one
    error that names the directory."""
    try:
        yield
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"the weights in {path} do not match its {CONFIG_FILE}: {exc}") from None


def read_versioned_json(
    path: Path, fmt: str, versions: int | tuple[int, ...], what: str
) -> dict[str, Any]:
    """Read a JSON file wvad wrote with "format" and "format_version" keys, or say why not;
    `versions` are the format versions accepted."""
    versions = (versions,) if isinstance(versions, int) else versions
    payload = _json_object(path)
    if payload.get("format") != fmt:
        raise ValueError(f"{path} does not describe a wvad {what}")
    if payload.get("format_version") not in versions:
        written = (
            f" (written by wvad {payload['wvad_version']})" if "wvad_version" in payload else ""
        )
        raise ValueError(
            f"{path} holds {what} format version {payload.get('format_version')}{written}; "
            f"this wvad reads version(s) {', '.join(map(str, versions))}"
        )
    return payload


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with `prefix`, with it removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _write_bytes(target: Path, payload: bytes, *, replace: bool) -> None:
    """Write `payload` to `target` whole or not at all (`wvad.files.staged`), fsynced."""
    with staged(target, replace=replace) as tmp, tmp.open("wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def _content_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a JSON payload's canonical text (sorted keys), its checksum left out."""
    content = {k: v for k, v in payload.items() if k != _CHECKSUM}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()

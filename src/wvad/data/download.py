"""Find, verify, download and cache the registered datasets.

Lookup order for a registered file: the data folder (``data_dir`` if given, else the
``WVAD_DATA_DIR`` environment variable), then the copy shipped inside the package (the
paper's three tables), then the cache (``WVAD_CACHE_DIR``, else ``~/.cache/wvad``), then a
download into the cache. Every file is checked against the registry's SHA-256 before use,
so a truncated or altered file is never read as data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from wvad.data.readers import read_npz
from wvad.data.registry import SHIPPED_DATASETS, DatasetInfo, get_info
from wvad.files import sha256_of, staged

__all__ = [
    "ChecksumError",
    "DownloadError",
    "cache_dir",
    "dataset_path",
    "default_data_dir",
    "load_dataset",
    "shipped_path",
    "urllib_fetch",
]

#: Seconds to wait for the server on each network operation.
DEFAULT_TIMEOUT = 30.0

#: A transport: fetch(url, timeout) returns the body's bytes or raises OSError.
Fetch = Callable[[str, float], bytes]


class ChecksumError(ValueError):
    """A dataset file's SHA-256 differs from the registry's: corrupted, truncated or altered."""


class DownloadError(OSError):
    """A dataset could not be downloaded; the message names the URL."""


def urllib_fetch(url: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Download ``url`` with the standard library, raising DownloadError on any failure."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"downloading {url} failed: {reason}") from exc


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def shared_folder(variable: str, name: str) -> Path | None:
    """The folder the environment variable `variable` names if set, else ``../shared/NAME``
    next to a source checkout (the folder holding pyproject.toml), else None."""
    from_env = _env_path(variable)
    if from_env is not None:
        return from_env
    root = Path(__file__).resolve().parents[3]
    sibling = root.parent / "shared" / name
    if (root / "pyproject.toml").is_file() and sibling.is_dir():
        return sibling
    return None


def default_data_dir() -> Path | None:
    """The shared dataset folder: ``WVAD_DATA_DIR`` if set, else ``../shared/datasets`` next
    to a source checkout, else None."""
    return shared_folder("WVAD_DATA_DIR", "datasets")


def shipped_path(name: str) -> Path | None:
    """The copy of dataset `name` inside the installed package, or None if none ships."""
    info = get_info(name)
    if info.name not in SHIPPED_DATASETS:
        return None
    path = Path(__file__).resolve().parent / "tables" / info.filename
    return path if path.is_file() else None


def cache_dir() -> Path:
    """The download cache: ``WVAD_CACHE_DIR`` if set, else ``~/.cache/wvad``."""
    return _env_path("WVAD_CACHE_DIR") or Path.home() / ".cache" / "wvad"


def _mismatch(info: DatasetInfo, where: str, actual: str) -> str:
    return (
        f"{where} has SHA-256 {actual}, but dataset {info.name!r} ({info.filename}) "
        f"should have {info.sha256}; the file is corrupted, truncated or a different version"
    )


def _download(info: DatasetInfo, folder: Path, fetch: Fetch, timeout: float) -> Path:
    """Fetch into a temporary file beside the target, verify, then rename into place."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        payload = fetch(info.url, timeout)
    except DownloadError:
        raise
    except OSError as exc:
        raise DownloadError(f"downloading {info.url} failed: {exc}") from exc
    actual = hashlib.sha256(payload).hexdigest()
    if actual != info.sha256:
        where = f"the download from {info.url}"
        raise ChecksumError(_mismatch(info, where, actual) + "; it was not cached")
    target = folder / info.filename
    with staged(target, replace=True) as tmp, tmp.open("wb") as out:
        out.write(payload)
        out.flush()
        os.fsync(out.fileno())
    return target


def dataset_path(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    fetch: Fetch | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Return the path of a verified copy of a registered dataset, downloading it if needed.

    The data folder comes first, then the copy shipped in the package (the paper's three
    tables), then the cache. A file in the data folder with a wrong checksum raises
    ChecksumError and is left alone; a cached file with a wrong checksum is deleted (with a
    warning) and downloaded again.
    ``fetch`` replaces the network transport (``urllib_fetch``), for tests or proxies.
    """
    info = get_info(name)
    folder = Path(data_dir).expanduser() if data_dir is not None else _env_path("WVAD_DATA_DIR")
    looked = []
    if folder is not None:
        candidate = folder / info.filename
        looked.append(str(candidate))
        if candidate.is_file():
            actual = sha256_of(candidate)
            if actual != info.sha256:
                raise ChecksumError(_mismatch(info, str(candidate), actual) + "; it was not used")
            return candidate

    shipped = shipped_path(info.name)
    if shipped is not None:
        actual = sha256_of(shipped)
        if actual != info.sha256:
            raise ChecksumError(_mismatch(info, f"the packaged copy {shipped}", actual))
        return shipped

    cache = cache_dir()
    cached = cache / info.filename
    looked.append(str(cached))
    if cached.is_file():
        actual = sha256_of(cached)
        if actual == info.sha256:
            return cached
        cached.unlink()
        message = _mismatch(info, f"the cached file {cached}", actual) + "; it was deleted"
        if not download:
            raise ChecksumError(message + " (pass download=True to fetch it again)")
        warnings.warn(message + " and will be downloaded again", RuntimeWarning, stacklevel=2)

    if not download:
        raise FileNotFoundError(
            f"dataset {info.name!r} ({info.filename}) not found; looked in: {', '.join(looked)}. "
            "Pass download=True, or point data_dir / WVAD_DATA_DIR at a folder holding it."
        )
    return _download(info, cache, fetch or urllib_fetch, timeout)


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    fetch: Fetch | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a registered dataset by name as ``(X, y)``: float64 features, int64 0/1 labels.

    See :func:`dataset_path` for where the file is looked up and how it is verified.
    """
    path = dataset_path(name, data_dir=data_dir, download=download, fetch=fetch, timeout=timeout)
    return read_npz(path)

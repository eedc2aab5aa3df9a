from __future__ import annotations

import hashlib
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from wvad.data import ChecksumError, DatasetInfo, DownloadError, dataset_path, load_dataset
from wvad.data.download import urllib_fetch
from wvad.data.registry import REGISTRY

X = np.arange(12, dtype=np.float64).reshape(6, 2)
Y = np.array([0, 0, 1, 0, 1, 0])


def _npz_bytes(X, y) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=y)
    return buffer.getvalue()


GOOD = _npz_bytes(X, Y)


class _Server:
    """A tiny HTTP server on 127.0.0.1 serving `self.files` and counting requests."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Keep requests to the local server away from any proxy set in the environment."""
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(variable, "127.0.0.1,localhost")


@pytest.fixture
def tiny(server, tmp_path, monkeypatch):
    """Register a fake dataset served by the local server; isolate cache and data dir."""
    server.files = {"/tiny.npz": GOOD}
    server.hits = 0
    info = DatasetInfo(
        name="tiny",
        filename="tiny.npz",
        url=server.url + "/tiny.npz",
        sha256=hashlib.sha256(GOOD).hexdigest(),
        n_samples=6,
        n_features=2,
        n_anomalies=2,
    )
    monkeypatch.setitem(REGISTRY, "tiny", info)
    monkeypatch.setenv("WVAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("WVAD_DATA_DIR", raising=False)
    return info


def test_download_then_cache(tiny, server, tmp_path):
    X1, y1 = load_dataset("TINY")
    assert server.hits == 1
    np.testing.assert_array_equal(X1, X)
    np.testing.assert_array_equal(y1, Y)
    assert (tmp_path / "cache" / "tiny.npz").read_bytes() == GOOD
    X2, _ = load_dataset("tiny")
    assert server.hits == 1
    np.testing.assert_array_equal(X2, X)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["tiny.npz"]


def test_corrupted_download_rejected_and_not_cached(tiny, server, tmp_path):
    server.files["/tiny.npz"] = GOOD[:-10] + b"0123456789"
    with pytest.raises(ChecksumError, match=r"download from http://127\.0\.0\.1.*not cached"):
        load_dataset("tiny")
    assert list((tmp_path / "cache").iterdir()) == []


def test_truncated_cache_is_replaced(tiny, server, tmp_path):
    cached = tmp_path / "cache" / "tiny.npz"
    cached.parent.mkdir()
    cached.write_bytes(GOOD[: len(GOOD) // 2])
    with pytest.warns(RuntimeWarning, match="downloaded again"):
        X1, _ = load_dataset("tiny")
    assert server.hits == 1
    assert cached.read_bytes() == GOOD
    np.testing.assert_array_equal(X1, X)


def test_truncated_cache_without_download_is_removed(tiny, server, tmp_path):
    cached = tmp_path / "cache" / "tiny.npz"
    cached.parent.mkdir()
    cached.write_bytes(GOOD[:100])
    with pytest.raises(ChecksumError, match="deleted"):
        load_dataset("tiny", download=False)
    assert not cached.exists() and server.hits == 0


def test_bad_file_in_data_dir_is_reported_not_deleted(tiny, server, tmp_path):
    data_dir = tmp_path / "shared"
    data_dir.mkdir()
    bad = _npz_bytes(X + 1, Y)
    (data_dir / "tiny.npz").write_bytes(bad)
    with pytest.raises(ChecksumError, match=r"shared.tiny\.npz.*not used"):
        load_dataset("tiny", data_dir=data_dir)
    assert (data_dir / "tiny.npz").read_bytes() == bad
    assert server.hits == 0


def test_data_dir_from_argument_and_env(tiny, server, tmp_path, monkeypatch):
    data_dir = tmp_path / "shared"
    data_dir.mkdir()
    (data_dir / "tiny.npz").write_bytes(GOOD)
    assert dataset_path("tiny", data_dir=data_dir) == data_dir / "tiny.npz"
    monkeypatch.setenv("WVAD_DATA_DIR", str(data_dir))
    assert dataset_path("tiny") == data_dir / "tiny.npz"
    assert server.hits == 0


def test_missing_without_download(tiny, server):
    with pytest.raises(FileNotFoundError, match=r"'tiny'.*download=True"):
        load_dataset("tiny", download=False)
    assert server.hits == 0


def test_http_error_names_url(tiny, server):
    server.files = {}
    with pytest.raises(DownloadError, match=r"http://127\.0\.0\.1:\d+/tiny\.npz.*404"):
        load_dataset("tiny")


def test_injected_transport_and_wrapped_errors(tiny, tmp_path):
    calls = []

    def fetch(url, timeout):
        calls.append((url, timeout))
        return GOOD

    path = dataset_path("tiny", fetch=fetch, timeout=5.0)
    assert calls == [(tiny.url, 5.0)] and path.read_bytes() == GOOD
    path.unlink()

    def failing(url, timeout):
        raise TimeoutError("timed out")

    with pytest.raises(DownloadError, match=r"tiny\.npz failed: timed out"):
        dataset_path("tiny", fetch=failing)


def test_urllib_fetch_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/x.npz"
        with pytest.raises(DownloadError, match=r"127\.0\.0\.1.*x\.npz"):
            urllib_fetch(url, timeout=0.2)


def test_default_data_dir_prefers_env(monkeypatch, tmp_path):
    from wvad.data import default_data_dir

    monkeypatch.setenv("WVAD_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path

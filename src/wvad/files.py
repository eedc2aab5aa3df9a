"""Writing a file so that nothing the user has is lost: staged beside the target, moved
into place whole, never over a file this run did not mean to replace.

Every file wvad writes (scores, model files, plots, downloads) goes through `staged`:

- the data go to a temporary file in the target's folder, named after the target, this
  machine and this process (`.NAME.HOST.PID.RANDOM.wvad-tmp`), so a leftover says whose it
  is;
- on success it is published: without `replace`, by a hard link that fails if the target
  exists (a file that appeared while wvad ran, or another run's output, is left as it
  is), else by one rename over it;
- on any error, Ctrl-C or a caught signal (the command line turns SIGTERM and SIGHUP into
  an exit) the temporary file is removed; a process killed outright (SIGKILL, power loss)
  leaves it, and the next write to the same target removes it once its process is gone;
- the file gets the mode a new file gets under the user's umask, or the mode of the file
  it replaces.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "leftovers", "new_file_mode", "publish", "sha256_of", "staged"]

TEMP_SUFFIX = ".wvad-tmp"
_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<host>[^.]+)\.(?P<pid>\d+)\.[0-9a-f]+\.wvad-tmp$")


def _host() -> str:
    """This machine's name, with only the characters a temporary name may hold."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def new_file_mode() -> int:
    """The mode a new regular file gets under the process's umask (0o666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def leftovers(target: Path) -> list[Path]:
    """Temporary files of earlier writes to `target` whose process (on this machine) has
    ended: what a killed run left behind."""
    found = []
    for path in target.parent.glob(f".{glob_escape(target.name)}.*{TEMP_SUFFIX}"):
        match = _NAME.match(path.name)
        if match is None or match["target"] != target.name or match["host"] != _host():
            continue
        if not _alive(int(match["pid"])):
            found.append(path)
    return found


def glob_escape(name: str) -> str:
    """`name` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def staged(target: Path, *, replace: bool, binary: bool = True) -> Iterator[Path]:
    """A temporary file beside `target` to write into; published to `target` when the block
    ends without error (`publish`), removed when it does not."""
    target = Path(target)
    for old in leftovers(target):
        old.unlink(missing_ok=True)
    name = f".{target.name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    tmp = target.parent / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        yield tmp
        publish(tmp, target, replace=replace)
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: Path, target: Path, *, replace: bool) -> None:
    """Move the finished `tmp` to `target` with the mode a new file gets (or, replacing,
    the old file's). Without `replace`, refuses when `target` exists by then."""
    mode = new_file_mode()
    if replace and target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    os.chmod(tmp, mode)
    if replace:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic: fails if target exists, whoever made it
    except FileExistsError:
        raise FileExistsError(
            f"{target} appeared while wvad was writing it and was left as it is; "
            "write elsewhere, or pass --force to replace it"
        ) from None
    except OSError as exc:  # a file system without hard links
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if target.exists():
            raise FileExistsError(f"{target} already exists and was left as it is") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

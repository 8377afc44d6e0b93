"""Atomic file replacement, so a web server never serves half an export, nor a killed writer's temp file.

Locks (flock) tell a live writer's temp file from a dead one's: each writer holds its temp file
locked until the rename, and the kernel drops the lock when the process dies, kill -9 included.
A writer also holds the directory shared while it creates and locks its temp file, so a cleaner
(holding the directory exclusively) never meets a temp file that is new and not yet locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from tracker.errors import StorageError


def _same_content(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets you open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(re.escape(f".{path.name}.") + r"[0-9a-f]{12}\.tmp")


@contextlib.contextmanager
def _directory_locked(directory: Path, how: int) -> Iterator[bool]:
    """flock on the directory itself; yields whether it was taken (a busy LOCK_NB, or a filesystem
    without directory locks, yields False)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, how)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


EXPORTS_LOCK_NAME = ".media-tracker-exports.lock"
EXPORTS_LOCK_WAIT_S = 300.0


@contextlib.contextmanager
def exports_locked(directory: Path, *, wait_s: float = EXPORTS_LOCK_WAIT_S) -> Iterator[None]:
    """One regeneration of the website's files at a time, across processes (the hourly ingest, each
    dashboard, `tracker export`). Each reads the approved clips and writes its files under this lock,
    so a writer that read before a takedown can never finish after the one that read after it.

    A lock that cannot be had (a folder that cannot be made, a filesystem without locks) is no reason
    to leave the website stale: the files are written without it, each target failing on its own.
    """
    fd = _open_lock(directory / EXPORTS_LOCK_NAME)
    if fd is None:
        yield
        return
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageError(f"another export has been writing {directory} for over "
                                       f"{wait_s:.0f} s; try again when it has finished") from None
                time.sleep(0.05)
            except OSError:  # no locks on this filesystem (NFS without lockd, some FUSE mounts)
                break
        yield
    finally:
        os.close(fd)  # releases the lock


def _open_lock(path: Path) -> int | None:
    # Read-only: flock needs no write access, so a lock file another user made (root running
    # `tracker clips approve` once) still serves. 0o666: the umask decides, as for the exports.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    for flags in (os.O_RDONLY | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags, 0o666)
        except OSError:
            continue
    return None


def _remove_abandoned(path: Path) -> None:
    """Delete the temp files of `path` whose writer died before its rename.

    Without this, every export killed mid-write (OOM, a deploy, a reboot) would leave a
    dot-file beside the website's files for its web server to serve.
    """
    own = _temp_pattern(path)
    with _directory_locked(path.parent, fcntl.LOCK_EX | fcntl.LOCK_NB) as locked:
        if not locked:
            return  # a writer is creating its temp file this moment, or no directory yet: next time
        try:
            names = [entry.name for entry in os.scandir(path.parent) if own.fullmatch(entry.name)]
        except OSError:
            return  # not readable: the write itself reports what is wrong
        for name in names:
            tmp = path.parent / name
            try:
                fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # renamed into place meanwhile, or not a file of ours
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer's
            finally:
                os.close(fd)
            # By name: had its writer renamed it meanwhile, the name is gone and this does nothing.
            with contextlib.suppress(OSError):
                tmp.unlink()


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> bool:
    """Replace `path` with `data` via a temp file in the same directory + fsync + rename.

    Returns False, touching nothing (mtime included), when the file already holds
    exactly `data`, so "did the export change?" is cheap to answer and caches survive.
    Creates missing parent directories. Raises StorageError when the file cannot be written.
    `private` files (password hashes) are owner-only at every moment, the temp file included.
    Temp files that a killed writer left beside `path` are removed first.
    """
    path = Path(path)
    _remove_abandoned(path)
    if _same_content(path, data):
        return False
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {directory}: {exc.strerror or exc}") from exc

    # Same directory → same filesystem, which is what makes os.replace atomic.
    # os.open with 0o666 lets the umask decide permissions (mkstemp would force 0600,
    # and the web server usually runs as another user).
    with _directory_locked(directory, fcntl.LOCK_SH):  # no cleaner between creating and locking
        while True:
            tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        # A new file: never contended. Held until after the rename, by keeping fd open.
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        try:
            if private:
                os.fchmod(fd, 0o600)  # before any byte is written; the umask could only clear bits
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            if not private:
                with contextlib.suppress(FileNotFoundError):
                    # Keep whatever mode and group the site's admin gave the existing file: a 0640 file
                    # of group www-data must stay readable by the web server after we replace it.
                    existing = path.stat()
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, -1, existing.st_gid)
                    os.fchmod(fd, existing.st_mode & 0o7777)
            os.replace(tmp, path)
        finally:
            os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    _fsync_dir(directory)
    return True

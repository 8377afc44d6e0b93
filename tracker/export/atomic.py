"""Atomic file replacement, so a web server never serves half an export."""

from __future__ import annotations

import contextlib
import os
import secrets
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


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> bool:
    """Replace `path` with `data` via a temp file in the same directory + fsync + rename.

    Returns False, touching nothing (mtime included), when the file already holds
    exactly `data`, so "did the export change?" is cheap to answer and caches survive.
    Creates missing parent directories. Raises StorageError when the file cannot be written.
    `private` files (password hashes) are owner-only at every moment, the temp file included.
    """
    path = Path(path)
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
    while True:
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        try:
            if private:
                os.fchmod(fd, 0o600)  # before any byte is written; the umask could only clear bits
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if not private:
            with contextlib.suppress(FileNotFoundError):
                # Keep whatever mode the site's admin gave the existing file.
                os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    _fsync_dir(directory)
    return True

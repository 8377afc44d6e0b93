"""Local dashboard accounts: a JSON file of usernames, roles and salted scrypt password hashes.

Used when no OIDC provider is configured for Streamlit's `st.login`. The file holds
no plain passwords; each hash carries its own salt and cost parameters, so raising the
cost later does not invalidate existing accounts.

    {"version": 2, "users": {"maria": {"password": "scrypt$16384$8$1$<salt>$<hash>",
                                      "role": "editor", "created_at": "2026-11-24T12:00:00Z"}}}

Version 1 files had no roles: their users were trusted with everything, so they read as admins
(and are written back with "role": "admin" on the next change).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tracker.clock import Clock, system_clock
from tracker.errors import AuthError
from tracker.export.atomic import write_atomic
from tracker.models import Actor, Role
from tracker.roles import Permission, require

DEFAULT_USERS_FILE = "data/users.json"
USERS_FILE_ENV = "TRACKER_USERS_FILE"
# scrypt at N=2**14, r=8 costs ~16 MiB and tens of milliseconds: slow for guessing, fine for sign-in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def users_file_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(USERS_FILE_ENV) or DEFAULT_USERS_FILE)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A self-describing salted scrypt hash of password."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when password hashes to encoded; constant-time comparison."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(_unb64(expected)),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A well-formed hash no password matches, made once, for sign-ins with an unknown username.

    Its digest is random bytes rather than a real scrypt output, so making it costs no
    scrypt: every unknown-username sign-in (the first included) runs scrypt exactly once,
    in verify_password, like a known username with a wrong password.
    """
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        salt, digest = secrets.token_bytes(16), secrets.token_bytes(32)
        _DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"
    return _DUMMY_HASH


def check_username(username: str) -> str:
    if not _USERNAME_RE.match(username):
        raise AuthError(
            f"invalid username {username!r}: use letters, digits, '.', '_', '@' or '-' (at most 64 characters)"
        )
    return username


@dataclass(frozen=True)
class UserRecord:
    username: str
    password_hash: str
    created_at: datetime | None
    role: Role = Role.ADMIN  # users from before roles (file version 1) could do everything


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise AuthError(f"unknown role {text!r}: use viewer, editor or admin") from None


class UsersFile:
    """The users file at path (default data/users.json, env TRACKER_USERS_FILE)."""

    def __init__(self, path: str | Path | None = None, *, clock: Clock = system_clock) -> None:
        self.path = users_file_path(path)
        self.clock = clock

    def load(self) -> dict[str, UserRecord]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise AuthError(f"{self.path}: cannot read users file: {exc}") from None
        users = raw.get("users") if isinstance(raw, dict) else None
        if not isinstance(users, dict):
            raise AuthError(f"{self.path}: not a users file (expected {{\"users\": {{...}}}})")
        out: dict[str, UserRecord] = {}
        for name, record in users.items():
            if not isinstance(record, dict) or not isinstance(record.get("password"), str):
                raise AuthError(f"{self.path}: user {name!r} has no password hash")
            created = record.get("created_at")
            try:
                created_at = datetime.fromisoformat(created.replace("Z", "+00:00")) if isinstance(created, str) else None
            except ValueError:
                raise AuthError(
                    f"{self.path}: user {name!r} has a malformed created_at {str(created)[:40]!r} (expected ISO 8601, "
                    "e.g. 2026-11-24T12:00:00Z)"
                ) from None
            role = record.get("role", Role.ADMIN.value)
            role = role.strip().lower() if isinstance(role, str) else role  # "Editor" typed by hand is editor
            if not isinstance(role, str) or role not in {r.value for r in Role}:  # ["editor"] is no role
                raise AuthError(f"{self.path}: user {name!r} has an unknown role {str(role)[:20]!r} "
                                "(expected viewer, editor or admin)")
            out[name] = UserRecord(username=name, password_hash=record["password"], created_at=created_at,
                                   role=Role(role))
        return out

    def role_of(self, username: str) -> Role | None:
        """The user's role; None when there is no such user."""
        record = self.load().get(username.strip())
        return record.role if record is not None else None

    def actor(self, username: str) -> Actor:
        """The named user acting with their role (NotFound-like AuthError when they have no account)."""
        role = self.role_of(username)
        if role is None:
            raise AuthError(f"no user {username!r} in {self.path}: add one with "
                            f"`tracker users add {username} --role editor`")
        return Actor(username.strip(), role)

    def set_role(self, username: str, role: Role, *, by: Actor | str | None = None) -> None:
        if by is not None:
            require(by, Permission.USERS)
        with self._changing() as users:
            if username not in users:
                raise AuthError(f"no user {username!r}")
            old = users[username]
            users[username] = UserRecord(old.username, old.password_hash, old.created_at, role)

    def names(self) -> list[str]:
        return sorted(self.load())

    def add(self, username: str, password: str, *, replace: bool = False, role: Role | None = None,
            by: Actor | str | None = None) -> bool:
        """Create (or with replace, reset) an account, as an editor unless role says otherwise; a reset
        keeps the role unless one is given. `by`, when given, must be an admin. Returns True when it
        already existed."""
        if by is not None:
            require(by, Permission.USERS)
        check_username(username)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AuthError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        hashed = hash_password(password)  # the slow part, before the file is held
        with self._changing() as users:
            existed = username in users
            if existed and not replace:
                raise AuthError(f"user {username!r} already exists (use --replace to set a new password)")
            kept = users[username].role if existed else Role.EDITOR
            users[username] = UserRecord(username, hashed, self.clock(), role or kept)
        return existed

    def remove(self, username: str, *, by: Actor | str | None = None) -> None:
        if by is not None:
            require(by, Permission.USERS)
        with self._changing() as users:
            if username not in users:
                raise AuthError(f"no user {username!r}")
            del users[username]

    def verify(self, username: str, password: str) -> bool:
        record = self.load().get(username.strip())
        if record is None:
            # One scrypt, as for a wrong password, so timing does not tell which usernames exist.
            verify_password(password, _dummy_hash())
            return False
        return verify_password(password, record.password_hash)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, UserRecord]]:
        """The users, to change and save, held against every other change meanwhile: the dashboard's
        admin page and `tracker users add` at once must not each save a file without the other's user.
        A lock file beside it (flock) for other processes, and a lock for this one's threads."""
        with _THREADS, _file_lock(self.path):
            users = self.load()
            yield users
            self._save(users)

    def _save(self, users: dict[str, UserRecord]) -> None:
        data = {
            "version": 2,
            "users": {
                u.username: {
                    "password": u.password_hash,
                    "role": u.role.value,
                    "created_at": u.created_at.isoformat().replace("+00:00", "Z") if u.created_at else None,
                }
                for u in sorted(users.values(), key=lambda u: u.username)
            },
        }
        # hashes are still worth keeping from other local users
        write_atomic(self.path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), private=True)


_THREADS = threading.Lock()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """flock on a lock file beside the users file: the file itself is replaced on every save (a new
    inode), and its folder is what write_atomic locks."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a")  # noqa: SIM115 - held open for the lock's life
    except OSError as exc:
        raise AuthError(f"{path}: cannot lock the users file: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the flock

"""Local dashboard accounts: salted hashes on disk, verification, and the `tracker users` commands."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tracker.users
from tests.fakes import NOW, FakeClock
from tracker.cli import cli, main
from tracker.errors import AuthError
from tracker.models import Role
from tracker.users import UsersFile, hash_password, verify_password


def test_hash_is_salted_and_verifies() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b, "each hash gets its own salt"
    assert a.startswith("scrypt$") and "correct horse" not in a
    assert verify_password("correct horse", a) and verify_password("correct horse", b)
    assert not verify_password("Correct horse", a)


@pytest.mark.parametrize("encoded", ["", "md5$abc", "scrypt$x$8$1$AAAA$BBBB", "scrypt$16384$8$1$!!$??"])
def test_malformed_hashes_never_verify(encoded: str) -> None:
    assert not verify_password("anything", encoded)


def test_users_file_round_trip(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "sub" / "users.json")
    assert users.load() == {}
    assert users.add("maria", "long enough password") is False
    assert users.verify("maria", "long enough password")
    assert not users.verify("maria", "wrong password!")
    assert not users.verify("nobody", "long enough password")
    raw = json.loads(users.path.read_text())
    assert raw["version"] == 2 and "long enough" not in users.path.read_text()
    assert raw["users"]["maria"]["role"] == "editor" and users.role_of("maria") is Role.EDITOR
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600


def test_duplicate_needs_replace(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "users.json")
    users.add("maria", "first password")
    with pytest.raises(AuthError, match="already exists"):
        users.add("maria", "second password")
    assert users.add("maria", "second password", replace=True) is True
    assert users.verify("maria", "second password") and not users.verify("maria", "first password")


@pytest.mark.parametrize(("name", "password", "problem"), [
    ("bad name", "long enough password", "invalid username"),
    ("", "long enough password", "invalid username"),
    ("maria", "short", "too short"),
])
def test_bad_input_is_refused(tmp_path: Path, name: str, password: str, problem: str) -> None:
    with pytest.raises(AuthError, match=problem):
        UsersFile(tmp_path / "users.json").add(name, password)


def test_corrupt_file_is_an_auth_error(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(AuthError, match="cannot read"):
        UsersFile(path).load()
    path.write_text('{"users": {"maria": {}}}')
    with pytest.raises(AuthError, match="no password hash"):
        UsersFile(path).load()
    for role in (["editor"], {"name": "editor"}, 3):  # edited by hand: a one-line error, never a TypeError
        path.write_text(json.dumps({"users": {"maria": {"password": "x", "role": role}}}))
        with pytest.raises(AuthError, match="unknown role"):
            UsersFile(path).load()


def test_malformed_created_at_is_an_auth_error(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"version": 1, "users": {"maria": {"password": hash_password("long enough"),
                                                                   "created_at": "last tuesday"}}}))
    with pytest.raises(AuthError) as info:
        UsersFile(path).load()
    message = str(info.value)
    assert str(path) in message and "'maria'" in message and "created_at" in message and "\n" not in message
    with pytest.raises(AuthError):
        UsersFile(path).verify("maria", "long enough")  # the sign-in page's path

def test_cli_users_list_reports_malformed_created_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": {"maria": {"password": "scrypt$1$1$1$AA$AA", "created_at": "2026-13-45"}}}))
    with pytest.raises(SystemExit) as info:
        main(["users", "list", "--file", str(path)])
    assert info.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "created_at" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _count_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_unknown_username_costs_one_scrypt_like_a_wrong_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    users = UsersFile(tmp_path / "users.json")
    users.add("maria", "long enough password")
    monkeypatch.setattr(tracker.users, "_DUMMY_HASH", None)  # the first unknown-user sign-in included
    calls = _count_scrypt(monkeypatch)
    for _ in range(2):
        calls.clear()
        assert not users.verify("nobody", "long enough password")
        assert len(calls) == 1, "unknown username: exactly one scrypt"
    calls.clear()
    assert not users.verify("maria", "wrong password!")
    assert len(calls) == 1, "known username, wrong password: exactly one scrypt"
    calls.clear()
    assert users.verify("maria", "long enough password") and len(calls) == 1


def test_dummy_hash_is_made_once_and_matches_nothing() -> None:
    first = tracker.users._dummy_hash()
    assert tracker.users._dummy_hash() is first
    assert first.startswith(f"scrypt${tracker.users.SCRYPT_N}${tracker.users.SCRYPT_R}${tracker.users.SCRYPT_P}$")
    assert not verify_password("", first) and not verify_password("x", first)


def test_users_file_is_never_readable_by_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_umask = os.umask(0o022)  # the usual default, which made the old temp file 0o644
    try:
        path = tmp_path / "users.json"
        seen: list[tuple[str, int]] = []
        real_open, real_replace = os.open, os.replace

        def checking_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            fd = real_open(file, flags, *args, **kwargs)
            if str(file).startswith(str(tmp_path)) and flags & os.O_CREAT:
                seen.append(("created", stat.S_IMODE(os.fstat(fd).st_mode)))
            return fd

        def checking_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if str(src).startswith(str(tmp_path)):
                seen.append(("renamed", stat.S_IMODE(os.stat(src).st_mode)))
                seen.append(("content", len(Path(src).read_bytes())))
            real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "open", checking_open)
        monkeypatch.setattr(os, "replace", checking_replace)
        users = UsersFile(path)
        users.add("maria", "long enough password")
        users.add("devon", "another long password")
        users.remove("devon")
    finally:
        os.umask(old_umask)
    assert [kind for kind, _ in seen] == ["created", "renamed", "content"] * 3, seen
    assert all(mode == 0o600 for kind, mode in seen if kind != "content"), seen
    assert all(n > 0 for kind, n in seen if kind == "content"), "the temp file is complete before the rename"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # No temp file left behind; the lock file that serialises changes stays, empty.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".users.json.lock", "users.json"]


def test_env_var_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "elsewhere.json"))
    assert UsersFile().path == tmp_path / "elsewhere.json"


def test_cli_users_add_with_password_stdin(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "devon", "--password-stdin", "--file", str(path)],
                           input="a fine password\n", obj=FakeClock(NOW))
    assert result.exit_code == 0, result.output
    assert "added user 'devon'" in result.output
    assert UsersFile(path).verify("devon", "a fine password")
    assert UsersFile(path).load()["devon"].created_at == NOW  # the command's clock, not the wall's
    listed = runner.invoke(cli, ["users", "list", "--file", str(path)])
    assert listed.output.strip() == "devon  editor"
    again = runner.invoke(cli, ["users", "add", "devon", "--password-stdin", "--file", str(path)], input="x\n")
    assert again.exit_code != 0


def test_cli_users_add_prompts_twice(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    result = CliRunner().invoke(cli, ["users", "add", "sam", "--file", str(path)],
                                input="a fine password\na fine password\n")
    assert result.exit_code == 0, result.output
    assert UsersFile(path).verify("sam", "a fine password")


def test_accounts_added_at_once_are_all_kept(tmp_path: Path) -> None:
    # The dashboard's admin page and `tracker users add` in two processes, or two admins at once:
    # each add reads, changes and writes the file, and none may write over another's new user.
    import subprocess
    import sys
    import threading

    path = tmp_path / "users.json"
    threads = [threading.Thread(target=UsersFile(path).add, args=(f"thread{i}", "long enough password"))
               for i in range(3)]
    add = ("import sys; from tracker.users import UsersFile; "
           "UsersFile(sys.argv[1]).add(sys.argv[2], 'long enough password')")
    processes = [subprocess.Popen([sys.executable, "-c", add, str(path), f"process{i}"]) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=60) for p in processes] == [0, 0, 0]
    assert UsersFile(path).names() == sorted([*(f"process{i}" for i in range(3)), *(f"thread{i}" for i in range(3))])

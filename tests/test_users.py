"""Local dashboard accounts: salted hashes on disk, verification, and the `tracker users` commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.errors import AuthError
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
    assert raw["version"] == 1 and "long enough" not in users.path.read_text()
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


def test_env_var_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "elsewhere.json"))
    assert UsersFile().path == tmp_path / "elsewhere.json"


def test_cli_users_add_with_password_stdin(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "devon", "--password-stdin", "--file", str(path)],
                           input="a fine password\n")
    assert result.exit_code == 0, result.output
    assert "added user 'devon'" in result.output
    assert UsersFile(path).verify("devon", "a fine password")
    listed = runner.invoke(cli, ["users", "list", "--file", str(path)])
    assert listed.output.strip() == "devon"
    again = runner.invoke(cli, ["users", "add", "devon", "--password-stdin", "--file", str(path)], input="x\n")
    assert again.exit_code != 0


def test_cli_users_add_prompts_twice(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    result = CliRunner().invoke(cli, ["users", "add", "sam", "--file", str(path)],
                                input="a fine password\na fine password\n")
    assert result.exit_code == 0, result.output
    assert UsersFile(path).verify("sam", "a fine password")

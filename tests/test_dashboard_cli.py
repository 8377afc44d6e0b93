"""`tracker dashboard`: the streamlit command line it runs, and demo mode seeding its own database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.cli import dashboard as command
from tracker.store import Store


class Exec(Exception):
    """Stands in for os.execvpe, which would replace the test process."""


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_exec(file: str, args: list[str], env: dict[str, str]) -> None:
        seen.update(file=file, args=args, env=env)
        raise Exec

    monkeypatch.setattr(command.os, "execvpe", fake_exec)
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRACKER_DEMO", raising=False)
    return seen


def test_demo_mode_seeds_and_runs_streamlit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: dict[str, Any]) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--config", "none.yml", "dashboard", "--demo", "--port", "8765"])
    assert isinstance(result.exception, Exec), result.output
    assert "seeded 600 sample clips" in result.output and "signed in as 'demo'" in result.output
    args = captured["args"]
    assert args[1:3] == ["run", str(command.dashboard_app())] and args[-2:] == ["--", "--demo"]
    assert captured["env"]["TRACKER_DEMO"] == "1"
    assert captured["env"]["TRACKER_DATABASE_URL"] == command.DEMO_DB_URL
    store = Store(command.DEMO_DB_URL)  # relative to tmp_path
    try:
        assert store.count_clips() == 600
    finally:
        store.close()


def test_without_demo_uses_the_configured_database(tmp_path: Path, captured: dict[str, Any]) -> None:
    db = f"sqlite:///{tmp_path / 'real.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "dashboard", "--port", "8766"])
    assert isinstance(result.exception, Exec), result.output
    assert captured["env"]["TRACKER_DATABASE_URL"] == db
    assert "TRACKER_DEMO" not in captured["env"] and "--demo" not in captured["args"]
    assert "Dashboard: http://localhost:" in result.output


def test_make_demo_path_serves_the_sample_clips(tmp_path: Path) -> None:
    """What `make demo` runs: ingest the bundled samples, then `tracker dashboard --demo` really serves."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    root = Path(__file__).resolve().parent.parent
    demo = root / "data" / "samples" / "demo.yml"
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    tracker = [sys.executable, "-m", "tracker.cli", "--config", str(demo), "--db", db]
    ingested = subprocess.run([*tracker, "ingest", "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert ingested.returncode == 0 and "new clips" in ingested.stdout, ingested.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([*tracker, "dashboard", "--demo", "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dashboard never answered"
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    store = Store(db)
    # The samples' answer key: 25 matches (two URLs in two feeds each), G10 found by its article, G11 unverified.
    assert store.count_clips() == 25
    store.close()


# ------------------------------------------------------------------ demo mode: one rule, however asked for


@pytest.mark.parametrize("how", ["env", "flag"])
def test_demo_mode_is_refused_on_a_real_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 captured: dict[str, Any], how: str) -> None:
    """`TRACKER_DEMO=1 tracker --db sqlite:///real.db dashboard` once signed every visitor in on real.db."""
    real = f"sqlite:///{tmp_path / 'real.db'}"
    if how == "env":
        monkeypatch.setenv("TRACKER_DEMO", "1")
    result = CliRunner().invoke(cli, ["--db", real, "dashboard", *(["--demo"] if how == "flag" else [])])
    assert result.exit_code == 1 and "args" not in captured, "the dashboard was started"
    message = str(result.exception)
    assert "only on a local SQLite file named demo.db" in message and "real.db" in message
    assert not (tmp_path / "real.db").exists()  # refused before anything was opened or seeded


def test_demo_through_the_environment_uses_the_demo_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             captured: dict[str, Any]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_DEMO", "yes")
    result = CliRunner().invoke(cli, ["--config", "none.yml", "dashboard"])
    assert isinstance(result.exception, Exec), result.output
    assert captured["env"]["TRACKER_DATABASE_URL"] == command.DEMO_DB_URL and captured["env"]["TRACKER_DEMO"] == "1"


def test_a_file_named_demo_db_may_be_given(tmp_path: Path, captured: dict[str, Any]) -> None:
    db = f"sqlite:///{tmp_path / 'elsewhere' / 'demo.db'}"
    result = CliRunner().invoke(cli, ["--config", "none.yml", "--db", db, "dashboard", "--demo"])
    assert isinstance(result.exception, Exec), result.output
    assert captured["env"]["TRACKER_DATABASE_URL"] == db and captured["args"][-1] == "--demo"


def test_without_demo_the_child_never_inherits_tracker_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            captured: dict[str, Any]) -> None:
    monkeypatch.setenv("TRACKER_DEMO", "0")
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'real.db'}", "dashboard"])
    assert isinstance(result.exception, Exec), result.output
    assert "TRACKER_DEMO" not in captured["env"]


def test_a_meaningless_tracker_demo_value_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      captured: dict[str, Any]) -> None:
    monkeypatch.setenv("TRACKER_DEMO", "maybe")
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'real.db'}", "dashboard"])
    assert result.exit_code == 1 and "TRACKER_DEMO='maybe'" in str(result.exception)


def test_a_taken_port_gives_the_next_free_one() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        if port >= 65535 - 20:
            pytest.skip("the system gave a port at the very top of the range")
        chosen = command._free_port(port)
        assert port < chosen <= port + 20  # the next free one: a URL staff can guess
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        unused = free.getsockname()[1]
    assert command._free_port(unused) == unused

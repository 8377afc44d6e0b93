"""`tracker dashboard`: the streamlit command line it runs, and demo mode seeding its own database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.commands import dashboard as command
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
    assert args[1:3] == ["run", str(command.DASHBOARD_APP)] and args[-2:] == ["--", "--demo"]
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

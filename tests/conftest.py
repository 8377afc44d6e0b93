"""Shared fixtures: storage backends (SQLite in tmp_path, PostgreSQL in a fresh schema), a local HTTP server."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

from tests.fakes import FakeClock
from tests.feedserver import FeedServer, running_server
from tests.gnewsserver import FakeGoogleNews, running_google
from tracker.clock import system_clock
from tracker.demo import demo_config_data, seed_store
from tracker.store import Store

# A loaded 2-core CI machine can take longer than Hypothesis' 200 ms per example: that is not a bug.
settings.register_profile("media-tracker", deadline=None)
settings.load_profile("media-tracker")

PG_URL = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = bool(os.environ.get("CI"))
ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("TRACKER_CORPUS", str(ROOT.parent / "shared" / "corpus")))


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


_PG_PROBLEM: str | bool | None = False  # False: not checked yet


def require_postgres() -> None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_available()
    if _PG_PROBLEM:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_URL}: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({_PG_PROBLEM}); runs in CI")


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "", None})
_real_getaddrinfo = socket.getaddrinfo


def _local_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """Names of the internet do not resolve in tests: ingest now reads the articles feeds link to, and a
    test feed's https://example.com/... must fail here as it does offline, never reach the real site."""
    name = host.decode() if isinstance(host, bytes) else host
    try:
        ipaddress.ip_address(str(name).split("%", 1)[0])
        is_address = True
    except ValueError:
        is_address = False
    if name in _LOCAL_NAMES or is_address:
        return _real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (tests never use the internet)")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _local_only_getaddrinfo)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_url(schema)
    finally:
        _pg_exec(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every storage test runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def google() -> Iterator[FakeGoogleNews]:
    """A fake Google News (article pages, batchexecute) on 127.0.0.1."""
    with running_google() as server:
        yield server


def corpus_dir(kind: str) -> Path:
    """Third-party corpus, read in place; skip (locally) when absent."""
    path = CORPUS / kind
    if not path.is_dir():
        if IN_CI:
            pytest.fail(f"corpus missing at {path} (set TRACKER_CORPUS)")
        pytest.skip(f"corpus not found at {path}; set TRACKER_CORPUS to ../shared/corpus")
    return path


# A fixed 'now' for seeded dashboard data (tests compare dates against it).
DASHBOARD_NOW = system_clock().replace(microsecond=0)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A seeded database and a feeds.yml with the demo roster; the app finds both through the environment."""
    config = tmp_path / "feeds.yml"
    config.write_text(yaml.safe_dump(demo_config_data(), sort_keys=False), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'demo.db'}"  # demo mode runs only on a file named demo.db
    store = Store(url)
    seed_store(store, 120, now=DASHBOARD_NOW, days=60)
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("TRACKER_DEMO", "1")
    # The desk's clock held at the seed's "now": dates on the page agree with the data's however long
    # the run takes, and a notice's Undo stays until a test moves the clock (on a loaded machine,
    # 8 s of wall time could pass between a click and its Undo).
    from dashboard import data

    monkeypatch.setattr(data, "clock", FakeClock(DASHBOARD_NOW))
    try:
        yield store
    finally:
        store.close()

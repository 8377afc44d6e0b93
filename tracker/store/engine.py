"""Engines for SQLite and PostgreSQL, with migrations applied on first use (skipped when current)."""

from __future__ import annotations

import fcntl
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SAWarning, SQLAlchemyError
from sqlmodel import create_engine

from tracker.config import DEFAULT_DB_URL
from tracker.errors import StorageError
from tracker.store.migrations import HEAD_REVISION

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_migrate_lock = threading.Lock()


def resolve_db_url(url: str | None = None) -> str:
    return url or os.environ.get("TRACKER_DATABASE_URL") or DEFAULT_DB_URL


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for url; creates the SQLite file's folder and brings the schema up to date."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    else:
        raise StorageError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
    if migrate:
        try:
            if not schema_is_current(engine):
                upgrade(engine)
        except DBAPIError as exc:  # unreachable server, or a file that is not a SQLite database
            raise StorageError(f"cannot open database {parsed.render_as_string()}: {_first_line(exc)}") from None
    return engine


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite runs DDL outside transactions, so two processes creating a fresh database at once
    would both create the tables; an exclusive lock on a file beside it serialises them."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def schema_is_current(engine: Engine) -> bool:
    """Is the database at the packaged head? One SELECT, so the common start imports no Alembic."""
    with engine.connect() as connection:
        try:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        except DBAPIError:  # no version table: a fresh database (any other problem, upgrade reports it)
            return False
    return list(versions) == [HEAD_REVISION]


def upgrade(engine: Engine) -> None:
    """Apply pending Alembic migrations (idempotent; safe from several processes)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with _migrate_lock, _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(734127001)")
        cfg.attributes["connection"] = connection
        with warnings.catch_warnings():
            # SQLite batch migrations reflect tables; SQLAlchemy cannot reflect our expression
            # indexes and says so on every fresh database. They are created by migration 0002.
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection", category=SAWarning)
            command.upgrade(cfg, "head")

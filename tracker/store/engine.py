"""Engines for SQLite and PostgreSQL, with migrations applied on first use (skipped when current).

A SQLite file that this process may not write (a read-only folder or file, a read-only mount, or
`?mode=ro` in the URL) is opened read-only when it is already at the current schema, so commands
that only read still work; anything that must write fails with one line (see StoreBase.session).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SAWarning, SQLAlchemyError
from sqlmodel import create_engine

from tracker.config import DEFAULT_DB_URL
from tracker.errors import StorageError
from tracker.store.migrations import HEAD_REVISION

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_migrate_lock = threading.Lock()
READ_ONLY_OPTION = "tracker_read_only"  # an execution option on engines opened read-only
# PostgreSQL: an unreachable server fails in this long, not the kernel's minutes of TCP retries.
PG_CONNECT_TIMEOUT_S = 10
# PostgreSQL: a statement that waits this long for a lock fails ("canceling statement due to lock
# timeout") instead of waiting for good while the cycle's renewer keeps its lease alive. Our own locks
# are held for milliseconds (one feed's transaction); one held a minute is a dead or forgotten session's.
# A lock timeout, not a statement_timeout: prune, restore and migrations legitimately run for minutes;
# they are only cut short if they wait this long for a lock (migrations do not: see upgrade).
PG_LOCK_TIMEOUT_S = 60.0


def resolve_db_url(url: str | None = None) -> str:
    return url or os.environ.get("TRACKER_DATABASE_URL") or DEFAULT_DB_URL


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _pg_lock_timeout(lock_timeout_s: float) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", (f"{round(lock_timeout_s * 1000)}ms",))
        dbapi_connection.commit()  # the session setting outlives this first transaction either way

    return on_connect


def make_engine(url: str, *, migrate: bool = True, lock_timeout_s: float = PG_LOCK_TIMEOUT_S) -> Engine:
    """An engine for url; creates the SQLite file's folder and brings the schema up to date.

    A SQLite file this process cannot write is opened read-only instead, if it is at the current schema.
    On PostgreSQL, connecting gives up after PG_CONNECT_TIMEOUT_S and waiting for a lock after
    lock_timeout_s, unless the URL sets connect_timeout or lock_timeout itself.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    shown = parsed.render_as_string()
    read_only = False
    if backend == "sqlite":
        path = sqlite_path(parsed)
        read_only = path is not None and _must_open_read_only(parsed, path)
        if read_only and path is not None:
            engine = _read_only_sqlite_engine(path)
        else:
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageError(f"cannot create the folder of database {shown}: {exc.strerror or exc}") from None
                if not path.exists() and not os.access(path.parent, os.W_OK):
                    raise StorageError(f"cannot create database {shown}: its folder is read-only")
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
            url = str(parsed.render_as_string(hide_password=False))
        connect_args: dict[str, Any] = {} if "connect_timeout" in parsed.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        if parsed.drivername == "postgresql+psycopg":
            # No server-side prepared statements: psycopg prepares a query run five times, and PostgreSQL
            # then plans it once for every value. A search is one query text for every word typed; planned
            # for none in particular, a two-word search in the queue took 1.4 s instead of 30 ms.
            connect_args["prepare_threshold"] = None
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args)
        if "lock_timeout" not in str(parsed.query.get("options", "")):
            event.listen(engine, "connect", _pg_lock_timeout(lock_timeout_s))
    else:
        raise StorageError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
    if migrate:
        try:
            if not schema_is_current(engine):
                if read_only:
                    raise StorageError(
                        f"database {shown} is read-only and not at the current schema: open it once with write "
                        "access (any tracker command) to create or migrate it"
                    )
                upgrade(engine)
            if backend == "postgresql":
                from tracker.store.search import restore_search_index

                restore_search_index(engine)  # pg_trgm installed since migration 0008 could not
        except DBAPIError as exc:  # unreachable server, or a file that is not a SQLite database
            raise StorageError(f"cannot open database {shown}: {_first_line(exc)}") from None
        except OSError as exc:  # the migration lock beside a SQLite file could not be created
            raise StorageError(f"cannot create or migrate database {shown}: {exc.strerror or exc}") from None
    return engine


def sqlite_path(parsed: URL) -> Path | None:
    """The file behind a sqlite URL (also `sqlite:///file:PATH?uri=true`); None in memory."""
    database = parsed.database or ""
    if parsed.query.get("uri") in ("true", "1") and database.startswith("file:"):
        database = database[len("file:"):]
    if not database or database == ":memory:":
        return None
    return Path(database)


def known_revisions() -> frozenset[str]:
    """The schema revisions this version knows (versions/NNNN_*.py): a database at any of them can be migrated."""
    return frozenset(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))


def is_read_only(engine: Engine) -> bool:
    return bool(engine.get_execution_options().get(READ_ONLY_OPTION))


def _must_open_read_only(parsed: URL, path: Path) -> bool:
    """Asked for with mode=ro, or an existing file whose folder or self this process may not write.

    The folder matters because SQLite creates its -wal/-shm files (and our migration lock) beside the file.
    """
    if parsed.query.get("mode") == "ro":
        return True
    if not path.exists():
        return False  # to be created: if the folder is read-only, creating it says so
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _read_only_sqlite_engine(path: Path) -> Engine:
    """Reads without writing a byte: not the WAL pragma, not the -shm file, not the migration lock."""

    def connect() -> sqlite3.Connection:
        target = quote(str(path.resolve()))
        # mode=ro reads through a live writer's -wal consistently. It needs the -shm file, which
        # a writer keeps beside it; with no writer, in a folder we cannot write, SQLite cannot create
        # one, and there is then nothing but the file to read: immutable reads it alone.
        try:
            connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True, check_same_thread=False, timeout=30)
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return _read_only_pragmas(connection)
        except sqlite3.Error:
            pass
        connection = sqlite3.connect(f"file:{target}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return _read_only_pragmas(connection)

    engine = create_engine(f"sqlite:///{path}", creator=connect)
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def _read_only_pragmas(connection: sqlite3.Connection) -> sqlite3.Connection:
    connection.execute("PRAGMA busy_timeout=30000")
    connection.execute("PRAGMA query_only=ON")
    return connection


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Two processes creating a fresh SQLite database at once would both create the tables (each
    in its own transaction, the second failing); an exclusive lock on a file beside it serialises them."""
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
            # A migration may wait for another process's migration, or for the dashboard's reads to let
            # an ALTER TABLE through, for longer than the lock timeout: it waits as long as it takes.
            connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
            # Two processes starting at once must not both create the tables.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(734127001)")
        elif connection.dialect.name == "sqlite":
            # One transaction for the whole upgrade, as on PostgreSQL: Python's sqlite3 begins one only
            # before a write, so an ALTER TABLE ahead of it was committed at once, and a migration that
            # failed or was killed later on left its first columns behind ("duplicate column name" on
            # every open after).
            connection.exec_driver_sql("BEGIN")
        _refuse_a_newer_schema(connection)
        cfg.attributes["connection"] = connection
        with warnings.catch_warnings():
            # SQLite batch migrations reflect tables; SQLAlchemy cannot reflect our expression
            # indexes and says so on every fresh database. They are created by migration 0002.
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection", category=SAWarning)
            command.upgrade(cfg, "head")


def _refuse_a_newer_schema(connection: Connection) -> None:
    """A database a newer media-tracker migrated (the software was rolled back): one line saying so,
    not Alembic's "Can't locate revision" traceback, and nothing changed."""
    try:
        with connection.begin_nested():  # rolled back on failure, so PostgreSQL's transaction stays usable
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except DBAPIError:
        versions = []  # a fresh database
    unknown = sorted(set(versions) - known_revisions())
    if unknown:
        raise StorageError(f"this database was migrated by a newer media-tracker (schema {unknown[0]}; this version "
                           f"knows up to {HEAD_REVISION}): upgrade media-tracker, or restore a backup this version made")

"""`tracker backup` / `tracker restore`: a consistent copy of the database, and putting one back.

SQLite goes through its online backup API: the copy is one snapshot taken in one step, so it is
consistent while the scheduler and the dashboard keep writing (WAL readers never block writers).
The backup is a single self-contained SQLite file (journal mode DELETE), written beside its
final name and renamed into place.

PostgreSQL goes through `pg_dump --format=custom` of the tracker's schema and `pg_restore` of it,
when those are on PATH (from the PostgreSQL client package matching the server's major version);
otherwise the error says how to run them by hand.

Restore checks that the file is a tracker backup from this version or an older one (migrated on
the way in), refuses to replace a database that holds anything unless forced, refuses while an
ingest cycle is running, and never restores the backup's lease (a stale "cycle running" claim).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from tracker.errors import StorageError, TrackerError
from tracker.store import Store, resolve_db_url
from tracker.store.engine import known_revisions, make_engine, sqlite_path
from tracker.store.runs import CYCLE_LEASE, lease_is_void
from tracker.store.search import PG_INDEX
from tracker.store.tables import AuditRow, ClipRow, FeedRow, IngestRunRow, LeaseRow

# A backup must hold these; a database with rows in CONTENT_TABLES is "not empty".
REQUIRED_TABLES = ("alembic_version", "clip", "mention", "clip_source", "feed", "ingest_run", "audit", "lease")
CONTENT_TABLES = {"clip": ClipRow, "feed": FeedRow, "ingest_run": IngestRunRow, "audit": AuditRow}
PG_DUMP_BY_HAND = ("pg_dump --format=custom --schema=SCHEMA --file=PATH 'postgresql://USER@HOST/DB'; to restore, "
                   "pg_restore --list PATH | grep -v ' SCHEMA - ' > LIST and pg_restore --clean --if-exists "
                   "--no-owner --single-transaction --use-list=LIST --dbname='postgresql://USER@HOST/DB' PATH "
                   "(README.md, 'Backup, restore and prune')")


@dataclass(frozen=True)
class Counts:
    clips: int
    feeds: int
    runs: int
    audit: int

    def __str__(self) -> str:
        return f"{self.clips} clips, {self.feeds} feeds, {self.runs} ingest runs, {self.audit} audit entries"

    @property
    def empty(self) -> bool:
        return not (self.clips or self.feeds or self.runs or self.audit)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    revision: str
    counts: Counts


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    revision: str  # the backup's schema revision (the database is migrated to the current one after)
    counts: Counts
    replaced: Counts  # what the database held before


# ------------------------------------------------------------------ backup


def backup(store: Store, path: Path, *, force: bool = False) -> BackupReport:
    """Write a consistent copy of the store's database to path (a file; replaced only with force)."""
    path = Path(path)
    if path.exists() and not force:
        raise TrackerError(f"{path} already exists: choose a new name, or --force to replace it")
    if path.is_dir():
        raise TrackerError(f"{path} is a folder: give the backup file's name")
    if store.dialect == "sqlite":
        return _sqlite_backup(store, path)
    return _pg_backup(store, path)


def _sqlite_backup(store: Store, path: Path) -> BackupReport:
    source = sqlite_path(store.engine.url)
    if source is None:
        raise TrackerError("an in-memory database cannot be backed up")
    if path.resolve() == source.resolve():
        raise TrackerError(f"{path} is the database itself: back it up to another file")
    with _temp_beside(path) as tmp:
        raw = store.engine.raw_connection()
        try:
            live = raw.driver_connection
            assert isinstance(live, sqlite3.Connection)
            with closing(sqlite3.connect(tmp)) as copy:
                # pages=-1 copies every page in one step: one read snapshot of the source, so the copy is
                # consistent even while other processes commit (a stepped copy would restart on their writes).
                live.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                problem = copy.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise StorageError(f"the copy failed its integrity check: {problem}")
        except sqlite3.Error as exc:
            raise StorageError(f"backup failed: {exc}") from None
        finally:
            raw.close()
        revision, counts = _check_sqlite_backup(tmp)
    return BackupReport(path=path, size=path.stat().st_size, revision=revision, counts=counts)


def _pg_backup(store: Store, path: Path) -> BackupReport:
    pg_dump = _pg_tool("pg_dump")
    schema = _pg_schema(store.engine)
    conninfo, env = _libpq(store.url)
    with _temp_beside(path) as tmp:
        _run([pg_dump, "--format=custom", f'--schema="{schema}"', "--no-password", f"--file={tmp}",
              f"--dbname={conninfo}"], env, "pg_dump")
        revision, _ = _check_pg_backup(tmp, env)
    with Session(store.engine) as s:
        counts = _counts(s)
    return BackupReport(path=path, size=path.stat().st_size, revision=revision, counts=counts)


# ------------------------------------------------------------------ restore


def restore(url: str | None, path: Path, *, now: datetime, force: bool = False) -> RestoreReport:
    """Replace the database at url with the backup at path; see the module docstring for the checks."""
    url = resolve_db_url(url)
    path = Path(path)
    if not path.is_file():
        raise TrackerError(f"{path}: no such backup file")
    engine = make_engine(url, migrate=False)  # not migrated: an empty target gets its schema from the backup
    try:
        if engine.dialect.name == "sqlite":
            revision, _ = _check_sqlite_backup(path)
            replaced = _guard_target(engine, now, force)
            _sqlite_restore(engine, path)
        else:
            conninfo, env = _libpq(url)
            revision, toc = _check_pg_backup(path, env)
            replaced = _guard_target(engine, now, force)
            _pg_restore(engine, conninfo, env, toc, path)
    finally:
        engine.dispose()
    store = Store(url)  # migrates a backup from an older version to the current schema
    try:
        with store.session() as s:
            s.execute(delete(LeaseRow))  # the backup's lease, if any, is a claim by a process long gone
            counts = _counts(s)
    finally:
        store.close()
    return RestoreReport(path=path, revision=revision, counts=counts, replaced=replaced)


def _guard_target(engine: Engine, now: datetime, force: bool) -> Counts:
    """What the target holds; refuses a running cycle, and a non-empty database without force."""
    try:
        tables = set(inspect(engine).get_table_names())
        if not {"clip", "lease"} <= tables:
            return Counts(0, 0, 0, 0)
        with Session(engine) as s:
            lease = s.get(LeaseRow, CYCLE_LEASE)
            counts = _counts(s)
    except DBAPIError as exc:
        raise StorageError(f"cannot read the database to restore into: {_first_line(exc)}") from None
    if lease is not None and not lease_is_void(lease.acquired_at, lease.expires_at, now):
        raise TrackerError(f"an ingest cycle is running (held by {lease.owner}): stop `tracker schedule` "
                           "and wait for it before restoring")
    if not counts.empty and not force:
        raise TrackerError(f"the database already holds {counts}: restore over it only with --force")
    return counts


def _sqlite_restore(engine: Engine, path: Path) -> None:
    target = sqlite_path(engine.url)
    if target is not None and target.exists() and target.resolve() == path.resolve():
        raise TrackerError(f"{path} is the database itself")
    raw = engine.raw_connection()
    try:
        live = raw.driver_connection
        assert isinstance(live, sqlite3.Connection)
        with closing(_open_read_only(path)) as source:
            # Through the backup API, not a file copy: other connections to the database (a dashboard)
            # wait on its lock and then see the restored content, instead of a file swapped under them.
            source.backup(live, pages=-1)
    except sqlite3.Error as exc:
        raise StorageError(f"restore failed: {exc}") from None
    finally:
        raw.close()


def _pg_restore(engine: Engine, conninfo: str, env: dict[str, str], toc: _Toc, path: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    schema = _pg_schema(engine)
    if toc.schema != schema:
        raise TrackerError(f"{path} holds schema {toc.schema!r} but this database uses {schema!r}: "
                           f"restore it by hand with pg_restore ({PG_DUMP_BY_HAND})")
    listing = path.with_name(f".{path.name}.{os.getpid()}.list")
    # Everything but the schema itself: --clean must drop and recreate our tables, never the schema
    # (public may hold other things), and the backup's lease row is not restored.
    listing.write_text("".join(line + "\n" for line in toc.lines if not _is_schema_entry(line)
                               and not _is_lease_data(line, schema)), encoding="utf-8")
    newer = _tables_newer_than(engine, schema, toc)
    if any(PG_INDEX in line for line in toc.lines):
        _ensure_pg_trgm(engine, _trgm_schema_in(pg_restore, path, env))
    try:
        if not newer:
            _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                  "--exit-on-error", "--no-password", f"--use-list={listing}", f"--dbname={conninfo}", str(path)],
                 env, "pg_restore")
        else:
            # A backup older than the database: tables later migrations added (clip_search refers to clip)
            # are not in it, and --clean cannot drop what they depend on. They are dropped first, in the
            # same transaction as the restore (its SQL run through psql), so a failure still changes nothing.
            drops = " ".join(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE;' for table in newer)
            # pg_restore's SQL streams into psql (a backup's script is as large as the backup)
            with subprocess.Popen([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
                                   f"--use-list={listing}", "--file=-", str(path)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) as script:
                assert script.stdout is not None and script.stderr is not None
                failed: StorageError | None = None
                try:
                    _run([_pg_tool("psql"), "--single-transaction", "--set=ON_ERROR_STOP=1", "--quiet",
                          "--no-password", f"--dbname={conninfo}", f"--command={drops}", "--file=-"], env, "restore",
                         stdin_stream=script.stdout)
                except StorageError as exc:
                    failed = exc  # psql's reason first: pg_restore then only saw its reader go away
                script.stdout.close()
                problem = script.stderr.read().decode("utf-8", "replace").strip()
                if failed is None and script.wait() != 0:
                    failed = StorageError(f"pg_restore failed: {problem.splitlines()[0] if problem else 'no output'}")
                if failed is not None:
                    raise failed
    finally:
        listing.unlink(missing_ok=True)


_TRGM_OPS = re.compile(r'("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)\.gin_trgm_ops')


def _trgm_schema_in(pg_restore: str, path: Path, env: dict[str, str]) -> str:
    """The schema the backup's search index names pg_trgm's operator class in (where the source database
    kept the extension: public, or a hosting provider's `extensions`)."""
    script = _run([pg_restore, "--schema-only", "--file=-", str(path)], env, "pg_restore --schema-only")
    found = _TRGM_OPS.search(script)
    return found.group(1).strip('"') if found else "public"


def _ensure_pg_trgm(engine: Engine, schema: str) -> None:
    """The backup's search index uses pg_trgm, which a database made with createdb does not have and
    pg_dump of one schema does not carry: installed first, in the schema the index names."""
    try:
        with engine.begin() as connection:
            present = connection.exec_driver_sql(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'").scalar()
            if present is None:
                quoted = '"' + schema.replace('"', '""') + '"'
                connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
                connection.exec_driver_sql(f"CREATE EXTENSION pg_trgm SCHEMA {quoted}")
            elif str(present).strip('"') != schema:
                raise StorageError(
                    f"this backup's search index names pg_trgm in schema {schema!r}, but this database has it in "
                    f"{str(present).strip(chr(34))!r}: restore by hand with pg_restore ({PG_DUMP_BY_HAND})")
    except DBAPIError as exc:
        raise StorageError(
            f"this backup's search index needs the pg_trgm extension (in schema {schema!r}), which this database "
            f"lacks and this role may not install ({str(exc.orig or exc).strip().splitlines()[0]}): have an "
            f"administrator run CREATE EXTENSION pg_trgm SCHEMA {schema} in it, then restore again") from None


def _tables_newer_than(engine: Engine, schema: str, toc: _Toc) -> list[str]:
    """The tracker's tables in the database that the backup does not have (later migrations added
    them). Only the tracker's own: other tables sharing the schema are never touched."""
    archived = {m.group(2) for line in toc.lines if (m := _TOC_TABLE.match(line)) and m.group(1) == schema}
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names(schema=schema))
    return sorted((present & set(SQLModel.metadata.tables)) - archived)


# ------------------------------------------------------------------ checking a backup


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)


_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_DUMP_MAGIC = b"PGDMP"


def _refuse_other_backend(path: Path, expected: bytes) -> None:
    """A PostgreSQL archive handed to SQLite (or the other way round) gets a message that says so."""
    with open(path, "rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    if expected != _SQLITE_MAGIC and head.startswith(_SQLITE_MAGIC):
        raise TrackerError(f"{path} is a SQLite database, not a PostgreSQL backup: restore it into a SQLite database")
    if expected != _PG_DUMP_MAGIC and head.startswith(_PG_DUMP_MAGIC):
        raise TrackerError(f"{path} is a PostgreSQL backup (pg_dump): restore it into a PostgreSQL database")


def _check_sqlite_backup(path: Path) -> tuple[str, Counts]:
    """(schema revision, counts) of a tracker backup; TrackerError when it is not one we can restore."""
    _refuse_other_backend(path, _SQLITE_MAGIC)
    try:
        with closing(_open_read_only(path)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if missing:
                raise TrackerError(f"{path} is not a media-tracker backup (no {', '.join(missing)} table)")
            revision = _revision(path, [row[0] for row in db.execute("SELECT version_num FROM alembic_version")])
            counts = Counts(*(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CONTENT_TABLES))
    except sqlite3.DatabaseError as exc:
        raise TrackerError(f"{path} is not a media-tracker backup: {exc}") from None
    return revision, counts


@dataclass(frozen=True)
class _Toc:
    schema: str
    lines: tuple[str, ...]


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ")
_TOC_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


def _is_schema_entry(line: str) -> bool:
    return " SCHEMA - " in line or " COMMENT - SCHEMA " in line


def _is_lease_data(line: str, schema: str) -> bool:
    match = _TOC_DATA.match(line)
    return match is not None and match.groups() == (schema, "lease")


def _check_pg_backup(path: Path, env: dict[str, str]) -> tuple[str, _Toc]:
    _refuse_other_backend(path, _PG_DUMP_MAGIC)
    pg_restore = _pg_tool("pg_restore")
    listed = _run([pg_restore, "--list", str(path)], env, "pg_restore --list",
                  failure=lambda line: TrackerError(f"{path} is not a media-tracker backup: {line}"))
    lines = tuple(line for line in listed.splitlines() if line and not line.startswith(";"))
    tables: dict[str, set[str]] = {}
    for line in lines:
        match = _TOC_TABLE.match(line)
        if match:
            tables.setdefault(match.group(1), set()).add(match.group(2))
    schemas = [s for s, names in tables.items() if set(REQUIRED_TABLES) <= names]
    if len(schemas) != 1:
        raise TrackerError(f"{path} is not a media-tracker backup (no schema with the tracker's tables)")
    schema = schemas[0]
    data = _run([pg_restore, "--data-only", f"--schema={schema}", "--table=alembic_version", "--file=-", str(path)],
                env, "pg_restore")
    # The table's rows follow its COPY line, up to the "\." that ends them.
    rows = data.split("FROM stdin;\n", 1)[1].split("\n\\.", 1)[0].split("\n") if "FROM stdin;\n" in data else []
    return _revision(path, [r for r in rows if r]), _Toc(schema, lines)


def _revision(path: Path, versions: list[str]) -> str:
    if len(versions) != 1:
        raise TrackerError(f"{path} is not a media-tracker backup (schema version {versions or 'missing'})")
    if versions[0] not in known_revisions():
        raise TrackerError(f"{path} was made by a newer media-tracker (schema {versions[0]}): upgrade this one first")
    return versions[0]


def _counts(s: Session) -> Counts:
    return Counts(*(int(s.execute(select(func.count()).select_from(row)).scalar_one())
                    for row in CONTENT_TABLES.values()))


# ------------------------------------------------------------------ helpers


@contextmanager
def _temp_beside(path: Path) -> Iterator[Path]:
    """A temporary name in path's folder, renamed to path when the block succeeds (never half a backup).
    A folder that cannot be made or written is a StorageError naming it, not a traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TrackerError(f"{name} is not on PATH: install the PostgreSQL client tools of your server's version "
                           f"(Debian: apt install postgresql-client), or by hand: {PG_DUMP_BY_HAND}")
    return found


def _pg_schema(engine: Engine) -> str:
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    if not schema:
        raise StorageError("the database's search_path names no existing schema")
    return str(schema)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the tools, and their environment: the password goes in PGPASSWORD,
    not on a command line that `ps` shows to every user."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _run(args: list[str], env: dict[str, str], what: str,
         failure: Callable[[str], TrackerError] | None = None, *, stdin_stream: IO[bytes] | None = None) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, stdin=stdin_stream)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        line = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else f"exit {done.returncode}")
        raise (failure or (lambda ln: StorageError(f"{what} failed: {ln}")))(line)
    return done.stdout


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig or exc).strip().splitlines()[0]

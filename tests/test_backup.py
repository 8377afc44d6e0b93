"""`tracker backup` / `tracker restore` on SQLite (online backup API) and PostgreSQL (pg_dump/pg_restore).

Round trips on both backends through the CLI; a SQLite backup taken while another process
commits is checked for consistency; restore refuses what it must refuse.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner, Result

from tests.conftest import _pg_exec
from tests.fakes import NOW, FakeClock
from tracker.cli import cli
from tracker.demo import seed_store
from tracker.models import ClipFilter, ClipStatus
from tracker.store import Store
from tracker.store.migrations import HEAD_REVISION
from tracker.store.runs import CYCLE_LEASE

ROOT = Path(__file__).resolve().parent.parent


def tracker(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", "none.yml", "--db", db_url, *args], obj=FakeClock(NOW))


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a restore must bring back, in comparable form."""
    clips = store.list_clips(limit=1000).clips
    return {
        "clips": sorted((c.id, c.status.value, c.display_headline, tuple(sorted(m.target_id for m in c.mentions)))
                        for c in clips),
        "audit": sorted((e.clip_id, e.user, e.action, e.at) for c in clips for e in store.history(c.id)),
        "feeds": sorted((f.id, f.last_status, f.consecutive_failures) for f in store.feed_health(include_inactive=True)),
        "runs": sorted((r.id, r.outcome, r.items_seen) for r in store.recent_runs(100)),
    }


def empty_database(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).unlink()
    else:
        schema = unquote(db_url).rsplit("search_path=", 1)[1]
        _pg_exec(f"DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}")


def test_backup_and_restore_round_trip(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    seed_store(store, 40, now=NOW)
    new = store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=3).clips
    store.set_status([c.id for c in new], ClipStatus.APPROVED, "maria", NOW)  # audit entries to bring back
    saved = snapshot(store)
    backup = tmp_path / "nightly.backup"

    made = tracker(db_url, "backup", str(backup))
    assert made.exit_code == 0, made.output
    assert made.output.startswith("backed up 40 clips, ") and f"(schema {HEAD_REVISION})" in made.output
    again = tracker(db_url, "backup", str(backup))
    assert again.exit_code == 1 and "already exists" in str(again.exception)

    # Work done after the backup is what a restore takes back, and only when forced.
    store.set_status([saved["clips"][0][0]], ClipStatus.REJECTED, "ana", NOW + timedelta(hours=1))
    last_run = store.start_run("host:9:9", 1, NOW + timedelta(hours=1))
    refused = tracker(db_url, "restore", str(backup))
    assert refused.exit_code == 1 and "restore over it only with --force" in str(refused.exception)
    forced = tracker(db_url, "restore", "--force", str(backup))
    assert forced.exit_code == 0, forced.output
    assert "restored 40 clips" in forced.output and "; replaced 40 clips" in forced.output
    assert snapshot(store) == saved

    # Into an empty database, no --force needed; ids keep counting from where the backup left off.
    store.close()
    empty_database(db_url)
    restored = tracker(db_url, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    store = Store(db_url)
    try:
        assert snapshot(store) == saved
        assert store.start_run("host:9:9", 1, NOW) >= last_run
    finally:
        store.close()


def test_an_older_backup_restores_over_a_current_database(tmp_path: Path, db_url: str) -> None:
    # Last month's backup, taken at schema 0005, restored over today's database: the tables later
    # migrations added (clip_search refers to clip) must not stop it, and the result is migrated.
    from tests.test_migrations import _upgrade_to, insert_old_clip
    from tracker.backup import backup, restore
    from tracker.store.engine import make_engine

    _upgrade_to(db_url, "0005")
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        insert_old_clip(conn, "c1", "Old clip")
    path = tmp_path / "old.backup"
    backup(Store(db_url, engine=engine), path)
    engine.dispose()
    store = Store(db_url)  # today's database, at the head revision, with a clip of its own
    store.close()
    restore(db_url, path, now=NOW, force=True)
    store = Store(db_url)
    try:
        assert [c.id for c in store.all_clips()] == ["c1"] and store.get_clip("c1").title == "Old clip"
        assert [c.id for c in store.list_clips(ClipFilter(text="old clip")).clips] == ["c1"]  # searchable again
    finally:
        store.close()


def test_restore_refuses_what_is_not_a_tracker_backup(tmp_path: Path, db_url: str) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup\n", encoding="utf-8")
    result = tracker(db_url, "restore", str(junk))
    assert result.exit_code == 1 and "is not a media-tracker backup" in str(result.exception)

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
    db.close()
    result = tracker(db_url, "restore", str(other))
    assert result.exit_code == 1
    if db_url.startswith("sqlite"):
        assert "not a media-tracker backup (no alembic_version, clip" in str(result.exception)
    else:
        assert "is a SQLite database, not a PostgreSQL backup: restore it into a SQLite database" in str(result.exception)


def test_restore_refuses_a_backup_from_a_newer_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    Store(url).close()
    backup = tmp_path / "b.db"
    assert tracker(url, "backup", str(backup)).exit_code == 0
    with sqlite3.connect(backup) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    db.close()
    result = tracker(url, "restore", "--force", str(backup))
    assert result.exit_code == 1 and "made by a newer media-tracker (schema 9999)" in str(result.exception)


def test_restore_refuses_while_an_ingest_cycle_runs(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    backup = tmp_path / "b.backup"
    try:
        assert store.acquire_lease(CYCLE_LEASE, "scheduler-host:7:1", timedelta(minutes=5), NOW)
        assert tracker(db_url, "backup", str(backup)).exit_code == 0  # backing up while a cycle runs is fine
        result = tracker(db_url, "restore", "--force", str(backup))
        assert result.exit_code == 1 and "an ingest cycle is running (held by scheduler-host:7:1)" in str(result.exception)
        store.release_lease(CYCLE_LEASE, "scheduler-host:7:1")
        assert tracker(db_url, "restore", "--force", str(backup)).exit_code == 0
        assert store.lease_holder(CYCLE_LEASE, NOW) is None  # the backup's lease is not brought back
    finally:
        store.close()


def test_without_pg_dump_on_path_the_error_says_how_by_hand(tmp_path: Path, pg_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    Store(pg_url).close()
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no PostgreSQL client tools on it
    result = tracker(pg_url, "backup", str(tmp_path / "x.dump"))
    assert result.exit_code == 1
    message = str(result.exception)
    assert "pg_dump is not on PATH" in message and "pg_dump --format=custom --schema=SCHEMA" in message
    assert "\n" not in message


_WRITER = textwrap.dedent("""
    import itertools, sys
    from datetime import UTC, datetime
    from sqlalchemy import insert
    from tracker.store import Store
    from tracker.store.tables import AuditRow

    store = Store(sys.argv[1])
    print("writing", flush=True)
    for i in itertools.count():
        with store.session() as s:  # one transaction of exactly 50 rows
            s.execute(insert(AuditRow), [{"clip_id": f"c{i}", "user": "w", "action": "x",
                                          "at": datetime(2026, 1, 1, tzinfo=UTC), "detail": str(j)} for j in range(50)])
""")


def test_a_sqlite_backup_is_consistent_while_another_process_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = Store(url)
    seed_store(store, 200, now=NOW)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    counts = []
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        for i in range(3):
            time.sleep(0.3)
            path = tmp_path / f"b{i}.db"
            result = tracker(url, "backup", str(path))
            assert result.exit_code == 0, result.output
            with sqlite3.connect(path) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
                audit = db.execute("SELECT count(*) FROM audit").fetchone()[0]
                assert db.execute("SELECT count(*) FROM clip").fetchone()[0] == 200
            db.close()
            assert audit % 50 == 0, f"backup {i} caught a transaction half-written ({audit} rows)"
            counts.append(audit)
        assert writer.poll() is None, writer.communicate()[1]  # the writer was never blocked into failing
    finally:
        writer.kill()
        writer.communicate()
        store.close()
    assert counts[0] < counts[1] < counts[2], f"the writer was not writing during the backups: {counts}"


@pytest.mark.parametrize("trgm_schema", ["public", "extensions"])
def test_a_postgresql_backup_restores_into_a_database_just_made_with_createdb(tmp_path: Path, trgm_schema: str) -> None:
    # The disaster-recovery case: a new server, `createdb`, `tracker restore`. The search index needs
    # pg_trgm, which a new database lacks and a dump of one schema does not carry; hosting providers
    # keep extensions in a schema of their own (`extensions`), which the index then names.
    import uuid

    import psycopg

    from tests.conftest import PG_URL, require_postgres

    require_postgres()
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    names = [f"bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name}")
    source, fresh = (PG_URL.rsplit("/", 1)[0] + f"/{name}" for name in names)
    try:
        if trgm_schema != "public":
            with psycopg.connect(PG_URL.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
                                 + f"/{names[0]}", autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {trgm_schema}")
                conn.execute(f"CREATE EXTENSION pg_trgm SCHEMA {trgm_schema}")
        store = Store(source)
        seed_store(store, 20, now=NOW)
        saved = snapshot(store)
        store.close()
        backup = tmp_path / "nightly.backup"
        assert tracker(source, "backup", str(backup)).exit_code == 0
        restored = tracker(fresh, "restore", str(backup))
        assert restored.exit_code == 0, restored.output
        store = Store(fresh)
        try:
            assert snapshot(store) == saved
        finally:
            store.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

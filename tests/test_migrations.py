"""Schema upgrades keep the data, and two processes starting on a fresh database do not collide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text

from tracker.store import Store
from tracker.store.engine import MIGRATIONS_DIR, make_engine
from tracker.store.migrations import HEAD_REVISION


def _upgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url, migrate=False)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    engine.dispose()


def test_upgrading_a_database_from_the_first_schema_keeps_its_data(db_url: str) -> None:
    _upgrade_to(db_url, "0001")
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO feed (id, url, configured_url, name, kind, search_for, tags, active, title, "
            "consecutive_failures, items_seen_last) VALUES "
            "('paper', 'https://p.example/rss', 'https://p.example/rss', 'Paper', 'feed', '', '[]', true, '', 0, 0)"))
        conn.execute(text(
            "INSERT INTO clip (id, canonical_url, url, title, summary, content, author, published_raw, outlet, "
            "first_seen_at, updated_at, status, featured, tags, manual) VALUES "
            "('c1', 'https://p.example/a', 'https://p.example/a', 'Old clip', '', '', '', '', 'Paper', "
            "'2025-01-02 03:04:05', '2025-01-02 03:04:05', 'approved', false, '[]', false)"))
        conn.execute(text(
            "INSERT INTO mention (clip_id, kind, target_id, term, field, snippet, hit_start, hit_end, manual) "
            "VALUES ('c1', 'member', 'kendra-brooks', 'Kendra Brooks', 'title', 'Kendra Brooks', 0, 13, false)"))
    engine.dispose()

    store = Store(db_url)  # upgrades to the newest schema on first use
    clip = store.get_clip("c1")
    assert clip.title == "Old clip" and clip.member_ids == ("kendra-brooks",)  # mention not suppressed
    assert clip.first_seen_at.year == 2025 and clip.first_seen_at.utcoffset() is not None
    (feed,) = store.feed_health()
    assert feed.name == "Paper" and feed.consecutive_failures == 0
    assert store.feed_state("paper").newest_item_at is None  # the column added later
    store.close()


def test_two_processes_starting_on_a_fresh_database_both_succeed(db_url: str) -> None:
    """Scheduler and dashboard hosts may start at the same moment on an empty database."""
    script = "import sys; from tracker.store import Store; Store(sys.argv[1]).close(); print('ok')"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    store = Store(db_url)
    assert store.list_clips().clips == ()
    store.close()


def test_sqlite_file_in_a_new_folder(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a' / 'b' / 'tracker.db'}")
    assert store.recent_runs() == []
    store.close()


def test_the_head_revision_constant_is_the_migration_scripts_head() -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]


def test_opening_a_current_database_does_not_import_alembic(db_url: str) -> None:
    """The migration check at every start is one SELECT; Alembic is imported only to migrate."""
    script = "import sys; from tracker.store import Store; Store(sys.argv[1]).close(); print('alembic' in sys.modules)"

    def alembic_imported() -> str:
        done = subprocess.run([sys.executable, "-c", script, db_url], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert alembic_imported() == "True"  # a fresh database is migrated
    assert alembic_imported() == "False"  # now current: no Alembic
    store = Store(db_url)
    assert store.list_clips().clips == ()
    store.close()

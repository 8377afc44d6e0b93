"""Schema upgrades keep the data, and two processes starting on a fresh database do not collide."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from tracker.normalize import canonical_url, clip_id_for
from tracker.store import Store
from tracker.store.engine import MIGRATIONS_DIR, make_engine
from tracker.store.migrations import HEAD_REVISION


def _migrate(url: str, step: Callable[[AlembicConfig, str], None], revision: str) -> None:
    engine = make_engine(url, migrate=False)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        step(cfg, revision)
    engine.dispose()


def _upgrade_to(url: str, revision: str) -> None:
    _migrate(url, command.upgrade, revision)


def _downgrade_to(url: str, revision: str) -> None:
    _migrate(url, command.downgrade, revision)


def insert_old_clip(conn: Connection, clip_id: str, title: str, **more: object) -> None:
    """A clip row written straight into a database at an older revision (the models know only the
    newest schema): the columns every revision has, and `more` for the newer ones."""
    columns: dict[str, object] = {
        "id": clip_id, "canonical_url": f"https://p.example/{clip_id}", "url": f"https://p.example/{clip_id}",
        "title": title, "summary": "", "content": "", "author": "", "published_raw": "", "outlet": "Paper",
        "first_seen_at": "2025-01-02 03:04:05", "updated_at": "2025-01-02 03:04:05", "status": "approved",
        "featured": False, "tags": "[]", "manual": False, **more,
    }
    conn.execute(text(f"INSERT INTO clip ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
                 columns)


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


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_0007_cleans_stored_links_and_merges_clips_that_become_one_story(db_url: str) -> None:
    """Clip urls lose their tracking parameters and fragment (the feed's link stays in clip_source); a clip
    stored under an older canonical rule moves to today's id, or merges into the clip already there,
    keeping the staff decision and edit."""
    _upgrade_to(db_url, "0006")
    story = "https://p.example/b"
    today = clip_id_for(canonical_url(story))
    engine = make_engine(db_url, migrate=False)
    clip_sql = text(
        "INSERT INTO clip (id, canonical_url, url, title, summary, content, author, published_raw, outlet, "
        "first_seen_at, updated_at, status, featured, tags, manual, headline, reviewed_by, reviewed_at) VALUES "
        "(:id, :canonical, :url, :title, '', '', '', '', 'Paper', :seen, :seen, :status, false, :tags, false, "
        ":headline, :by, :at)")
    with engine.begin() as conn:
        rows = [  # (id, canonical as stored, url, title, status, headline, tags, first seen, reviewed)
            ("c1", "https://p.example/a", "https://p.example/a?utm_source=rss#comments", "Tracked", "new", None, "[]",
             "2025-01-02 03:04:05", None),
            ("old", "https://p.example/b?rss=1", "https://p.example/b?rss=1", "Old rule", "approved", "Staff headline",
             '["pa"]', "2025-01-01 00:00:00", "2025-01-03 00:00:00"),
            (today, story, story, "Outlet copy", "new", None, '["tx"]', "2025-01-02 00:00:00", None),
            ("moved", "https://p.example/c?rss=1", "https://p.example/c?rss=1#x", "Alone", "new", None, "[]",
             "2025-01-02 00:00:00", None),
        ]
        for cid, canonical, url, title, status, headline, tags, seen, at in rows:
            conn.execute(clip_sql, {"id": cid, "canonical": canonical, "url": url, "title": title, "status": status,
                                    "headline": headline, "tags": tags, "seen": seen, "by": "maria" if at else None,
                                    "at": at})
            conn.execute(text("INSERT INTO clip_source (clip_id, feed_id, guid, first_seen_at) "
                              "VALUES (:c, :f, '', '2025-01-02 00:00:00')"), {"c": cid, "f": f"feed-{cid}"})
        conn.execute(text(
            "INSERT INTO mention (clip_id, kind, target_id, term, field, snippet, hit_start, hit_end, manual, suppressed) "
            "VALUES ('old', 'member', 'kendra-brooks', '(attached by staff)', 'manual', '', 0, 0, true, false)"))
    engine.dispose()

    store = Store(db_url)
    tracked = store.get_clip("c1")
    assert tracked.url == "https://p.example/a" and tracked.source_links == (
        ("feed-c1", "https://p.example/a?utm_source=rss#comments"),)
    merged = store.get_clip(today)
    assert merged.status.value == "approved" and merged.headline == "Staff headline" and merged.reviewed_by == "maria"
    assert merged.member_ids == ("kendra-brooks",) and set(merged.tags) == {"pa", "tx"}
    assert set(merged.feed_ids) == {"feed-old", f"feed-{today}"}
    assert merged.first_seen_at.day == 1
    alone = store.get_clip(clip_id_for(canonical_url("https://p.example/c")))
    assert alone.url == "https://p.example/c" and alone.title == "Alone" and alone.feed_ids == ("feed-moved",)
    assert {c.id for c in store.all_clips()} == {"c1", today, alone.id}
    assert any(h.action == "merge" for h in store.history(today))
    store.close()


def test_a_database_a_newer_version_migrated_is_refused_in_one_line(db_url: str) -> None:
    # The software was rolled back: the database is at a schema this version does not know.
    from tracker.errors import StorageError

    Store(db_url).close()
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StorageError, match=r"migrated by a newer media-tracker \(schema 0099"):
        Store(db_url)
    engine = make_engine(db_url, migrate=False)
    with engine.connect() as conn:  # and nothing was changed
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0099"
    engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_0012_rekeys_clips_stored_with_a_tracking_parameter_learnt_since(db_url: str) -> None:
    """DW's feed links carry ?maca=…, the Monitor's ?icid=rss. Stored under the old rule, a clip keeps
    being found by its link: it moves to today's id (its mentions, search text, delivery record and
    article-queue row with it), or merges into the copy stored without the parameter, staff's
    approval and headline kept and every open form made stale."""
    from tracker.models import ClipFilter
    from tracker.store.search import index_clips

    _upgrade_to(db_url, "0011")
    dw = "https://www.dw.com/en/council-vote/a-1?maca=en-rss-en-all-1573-rdf"
    monitor_plain = "https://www.csmonitor.com/USA/2025/0102/rent-vote"
    monitor_tracked = monitor_plain + "?icid=rss"
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        insert_old_clip(conn, "dw-old", "Kendra Brooks wins the rent vote", canonical_url=dw, url=dw, status="new",
                        first_seen_at="2025-01-01 00:00:00")
        insert_old_clip(conn, "cs-old", "Monitor story", canonical_url=monitor_tracked, url=monitor_tracked,
                        headline="Staff headline", reviewed_by="maria", reviewed_at="2025-01-04 00:00:00",
                        first_seen_at="2025-01-01 00:00:00", version=3)
        kept = clip_id_for(canonical_url(monitor_plain))
        insert_old_clip(conn, kept, "Monitor story", canonical_url=monitor_plain, url=monitor_plain, status="new",
                        tags='["tx"]', first_seen_at="2025-01-02 00:00:00", version=1)
        for cid in ("dw-old", "cs-old", kept):
            conn.execute(text("INSERT INTO clip_source (clip_id, feed_id, guid, first_seen_at) "
                              "VALUES (:c, :f, '', '2025-01-02 00:00:00')"), {"c": cid, "f": f"feed-{cid}"})
        conn.execute(text(
            "INSERT INTO mention (clip_id, kind, target_id, term, field, snippet, hit_start, hit_end, manual, suppressed) "
            "VALUES ('dw-old', 'member', 'kendra-brooks', 'Kendra Brooks', 'title', '', 0, 13, false, false)"))
        conn.execute(text(
            "INSERT INTO notify_delivery (channel, name, recipient, item_key, status, attempts, first_attempt_at, "
            "last_attempt_at, sent_at) VALUES ('digest', 'daily', 'maria@example.org', 'dw-old', 'sent', 1, "
            "'2025-01-02 00:00:00', '2025-01-02 00:00:00', '2025-01-02 00:00:00')"))
        conn.execute(text(
            "INSERT INTO enrichment (item_key, clip_id, feed_id, search_for, link, state, attempts, queued_at) "
            "VALUES (:k, 'dw-old', 'feed-dw-old', '', :k, 'done', 1, '2025-01-02 00:00:00')"), {"k": dw})
        index_clips(conn, ["dw-old", "cs-old", kept])
    engine.dispose()

    store = Store(db_url)
    moved_id = clip_id_for(canonical_url(dw))
    assert canonical_url(dw) == "https://www.dw.com/en/council-vote/a-1"
    moved = store.get_clip(moved_id)
    assert moved.url == "https://www.dw.com/en/council-vote/a-1" and moved.member_ids == ("kendra-brooks",)
    assert moved.feed_ids == ("feed-dw-old",)
    found = store.list_clips(ClipFilter(text="rent vote"), with_total=True)
    assert [c.id for c in found.clips] == [moved_id] and found.total == 1
    assert store.delivered_keys("digest", "maria@example.org", [moved_id]) == {moved_id}
    merged = store.get_clip(kept)
    assert merged.status.value == "approved" and merged.headline == "Staff headline" and merged.reviewed_by == "maria"
    assert merged.version == 4 and set(merged.feed_ids) == {"feed-cs-old", f"feed-{kept}"} and merged.tags == ("tx",)
    assert merged.first_seen_at.day == 1
    assert any(h.action == "merge" for h in store.history(kept))
    assert {c.id for c in store.all_clips()} == {moved_id, kept}
    assert [c.id for c in store.list_clips(ClipFilter(text="monitor story")).clips] == [kept]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT item_key FROM enrichment")).scalars().all() == [canonical_url(dw)]
    store.close()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_0012_keys_clips_again_from_their_links_in_any_case_and_any_encoding(db_url: str) -> None:
    """The key is made again from each clip's link: a parameter's name in capitals (PostgreSQL's LIKE
    minds case), a Latin-1 escape the old rule had turned into U+FFFD, and an escaped percent sign
    (a key made twice is not the key made once) all end under the id today's feed item gives."""
    _upgrade_to(db_url, "0011")
    rows = {  # clip id as stored: (url as stored, key as the old rule made it)
        "caps": ("https://www.csmonitor.com/a?ICID=rss", "https://www.csmonitor.com/a?ICID=rss"),
        "latin1": ("https://le-journal.example/d%E9put%E9", "https://le-journal.example/d%EF%BF%BDput%EF%BF%BD"),
        "percent": ("https://x.example/rents-up-50%25cap-vote?icid=rss", "https://x.example/rents-up-50%cap-vote?icid=rss"),
    }
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        for cid, (url, key) in rows.items():
            insert_old_clip(conn, cid, f"Story {cid}", canonical_url=key, url=url)
    engine.dispose()
    store = Store(db_url)
    for cid, (url, _key) in rows.items():
        today = clip_id_for(canonical_url(url))  # what the feed's item is keyed by now
        assert store.get_clip(today).title == f"Story {cid}", cid
    assert len(store.all_clips()) == 3
    store.close()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_0012_leaves_a_too_long_address_alone_and_finds_a_latin1_links_queue_row(db_url: str) -> None:
    """A clip whose article address is too long to be a key keeps its feed link's key; an article-queue
    row keyed by the old, lossy rule is keyed again from its link, so the feed carrying that link
    again finds the clip its article moved to."""
    _upgrade_to(db_url, "0011")
    long_address = "https://x.example/" + "%E6%96%87" * 300  # the article's own address, 2,700+ bytes
    feed_link = "https://x.example/a?id=1"
    latin1 = "https://le-journal.example/d%E9put%E9"
    moved_to = "https://le-journal.example/news/deputy"
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        insert_old_clip(conn, clip_id_for(canonical_url(feed_link)), "Long", canonical_url=canonical_url(feed_link),
                        url=long_address)
        insert_old_clip(conn, clip_id_for(canonical_url(moved_to)), "Moved", canonical_url=canonical_url(moved_to),
                        url=moved_to)
        conn.execute(text(
            "INSERT INTO enrichment (item_key, clip_id, feed_id, search_for, link, state, attempts, queued_at) "
            "VALUES (:k, :c, 'paper', '', :l, 'done', 1, '2025-01-02 00:00:00')"),
            {"k": "https://le-journal.example/d%EF%BF%BDput%EF%BF%BD", "c": clip_id_for(canonical_url(moved_to)),
             "l": latin1})
    engine.dispose()
    store = Store(db_url)
    assert store.get_clip(clip_id_for(canonical_url(feed_link))).title == "Long"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT item_key FROM enrichment")).scalars().all() == [canonical_url(latin1)]
    store.close()


def test_0013_gives_every_search_row_its_clip_s_story_and_goes_back(db_url: str) -> None:
    """A database whose clips were placed in stories before 0013: their search rows take their
    stories, so the queue finds a story by a copy's words at once; a downgrade drops the column
    and its triggers, and clips stored meanwhile are searchable after upgrading again."""
    from tracker.models import ClipFilter
    from tracker.store.search import index_clips

    _upgrade_to(db_url, "0012")
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        insert_old_clip(conn, "wire", "Council passes rent cap", status="new", story_id="wire", story_primary=True)
        insert_old_clip(conn, "copy", "Rent cap passes", outlet="Germantown Gazette", status="new", story_id="wire")
        insert_old_clip(conn, "alone", "Budget hearing", status="new")
        index_clips(conn)
    engine.dispose()
    store = Store(db_url)  # migrates to the head
    try:
        with store.engine.connect() as conn:
            assert dict(conn.execute(text("SELECT clip_id, story_id FROM clip_search")).all()) == {
                "wire": "wire", "copy": "wire", "alone": None}
        page = store.list_clips(ClipFilter(text="germantown", primary_only=True), with_total=True)
        assert ([c.id for c in page.clips], page.total) == (["wire"], 1)
    finally:
        store.close()
    _downgrade_to(db_url, "0012")
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        assert "story_id" not in {c["name"] for c in inspect(conn).get_columns("clip_search")}
        insert_old_clip(conn, "later", "Transit strike ends", status="new", story_id="wire")
        index_clips(conn, ["later"])  # no trigger left to fail on the missing column
    engine.dispose()
    store = Store(db_url)
    try:
        page = store.list_clips(ClipFilter(text="transit strike", primary_only=True), with_total=True)
        assert ([c.id for c in page.clips], page.total) == (["wire"], 1)
    finally:
        store.close()


def test_a_migration_that_fails_half_way_leaves_nothing_behind(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole upgrade is one transaction on SQLite too: 0013 failing after its ALTER TABLE (a full
    disk, a kill) leaves the database at 0012 without the column, and the next open migrates it."""
    import tracker.store.search as search
    from tracker.errors import StorageError

    _upgrade_to(db_url, "0012")

    def disk_full(_connection: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(search, "create_story_triggers", disk_full)
    with pytest.raises((OSError, StorageError)):
        Store(db_url)
    engine = make_engine(db_url, migrate=False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0012"
        assert "story_id" not in {c["name"] for c in inspect(conn).get_columns("clip_search")}
    engine.dispose()
    monkeypatch.undo()
    Store(db_url).close()

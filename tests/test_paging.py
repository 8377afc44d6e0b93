"""Keyset pagination over the sort index: every clip exactly once, newest first, ties broken by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from tracker.models import ClipFilter, ClipStatus
from tracker.store import Store
from tracker.store.tables import ClipRow


def test_pages_cover_every_clip_once_in_order(store: Store) -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for i in range(130):
        published = None if i % 7 == 0 else base + timedelta(hours=i // 3)  # ties, and nulls that sort by first_seen_at
        rows.append({
            "id": f"{i:032x}", "canonical_url": f"https://e.example.com/{i}", "url": f"https://e.example.com/{i}",
            "title": f"t{i}", "summary": "", "content": "", "author": "", "published_at": published,
            "published_raw": "", "outlet": "o", "first_seen_at": base + timedelta(hours=i // 2),
            "updated_at": base, "status": "new" if i % 2 else "approved", "featured": False, "tags": [],
            "manual": False,
        })
    with store.engine.begin() as conn:
        conn.execute(insert(ClipRow), rows)

    def walk(f: ClipFilter) -> list[str]:
        seen, cursor = [], None
        while True:
            page = store.list_clips(f, limit=50, cursor=cursor)
            seen += [c.id for c in page.clips]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    def key(r: dict[str, object]) -> tuple[datetime, str]:
        return (r["published_at"] or r["first_seen_at"], r["id"])  # type: ignore[return-value]

    expected = [str(r["id"]) for r in sorted(rows, key=key, reverse=True)]
    assert walk(ClipFilter()) == expected
    news = [str(r["id"]) for r in sorted((r for r in rows if r["status"] == "new"), key=key, reverse=True)]
    assert walk(ClipFilter(status=ClipStatus.NEW)) == news


def test_the_desk_s_story_counts_by_status_are_read_from_an_index_alone(store: Store) -> None:
    """The queue counts stories in each status on every load after its read cache expires; a
    covering index (migration 0014) answers them without reading the clips (68 → 4 ms for the
    three at 100,000 clips), and the counts are those of the clips themselves."""
    from sqlalchemy import event, text

    base = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [{
        "id": f"{i:032x}", "canonical_url": f"https://e.example.com/{i}", "url": f"https://e.example.com/{i}",
        "title": f"t{i}", "summary": "", "content": "", "first_seen_at": base, "updated_at": base,
        "status": ("new", "approved", "rejected")[i % 3],
        "outlet": "o", "tags": [], "story_id": None if i % 4 == 0 else f"{i // 2:032x}", "story_primary": i % 4 == 1,
    } for i in range(60)]
    with store.engine.begin() as conn:
        conn.execute(insert(ClipRow), rows)
    sent: list[tuple[str, Any]] = []

    def keep(_c: object, _cur: object, statement: str, parameters: Any, *_: object) -> None:
        sent.append((statement, parameters))

    for status in ClipStatus:
        expected = sum(r["status"] == status.value and (r["story_id"] is None or r["story_primary"]) for r in rows)
        event.listen(store.engine, "before_cursor_execute", keep)
        try:
            assert store.count_clips(ClipFilter(status=status, primary_only=True)) == expected
        finally:
            event.remove(store.engine, "before_cursor_execute", keep)
        statement, parameters = sent[-1]
        with store.engine.connect() as conn:
            raw = conn.connection.driver_connection
            cursor = raw.cursor()  # type: ignore[union-attr]
            if store.dialect == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            else:  # a table this small is read whole unless told otherwise: ask whether the index can do it alone
                cursor.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
                cursor.execute("EXPLAIN " + statement, parameters)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            conn.execute(text("SELECT 1"))
        assert ("COVERING INDEX ix_clip_status_story" in plan if store.dialect == "sqlite"
                else "Index Only Scan using ix_clip_status_story" in plan), plan


def test_0014_on_an_analyzed_sqlite_database_keeps_the_queue_walking_its_sort_index(tmp_path: Path) -> None:
    """A SQLite database with statistics (someone ran ANALYZE) but none for the index 0014 adds:
    SQLite took that index for the queue's pages and sorted every New clip. The migration gives
    the index its statistics, and the queue's page walks the sort index again."""
    import sqlite3

    from sqlalchemy import event

    from tests.test_migrations import _downgrade_to, _upgrade_to

    path = tmp_path / "analyzed.db"
    url = f"sqlite:///{path}"
    store = Store(url)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(insert(ClipRow), [{
            "id": f"{i:032x}", "canonical_url": f"https://e.example.com/{i}", "url": f"https://e.example.com/{i}",
            "title": f"t{i}", "summary": "", "content": "", "first_seen_at": base + timedelta(hours=i),
            "updated_at": base, "status": ("new", "approved", "rejected")[i % 3], "outlet": "o", "tags": [],
            "story_id": f"{i // 2:032x}", "story_primary": i % 2 == 0,
        } for i in range(300)])
    store.close()
    _downgrade_to(url, "0013")
    with sqlite3.connect(path) as raw:
        raw.execute("ANALYZE")
    _upgrade_to(url, "0014")
    store = Store(url)
    sent: list[tuple[str, Any]] = []

    def keep(_c: object, _cur: object, statement: str, parameters: Any, *_: object) -> None:
        sent.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", keep)
    try:
        page = store.list_clips(ClipFilter(status=ClipStatus.NEW, primary_only=True), limit=15)
    finally:
        event.remove(store.engine, "before_cursor_execute", keep)
        store.close()
    assert len(page.clips) == 15
    statement, parameters = next((s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT CLIP.ID"))
    with sqlite3.connect(path) as raw:
        plan = " ".join(str(row[-1]) for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "ix_clip_status_sort_at_id" in plan and "TEMP B-TREE" not in plan, plan

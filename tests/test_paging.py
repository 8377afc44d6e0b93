"""Keyset pagination over the sort index: every clip exactly once, newest first, ties broken by id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

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


@contextmanager
def sent_to(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The statements the store sends inside the block, each with its parameters (to EXPLAIN it)."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        sent.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", keep)


def plan_of(store: Store, statement: str, parameters: Any) -> str:
    """The database's plan for a statement the store sent, as one line. PostgreSQL reads a table of
    a few rows whole unless told otherwise: there the question is whether an index can do it alone."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return " ".join(str(row[-1]) for row in rows)


def story_clip(i: int, base: datetime, **columns: object) -> dict[str, object]:
    """Clip `i` as a row to insert, with what every clip needs and `columns` for its status and story."""
    return {"id": f"{i:032x}", "canonical_url": f"https://e.example.com/{i}", "url": f"https://e.example.com/{i}",
            "title": f"t{i}", "summary": "", "content": "", "first_seen_at": base, "updated_at": base,
            "status": ("new", "approved", "rejected")[i % 3], "outlet": "o", "tags": [], **columns}


def test_the_desk_s_story_counts_by_status_are_read_from_an_index_alone(store: Store) -> None:
    """The queue counts stories in each status on every load after its read cache expires; a
    covering index (migration 0014) answers them without reading the clips (68 → 4 ms for the
    three at 100,000 clips), and the counts are those of the clips themselves."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [story_clip(i, base, story_id=None if i % 4 == 0 else f"{i // 2:032x}", story_primary=i % 4 == 1)
            for i in range(60)]
    with store.engine.begin() as conn:
        conn.execute(insert(ClipRow), rows)
    for status in ClipStatus:
        expected = sum(r["status"] == status.value and (r["story_id"] is None or r["story_primary"]) for r in rows)
        with sent_to(store) as sent:
            assert store.count_clips(ClipFilter(status=status, primary_only=True)) == expected
        plan = plan_of(store, *sent[-1])
        assert ("COVERING INDEX ix_clip_status_story" in plan if store.dialect == "sqlite"
                else "Index Only Scan using ix_clip_status_story" in plan), plan


def test_0014_on_an_analyzed_sqlite_database_keeps_the_queue_walking_its_sort_index(tmp_path: Path) -> None:
    """A SQLite database with statistics (someone ran ANALYZE) but none for the index 0014 adds:
    SQLite took that index for the queue's pages and sorted every New clip. The migration gives
    the index its statistics, and the queue's page walks the sort index again."""
    import sqlite3

    from tests.test_migrations import _downgrade_to, _upgrade_to

    path = tmp_path / "analyzed.db"
    url = f"sqlite:///{path}"
    store = Store(url)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(insert(ClipRow), [story_clip(i, base + timedelta(hours=i), story_id=f"{i // 2:032x}",
                                                  story_primary=i % 2 == 0) for i in range(300)])
    store.close()
    _downgrade_to(url, "0013")
    with sqlite3.connect(path) as raw:
        raw.execute("ANALYZE")
    _upgrade_to(url, "0014")
    store = Store(url)
    try:
        with sent_to(store) as sent:
            page = store.list_clips(ClipFilter(status=ClipStatus.NEW, primary_only=True), limit=15)
        assert len(page.clips) == 15
        plan = plan_of(store, *next((s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT CLIP.ID")))
    finally:
        store.close()
    assert "ix_clip_status_sort_at_id" in plan and "TEMP B-TREE" not in plan, plan

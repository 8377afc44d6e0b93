"""Keyset pagination over the sort index: every clip exactly once, newest first, ties broken by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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

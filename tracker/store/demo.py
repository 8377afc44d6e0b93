"""The demo part of the Store: bulk inserts for demo data and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.models import ClipView
from tracker.store.base import StoreBase
from tracker.store.search import index_clips
from tracker.store.tables import ClipRow, ClipSourceRow, MentionRow


class DemoMixin(StoreBase):
    """Generated clips in bulk, past ingest's per-row checks."""

    def insert_seed_clips(self, clips: Sequence[ClipView]) -> int:
        """Bulk-insert generated clips (new ids only; no audit): demo data and the 100k benchmark.

        One executemany per table instead of ingest's per-row checks, so 100,000 clips take seconds.
        """
        from sqlalchemy import insert  # local: only the seeder needs it

        clip_rows = [
            {"id": c.id, "canonical_url": c.canonical_url, "url": c.url, "title": c.title, "summary": c.summary,
             "content": "", "author": "", "published_at": c.published_at, "published_raw": "",
             "image_url": c.image_url, "outlet": c.outlet, "first_seen_at": c.first_seen_at,
             "updated_at": c.updated_at or c.first_seen_at, "status": c.status.value, "featured": c.featured,
             "position": c.position, "headline": c.headline, "blurb": c.blurb,
             "image_override_url": c.image_override_url, "image_credit": c.image_credit, "image_alt": c.image_alt,
             "outlet_display": c.outlet_display, "tags": list(c.tags), "reviewed_by": c.reviewed_by,
             "reviewed_at": c.reviewed_at, "manual": c.manual}
            for c in clips
        ]
        mention_rows = [
            {"clip_id": c.id, "kind": m.kind, "target_id": m.target_id, "term": m.term, "field": m.field,
             "snippet": m.snippet, "hit_start": m.start, "hit_end": m.end, "manual": False}
            for c in clips for m in c.mentions
        ]
        source_rows = [
            {"clip_id": c.id, "feed_id": f, "guid": c.url, "first_seen_at": c.first_seen_at}
            for c in clips for f in c.feed_ids
        ]
        with self.session() as s:
            for table, rows in ((ClipRow, clip_rows), (MentionRow, mention_rows), (ClipSourceRow, source_rows)):
                if rows:
                    s.execute(insert(table), rows)
            index_clips(s.connection(), [c.id for c in clips])  # bulk inserts pass the ORM's events by
        return len(clip_rows)

"""The maintenance part of the Store: pruning what is old and no longer useful (`tracker prune`).

Removed, when older than the cutoff: rejected clips nothing has touched since (with their
mentions and sources), and with a rejected story's primary its copies nobody reviewed or edited
(they were rejected with it); finished ingest runs; finished rows of the article queue that no
remaining clip needs (a dropped item's, a pruned clip's: a clip's own row says where its link led,
so a feed carrying that link again finds the clip, however old); and the fetch state of feeds taken
out of feeds.yml that have not been polled since and that no remaining clip came from. Never a clip
that is new or approved on its own. A story keeps a primary (a copy left takes the place) and an
id no pruned clip had (a pruned clip its feed still carries comes back as a story of its own, never
into its old one). Audit entries only when asked, and then only those of clips that no longer
exist, so every remaining clip keeps its whole history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.models import ClipStatus, PruneReport
from tracker.store.base import StoreBase
from tracker.store.enrich import DROPPED
from tracker.store.resolve import DONE, FAILED, WAITING
from tracker.store.stories import untouched_by_staff
from tracker.store.tables import (
    AuditRow,
    ClipRow,
    ClipSourceRow,
    EnrichmentRow,
    FeedRow,
    IngestRunRow,
    LinkResolutionRow,
    MentionRow,
    NotifyDeliveryRow,
    StoryRow,
)

DELIVERY_REACH = timedelta(days=8)  # past the week a digest or webhook reaches back for what it owes


class MaintenanceMixin(StoreBase):
    def prune(self, cutoff: datetime, *, include_audit: bool = False, dry_run: bool = False) -> PruneReport:
        """Remove (or with dry_run count) what is older than cutoff, in one transaction."""
        old_rejected = and_(
            col(ClipRow.status) == ClipStatus.REJECTED.value,
            col(ClipRow.first_seen_at) < cutoff,
            col(ClipRow.updated_at) < cutoff,  # a feed still changing it, or staff editing it, keeps it
            or_(col(ClipRow.reviewed_at).is_(None), col(ClipRow.reviewed_at) < cutoff),
        )
        # A rejected story's copies nobody reviewed or edited were rejected with it: they go with its primary.
        rejected_stories = select(col(ClipRow.story_id)).where(old_rejected, col(ClipRow.story_primary).is_(True),
                                                                col(ClipRow.story_id).is_not(None))
        untouched_copy = and_(
            col(ClipRow.story_id).in_(rejected_stories), untouched_by_staff(),
            col(ClipRow.first_seen_at) < cutoff, col(ClipRow.updated_at) < cutoff,
        )
        old_rejected = or_(old_rejected, untouched_copy)
        doomed = select(col(ClipRow.id)).where(old_rejected)
        old_runs = and_(col(IngestRunRow.started_at) < cutoff, col(IngestRunRow.finished_at).is_not(None),
                        col(IngestRunRow.finished_at) < cutoff)
        # An article still waiting is work to do, however old; a finished one only says what happened, but
        # while its clip remains it also says where the item's link led (the clip may have moved on to the
        # article's own address): pruned, the feed carrying that link stored the story a second time.
        old_articles = and_(col(EnrichmentRow.state).in_((DONE, FAILED, DROPPED)),
                            func.coalesce(col(EnrichmentRow.finished_at), col(EnrichmentRow.queued_at)) < cutoff,
                            or_(col(EnrichmentRow.clip_id).is_(None),
                                ~exists().where(col(ClipRow.id) == col(EnrichmentRow.clip_id), not_(old_rejected))))
        # A search link looked up for an item that never became a clip (or whose clip is gone): done with.
        old_links = and_(col(LinkResolutionRow.state).in_((DONE, FAILED)), col(LinkResolutionRow.finished_at) < cutoff,
                         or_(col(LinkResolutionRow.clip_id).is_(None),
                             ~exists().where(col(ClipRow.id) == col(LinkResolutionRow.clip_id), not_(old_rejected))),
                         # an article still waiting reads the publisher's address from it
                         ~exists().where(col(EnrichmentRow.item_key) == col(LinkResolutionRow.link_key),
                                         col(EnrichmentRow.state) == WAITING))
        # What was sent to whom: a digest or webhook reaches back at most a week for what it still owes,
        # so a record older than the cutoff by more than that stops nothing from being sent again.
        old_deliveries = col(NotifyDeliveryRow.last_attempt_at) < cutoff - DELIVERY_REACH
        with self.session() as s:
            # Audit entries and feeds depend on which clips remain: decided before anything is deleted.
            # NOT EXISTS rather than NOT IN: PostgreSQL plans it as an anti-join at millions of rows.
            kept = not_(old_rejected)
            # Outlet edits are audited under no clip (clip_id ""): they are no deleted clip's history.
            orphan_audit = and_(col(AuditRow.at) < cutoff, col(AuditRow.clip_id) != "",
                                ~exists().where(col(ClipRow.id) == col(AuditRow.clip_id), kept))
            gone_feeds = and_(
                col(FeedRow.active).is_(False),
                or_(col(FeedRow.last_attempt_at).is_(None), col(FeedRow.last_attempt_at) < cutoff),
                ~exists().where(col(ClipSourceRow.feed_id) == col(FeedRow.id),
                                col(ClipSourceRow.clip_id) == col(ClipRow.id), kept),
            )
            report = PruneReport(
                cutoff=cutoff, dry_run=dry_run,
                rejected_clips=_count(s, ClipRow, old_rejected),
                mentions=_count(s, MentionRow, col(MentionRow.clip_id).in_(doomed)),
                clip_sources=_count(s, ClipSourceRow, col(ClipSourceRow.clip_id).in_(doomed)),
                ingest_runs=_count(s, IngestRunRow, old_runs),
                feeds=_count(s, FeedRow, gone_feeds),
                audit=_count(s, AuditRow, orphan_audit) if include_audit else 0,
                articles=_count(s, EnrichmentRow, old_articles),
                search_links=_count(s, LinkResolutionRow, old_links),
                deliveries=_count(s, NotifyDeliveryRow, old_deliveries),
            )
            if dry_run:
                return report
            if include_audit:
                s.execute(delete(AuditRow).where(orphan_audit))
            s.execute(delete(FeedRow).where(gone_feeds))
            s.execute(delete(MentionRow).where(col(MentionRow.clip_id).in_(doomed)))
            s.execute(delete(ClipSourceRow).where(col(ClipSourceRow.clip_id).in_(doomed)))
            # A pruned clip's search link must not be resolved (and re-keyed) later.
            s.execute(delete(LinkResolutionRow).where(col(LinkResolutionRow.clip_id).in_(doomed)))
            pruned = {str(clip_id): story_id for clip_id, story_id in
                      s.execute(select(col(ClipRow.id), col(ClipRow.story_id)).where(old_rejected)).all()}
            s.execute(delete(ClipRow).where(old_rejected))
            _mend_stories(s, set(pruned), {story for story in pruned.values() if story is not None})
            s.execute(delete(IngestRunRow).where(old_runs))
            s.execute(delete(EnrichmentRow).where(old_articles))
            s.execute(delete(LinkResolutionRow).where(old_links))
            s.execute(delete(NotifyDeliveryRow).where(old_deliveries))
            return report


def _mend_stories(s: Session, pruned: set[str], story_ids: set[str]) -> None:
    """The stories pruned clips were in: gone with their last copy, else with a primary (an approved copy
    first, else the earliest), and named after a copy left when they were named after a pruned clip."""
    ids = sorted(story_ids)
    for i in range(0, len(ids), 500):
        copies: dict[str, list[ClipRow]] = {story: [] for story in ids[i:i + 500]}
        for row in s.execute(select(ClipRow).where(col(ClipRow.story_id).in_(ids[i:i + 500]))).scalars():
            copies[str(row.story_id)].append(row)
        for story_id, rows in copies.items():
            if not rows:
                s.execute(delete(StoryRow).where(col(StoryRow.id) == story_id))
                continue
            if not any(r.story_primary for r in rows):
                heir = min(rows, key=lambda r: (r.status != ClipStatus.APPROVED.value,
                                                r.published_at or r.first_seen_at, r.id))
                heir.story_primary = True
            if story_id in pruned:
                _rename_story(s, story_id, next(r.id for r in rows if r.story_primary), rows)


def _rename_story(s: Session, old_id: str, new_id: str, rows: list[ClipRow]) -> None:
    """A story was named after its first clip; that clip pruned, its feed may bring it back as a story
    of its own under the same id. The story takes a remaining copy's id first."""
    story = s.get(StoryRow, old_id)
    if story is None or s.get(StoryRow, new_id) is not None:
        return
    s.add(StoryRow(id=new_id, first_seen_at=story.first_seen_at, updated_at=story.updated_at,
                   primary_by=story.primary_by, primary_at=story.primary_at))
    s.flush()
    for row in rows:
        row.story_id = new_id
    s.flush()
    s.delete(story)


def _count(s: Session, table: Any, where: Any) -> int:
    return int(s.execute(select(func.count()).select_from(table).where(where)).scalar_one())

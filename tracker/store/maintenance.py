"""The maintenance part of the Store: pruning what is old and no longer useful (`tracker prune`).

Removed, when older than the cutoff: rejected clips nothing has touched since (with their
mentions and sources), finished ingest runs, finished rows of the article queue (read, unreadable or
dropped: the record that a page was read, of no use once its feed no longer carries the item), and
the fetch state of feeds taken out of feeds.yml
that have not been polled since and that no remaining clip came from. Never a clip that is new
or approved. Audit entries only when asked, and then only those of clips that no longer exist,
so every remaining clip keeps its whole history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.models import ClipStatus, PruneReport
from tracker.store.base import StoreBase
from tracker.store.enrich import DROPPED
from tracker.store.resolve import DONE, FAILED
from tracker.store.tables import (
    AuditRow,
    ClipRow,
    ClipSourceRow,
    EnrichmentRow,
    FeedRow,
    IngestRunRow,
    LinkResolutionRow,
    MentionRow,
)


class MaintenanceMixin(StoreBase):
    def prune(self, cutoff: datetime, *, include_audit: bool = False, dry_run: bool = False) -> PruneReport:
        """Remove (or with dry_run count) what is older than cutoff, in one transaction."""
        old_rejected = and_(
            col(ClipRow.status) == ClipStatus.REJECTED.value,
            col(ClipRow.first_seen_at) < cutoff,
            col(ClipRow.updated_at) < cutoff,  # a feed still changing it, or staff editing it, keeps it
            or_(col(ClipRow.reviewed_at).is_(None), col(ClipRow.reviewed_at) < cutoff),
        )
        doomed = select(col(ClipRow.id)).where(old_rejected)
        old_runs = and_(col(IngestRunRow.started_at) < cutoff, col(IngestRunRow.finished_at).is_not(None),
                        col(IngestRunRow.finished_at) < cutoff)
        # An article still waiting is work to do, however old; a finished one only says what happened.
        old_articles = and_(col(EnrichmentRow.state).in_((DONE, FAILED, DROPPED)),
                            func.coalesce(col(EnrichmentRow.finished_at), col(EnrichmentRow.queued_at)) < cutoff)
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
            s.execute(delete(ClipRow).where(old_rejected))
            s.execute(delete(IngestRunRow).where(old_runs))
            s.execute(delete(EnrichmentRow).where(old_articles))
            return report


def _count(s: Session, table: Any, where: Any) -> int:
    return int(s.execute(select(func.count()).select_from(table).where(where)).scalar_one())

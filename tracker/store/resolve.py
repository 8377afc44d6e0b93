"""The resolver's part of the Store: the queue of search links, the resolver's back-off, and a clip
re-keyed to its publisher's URL once its link is resolved (merged with the clip already there).

A clip's id is always the hash of its canonical URL. A clip stored from a search link that could not be
decoded offline has the link's canonical form as its canonical URL and a `link_resolution` row; when the
resolver learns the publisher's URL, the clip moves to the id of that URL, with its mentions, sources and
history, or, when an outlet's feed already brought the same story, the two become one clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.models import MatchedEntry, Resolution, ResolveQueueStatus, ResolverState, ResolveTask
from tracker.normalize import canonical_url, clean_url, clip_id_for, with_publisher_url
from tracker.store.base import StoreBase
from tracker.store.rekey import move_delivery_keys
from tracker.store.tables import (
    AuditRow,
    ClipRow,
    ClipSourceRow,
    EnrichmentRow,
    LinkResolutionRow,
    MentionRow,
    ResolverStateRow,
)

WAITING, DONE, FAILED = "waiting", "done", "failed"
RESOLVER_NAME = "google_news"
RESOLVER_USER = "resolver"  # who the history names for a resolution
_STAFF_EDITS = ("headline", "blurb", "image_override_url", "image_credit", "image_alt", "outlet_display", "position")
_FEED_FIELDS = ("title", "summary", "content", "author", "published_at", "published_raw", "image_url", "outlet",
                "article", "image_found_credit")


def known_resolution(s: Session, item: MatchedEntry) -> tuple[MatchedEntry, LinkResolutionRow | None]:
    """For an unresolved entry: the resolved entry when its link is already resolved, else its queue row (if any)."""
    row = s.get(LinkResolutionRow, item.canonical_url)
    if row is not None and row.state == DONE and row.resolved_url:
        return with_publisher_url(item, row.resolved_url), None
    return item, row


def moved_clip(s: Session, item: MatchedEntry, link_key: str) -> MatchedEntry:
    """The entry, pointed at the clip its link moved to when its article gave another address: the
    article queue's row for the item (keyed by its canonical URL, or by the search link's when it was
    queued before the link was resolved) knows where the clip went."""
    if s.get(ClipRow, item.clip_id) is not None:
        return item
    for key in dict.fromkeys((item.canonical_url, link_key)):
        read = s.get(EnrichmentRow, key)
        moved_to = s.get(ClipRow, read.clip_id) if read is not None and read.clip_id else None
        if moved_to is not None and moved_to.id != item.clip_id:
            return replace(item, clip_id=moved_to.id, canonical_url=moved_to.canonical_url)
    return item


def enqueue(s: Session, item: MatchedEntry, now: datetime) -> None:
    s.add(LinkResolutionRow(link_key=item.canonical_url, link=item.search_link or item.entry.link,
                            clip_id=item.clip_id, state=WAITING, queued_at=now))


def _as_utc(value: Any) -> datetime | None:
    if isinstance(value, str):  # SQLite hands max() back as text
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


class ResolveMixin(StoreBase):
    """Search links waiting for the resolver; the clips they resolve to."""

    def due_resolutions(self, limit: int, now: datetime) -> list[ResolveTask]:
        """Waiting links due now, what staff need first: approved clips, then matched clips, then
        candidates (clips with no match, kept for staff), then search items with no clip yet (their
        article is read once the link is known), then rejected clips; oldest first within each."""
        if limit <= 0:
            return []
        matched = exists().where(col(MentionRow.clip_id) == col(ClipRow.id), col(MentionRow.suppressed).is_(False))
        tier = case(
            (col(ClipRow.id).is_(None), 3),
            (col(ClipRow.status) == "approved", 0),
            (col(ClipRow.status) == "rejected", 4),
            (matched, 1),
            else_=2,
        )
        q = (
            select(col(LinkResolutionRow.link_key), col(LinkResolutionRow.link), col(LinkResolutionRow.clip_id),
                   col(LinkResolutionRow.attempts))
            .outerjoin(ClipRow, col(ClipRow.id) == col(LinkResolutionRow.clip_id))
            .where(col(LinkResolutionRow.state) == WAITING,
                   or_(col(LinkResolutionRow.next_attempt_at).is_(None), col(LinkResolutionRow.next_attempt_at) <= now))
            .order_by(tier, col(LinkResolutionRow.queued_at), col(LinkResolutionRow.link_key))
            .limit(limit)
        )
        with self.session() as s:
            return [ResolveTask(key=r[0], link=r[1], clip_id=r[2], attempts=r[3]) for r in s.execute(q).all()]

    def link_failed(self, key: str, error: str, now: datetime, retry_at: datetime | None) -> None:
        """A lookup that did not give a URL: tried again at retry_at, or given up (None)."""
        with self.session() as s:
            row = s.get(LinkResolutionRow, key)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:500]
            row.next_attempt_at = retry_at
            if retry_at is None:
                row.state, row.finished_at = FAILED, now

    def resolve_link(self, key: str, url: str, now: datetime) -> Resolution | None:
        """Record where a search link leads. Its clip moves to the publisher URL's id, or merges into the
        clip already there (an outlet's), keeping every staff decision and edit. None when no clip had it."""
        with self.session() as s:
            row = s.get(LinkResolutionRow, key)
            if row is None:
                return None
            row.state, row.resolved_url, row.finished_at, row.next_attempt_at = DONE, url, now, None
            row.last_error = None
            old = s.get(ClipRow, row.clip_id) if row.clip_id else None
            if old is None:
                return None
            target = self._moved_from(s, url)
            row.clip_id = target.id if target is not None else clip_id_for(canonical_url(url))
            return self._move_clip(s, old, target.url if target is not None and target.id != old.id else url, now,
                                   user=RESOLVER_USER, action="resolve", detail=f"link resolved: {old.url} -> {url}")

    @staticmethod
    def _moved_from(s: Session, url: str) -> ClipRow | None:
        """The clip stored for url's story when that clip has moved on to its article's own address (the
        article queue's row for url says where), as a feed carrying url again finds it."""
        canonical = canonical_url(url)
        if s.get(ClipRow, clip_id_for(canonical)) is not None:
            return None
        read = s.get(EnrichmentRow, canonical)
        return s.get(ClipRow, read.clip_id) if read is not None and read.clip_id else None

    def _move_clip(self, s: Session, old: ClipRow, url: str, now: datetime, *, user: str, action: str,
                   detail: str) -> Resolution:
        """The clip re-keyed to the story at `url` (its clean form stored): moved to that URL's id, or merged
        into the clip already there, keeping every staff decision and edit (resolution, canonical links)."""
        canonical = canonical_url(url)
        new_id = clip_id_for(canonical)
        url = clean_url(url)
        if old.id == new_id:
            old.url = url
            return Resolution(old.id, new_id, url, merged=False)
        target = s.get(ClipRow, new_id)
        merged = target is not None
        notes: list[str] = []
        if target is None:
            data = old.model_dump()
            data.update(id=new_id, canonical_url=canonical, url=url, updated_at=now, tags=list(old.tags or ()),
                        outlet_domain=None)  # the publisher's outlet: named again by the stories step
            target = ClipRow(**data)
            s.add(target)
            s.flush()
        else:
            notes = self._merge_clip(s, target, old, now)
        old_tagged, target_tagged = self._last_action(s, old.id, "tag"), self._last_action(s, target.id, "tag")
        self._move_children(s, old.id, target.id,
                            old_tagged_later=old_tagged is not None and (target_tagged is None or old_tagged > target_tagged))
        s.delete(old)
        s.flush()
        if merged:
            detail += f"; merged with the clip already stored for this URL (was clip {old.id})"
            detail += "".join(f"; {n}" for n in notes)
        else:
            detail += f" (was clip {old.id})"
        s.add(AuditRow(clip_id=new_id, user=user, action=action, at=now, detail=detail))
        return Resolution(old.id, new_id, url, merged=merged)

    @staticmethod
    def _last_action(s: Session, clip_id: str, action: str) -> datetime | None:
        return _as_utc(s.execute(
            select(func.max(col(AuditRow.at))).where(col(AuditRow.clip_id) == clip_id, col(AuditRow.action) == action)
        ).scalar_one())

    def _merge_clip(self, s: Session, target: ClipRow, old: ClipRow, now: datetime) -> list[str]:
        """Staff's decisions on either clip survive: the later review, the later edit of a field both edited,
        any edit only one has; the outlet's own text, with the search copy filling its blanks."""
        notes = []
        if old.reviewed_at is not None and (target.reviewed_at is None or old.reviewed_at > target.reviewed_at):
            if target.status != old.status:
                notes.append(f"status {old.status} (the later review, by {old.reviewed_by})")
            target.status, target.reviewed_by, target.reviewed_at = old.status, old.reviewed_by, old.reviewed_at
        old_edit, target_edit = self._last_action(s, old.id, "edit"), self._last_action(s, target.id, "edit")
        old_edited_later = old_edit is not None and (target_edit is None or old_edit > target_edit)
        for attr in _STAFF_EDITS:
            mine, theirs = getattr(target, attr), getattr(old, attr)
            if theirs is not None and theirs != mine and (mine is None or old_edited_later):
                setattr(target, attr, theirs)
                notes.append(f"{attr} from the search copy")
        target.featured = target.featured or old.featured
        if target.story_id is None and old.story_id is not None:  # the search copy's story is the outlet copy's
            target.story_id, target.story_primary = old.story_id, old.story_primary
            target.story_sig, target.story_shingles = old.story_sig, old.story_shingles
        elif old.story_primary and old.story_id is not None and old.story_id == target.story_id:
            target.story_primary = True  # two copies of one story became one: it keeps the story's place
        elif old.story_primary and old.story_id is not None and old.story_id != target.story_id:
            # The search copy leaves its story: the earliest copy left takes its place as primary.
            heir = s.execute(
                select(ClipRow).where(col(ClipRow.story_id) == old.story_id, col(ClipRow.id) != old.id)
                .order_by(func.coalesce(ClipRow.published_at, ClipRow.first_seen_at), col(ClipRow.id))
            ).scalars().first()
            if heir is not None:
                heir.story_primary = True
        target.tags = list(dict.fromkeys([*(target.tags or ()), *(old.tags or ())]))
        target.manual = target.manual or old.manual
        target.unverified = target.unverified and old.unverified  # one copy's article was read: verified
        target.first_seen_at = min(target.first_seen_at, old.first_seen_at)
        for attr in _FEED_FIELDS:
            if not getattr(target, attr) and getattr(old, attr):
                setattr(target, attr, getattr(old, attr))
        target.updated_at = now
        return notes

    @staticmethod
    def _move_children(s: Session, old_id: str, new_id: str, *, old_tagged_later: bool) -> None:
        """Mentions, sources, history, queue rows and delivery records of old_id become new_id's. For a member or campaign
        both have, a staff decision (attached or removed) beats an automatic match, and of two staff
        decisions the later one wins."""
        have = {(m.kind, m.target_id): m for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == new_id)).scalars()}
        for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == old_id)).scalars().all():
            kept = have.get((m.kind, m.target_id))
            if kept is None:
                m.clip_id = new_id
                continue
            if m.manual and (not kept.manual or old_tagged_later):
                kept.manual, kept.suppressed = True, m.suppressed
            s.delete(m)
        for src in s.execute(select(ClipSourceRow).where(col(ClipSourceRow.clip_id) == old_id)).scalars().all():
            if s.get(ClipSourceRow, (new_id, src.feed_id)) is None:
                s.add(ClipSourceRow(clip_id=new_id, feed_id=src.feed_id, guid=src.guid, first_seen_at=src.first_seen_at,
                                    link=src.link))
            s.delete(src)
        s.flush()
        s.execute(update(AuditRow).where(col(AuditRow.clip_id) == old_id).values(clip_id=new_id))
        s.execute(update(LinkResolutionRow).where(col(LinkResolutionRow.clip_id) == old_id).values(clip_id=new_id))
        s.execute(update(EnrichmentRow).where(col(EnrichmentRow.clip_id) == old_id).values(clip_id=new_id))
        move_delivery_keys(s.connection(), {old_id: new_id})

    # ------------------------------------------------------------ the resolver's back-off

    def resolver_state(self) -> ResolverState:
        with self.session() as s:
            row = s.get(ResolverStateRow, RESOLVER_NAME)
            if row is None:
                return ResolverState()
            return ResolverState(backoff_until=row.backoff_until, backoff_level=row.backoff_level,
                                 last_error=row.last_error)

    def set_resolver_state(self, state: ResolverState, now: datetime) -> None:
        with self.session() as s:
            row = s.get(ResolverStateRow, RESOLVER_NAME)
            if row is None:
                row = ResolverStateRow(name=RESOLVER_NAME)
                s.add(row)
            row.backoff_until, row.backoff_level = state.backoff_until, state.backoff_level
            row.last_error, row.updated_at = state.last_error, now

    def resolve_queue_status(self, now: datetime) -> ResolveQueueStatus:
        with self.session() as s:
            counts = {state: n for state, n in s.execute(
                select(col(LinkResolutionRow.state), func.count()).group_by(col(LinkResolutionRow.state))
            ).all()}
            failures = s.execute(
                select(col(LinkResolutionRow.last_error), func.count())
                .where(col(LinkResolutionRow.state) == FAILED)
                .group_by(col(LinkResolutionRow.last_error))
                .order_by(func.count().desc()).limit(5)
            ).all()
            later = _as_utc(s.execute(
                select(func.min(col(LinkResolutionRow.next_attempt_at)))
                .where(and_(col(LinkResolutionRow.state) == WAITING, col(LinkResolutionRow.next_attempt_at) > now))
            ).scalar_one())
        return ResolveQueueStatus(
            waiting=int(counts.get(WAITING, 0)), done=int(counts.get(DONE, 0)), failed=int(counts.get(FAILED, 0)),
            failures=tuple((reason or "unknown", int(n)) for reason, n in failures),
            next_attempt_at=later, state=self.resolver_state(),
        )

    def unresolved_links(self, clip_ids: Sequence[str]) -> dict[str, str | None]:
        """Clips among these still linking to a search engine: id -> why the resolver gave up (None: waiting)."""
        if not clip_ids:
            return {}
        with self.session() as s:
            return unresolved_of(s, clip_ids)


def unresolved_of(s: Session, clip_ids: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    ids = list(clip_ids)
    for i in range(0, len(ids), 500):
        for clip_id, state, error in s.execute(
            select(col(LinkResolutionRow.clip_id), col(LinkResolutionRow.state), col(LinkResolutionRow.last_error))
            .where(col(LinkResolutionRow.clip_id).in_(ids[i : i + 500]), col(LinkResolutionRow.state) != DONE)
        ).all():
            if clip_id is not None:
                out[clip_id] = (error or "gave up") if state == FAILED else None
    return out


__all__ = ["DONE", "FAILED", "RESOLVER_USER", "WAITING", "ResolveMixin", "enqueue", "known_resolution",
           "unresolved_of"]

"""The article queue's part of the Store: items whose publisher page is to be read, across cycles.

Two kinds of item wait here. A new clip (it matched on its feed text): reading its article adds the
article's text, image, credit, author and date, the members/campaigns only the article names, and the
publisher's canonical address (the clip moves there, merging with a copy already stored). A search
item that did not match on its feed text (or any item of a feed with `enrich: all`): no clip yet; its
feed entry waits in the row, and the article decides: it names someone (a clip), it names nobody
(dropped), or it cannot be read (a search item is kept, unverified, for whom its search was made).
An item whose search link is still waiting for the resolver waits too: there is no page to read yet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.models import (
    Article,
    ClipStatus,
    EnrichQueueStatus,
    EnrichTask,
    MatchedEntry,
    Mention,
    ParsedEntry,
)
from tracker.normalize import (
    MAX_ARTICLE_CHARS,
    believable_date,
    canonical_url,
    clean_text,
    clean_url,
    clip_id_for,
    fits_as_key,
    limit_text,
    parse_date,
)
from tracker.store.clips import ClipsMixin
from tracker.store.resolve import DONE, FAILED, WAITING, ResolveMixin, known_resolution, moved_clip
from tracker.store.tables import (
    ClipRow,
    ClipSourceRow,
    EnrichmentRow,
    FeedRow,
    LinkResolutionRow,
    MentionRow,
)
from tracker.stories.outlets import outlet_domain

DROPPED = "dropped"
ENRICH_USER = "enrich"  # who the history names when an article moves a clip to its canonical address
UNVERIFIED_REASON = "unverified: found by the search, article unreadable"
# Reads of one article before a passing failure (timeout, connection, 429, 5xx) counts as final.
MAX_ARTICLE_ATTEMPTS = 3
# What one article read did, for the cycle's report ("retry": it waits for a later cycle).
ArticleResult = Literal["read", "new_clip", "dropped", "unverified", "failed", "retry"]


def entry_json(entry: ParsedEntry) -> str:
    data = asdict(entry)
    data["published_at"] = entry.published_at.isoformat() if entry.published_at else None
    return json.dumps(data, ensure_ascii=False)


def entry_from_json(raw: str) -> ParsedEntry:
    data: dict[str, Any] = json.loads(raw)
    data["published_at"] = parse_date(data.get("published_at"))
    return ParsedEntry(**data)


def search_mention(search_for: str) -> Mention | None:
    """The member/campaign a search was generated for, as the evidence of an unread search item."""
    kind, _, target = search_for.partition(":")
    if kind not in ("member", "campaign") or not target:
        return None
    return Mention(kind="member" if kind == "member" else "campaign", target_id=target,
                   term="(found by the search)", field="search", snippet="")


class EnrichMixin(ClipsMixin, ResolveMixin):
    """Articles to read: queued by ingest, read within each cycle's budget, the rest next cycle."""

    def queue_articles(self, feed_id: str, items: Sequence[MatchedEntry], now: datetime, *, search_for: str = "") -> int:
        """Queue these items' articles (each page is read once). Matched items are clips already (found
        as storing them found them: through the resolved search link, and the address the article
        moved the clip to); a clip whose page was read before is skipped: queued before under any
        link, added by staff from its page, or holding its article's text. An unmatched item already
        stored as a clip (another feed's) only gains this feed as a source."""
        queued = 0
        with self.session() as s, s.no_autoflush:
            # An unmatched search item was queued under its search link's key; resolved since, it is keyed
            # by its publisher's URL, and is the same page (read once, not again under the new key).
            given = [item.canonical_url for item in items]
            items = [self._as_stored(s, item) for item in items]
            keys = [item.canonical_url for item in items]
            # One query each for what is known already (a search feed re-polled carries the same items).
            queued_keys = self._existing(s, col(EnrichmentRow.item_key), list(dict.fromkeys([*keys, *given])))
            unmatched = [item.clip_id for item in items if not item.mentions]
            clip_ids = self._existing(s, col(ClipRow.id), unmatched)
            unverified = self._existing(s, col(ClipRow.id), unmatched, col(ClipRow.unverified).is_(True))
            found_by = search_mention(search_for) if search_for else None
            sourced = self._existing(s, col(ClipSourceRow.clip_id), list(clip_ids), col(ClipSourceRow.feed_id) == feed_id)
            waiting_links = self._existing(s, col(LinkResolutionRow.link_key), keys)
            matched = [item.clip_id for item in items if item.mentions]
            read_clips = self._existing(s, col(EnrichmentRow.clip_id), matched)
            read_clips |= self._existing(s, col(ClipRow.id), matched,
                                         or_(col(ClipRow.manual).is_(True), col(ClipRow.article) != ""))
            for given_key, item in zip(given, items, strict=True):
                link = item.search_link or item.entry.link
                if not item.mentions and item.clip_id in clip_ids:
                    # Already a clip (another feed's, or read for another search): this feed is a source of
                    # it, and a search vouches for its member as the first did while its page is unreadable.
                    if item.clip_id not in sourced:
                        s.add(ClipSourceRow(clip_id=item.clip_id, feed_id=feed_id, guid=item.entry.guid,
                                            first_seen_at=now, link=link))
                        sourced.add(item.clip_id)
                    if found_by is not None and item.clip_id in unverified:
                        self._merge_mentions(s, item.clip_id, [found_by])
                    continue
                if item.canonical_url in queued_keys or (item.mentions and item.clip_id in read_clips):
                    continue
                if not item.mentions and given_key in queued_keys:
                    continue
                queued_keys.add(item.canonical_url)
                if not item.mentions and not item.resolved and item.canonical_url not in waiting_links:
                    # No clip carries it yet; the resolver looks it up after the clips staff see.
                    s.add(LinkResolutionRow(link_key=item.canonical_url, link=link, clip_id=None,
                                            state=WAITING, queued_at=now))
                    waiting_links.add(item.canonical_url)
                s.add(EnrichmentRow(
                    item_key=item.canonical_url, clip_id=item.clip_id if item.mentions else None, feed_id=feed_id,
                    search_for=search_for if not item.mentions else "", link=link,
                    entry=None if item.mentions else entry_json(item.entry), state=WAITING, queued_at=now,
                ))
                queued += 1
        return queued

    @staticmethod
    def _as_stored(s: Session, item: MatchedEntry) -> MatchedEntry:
        """The item as store_entries keyed it: its resolved search link, and for a clip, where its
        article moved it."""
        link_key = item.canonical_url
        if not item.resolved:
            item = known_resolution(s, item)[0]
        return moved_clip(s, item, link_key) if item.mentions else item

    @staticmethod
    def _existing(s: Session, column: Any, values: Sequence[str], *where: Any) -> set[str]:
        """Which of these values the column holds (in chunks: a statement's parameters are limited)."""
        found: set[str] = set()
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), 500):
            found.update(s.execute(select(column).where(column.in_(values[i : i + 500]), *where)).scalars())
        return found

    def due_articles(self, limit: int) -> list[EnrichTask]:
        """Waiting articles, new clips' first, then those tried fewest times (a page that timed out
        does not hold up fresh ones), oldest first; not those whose search link the resolver has
        still to look up."""
        if limit <= 0:
            return []
        q = (
            select(EnrichmentRow, col(LinkResolutionRow.state), col(LinkResolutionRow.resolved_url),
                   col(LinkResolutionRow.last_error), ClipRow)
            .outerjoin(LinkResolutionRow, col(LinkResolutionRow.link_key) == col(EnrichmentRow.item_key))
            .outerjoin(ClipRow, col(ClipRow.id) == col(EnrichmentRow.clip_id))
            .where(col(EnrichmentRow.state) == WAITING,
                   (col(LinkResolutionRow.state).is_(None)) | (col(LinkResolutionRow.state) != WAITING))
            .order_by(case((col(EnrichmentRow.clip_id).is_(None), 1), else_=0), col(EnrichmentRow.attempts),
                      col(EnrichmentRow.queued_at), col(EnrichmentRow.item_key))
            .limit(limit)
        )
        tasks = []
        with self.session() as s:
            for row, link_state, resolved_url, link_error, clip in s.execute(q).all():
                if clip is not None:
                    url = clip.url
                    entry: ParsedEntry | None = ParsedEntry(title=clip.title, link=clip.url, guid="", summary=clip.summary,
                                                            content=clip.content)
                else:
                    entry = entry_from_json(row.entry) if row.entry else None
                    # The resolver's answer, else the publisher's URL the link carried (entry.link).
                    url = resolved_url if link_state == DONE and resolved_url else (entry.link if entry else row.link)
                tasks.append(EnrichTask(
                    key=row.item_key, url=url, feed_id=row.feed_id, clip_id=row.clip_id, search_for=row.search_for,
                    entry=entry, link_failed=(link_error or "gave up") if link_state == FAILED else None,
                ))
        return tasks

    def finish_article(self, task: EnrichTask, article: Article | None, mentions: Sequence[Mention], now: datetime,
                       *, reason: str | None = None, transient: bool = False,
                       excluded: Sequence[tuple[str, str]] = ()) -> ArticleResult:
        """Record one article read (article given) or not (reason given), and what it means for its item.
        A transient failure waits for a later cycle, up to MAX_ARTICLE_ATTEMPTS reads; only then (or at
        once for a permanent one) is the item failed, and a search item kept unverified. `excluded`:
        the (kind, target id) the item's feed text matched and its article, once read, excludes."""
        # The page's server wrote part of the reason (its status line): a NUL in it, which PostgreSQL
        # refuses, failed every cycle's article step with this item still first in line.
        reason = clean_text(reason) if reason else None
        with self.session() as s:
            row = s.get(EnrichmentRow, task.key)
            if row is None or row.state != WAITING:
                return "failed"
            row.attempts += 1
            row.finished_at = now  # while it waits again: when it was last tried
            if article is None and transient:
                if row.attempts < MAX_ARTICLE_ATTEMPTS:
                    row.reason = f"retrying after attempt {row.attempts}: {reason or 'unreadable'}"[:500]
                    return "retry"
                reason = f"{reason or 'unreadable'} (after {row.attempts} attempts)"
            clip = s.get(ClipRow, row.clip_id) if row.clip_id else None
            if clip is not None:
                if article is None:
                    row.state, row.reason = FAILED, (reason or "unreadable")[:500]
                    return "failed"
                row.state, row.reason = DONE, None
                # Where the clip is now: the item's row is how its link finds the clip after a move.
                row.clip_id = self._read_into(s, clip, article, mentions, now, excluded)
                return "read"
            entry = entry_from_json(row.entry) if row.entry else None
            if entry is None:
                row.state, row.reason = FAILED, "the clip is gone"
                return "failed"
            if article is not None and mentions:
                row.state, row.reason = DONE, None
                row.clip_id, created = self._clip_from_article(s, row, entry, task.url, article, mentions, now)
                row.entry = None
                return "new_clip" if created else "read"
            if article is not None:
                row.state, row.reason = DROPPED, "the article names nobody"
                return "dropped"
            row.state, row.reason = FAILED, (reason or "unreadable")[:500]
            found_by = search_mention(row.search_for)
            if found_by is None:
                return "failed"
            row.clip_id = self._unverified_clip(s, row, entry, task, found_by, now)
            row.entry = None
            return "unverified"

    def _read_into(self, s: Session, clip: ClipRow, article: Article, mentions: Sequence[Mention], now: datetime,
                   excluded: Sequence[tuple[str, str]]) -> str:
        """What the article adds to a clip; feed text and staff edits stay, blanks are filled. Returns
        the clip's id afterwards (it moves when the article gives its own address)."""
        clip.article = limit_text(article.text, MAX_ARTICLE_CHARS)
        for attr, value in (("image_url", article.image_url), ("author", article.author), ("outlet", article.outlet),
                            ("summary", article.description)):
            if value and not getattr(clip, attr):
                setattr(clip, attr, value)
        if article.outlet and clip.outlet != article.outlet and not self._from_its_own_feed(s, clip):
            # Only an aggregator's or a wire's feed carried it: its name was on every clip it linked
            # to (Bolts, Route Fifty… all "Statehouse Wire"); the page names its own site.
            clip.outlet = article.outlet
        if article.image_credit:  # the publisher's page says more than its feed's media:credit
            clip.image_found_credit = article.image_credit
        if clip.published_at is None and article.published_at is not None:
            clip.published_at = believable_date(article.published_at, now)
        clip.unverified = False
        clip.updated_at = now
        # The article adds what only it names; what other feeds' text found stays (this item's text is
        # one feed's). A match of this item's own text that the article's `exclude` terms rule out goes,
        # unless staff attached it (the rule `tracker rematch` keeps).
        self._merge_mentions(s, clip.id, mentions)
        for kind, target_id in excluded:
            s.execute(delete(MentionRow).where(
                col(MentionRow.clip_id) == clip.id, col(MentionRow.kind) == kind, col(MentionRow.target_id) == target_id,
                col(MentionRow.manual).is_(False), col(MentionRow.field) != "search",
            ))
        s.flush()
        address = article.canonical_url or article.url
        if canonical_url(address) != clip.canonical_url and fits_as_key(address):
            return self._move_clip(s, clip, address, now, user=ENRICH_USER, action="canonical",
                                   detail=f"the article gives its own address: {clip.url} -> {clean_url(address)}").clip_id
        clip.url = clean_url(address)
        return clip.id

    @staticmethod
    def _from_its_own_feed(s: Session, clip: ClipRow) -> bool:
        """Did a feed on the clip's own site carry it (that feed's name is the outlet's)?"""
        domain = outlet_domain(clip.url)
        feeds = s.execute(select(col(FeedRow.url)).join(ClipSourceRow, col(ClipSourceRow.feed_id) == col(FeedRow.id))
                          .where(col(ClipSourceRow.clip_id) == clip.id)).scalars().all()
        return any(outlet_domain(url) == domain for url in feeds)

    def _clip_from_article(self, s: Session, row: EnrichmentRow, entry: ParsedEntry, url: str, article: Article,
                           mentions: Sequence[Mention], now: datetime) -> tuple[str, bool]:
        """The clip the article's address names (created, or the one an outlet's feed brought): (id, created)."""
        address = article.canonical_url or article.url or url
        canonical = canonical_url(address)
        clip_id = clip_id_for(canonical)
        clip = s.get(ClipRow, clip_id)
        created = clip is None
        if clip is None:
            clip = self._new_clip(s, clip_id, canonical, clean_url(address), entry, now)
            if row.search_for and article.outlet:
                clip.outlet = article.outlet  # a search feed's own title is no outlet; the site's name is
        self._add_source(s, clip.id, row, entry, now)
        return self._read_into(s, clip, article, mentions, now, ()), created

    def _unverified_clip(self, s: Session, row: EnrichmentRow, entry: ParsedEntry, task: EnrichTask, found_by: Mention,
                         now: datetime) -> str:
        """A search item whose article could not be read: kept for the member/campaign its search was for."""
        link_waits = task.link_failed is not None
        canonical = row.item_key if link_waits else canonical_url(task.url)
        clip_id = clip_id_for(canonical)
        clip = s.get(ClipRow, clip_id)
        if clip is None:
            clip = self._new_clip(s, clip_id, canonical, row.link if link_waits else clean_url(task.url), entry, now)
            clip.unverified = True
        if link_waits:
            lr = s.get(LinkResolutionRow, row.item_key)
            if lr is not None:
                lr.clip_id = clip.id  # the clip shows why its link is not the publisher's
        self._merge_mentions(s, clip.id, [found_by])
        self._add_source(s, clip.id, row, entry, now)
        return clip.id

    @staticmethod
    def _new_clip(s: Session, clip_id: str, canonical: str, url: str, entry: ParsedEntry, now: datetime) -> ClipRow:
        clip = ClipRow(
            id=clip_id, canonical_url=canonical, url=url, title=entry.title, summary=entry.summary,
            content=entry.content[:20_000], author=entry.author, published_at=believable_date(entry.published_at, now),
            published_raw=entry.published_raw, image_url=entry.image_url, image_found_credit=entry.image_credit,
            outlet=entry.source_outlet,
            first_seen_at=now, updated_at=now, status=ClipStatus.NEW.value,
        )
        s.add(clip)
        s.flush()
        return clip

    @staticmethod
    def _add_source(s: Session, clip_id: str, row: EnrichmentRow, entry: ParsedEntry, now: datetime) -> None:
        if s.get(ClipSourceRow, (clip_id, row.feed_id)) is None:
            s.add(ClipSourceRow(clip_id=clip_id, feed_id=row.feed_id, guid=entry.guid, first_seen_at=now, link=row.link))

    def enrich_queue_status(self) -> EnrichQueueStatus:
        with self.session() as s:
            counts = {state: int(n) for state, n in s.execute(
                select(col(EnrichmentRow.state), func.count()).group_by(col(EnrichmentRow.state))).all()}
            failures = s.execute(
                select(col(EnrichmentRow.reason), func.count())
                .where(col(EnrichmentRow.state) == FAILED)
                .group_by(col(EnrichmentRow.reason))
                .order_by(func.count().desc()).limit(5)
            ).all()
            retrying = int(s.execute(select(func.count()).select_from(EnrichmentRow).where(
                col(EnrichmentRow.state) == WAITING, col(EnrichmentRow.attempts) > 0)).scalar_one())
        return EnrichQueueStatus(
            waiting=counts.get(WAITING, 0), done=counts.get(DONE, 0), failed=counts.get(FAILED, 0),
            dropped=counts.get(DROPPED, 0), failures=tuple((reason or "unknown", int(n)) for reason, n in failures),
            retrying=retrying,
        )

    def articles_waiting(self) -> int:
        with self.session() as s:
            return int(s.execute(select(func.count()).select_from(EnrichmentRow)
                                 .where(col(EnrichmentRow.state) == WAITING)).scalar_one())

    def waiting_for_links(self) -> int:
        """Articles that wait for the resolver (their search link is not looked up yet)."""
        with self.session() as s:
            return int(s.execute(
                select(func.count()).select_from(EnrichmentRow)
                .join(LinkResolutionRow, col(LinkResolutionRow.link_key) == col(EnrichmentRow.item_key))
                .where(and_(col(EnrichmentRow.state) == WAITING, col(LinkResolutionRow.state) == WAITING))
            ).scalar_one())


__all__ = ["DROPPED", "UNVERIFIED_REASON", "ArticleResult", "EnrichMixin", "entry_from_json", "entry_json",
           "search_mention"]

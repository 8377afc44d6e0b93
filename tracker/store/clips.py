"""The clips' part of the Store: storing matched entries, listing, paging, counting and rematching clips."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from tracker.errors import NotFoundError, StorageError
from tracker.models import (
    ClipFilter,
    ClipPage,
    ClipStatus,
    ClipView,
    MatchedEntry,
    MatchItem,
    Mention,
    PublishedPage,
    StoreOutcome,
    StoryCopy,
)
from tracker.normalize import believable_date, clean_url
from tracker.store.base import StoreBase, mention_row
from tracker.store.resolve import DONE as RESOLVED
from tracker.store.resolve import enqueue, known_resolution, moved_clip, unresolved_of
from tracker.store.search import (
    COUNT_CAP,
    RECENT_ROWS,
    IndexHits,
    among_hits,
    index_hits,
    like_pattern,
    looked_up,
    query_words,
    search_condition,
    text_test,
)
from tracker.store.tables import (
    AuditRow,
    ClipRow,
    ClipSourceRow,
    FeedRow,
    LinkResolutionRow,
    MentionRow,
)
from tracker.store.types import UTCDateTime
from tracker.stories.outlets import outlet_domain

# Article text kept for rematching; longer bodies are cut (the URL is the source of truth).
_MAX_CONTENT_CHARS = 20_000


def _mention_view(row: MentionRow) -> Mention:
    return Mention(
        kind="member" if row.kind == "member" else "campaign",
        target_id=row.target_id,
        term=row.term,
        field=row.field,
        snippet=row.snippet,
        start=row.hit_start,
        end=row.hit_end,
    )


def _clip_view(row: ClipRow, mentions: Sequence[MentionRow], sources: Sequence[tuple[str, str]],
               unresolved: Mapping[str, str | None], also_in: Sequence[StoryCopy] = ()) -> ClipView:
    return ClipView(
        id=row.id,
        url=row.url,
        canonical_url=row.canonical_url,
        title=row.title,
        summary=row.summary,
        outlet=row.outlet,
        published_at=row.published_at,
        first_seen_at=row.first_seen_at,
        status=ClipStatus(row.status),
        image_url=row.image_url,
        mentions=tuple(sorted((_mention_view(m) for m in mentions), key=lambda m: (m.kind, m.target_id))),
        feed_ids=tuple(sorted(feed for feed, _link in sources)),
        source_links=tuple(sorted(sources)),
        headline=row.headline,
        blurb=row.blurb,
        image_override_url=row.image_override_url,
        image_credit=row.image_credit,
        image_alt=row.image_alt,
        outlet_display=row.outlet_display,
        featured=row.featured,
        position=row.position,
        tags=tuple(row.tags or ()),
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        manual=row.manual,
        updated_at=row.updated_at,
        resolved=row.id not in unresolved,
        resolve_error=unresolved.get(row.id),
        version=row.version,
        unverified=row.unverified,
        image_found_credit=row.image_found_credit,
        story_id=row.story_id,
        primary=row.story_primary or row.story_id is None,
        also_in=tuple(also_in),
        outlet_domain=row.outlet_domain,
    )


def _encode_cursor(sort_at: datetime, clip_id: str) -> str:
    raw = json.dumps([sort_at.isoformat(), clip_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, clip_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(clip_id)
    except (ValueError, TypeError) as exc:
        raise StorageError(f"bad page cursor: {exc}") from None


def _holds_tag(tags: Any, tag: str) -> ColumnElement[bool]:
    """A JSONList column holds this tag: its stored JSON text contains the tag as one JSON string
    (encoded as JSONList encodes it), LIKE's `%`, `_` and escape character taken literally."""
    # Compare the stored JSON text; the JSONList type would JSON-encode the pattern itself.
    return type_coerce(tags, Text).like(like_pattern(json.dumps(tag, ensure_ascii=False)), escape="\\")


def _from_feeds_tagged(tag: str) -> ColumnElement[bool]:
    feed_ids = select(col(FeedRow.id)).where(_holds_tag(col(FeedRow.tags), tag))
    return col(ClipRow.id).in_(select(col(ClipSourceRow.clip_id)).where(col(ClipSourceRow.feed_id).in_(feed_ids)))


class ClipsMixin(StoreBase):
    """Clips and their mentions: stored from ingest or added by staff, listed, counted, rematched."""

    # ------------------------------------------------------------ clips from ingest

    def store_entries(self, feed_id: str, entries: Sequence[MatchedEntry], now: datetime) -> StoreOutcome:
        """Store one feed's matched entries in one transaction.

        A clip already known (same canonical URL) gains this feed as a source and
        refreshes feed-supplied fields, never staff edits. An entry whose search link is not
        resolved yet is stored under the link and queued for the resolver, unless the resolver
        already knows where that link leads.
        """
        try:
            return self._store_entries(feed_id, entries, now)
        except IntegrityError:
            # Another worker inserted one of these clips between our read and our insert:
            # the whole feed again sees it as known and merges into it.
            return self._store_entries(feed_id, entries, now)

    def _store_entries(self, feed_id: str, entries: Sequence[MatchedEntry], now: datetime) -> StoreOutcome:
        new = updated = sources = 0
        new_ids: list[str] = []
        with self.session() as s:
            feed = s.get(FeedRow, feed_id)
            feed_domain = outlet_domain(feed.url) if feed is not None else ""
            stored: set[str] = set()
            for item in entries:
                queued = None
                given_id, link_key = item.clip_id, item.canonical_url
                if not item.resolved:
                    item, queued = known_resolution(s, item)
                item = moved_clip(s, item, link_key)
                if item.clip_id in stored:  # two links of this feed led to one story
                    self._merge_mentions(s, item.clip_id, item.mentions)
                    continue
                stored.add(item.clip_id)
                e = item.entry
                row = s.get(ClipRow, item.clip_id)
                if row is None:
                    row = ClipRow(
                        id=item.clip_id, canonical_url=item.canonical_url, url=clean_url(e.link), title=e.title,
                        summary=e.summary, content=e.content[:_MAX_CONTENT_CHARS], author=e.author,
                        published_at=believable_date(e.published_at, now), published_raw=e.published_raw, image_url=e.image_url,
                        image_found_credit=e.image_credit, outlet=e.source_outlet, first_seen_at=now, updated_at=now,
                        status=ClipStatus.NEW.value, story_hints=[h for h, _ in e.related],
                    )
                    s.add(row)
                    s.flush()
                    new += 1
                    new_ids.append(given_id)
                    self._replace_mentions(s, row.id, item.mentions)
                elif row.manual:
                    # Staff typed this clip in (add by URL): a feed carrying it adds a source, not text.
                    self._merge_mentions(s, row.id, item.mentions)
                else:
                    changed = False
                    # The publisher's own feed names the outlet, whichever feed stored the clip first (an
                    # aggregator's or wire's name stood on the website, and which depended on fetch order).
                    own_feed = bool(feed_domain) and feed_domain == outlet_domain(row.url)
                    for attr, value in (
                        ("outlet", e.source_outlet if own_feed else row.outlet),
                        ("title", e.title), ("summary", e.summary), ("image_url", e.image_url or row.image_url),
                        # The feed's credit fills a blank; the article's, once read, is not replaced.
                        ("image_found_credit", row.image_found_credit or e.image_credit),
                        ("published_at", row.published_at or believable_date(e.published_at, now)),
                    ):
                        if value and getattr(row, attr) != value:
                            setattr(row, attr, value)
                            changed = True
                    if changed:
                        row.updated_at = now
                        updated += 1
                    self._merge_mentions(s, row.id, item.mentions)
                if s.get(ClipSourceRow, (item.clip_id, feed_id)) is None:
                    s.add(ClipSourceRow(clip_id=item.clip_id, feed_id=feed_id, guid=e.guid, first_seen_at=now,
                                        link=item.search_link or e.link))
                    sources += 1
                if not item.resolved and queued is None:
                    enqueue(s, item, now)
                elif queued is not None and (queued.clip_id is None or s.get(ClipRow, queued.clip_id) is None):
                    # The link was queued while its item matched nobody (or its clip was pruned): this clip
                    # is the one its resolution moves, and until then it says "link not resolved yet".
                    queued.clip_id = item.clip_id
        return StoreOutcome(new_clips=new, updated_clips=updated, new_sources=sources, new_ids=tuple(new_ids))

    def known_clip_ids(self, clip_ids: Sequence[str]) -> set[str]:
        if not clip_ids:
            return set()
        with self.session() as s:
            found: set[str] = set()
            ids = list(clip_ids)
            for i in range(0, len(ids), 500):
                found.update(s.execute(select(col(ClipRow.id)).where(col(ClipRow.id).in_(ids[i : i + 500]))).scalars())
            return found

    def _replace_mentions(self, s: Session, clip_id: str, mentions: Sequence[Mention], keep_manual: bool = True) -> None:
        query = delete(MentionRow).where(col(MentionRow.clip_id) == clip_id)
        if keep_manual:
            # An unread search item's evidence is its search (field "search"), not text a rematch could find.
            query = query.where(col(MentionRow.manual).is_(False), col(MentionRow.field) != "search")
        s.execute(query)
        # What is left is staff's: attached targets, and removed (suppressed) ones the matcher must not re-add.
        manual = {
            (m.kind, m.target_id)
            for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()
        }
        for m in mentions:
            if (m.kind, m.target_id) in manual:
                continue
            s.add(mention_row(clip_id, m))

    def _merge_mentions(self, s: Session, clip_id: str, mentions: Sequence[Mention]) -> None:
        # Any row holds its target, a suppressed one too: a re-ingest never undoes a staff removal.
        have = {
            (m.kind, m.target_id)
            for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()
        }
        for m in mentions:
            if (m.kind, m.target_id) not in have:
                s.add(mention_row(clip_id, m))
                have.add((m.kind, m.target_id))

    # ------------------------------------------------------------ clips for people

    def add_manual_clip(self, entry: MatchedEntry, user: str, now: datetime,
                        *, role: str | None = None) -> tuple[ClipView, bool]:
        """A clip staff found themselves. Returns (clip, created)."""
        with self.session() as s:
            row = s.get(ClipRow, entry.clip_id)
            created = row is None
            if row is None:
                e = entry.entry
                row = ClipRow(
                    id=entry.clip_id, canonical_url=entry.canonical_url, url=clean_url(e.link), title=e.title,
                    summary=e.summary, content=e.content[:_MAX_CONTENT_CHARS], author=e.author,
                    published_at=believable_date(e.published_at, now), published_raw=e.published_raw, image_url=e.image_url,
                    outlet=e.source_outlet, first_seen_at=now, updated_at=now,
                    status=ClipStatus.NEW.value, manual=True,
                )
                s.add(row)
                s.flush()
                for m in entry.mentions:
                    s.add(mention_row(entry.clip_id, m, manual=True))
                s.add(AuditRow(clip_id=row.id, user=user, role=role, action="add", at=now, detail=e.link))
            else:
                # Already tracked: keep its text, but the members/campaigns staff chose still count.
                have = {
                    (m.kind, m.target_id): m
                    for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == row.id)).scalars()
                }
                added = []
                for m in entry.mentions:
                    existing = have.get((m.kind, m.target_id))
                    if existing is None:
                        s.add(mention_row(row.id, m, manual=True))
                        added.append(f"{m.kind}:{m.target_id}")
                    else:
                        if existing.suppressed:  # staff removed it earlier and now choose it again
                            existing.suppressed = False
                            added.append(f"{m.kind}:{m.target_id}")
                        existing.manual = True  # rematching must not take it away now
                if added:
                    row.updated_at = now
                    row.version = ClipRow.version + 1
                    s.add(AuditRow(clip_id=row.id, user=user, role=role, action="tag", at=now,
                                   detail=", ".join(added)))
        return self.get_clip(entry.clip_id), created

    def get_clip(self, clip_id: str) -> ClipView:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            return self._views(s, [row])[0]

    def _views(self, s: Session, rows: Sequence[ClipRow]) -> list[ClipView]:
        ids = [r.id for r in rows]
        mentions: dict[str, list[MentionRow]] = {i: [] for i in ids}
        sources: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        if ids:
            for m in s.execute(
                select(MentionRow).where(col(MentionRow.clip_id).in_(ids), col(MentionRow.suppressed).is_(False))
            ).scalars():
                mentions[m.clip_id].append(m)
            for src in s.execute(select(ClipSourceRow).where(col(ClipSourceRow.clip_id).in_(ids))).scalars():
                sources[src.clip_id].append((src.feed_id, src.link or ""))
        unresolved = unresolved_of(s, ids)
        copies = self._story_copies(s, {r.story_id for r in rows if r.story_id})
        return [
            _clip_view(r, mentions[r.id], sources[r.id], unresolved,
                       [c for c in copies.get(r.story_id or "", ()) if c.clip_id != r.id])
            for r in rows
        ]

    @staticmethod
    def _story_copies(s: Session, story_ids: set[str]) -> dict[str, list[StoryCopy]]:
        """Every copy of these stories, the primary first, then oldest first."""
        found: dict[str, list[tuple[bool, datetime, StoryCopy]]] = {}
        ids = sorted(story_ids)
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        waiting = exists().where(col(LinkResolutionRow.clip_id) == col(ClipRow.id), col(LinkResolutionRow.state) != RESOLVED)
        for i in range(0, len(ids), 500):
            for cid, story, url, outlet, display, title, headline, primary, at, status, unresolved in s.execute(
                select(col(ClipRow.id), col(ClipRow.story_id), col(ClipRow.url), col(ClipRow.outlet),
                       col(ClipRow.outlet_display), col(ClipRow.title), col(ClipRow.headline),
                       col(ClipRow.story_primary), sort_at, col(ClipRow.status), waiting)
                .where(col(ClipRow.story_id).in_(ids[i : i + 500]))
            ).all():
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                found.setdefault(str(story), []).append(
                    (not primary, at.replace(tzinfo=None),
                     StoryCopy(cid, url, display or outlet, headline or title, resolved=not unresolved,
                               rejected=status == ClipStatus.REJECTED.value)))
        return {k: [c for _, _, c in sorted(v, key=lambda t: (t[0], t[1], t[2].clip_id))] for k, v in found.items()}

    def _filtered(self, f: ClipFilter, s: Session | None = None):  # type: ignore[no-untyped-def]
        conditions = []
        if f.status is not None:
            conditions.append(col(ClipRow.status) == f.status.value)
        if f.featured is not None:
            conditions.append(col(ClipRow.featured).is_(f.featured))
        if f.primary_only:
            conditions.append(or_(col(ClipRow.story_id).is_(None), col(ClipRow.story_primary).is_(True)))
        if f.story_id is not None:
            conditions.append(col(ClipRow.story_id) == f.story_id)
        if f.outlet:
            conditions.append(or_(col(ClipRow.outlet) == f.outlet, col(ClipRow.outlet_display) == f.outlet))
        if f.since is not None:
            conditions.append(func.coalesce(ClipRow.published_at, ClipRow.first_seen_at) >= f.since)
        if f.until is not None:
            conditions.append(func.coalesce(ClipRow.published_at, ClipRow.first_seen_at) < f.until)
        if f.text:
            found = search_condition(self.dialect, f.text, by_story=f.primary_only)
            if found is not None:
                conditions.append(found)
        if f.tag:
            conditions.append(_holds_tag(col(ClipRow.tags), f.tag))
        for kind, target in (("member", f.member), ("campaign", f.campaign)):
            if target and s is not None and self._is_popular(s, kind, target):
                # SQLite would fetch and sort every clip of a target in 40% of all clips; walking
                # the newest-first index and probing mention's unique index stops after one page.
                conditions.append(
                    exists().where(
                        col(MentionRow.clip_id) == col(ClipRow.id), col(MentionRow.kind) == kind,
                        col(MentionRow.target_id) == target, col(MentionRow.suppressed).is_(False),
                    )
                )
            elif target:
                conditions.append(
                    col(ClipRow.id).in_(
                        select(col(MentionRow.clip_id)).where(
                            and_(col(MentionRow.kind) == kind, col(MentionRow.target_id) == target,
                                 col(MentionRow.suppressed).is_(False))
                        )
                    )
                )
        if f.member_ids is not None:
            conditions.append(
                col(ClipRow.id).in_(
                    select(col(MentionRow.clip_id)).where(
                        and_(col(MentionRow.kind) == "member", col(MentionRow.target_id).in_(f.member_ids),
                             col(MentionRow.suppressed).is_(False))
                    )
                )
            )
        if f.feed_tag:
            conditions.append(_from_feeds_tagged(f.feed_tag))
        if f.any_tag:
            conditions.append(or_(_holds_tag(col(ClipRow.tags), f.any_tag), _from_feeds_tagged(f.any_tag)))
        return conditions

    # Above this many mentions, a target's clips are listed by walking the sort index (SQLite only:
    # PostgreSQL's planner chooses that by itself). See bench/README.md, "Queries".
    popular_target_rows = 5000

    # Search planning (tracker.store.search): a search's total is counted up to this; past it, the
    # search either sorts all of its hits or walks the newest clips testing each one's text, by
    # which reads fewer (IndexHits: its hits foretold, against the clips a walk reads for a page).
    search_count_cap = COUNT_CAP
    # What sorting one hit costs against testing one clip in a walk (about the same on both
    # databases; bench/README.md, "Search"): a word in 2,700 of a million clips is sorted in ~30 ms,
    # where walking for a page of them read 9,000 clips (~110 ms); a word in every recent clip is
    # walked in a few ms, where sorting its 100,000 hits took a second.
    search_sort_cost = 1.0
    search_recent_rows = RECENT_ROWS

    def _is_popular(self, s: Session, kind: str, target: str) -> bool:
        # Counts suppressed rows too: a planning threshold, answered from the (kind, target_id) index alone.
        if self.dialect != "sqlite":
            return False
        count = s.execute(
            select(func.count()).select_from(MentionRow)
            .where(col(MentionRow.kind) == kind, col(MentionRow.target_id) == target)
        ).scalar_one()
        return int(count) > self.popular_target_rows

    def list_clips(
        self, f: ClipFilter = ClipFilter(), *, limit: int = 50, cursor: str | None = None, with_total: bool = False
    ) -> ClipPage:
        """Newest first (by published time, else first seen), keyset-paginated so page 1,000 costs what page 1 does."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        if f.text and not query_words(f.text):  # only punctuation (`-`, `"…"`): no search at all
            f = replace(f, text=None)
        with self.session() as s:
            cap = self.search_count_cap
            hits = (index_hits(s.connection(), f.text, limit=cap + 1, recent_rows=self.search_recent_rows)
                    if f.text else None)
            if hits is not None and hits.counted == 0:
                # Nothing has every word: no page to look for (`ny philadelphia` read its 25,000
                # clips' text once to count, and again for the page).
                return ClipPage(clips=(), next_cursor=None, total=0 if with_total else None)
            over_cap = hits is not None and hits.counted > cap
            broad = over_cap and hits is not None and hits.walk_reads(limit) < hits.estimated * self.search_sort_cost
            others = self._filtered(replace(f, text=None), s)
            found = search_condition(self.dialect, f.text, broad=broad, by_story=f.primary_only) if f.text else None
            conditions = [*others, found] if found is not None else others
            # A search the index looked up is sorted whole for its first page: counted in the same
            # query (a window count), where a second query found and joined every hit again.
            counted_with_page = (with_total and found is not None and hits is not None and not broad and not cursor
                                 and not (over_cap and not others))
            query = select(ClipRow, sort_at.label("sort_at"), *([func.count().over()] if counted_with_page else []))
            if conditions:
                query = query.where(and_(*conditions))
            if cursor:
                at, last_id = _decode_cursor(cursor)
                # A row-value comparison, not (a < x OR a = x AND b < y): both databases seek the index with it.
                query = query.where(tuple_(sort_at, col(ClipRow.id)) < tuple_(bindparam("at", at, type_=UTCDateTime()), last_id))
            query = query.order_by(sort_at.desc(), col(ClipRow.id).desc()).limit(limit + 1)
            results = s.execute(query).all()
            rows = [r[0] for r in results[:limit]]
            next_cursor = None
            if len(results) > limit:
                last_sort = results[limit - 1][1]
                if isinstance(last_sort, str):  # SQLite hands back coalesce() as text
                    last_sort = datetime.fromisoformat(last_sort)
                next_cursor = _encode_cursor(last_sort, rows[-1].id)
            total = None
            capped = False
            if counted_with_page:
                total = int(results[0][2]) if results else 0
                capped = total > cap
                total = min(total, cap)
            elif with_total and over_cap and not others:
                # The search alone: the index already counted its hits, past the cap.
                total, capped = cap, True
            elif with_total and broad and f.text:
                total, capped = self._count_broad(s, others, f.text, cap, shown=len(rows), by_story=f.primary_only,
                                                  hits=hits)
            elif with_total and f.text:
                # Few hits (the index's count said so): counted up to the cap.
                counted = select(col(ClipRow.id)).where(*conditions).limit(cap + 1).subquery()
                total = int(s.execute(select(func.count()).select_from(counted)).scalar_one())
                capped = total > cap
                total = min(total, cap)
            elif with_total:
                count_query = select(func.count()).select_from(ClipRow)
                if conditions:
                    count_query = count_query.where(and_(*conditions))
                total = int(s.execute(count_query).scalar_one())
            return ClipPage(clips=tuple(self._views(s, rows)), next_cursor=next_cursor, total=total,
                            total_capped=capped)

    # A broad search under other filters (the queue's "New", a member) is counted among this many
    # of the filtered clips, newest first: counting to the cap could read most of the table.
    search_count_window = 10_000

    # A window's clips are looked up among the search's hits, every hit read once, when the index
    # foretells at most this many of them (and looks them up: `&` alone would read every clip's
    # text); past it each clip's text is tested instead. At a million clips, 10,000 cards: `NY` in
    # the queue (~9,000 hits) 66 -> 51 ms on SQLite, 81 -> 55 ms on PostgreSQL; a city (25,000)
    # 75-93 -> 100-180 ms: a hit costs 4-6 µs, a card's test 8-9 µs.
    search_gather_hits = 15_000

    def _count_broad(self, s: Session, others: list[Any], text: str, cap: int, *, shown: int,
                     by_story: bool = False, hits: IndexHits | None = None) -> tuple[int, bool]:
        """(total, is it a lower bound) of a broad search with other filters: its hits among the
        newest search_count_window clips those filters allow. When more clips lie beyond that
        window, the total is "at least" (never less than the page already shows). By story, as
        search_condition's by_story: a clip counts when any copy of its story has the words."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        newest = (select(col(ClipRow.id), col(ClipRow.story_id)).where(*others)
                  .order_by(sort_at.desc(), col(ClipRow.id).desc()))
        window = newest.limit(self.search_count_window).subquery()
        story = window.c.story_id if by_story else None
        if hits is not None and hits.foretold() <= self.search_gather_hits and looked_up(text):
            test = among_hits(self.dialect, text, window.c.id, story)
        else:
            test = text_test(text, window.c.id, story)
        counted = select(window.c.id).where(test).limit(cap + 1).subquery()
        total = int(s.execute(select(func.count()).select_from(counted)).scalar_one())
        if total > cap:
            return cap, True
        beyond = s.execute(newest.offset(self.search_count_window).limit(1)).first() is not None
        return max(total, shown), beyond

    def all_clips(self, f: ClipFilter = ClipFilter()) -> list[ClipView]:
        out: list[ClipView] = []
        cursor = None
        while True:
            page = self.list_clips(f, limit=500, cursor=cursor)
            out.extend(page.clips)
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor

    def list_published(self, limit: int = 50) -> list[ClipView]:
        """The clips the website shows, in its order (as tracker.export.select_for_export chooses and
        sorts them), done in SQL so the Published page does not load every approved clip."""
        with self.session() as s:
            rows = s.execute(select(ClipRow).where(self._on_website()).order_by(*self._website_order()).limit(limit))
            return self._views(s, rows.scalars().all())

    @staticmethod
    def _website_order() -> tuple[Any, ...]:
        """ORDER BY of the website's list (tracker.export.select_for_export's order, in SQL)."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        return (col(ClipRow.featured).desc(), col(ClipRow.position).is_(None), col(ClipRow.position),
                sort_at.desc(), col(ClipRow.id))

    @classmethod
    def _on_website(cls) -> ColumnElement[bool]:
        """The approved clips the website shows (tracker.export.select_for_export, in SQL): those whose
        link is resolved, one per story: its primary when approved, else its first approved copy.
        Approving a story approves its primary, so the other copies are few: only they are ranked."""
        def shown_here(clip: Any) -> list[ColumnElement[bool]]:
            return [clip.status == ClipStatus.APPROVED.value,
                    ~exists().where(col(LinkResolutionRow.clip_id) == clip.id, col(LinkResolutionRow.state) != RESOLVED)]

        primary = or_(col(ClipRow.story_primary).is_(True), col(ClipRow.story_id).is_(None))
        other = aliased(ClipRow)
        primary_shown = exists().where(col(other.story_id) == col(ClipRow.story_id), col(other.story_primary).is_(True),
                                       *shown_here(other))
        pick = func.row_number().over(partition_by=col(ClipRow.story_id), order_by=cls._website_order())
        stand_ins = (select(col(ClipRow.id).label("cid"), pick.label("pick"))
                     .where(~primary, ~primary_shown, *shown_here(ClipRow)).subquery())
        return and_(*shown_here(ClipRow),
                    or_(primary, col(ClipRow.id).in_(select(stand_ins.c.cid).where(stand_ins.c.pick == 1))))

    def published_page(self, f: ClipFilter = ClipFilter(), *, offset: int = 0, limit: int = 25) -> PublishedPage:
        """A page of the Published list in the website's order, each clip with its place in the
        whole list, so a search shows where its hits stand on the website.

        OFFSET paging: the list is ordered by staff-set numbers, and tens of thousands of
        published clips rank in tens of milliseconds (bench/README.md).
        """
        approved = self._on_website()
        with self.session() as s:
            ranked = (
                select(col(ClipRow.id).label("rid"), func.row_number().over(order_by=self._website_order()).label("n"))
                .where(approved).subquery()
            )
            conditions = self._filtered(replace(f, status=None), s)
            query = select(ClipRow, ranked.c.n).join(ranked, ranked.c.rid == col(ClipRow.id))
            if conditions:
                query = query.where(and_(*conditions))
            results = s.execute(query.order_by(ranked.c.n).offset(max(offset, 0)).limit(limit)).all()
            count = select(func.count()).select_from(ClipRow).where(approved, *conditions)
            total = int(s.execute(count).scalar_one())
            featured = self._featured_on_website(s)
            published = total if not conditions else int(
                s.execute(select(func.count()).select_from(ClipRow).where(approved)).scalar_one()
            )
            return PublishedPage(clips=tuple(self._views(s, [r[0] for r in results])),
                                 numbers=tuple(int(r[1]) for r in results),
                                 total=total, featured=featured, published=published)

    def featured_on_website(self) -> int:
        """How many featured clips the website shows (they come first: place n of an unfeatured clip
        is this many plus its place among the rest)."""
        with self.session() as s:
            return self._featured_on_website(s)

    def _featured_on_website(self, s: Session) -> int:
        return int(s.execute(select(func.count()).select_from(ClipRow)
                             .where(self._on_website(), col(ClipRow.featured).is_(True))).scalar_one())

    def published_place(self, clip_id: str) -> tuple[bool, int, int] | None:
        """(featured, index within its group, size of the group) of a published clip; None if not published.

        Featured clips and the rest are ordered separately (featured ones always come first)."""
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None or row.status != ClipStatus.APPROVED.value:
                return None
            group = and_(self._on_website(), col(ClipRow.featured).is_(row.featured))
            ranked = (
                select(col(ClipRow.id).label("rid"), func.row_number().over(order_by=self._website_order()).label("n"))
                .where(group).subquery()
            )
            found = s.execute(select(ranked.c.n).where(ranked.c.rid == clip_id)).scalar_one_or_none()
            if found is None:  # approved, but not on the website: its link unresolved, or another copy shown
                return None
            index = int(found) - 1
            size = int(s.execute(select(func.count()).select_from(ClipRow).where(group)).scalar_one())
            return row.featured, index, size

    def published_order(self, featured: bool, limit: int) -> list[tuple[str, int | None]]:
        """(id, position) of the first `limit` published clips of one group, in the website's order."""
        with self.session() as s:
            rows = s.execute(
                select(col(ClipRow.id), col(ClipRow.position))
                .where(self._on_website(), col(ClipRow.featured).is_(featured))
                .order_by(*self._website_order()).limit(limit)
            ).all()
            return [(r[0], r[1]) for r in rows]

    def outlets(self) -> list[str]:
        with self.session() as s:
            return [o for o in s.execute(select(col(ClipRow.outlet)).distinct().order_by(ClipRow.outlet)).scalars() if o]

    # ------------------------------------------------------------ rematching

    def replace_auto_mentions(self, clip_id: str, mentions: Sequence[Mention], now: datetime) -> tuple[set[str], set[str]]:
        """Rematch one clip: returns (gained, lost) as 'kind:id' strings. Manual mentions stay."""
        with self.session() as s:
            before = self._visible_targets(s, clip_id)
            self._replace_mentions(s, clip_id, mentions)
            s.flush()
            after = self._visible_targets(s, clip_id)
            if before != after:
                row = s.get(ClipRow, clip_id)
                if row is not None:
                    row.updated_at = now
            return after - before, before - after

    @staticmethod
    def _visible_targets(s: Session, clip_id: str) -> set[str]:
        return {
            f"{m.kind}:{m.target_id}"
            for m in s.execute(
                select(MentionRow).where(col(MentionRow.clip_id) == clip_id, col(MentionRow.suppressed).is_(False))
            ).scalars()
        }

    def clip_texts(self, since: datetime | None = None) -> Iterator[tuple[str, str, str, str]]:
        """(id, title, summary, content) of stored clips, for rematching, in batches."""
        last = ""
        while True:
            with self.session() as s:
                q = select(col(ClipRow.id), col(ClipRow.title), col(ClipRow.summary), col(ClipRow.content)).where(col(ClipRow.id) > last)
                if since is not None:
                    q = q.where(col(ClipRow.first_seen_at) >= since)
                batch = s.execute(q.order_by(col(ClipRow.id)).limit(1000)).all()
            if not batch:
                return
            for r in batch:
                yield (r[0], r[1], r[2], r[3])
            last = batch[-1][0]

    def clip_match_items(self, since: datetime | None = None) -> Iterator[tuple[str, MatchItem]]:
        """Each stored clip's text as the matcher reads it, the article's too, for rematching, in batches."""
        last = ""
        while True:
            with self.session() as s:
                q = select(col(ClipRow.id), col(ClipRow.title), col(ClipRow.summary), col(ClipRow.content),
                           col(ClipRow.article)).where(col(ClipRow.id) > last)
                if since is not None:
                    q = q.where(col(ClipRow.first_seen_at) >= since)
                batch = s.execute(q.order_by(col(ClipRow.id)).limit(500)).all()
            if not batch:
                return
            for r in batch:
                yield r[0], MatchItem(title=r[1], summary=r[2], content=r[3], article=r[4])
            last = batch[-1][0]

    # ------------------------------------------------------------ stats for insights

    def count_clips(self, f: ClipFilter = ClipFilter()) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(ClipRow)
            conditions = self._filtered(f)
            if conditions:
                q = q.where(and_(*conditions))
            return int(s.execute(q).scalar_one())

    def clips_found_by_rule(self, kind: str, target_id: str, clip_ids: Sequence[str]) -> set[str]:
        """Which of these clips the saved rule found: mentions with text evidence, neither attached by
        staff (field "manual") nor a search's (field "search"), and not removed by staff."""
        found: set[str] = set()
        ids = list(clip_ids)
        with self.session() as s:
            for i in range(0, len(ids), 5_000):  # PostgreSQL takes at most 65,535 parameters a statement
                found.update(s.execute(select(col(MentionRow.clip_id)).where(
                    col(MentionRow.clip_id).in_(ids[i:i + 5_000]), col(MentionRow.kind) == kind,
                    col(MentionRow.target_id) == target_id, col(MentionRow.suppressed).is_(False),
                    col(MentionRow.field).not_in(("manual", "search")),
                )).scalars())
        return found

    def mention_rows(self, since: datetime | None = None) -> list[tuple[str, str, str, datetime, str]]:
        """(clip_id, kind, target_id, date, outlet) per mention: the data behind coverage charts."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            q = select(col(MentionRow.clip_id), col(MentionRow.kind), col(MentionRow.target_id), sort_at, col(ClipRow.outlet)).join(
                ClipRow, col(ClipRow.id) == col(MentionRow.clip_id)
            ).where(col(ClipRow.status) != ClipStatus.REJECTED.value, col(MentionRow.suppressed).is_(False))
            if since is not None:
                q = q.where(sort_at >= since)
            out = []
            for clip_id, kind, target, at, outlet in s.execute(q).all():
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                if at.tzinfo is None:
                    at = at.replace(tzinfo=UTC)
                out.append((clip_id, kind, target, at, outlet))
            return out

"""The queries the rest of tracker calls. Takes and returns frozen records only."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.errors import NotFoundError, StorageError
from tracker.models import (
    AuditEntry,
    ClipEdit,
    ClipFilter,
    ClipPage,
    ClipStatus,
    ClipView,
    FeedConfig,
    FeedHealth,
    FeedState,
    FetchOutcome,
    IngestRunView,
    MatchedEntry,
    Mention,
    StoreOutcome,
    staff_mention,
)
from tracker.normalize import believable_date
from tracker.store.engine import make_engine, resolve_db_url
from tracker.store.tables import (
    AuditRow,
    ClipRow,
    ClipSourceRow,
    FeedRow,
    IngestRunRow,
    LeaseRow,
    MentionRow,
)
from tracker.store.types import UTCDateTime

# The ingest_run owner that marks a cycle shared by `tracker ingest --worker` processes.
SHARED_RUN_OWNER = "workers"
_SHARED_CYCLE_LOCK = 734127002  # pg_advisory_xact_lock key: one worker at a time decides the cycle
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


def _clip_view(row: ClipRow, mentions: Sequence[MentionRow], feed_ids: Sequence[str]) -> ClipView:
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
        feed_ids=tuple(sorted(feed_ids)),
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


class Store:
    """One database. Thread-safe: every method opens its own session."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.url = resolve_db_url(url)
        self.engine = engine or make_engine(self.url)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except IntegrityError:
                session.rollback()
                raise  # callers that race on inserts (leases) decide what a duplicate means
            except DBAPIError as exc:  # locked, read-only, not a database, NUL in text…: one line, no traceback
                session.rollback()
                raise StorageError(f"database error: {str(exc.orig or exc).strip().splitlines()[0]}") from None
            except BaseException:
                session.rollback()
                raise

    # ------------------------------------------------------------ feeds

    def sync_feeds(self, feeds: Sequence[FeedConfig]) -> None:
        """Make the feed table match the config: add new feeds, refresh names/tags,
        mark feeds no longer configured inactive (their history stays).

        Runs at the start of every cycle, so it reads plain columns and writes only the
        rows that differ: an unchanged config of thousands of feeds costs one SELECT."""
        t = FeedRow.__table__.c  # type: ignore[attr-defined]
        wanted = {f.id: f for f in feeds}
        with self.session() as s:
            existing = {
                row.id: row
                for row in s.execute(select(t.id, t.configured_url, t.name, t.kind, t.search_for, t.tags, t.active))
            }
            refresh: list[dict[str, object]] = []
            for feed in feeds:
                row = existing.get(feed.id)
                if row is None:
                    s.add(
                        FeedRow(
                            id=feed.id, url=feed.url, configured_url=feed.url, name=feed.name,
                            kind=feed.kind, search_for=feed.search_for, tags=list(feed.tags), active=True,
                        )
                    )
                elif row.configured_url != feed.url:
                    # Staff changed the URL: start over on it. The old URL's backoff and history say
                    # nothing about the new one: poll it now.
                    s.execute(
                        update(FeedRow.__table__).where(t.id == feed.id).values(  # type: ignore[attr-defined]
                            name=feed.name, tags=list(feed.tags), kind=feed.kind, search_for=feed.search_for,
                            active=True, configured_url=feed.url, url=feed.url, etag=None, last_modified=None,
                            content_hash=None, disabled_reason=None, moved_from=None, last_error=None,
                            consecutive_failures=0, next_attempt_at=None, min_interval_s=None,
                            newest_item_at=None, last_status=None,
                        )
                    )
                elif (row.name, row.kind, row.search_for, list(row.tags), row.active) != (
                    feed.name, feed.kind, feed.search_for, list(feed.tags), True
                ):
                    refresh.append({"b_id": feed.id, "name": feed.name, "kind": feed.kind,
                                    "search_for": feed.search_for, "tags": list(feed.tags)})
            if refresh:
                s.execute(
                    update(FeedRow.__table__).where(t.id == bindparam("b_id")).values(  # type: ignore[attr-defined]
                        name=bindparam("name"), kind=bindparam("kind"), search_for=bindparam("search_for"),
                        tags=bindparam("tags", type_=t.tags.type), active=True,
                    ),
                    refresh,
                )
            gone = [feed_id for feed_id, row in existing.items() if feed_id not in wanted and row.active]
            if gone:
                s.execute(update(FeedRow.__table__).where(t.id.in_(gone)).values(active=False))  # type: ignore[attr-defined]

    def feed_state(self, feed_id: str) -> FeedState:
        return self.feed_states([feed_id])[feed_id]

    def feed_states(self, feed_ids: Sequence[str]) -> dict[str, FeedState]:
        """Many feeds' states in a few queries (one per 500 ids), as plain columns, not ORM rows."""
        t = FeedRow.__table__.c  # type: ignore[attr-defined]
        columns = [t[name] for name in FeedState.__dataclass_fields__]
        ids = list(dict.fromkeys(feed_ids))
        out: dict[str, FeedState] = {}
        with self.session() as s:
            for i in range(0, len(ids), 500):
                rows = s.execute(select(*columns).where(t.id.in_(ids[i : i + 500])))
                out.update((row.id, FeedState(*row)) for row in rows)
        missing = [fid for fid in ids if fid not in out]
        if missing:
            raise NotFoundError(f"no feed {missing[0]!r}")
        return out

    def record_fetch(self, feed_id: str, outcome: FetchOutcome, now: datetime) -> None:
        """Health bookkeeping for one feed after one attempt."""
        self.record_fetches([(feed_id, outcome, now)])

    def record_fetches(self, outcomes: Sequence[tuple[str, FetchOutcome, datetime]]) -> None:
        """Health bookkeeping for several feeds, (feed id, outcome, when) each, in one
        transaction of two executemany UPDATEs (successes, failures) rather than an ORM row
        loaded and changed per feed: a re-poll records a thousand 304s on the cycle's thread."""
        if not outcomes:
            return
        ids = [feed_id for feed_id, _, _ in outcomes]
        if len(set(ids)) == len(ids):
            # Each feed once: the order between feeds does not matter, so two statements do.
            batches = [(_RECORD_SUCCESS, [_health_params(f, o, at) for f, o, at in outcomes if o.ok]),
                       (_RECORD_FAILURE, [_health_params(f, o, at) for f, o, at in outcomes if not o.ok])]
        else:  # a feed twice: its attempts must be applied in the order they happened
            batches = [(_RECORD_SUCCESS if o.ok else _RECORD_FAILURE, [_health_params(f, o, at)])
                       for f, o, at in outcomes]
        with self.session() as s:
            known = set(s.execute(select(col(FeedRow.id)).where(col(FeedRow.id).in_(set(ids)))).scalars())
            if missing := sorted(set(ids) - known):
                raise NotFoundError(f"no feed {missing[0]!r}")
            for statement, params in batches:
                if params:
                    s.execute(statement, params, execution_options={"synchronize_session": False})

    def feed_health(self, *, include_inactive: bool = False) -> list[FeedHealth]:
        with self.session() as s:
            query = select(FeedRow).order_by(FeedRow.kind, FeedRow.name, FeedRow.id)
            if not include_inactive:
                query = query.where(col(FeedRow.active).is_(True))
            rows = s.execute(query).scalars().all()
            return [
                FeedHealth(
                    id=r.id, url=r.url, name=r.name or r.title or r.url, kind=r.kind, tags=tuple(r.tags),
                    last_attempt_at=r.last_attempt_at, last_success_at=r.last_success_at,
                    last_status=r.last_status, last_error=r.last_error,
                    consecutive_failures=r.consecutive_failures, next_attempt_at=r.next_attempt_at,
                    last_new_item_at=r.last_new_item_at, disabled_reason=r.disabled_reason,
                    items_seen_last=r.items_seen_last, moved_from=r.moved_from,
                )
                for r in rows
            ]

    # ------------------------------------------------------------ clips from ingest

    def store_entries(
        self,
        feed_id: str,
        entries: Sequence[MatchedEntry],
        now: datetime,
        *,
        _fail_after: int | None = None,
    ) -> StoreOutcome:
        """Store one feed's matched entries in one transaction.

        A clip already known (same canonical URL) gains this feed as a source and
        refreshes feed-supplied fields, never staff edits. `_fail_after` lets tests
        inject a crash after that many rows, to prove nothing partial is kept.
        """
        try:
            return self._store_entries(feed_id, entries, now, _fail_after)
        except IntegrityError:
            # Another worker inserted one of these clips between our read and our insert:
            # the whole feed again sees it as known and merges into it.
            return self._store_entries(feed_id, entries, now, _fail_after)

    def _store_entries(
        self, feed_id: str, entries: Sequence[MatchedEntry], now: datetime, _fail_after: int | None
    ) -> StoreOutcome:
        new = updated = sources = 0
        with self.session() as s:
            for i, item in enumerate(entries):
                if _fail_after is not None and i >= _fail_after:
                    raise RuntimeError(f"injected failure after {i} entries")
                e = item.entry
                row = s.get(ClipRow, item.clip_id)
                if row is None:
                    row = ClipRow(
                        id=item.clip_id, canonical_url=item.canonical_url, url=e.link, title=e.title,
                        summary=e.summary, content=e.content[:_MAX_CONTENT_CHARS], author=e.author,
                        published_at=believable_date(e.published_at, now), published_raw=e.published_raw, image_url=e.image_url,
                        outlet=e.source_outlet, first_seen_at=now, updated_at=now, status=ClipStatus.NEW.value,
                    )
                    s.add(row)
                    s.flush()
                    new += 1
                    self._replace_mentions(s, row.id, item.mentions)
                elif row.manual:
                    # Staff typed this clip in (add by URL): a feed carrying it adds a source, not text.
                    self._merge_mentions(s, row.id, item.mentions)
                else:
                    changed = False
                    for attr, value in (
                        ("title", e.title), ("summary", e.summary), ("image_url", e.image_url or row.image_url),
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
                    s.add(ClipSourceRow(clip_id=item.clip_id, feed_id=feed_id, guid=e.guid, first_seen_at=now))
                    sources += 1
        return StoreOutcome(new_clips=new, updated_clips=updated, new_sources=sources)

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
            query = query.where(col(MentionRow.manual).is_(False))
        s.execute(query)
        # What is left is staff's: attached targets, and removed (suppressed) ones the matcher must not re-add.
        manual = {
            (m.kind, m.target_id)
            for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()
        }
        for m in mentions:
            if (m.kind, m.target_id) in manual:
                continue
            s.add(_mention_row(clip_id, m))

    def _merge_mentions(self, s: Session, clip_id: str, mentions: Sequence[Mention]) -> None:
        # Any row holds its target, a suppressed one too: a re-ingest never undoes a staff removal.
        have = {
            (m.kind, m.target_id)
            for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()
        }
        for m in mentions:
            if (m.kind, m.target_id) not in have:
                s.add(_mention_row(clip_id, m))
                have.add((m.kind, m.target_id))

    # ------------------------------------------------------------ clips for people

    def add_manual_clip(self, entry: MatchedEntry, user: str, now: datetime) -> tuple[ClipView, bool]:
        """A clip staff found themselves. Returns (clip, created)."""
        with self.session() as s:
            row = s.get(ClipRow, entry.clip_id)
            created = row is None
            if row is None:
                e = entry.entry
                row = ClipRow(
                    id=entry.clip_id, canonical_url=entry.canonical_url, url=e.link, title=e.title,
                    summary=e.summary, content=e.content[:_MAX_CONTENT_CHARS], author=e.author,
                    published_at=believable_date(e.published_at, now), published_raw=e.published_raw, image_url=e.image_url,
                    outlet=e.source_outlet, first_seen_at=now, updated_at=now,
                    status=ClipStatus.NEW.value, manual=True,
                )
                s.add(row)
                s.flush()
                for m in entry.mentions:
                    s.add(_mention_row(entry.clip_id, m, manual=True))
                s.add(AuditRow(clip_id=row.id, user=user, action="add", at=now, detail=e.link))
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
                        s.add(_mention_row(row.id, m, manual=True))
                        added.append(f"{m.kind}:{m.target_id}")
                    else:
                        if existing.suppressed:  # staff removed it earlier and now choose it again
                            existing.suppressed = False
                            added.append(f"{m.kind}:{m.target_id}")
                        existing.manual = True  # rematching must not take it away now
                if added:
                    row.updated_at = now
                    s.add(AuditRow(clip_id=row.id, user=user, action="tag", at=now, detail=", ".join(added)))
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
        sources: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for m in s.execute(
                select(MentionRow).where(col(MentionRow.clip_id).in_(ids), col(MentionRow.suppressed).is_(False))
            ).scalars():
                mentions[m.clip_id].append(m)
            for src in s.execute(select(ClipSourceRow).where(col(ClipSourceRow.clip_id).in_(ids))).scalars():
                sources[src.clip_id].append(src.feed_id)
        return [_clip_view(r, mentions[r.id], sources[r.id]) for r in rows]

    def _filtered(self, f: ClipFilter, s: Session | None = None):  # type: ignore[no-untyped-def]
        conditions = []
        if f.status is not None:
            conditions.append(col(ClipRow.status) == f.status.value)
        if f.featured is not None:
            conditions.append(col(ClipRow.featured).is_(f.featured))
        if f.outlet:
            conditions.append(or_(col(ClipRow.outlet) == f.outlet, col(ClipRow.outlet_display) == f.outlet))
        if f.since is not None:
            conditions.append(func.coalesce(ClipRow.published_at, ClipRow.first_seen_at) >= f.since)
        if f.until is not None:
            conditions.append(func.coalesce(ClipRow.published_at, ClipRow.first_seen_at) < f.until)
        if f.text:
            needle = f.text.lower().replace("\\", "").replace("%", "").replace("_", " ")
            pattern = f"%{needle}%"
            conditions.append(
                or_(func.lower(ClipRow.title).like(pattern), func.lower(ClipRow.summary).like(pattern),
                    func.lower(func.coalesce(ClipRow.headline, "")).like(pattern))
            )
        if f.tag:
            # Compare the stored JSON text; the JSONList type would JSON-encode the pattern itself.
            conditions.append(type_coerce(col(ClipRow.tags), Text).like(f'%"{f.tag}"%'))
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
            feed_ids = select(col(FeedRow.id)).where(type_coerce(col(FeedRow.tags), Text).like(f'%"{f.feed_tag}"%'))
            conditions.append(
                col(ClipRow.id).in_(select(col(ClipSourceRow.clip_id)).where(col(ClipSourceRow.feed_id).in_(feed_ids)))
            )
        return conditions

    # Above this many mentions, a target's clips are listed by walking the sort index (SQLite only:
    # PostgreSQL's planner chooses that by itself). See bench/README.md, "Queries".
    popular_target_rows = 5000

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
        with self.session() as s:
            conditions = self._filtered(f, s)
            query = select(ClipRow, sort_at.label("sort_at"))
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
            if with_total:
                count_query = select(func.count()).select_from(ClipRow)
                if conditions:
                    count_query = count_query.where(and_(*conditions))
                total = int(s.execute(count_query).scalar_one())
            return ClipPage(clips=tuple(self._views(s, rows)), next_cursor=next_cursor, total=total)

    def all_clips(self, f: ClipFilter = ClipFilter()) -> list[ClipView]:
        out: list[ClipView] = []
        cursor = None
        while True:
            page = self.list_clips(f, limit=500, cursor=cursor)
            out.extend(page.clips)
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor

    def outlets(self) -> list[str]:
        with self.session() as s:
            return [o for o in s.execute(select(col(ClipRow.outlet)).distinct().order_by(ClipRow.outlet)).scalars() if o]

    def set_status(self, clip_ids: Sequence[str], status: ClipStatus, user: str, now: datetime) -> int:
        """Approve/reject/reset clips; every change is audited. Unknown ids raise NotFoundError."""
        with self.session() as s:
            rows = s.execute(select(ClipRow).where(col(ClipRow.id).in_(list(clip_ids)))).scalars().all()
            missing = set(clip_ids) - {r.id for r in rows}
            if missing:
                raise NotFoundError(f"no clip {sorted(missing)[0]!r}")
            changed = 0
            for row in rows:
                if row.status == status.value:
                    continue
                s.add(AuditRow(clip_id=row.id, user=user, action=status.value, at=now,
                               detail=f"{row.status} -> {status.value}"))
                row.status = status.value
                row.reviewed_by = user
                row.reviewed_at = now
                row.updated_at = now
                changed += 1
            return changed

    def edit_clip(self, clip_id: str, edit: ClipEdit, user: str, now: datetime) -> ClipView:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            changes = {}
            for attr, value in vars(edit).items():
                if value is None:
                    continue
                new_value = list(value) if attr == "tags" else value
                if attr != "featured" and attr != "position" and attr != "tags" and value == "":
                    new_value = None  # clearing a field returns it to the feed's value
                if getattr(row, attr) != new_value:
                    changes[attr] = new_value
                    setattr(row, attr, new_value)
            if changes:
                row.updated_at = now
                s.add(AuditRow(clip_id=clip_id, user=user, action="edit", at=now,
                               detail=json.dumps(changes, ensure_ascii=False, sort_keys=True)))
        return self.get_clip(clip_id)

    def clear_position(self, clip_id: str, user: str, now: datetime) -> None:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            if row.position is not None:
                row.position = None
                row.updated_at = now
                s.add(AuditRow(clip_id=clip_id, user=user, action="edit", at=now, detail='{"position": null}'))

    def set_manual_mentions(self, clip_id: str, mentions: Sequence[Mention], user: str, now: datetime) -> None:
        """Staff attach members/campaigns by hand; rematching keeps these."""
        with self.session() as s:
            if s.get(ClipRow, clip_id) is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            # Staff removals (suppressed rows) stay: replacing the attached set must not bring them back.
            s.execute(delete(MentionRow).where(and_(col(MentionRow.clip_id) == clip_id, col(MentionRow.manual).is_(True),
                                                    col(MentionRow.suppressed).is_(False))))
            s.flush()
            auto = {(m.kind, m.target_id): m for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()}
            for m in mentions:
                existing = auto.get((m.kind, m.target_id))
                if existing is not None:
                    existing.manual = True
                    existing.suppressed = False
                else:
                    s.add(_mention_row(clip_id, m, manual=True))
            s.add(AuditRow(clip_id=clip_id, user=user, action="tag", at=now,
                           detail=", ".join(f"{m.kind}:{m.target_id}" for m in mentions)))

    def last_unpublished_at(self) -> datetime | None:
        """When an approved clip last left the website (unpublished or rejected): exports'
        generated_at must not go back in time when the newest clip is taken down."""
        with self.session() as s:
            at = s.execute(
                select(func.max(col(AuditRow.at))).where(col(AuditRow.detail).like("approved -> %"))
            ).scalar_one()
        if isinstance(at, str):  # SQLite hands max() back as text
            at = datetime.fromisoformat(at)
        return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at

    def history(self, clip_id: str) -> list[AuditEntry]:
        with self.session() as s:
            rows = s.execute(select(AuditRow).where(col(AuditRow.clip_id) == clip_id).order_by(col(AuditRow.at), col(AuditRow.id))).scalars()
            return [AuditEntry(clip_id=r.clip_id, user=r.user, action=r.action, at=r.at, detail=r.detail) for r in rows]

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

    def set_clip_targets(
        self, clip_id: str, members: Sequence[str], campaigns: Sequence[str], user: str, now: datetime
    ) -> tuple[list[str], list[str]]:
        """Staff correct a clip's matches: the visible members/campaigns become exactly these.

        Added targets are manual mentions; removed ones stay as suppressed rows, so later
        ingests and rematches keep them off the clip. Returns (added, removed) as 'kind:id'.
        """
        wanted = {("member", i) for i in members} | {("campaign", i) for i in campaigns}
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            have = {
                (m.kind, m.target_id): m
                for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()
            }
            visible = {key for key, m in have.items() if not m.suppressed}
            added, removed = sorted(wanted - visible), sorted(visible - wanted)
            for kind, target in added:
                existing = have.get((kind, target))
                if existing is None:
                    s.add(_mention_row(clip_id, staff_mention(kind, target), manual=True))
                else:  # removed earlier: shown again, with the evidence it had
                    existing.manual, existing.suppressed = True, False
            for key in removed:
                have[key].manual, have[key].suppressed = True, True
            if added or removed:
                row.updated_at = now
                detail = " ".join([f"+{k}:{t}" for k, t in added] + [f"-{k}:{t}" for k, t in removed])
                s.add(AuditRow(clip_id=clip_id, user=user, action="tag", at=now, detail=detail))
        return [f"{k}:{t}" for k, t in added], [f"{k}:{t}" for k, t in removed]

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

    # ------------------------------------------------------------ stats for insights

    def count_clips(self, f: ClipFilter = ClipFilter()) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(ClipRow)
            conditions = self._filtered(f)
            if conditions:
                q = q.where(and_(*conditions))
            return int(s.execute(q).scalar_one())

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

    # ------------------------------------------------------------ ingest runs

    def start_run(self, owner: str, feeds_total: int, now: datetime) -> int:
        with self.session() as s:
            row = IngestRunRow(started_at=now, owner=owner, feeds_total=feeds_total, outcome="running")
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def finish_run(self, run_id: int, *, outcome: str, now: datetime, feeds_ok: int, feeds_failed: int,
                   feeds_skipped: int, items_seen: int, clips_new: int, error: str | None = None) -> None:
        with self.session() as s:
            row = s.get(IngestRunRow, run_id)
            if row is None:
                raise NotFoundError(f"no ingest run {run_id}")
            row.finished_at = now
            row.outcome = outcome
            row.feeds_ok, row.feeds_failed, row.feeds_skipped = feeds_ok, feeds_failed, feeds_skipped
            row.items_seen, row.clips_new, row.error = items_seen, clips_new, error

    def recent_runs(self, limit: int = 10) -> list[IngestRunView]:
        with self.session() as s:
            rows = s.execute(select(IngestRunRow).order_by(col(IngestRunRow.id).desc()).limit(limit)).scalars()
            return [
                IngestRunView(
                    id=r.id or 0, started_at=r.started_at, finished_at=r.finished_at, outcome=r.outcome,
                    feeds_total=r.feeds_total, feeds_ok=r.feeds_ok, feeds_failed=r.feeds_failed,
                    feeds_skipped=r.feeds_skipped, items_seen=r.items_seen, clips_new=r.clips_new, owner=r.owner,
                )
                for r in rows
            ]

    # ------------------------------------------------------------ leases (one cycle at a time)

    def acquire_lease(self, name: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Take the named lease if it is free, expired, or already ours. Atomic on both databases."""
        expires = now + ttl
        with self.session() as s:
            taken = s.connection().execute(
                update(LeaseRow)
                .where(and_(col(LeaseRow.name) == name,
                            or_(col(LeaseRow.owner) == owner, col(LeaseRow.expires_at) < now)))
                .values(owner=owner, acquired_at=now, expires_at=expires)
            ).rowcount
            if taken:
                return True
        try:
            with self.session() as s:
                if s.get(LeaseRow, name) is not None:
                    return False
                s.add(LeaseRow(name=name, owner=owner, acquired_at=now, expires_at=expires))
            return True
        except IntegrityError:
            return False  # another process inserted it first

    def renew_lease(self, name: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        with self.session() as s:
            return bool(
                s.connection().execute(
                    update(LeaseRow).where(and_(col(LeaseRow.name) == name, col(LeaseRow.owner) == owner))
                    .values(expires_at=now + ttl)
                ).rowcount
            )

    def release_lease(self, name: str, owner: str) -> None:
        with self.session() as s:
            s.execute(delete(LeaseRow).where(and_(col(LeaseRow.name) == name, col(LeaseRow.owner) == owner)))

    def lease_holder(self, name: str, now: datetime) -> tuple[str, datetime] | None:
        with self.session() as s:
            row = s.get(LeaseRow, name)
            if row is None or row.expires_at < now:
                return None
            return row.owner, row.expires_at

    # ------------------------------------------------------------ demo data (dashboard)

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
        return len(clip_rows)

    def list_published(self, limit: int = 50) -> list[ClipView]:
        """Approved clips in the website's order (as tracker.export.select_for_export sorts them),
        done in SQL so the Published page does not load every approved clip."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            rows = s.execute(
                select(ClipRow).where(col(ClipRow.status) == ClipStatus.APPROVED.value).order_by(
                    col(ClipRow.featured).desc(), col(ClipRow.position).is_(None), col(ClipRow.position),
                    sort_at.desc(), col(ClipRow.id),
                ).limit(limit)
            ).scalars().all()
            return self._views(s, rows)


    # ------------------------------------------------------------ multi-worker cycles (PostgreSQL)
    # Several `tracker ingest --worker` processes share one cycle: an ingest_run row owned by
    # SHARED_RUN_OWNER is the cycle, feed rows are claimed with FOR UPDATE SKIP LOCKED, and
    # the cycle holds the ordinary ingest-cycle lease (owner "workers:<id>") so a plain
    # `tracker ingest` or the scheduler does not run a second cycle beside it.

    def join_shared_cycle(
        self,
        feeds: Sequence[FeedConfig],
        lease: str,
        lease_ttl: timedelta,
        now: datetime,
        *,
        rejoin_within: timedelta,
        max_age: timedelta,
    ) -> tuple[int, bool, bool] | None:
        """The shared cycle to work on: (run id, created by this call, already finished).

        Joins the open cycle, or one finished less than rejoin_within ago (a late worker then
        has nothing to do instead of starting a second cycle), else starts one and syncs the
        feed table. None when a single-process cycle holds the lease. PostgreSQL only.
        """
        with self.session() as s:
            # Workers starting together must agree on one cycle: serialise this decision.
            s.execute(select(func.pg_advisory_xact_lock(_SHARED_CYCLE_LOCK)))
            latest = s.execute(
                select(IngestRunRow).where(col(IngestRunRow.owner) == SHARED_RUN_OWNER)
                .order_by(col(IngestRunRow.id).desc()).limit(1)
            ).scalars().first()
            if latest is not None and latest.id is not None:
                if latest.outcome == "running" and latest.started_at > now - max_age:
                    if not self.acquire_lease(lease, f"workers:{latest.id}", lease_ttl, now):
                        return None
                    return latest.id, False, False
                if latest.outcome == "running":  # every worker of it died long ago
                    latest.outcome, latest.finished_at = "failed", now
                    latest.error = "abandoned: no worker finished it"
                elif latest.finished_at is not None and latest.started_at > now - rejoin_within:
                    return latest.id, False, True
            row = IngestRunRow(started_at=now, owner=SHARED_RUN_OWNER, feeds_total=len(feeds), outcome="running")
            s.add(row)
            s.flush()
            assert row.id is not None
            if not self.acquire_lease(lease, f"workers:{row.id}", lease_ttl, now):
                s.delete(row)
                return None
            self.sync_feeds(feeds)  # still under the advisory lock: others wait until feeds exist
            return row.id, True, False

    def claim_feeds(
        self, cycle: int, owner: str, limit: int, ttl: timedelta, now: datetime, *, due_only: bool = False
    ) -> list[tuple[FeedConfig, FeedState]]:
        """Claim up to `limit` feeds not yet done in this cycle (or whose claim expired).

        FOR UPDATE SKIP LOCKED: concurrent claimers never wait for each other nor take the
        same row; the claim is committed before this returns.
        """
        claimable = or_(
            col(FeedRow.claim_cycle).is_(None),
            col(FeedRow.claim_cycle) != cycle,
            and_(col(FeedRow.claim_owner).is_not(None), col(FeedRow.claim_expires_at) < now),
        )
        query = select(FeedRow).where(col(FeedRow.active).is_(True), claimable)
        if due_only:
            query = query.where(or_(col(FeedRow.next_attempt_at).is_(None), col(FeedRow.next_attempt_at) <= now))
        query = query.order_by(col(FeedRow.id)).limit(limit).with_for_update(skip_locked=True)
        with self.session() as s:
            rows = s.execute(query).scalars().all()
            out = []
            for row in rows:
                row.claim_owner, row.claim_cycle, row.claim_expires_at = owner, cycle, now + ttl
                out.append((
                    FeedConfig(id=row.id, url=row.configured_url, name=row.name, tags=tuple(row.tags),
                               kind="search" if row.kind == "search" else "feed", search_for=row.search_for),
                    _feed_state(row),
                ))
            return out

    def finish_claims(self, cycle: int, owner: str, feed_ids: Sequence[str], *, done: bool = True) -> int:
        """Mark claimed feeds done in this cycle (done=False: hand them back unfetched)."""
        if not feed_ids:
            return 0
        values: dict[str, object] = {"claim_owner": None, "claim_expires_at": None}
        if not done:
            values["claim_cycle"] = None
        with self.session() as s:
            return int(s.connection().execute(
                update(FeedRow).where(
                    col(FeedRow.id).in_(list(feed_ids)), col(FeedRow.claim_cycle) == cycle,
                    col(FeedRow.claim_owner) == owner,
                ).values(**values)
            ).rowcount)

    def renew_claims(self, cycle: int, owner: str, ttl: timedelta, now: datetime) -> int:
        with self.session() as s:
            return int(s.connection().execute(
                update(FeedRow).where(col(FeedRow.claim_cycle) == cycle, col(FeedRow.claim_owner) == owner)
                .values(claim_expires_at=now + ttl)
            ).rowcount)

    def claims_in_flight(self, cycle: int) -> tuple[int, datetime | None]:
        """Feeds claimed in this cycle and not finished (live or expired), and the earliest expiry."""
        with self.session() as s:
            count, earliest = s.execute(
                select(func.count(), func.min(FeedRow.claim_expires_at)).where(
                    col(FeedRow.claim_cycle) == cycle, col(FeedRow.claim_owner).is_not(None)
                )
            ).one()
            return int(count), earliest

    def add_to_run(self, run_id: int, *, feeds_ok: int, feeds_failed: int, feeds_skipped: int,
                   items_seen: int, clips_new: int) -> None:
        """Add one worker's batch to the shared run's counts (atomic increments, no lost updates)."""
        with self.session() as s:
            s.execute(update(IngestRunRow).where(col(IngestRunRow.id) == run_id).values(
                feeds_ok=IngestRunRow.feeds_ok + feeds_ok, feeds_failed=IngestRunRow.feeds_failed + feeds_failed,
                feeds_skipped=IngestRunRow.feeds_skipped + feeds_skipped,
                items_seen=IngestRunRow.items_seen + items_seen, clips_new=IngestRunRow.clips_new + clips_new,
            ))

    def finish_shared_cycle(self, run_id: int, now: datetime) -> bool:
        """Close the shared run; True for the one worker whose call closed it."""
        with self.session() as s:
            outcome = case((col(IngestRunRow.feeds_failed) > 0, "partial"), else_="ok")
            return bool(s.connection().execute(
                update(IngestRunRow).where(col(IngestRunRow.id) == run_id, col(IngestRunRow.outcome) == "running")
                .values(outcome=outcome, finished_at=now)
            ).rowcount)

def _health_params(feed_id: str, outcome: FetchOutcome, now: datetime) -> dict[str, object]:
    return {
        "b_id": feed_id, "b_now": now, "b_status": outcome.status, "b_next": outcome.next_attempt_at,
        "b_min_interval": outcome.min_interval_s, "b_new_url": outcome.new_url,
        "b_disable": outcome.disable_reason, "b_error": outcome.error, "b_items": outcome.items_seen,
        # Validators are replaced together: a server that drops its ETag must not keep the old one.
        "b_has_validators": outcome.etag is not None or outcome.last_modified is not None,
        "b_etag": outcome.etag, "b_last_modified": outcome.last_modified,
        "b_hash": outcome.content_hash, "b_title": outcome.title or None,
        "b_had_new": outcome.had_new_items, "b_newest": outcome.newest_item_at,
    }


def _health_updates() -> tuple[Any, Any]:
    """The two UPDATEs of record_fetches: every rule of one attempt's outcome, in SQL.

    SET expressions read the row as it was before the UPDATE (SQL semantics, both databases),
    so `moved_from` gets the old URL while `url` gets the new one.
    """
    t = FeedRow.__table__.c  # type: ignore[attr-defined]
    when = t.last_attempt_at.type
    now, newest = bindparam("b_now", type_=when), bindparam("b_newest", type_=when)
    new_url = bindparam("b_new_url", type_=Text)
    moved = and_(new_url.is_not(None), new_url != t.url)
    common = {
        "last_attempt_at": now,
        "last_status": bindparam("b_status", type_=Integer),
        "next_attempt_at": bindparam("b_next", type_=when),
        "min_interval_s": func.coalesce(bindparam("b_min_interval", type_=Integer), t.min_interval_s),
        "moved_from": case((moved, t.url), else_=t.moved_from),
        "url": case((moved, new_url), else_=t.url),
    }
    has_validators = bindparam("b_has_validators", type_=Boolean)
    success = update(FeedRow.__table__).where(t.id == bindparam("b_id")).values(  # type: ignore[attr-defined]
        **common,
        last_success_at=now,
        last_error=None,
        consecutive_failures=0,
        # Set when the outcome disables it (410), cleared otherwise: a gone feed that came back is live.
        disabled_reason=bindparam("b_disable", type_=Text),
        items_seen_last=func.coalesce(bindparam("b_items", type_=Integer), t.items_seen_last),
        etag=case((has_validators, bindparam("b_etag", type_=Text)), else_=t.etag),
        last_modified=case((has_validators, bindparam("b_last_modified", type_=Text)), else_=t.last_modified),
        content_hash=func.coalesce(bindparam("b_hash", type_=Text), t.content_hash),
        title=func.coalesce(bindparam("b_title", type_=Text), t.title),
        # The first success is the baseline, so a feed that never has items is reported quiet too.
        last_new_item_at=case(
            (or_(bindparam("b_had_new", type_=Boolean), t.last_new_item_at.is_(None)), now),
            else_=t.last_new_item_at,
        ),
        newest_item_at=case(
            (and_(newest.is_not(None), or_(t.newest_item_at.is_(None), t.newest_item_at < newest)), newest),
            else_=t.newest_item_at,
        ),
    )
    failure = update(FeedRow.__table__).where(t.id == bindparam("b_id")).values(  # type: ignore[attr-defined]
        **common,
        disabled_reason=func.coalesce(bindparam("b_disable", type_=Text), t.disabled_reason),
        last_error=bindparam("b_error", type_=Text),
        consecutive_failures=t.consecutive_failures + 1,
    )
    return success, failure


_RECORD_SUCCESS, _RECORD_FAILURE = _health_updates()


def _feed_state(row: FeedRow) -> FeedState:
    return FeedState(
        id=row.id, url=row.url, etag=row.etag, last_modified=row.last_modified,
        content_hash=row.content_hash, consecutive_failures=row.consecutive_failures,
        next_attempt_at=row.next_attempt_at, disabled_reason=row.disabled_reason,
        last_success_at=row.last_success_at, min_interval_s=row.min_interval_s,
        newest_item_at=row.newest_item_at,
    )


def _mention_row(clip_id: str, m: Mention, manual: bool = False) -> MentionRow:
    return MentionRow(
        clip_id=clip_id, kind=m.kind, target_id=m.target_id, term=m.term, field=m.field,
        snippet=m.snippet, hit_start=m.start, hit_end=m.end, manual=manual,
    )

"""The feeds' part of the Store: sync with the config, state, health bookkeeping, claims."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Integer, Text, and_, bindparam, case, func, or_, select, update
from sqlmodel import col

from tracker.errors import NotFoundError
from tracker.models import FeedConfig, FeedHealth, FeedState, FetchOutcome
from tracker.normalize import clean_text
from tracker.store.base import StoreBase
from tracker.store.tables import FeedRow


class FeedsMixin(StoreBase):
    """The feed table: kept in step with the config, read before a fetch, written after it,
    and claimed in batches by `tracker ingest --worker` processes."""

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
                    items_seen_last=r.items_seen_last, moved_from=r.moved_from, last_alert=r.last_alert,
                )
                for r in rows
            ]

    # ------------------------------------------------------------ claims (multi-worker cycles, PostgreSQL)

    def claim_feeds(
        self, cycle: int, owner: str, limit: int, ttl: timedelta, now: datetime, *, due_only: bool = False,
        due_within: timedelta = timedelta(0), ahead_beyond: timedelta | None = None,
    ) -> list[tuple[FeedConfig, FeedState]]:
        """Claim up to `limit` feeds not yet done in this cycle (or whose claim expired); with
        due_only, those whose next attempt is at most `due_within` away, or more than `ahead_beyond`
        (set by a clock that ran ahead: tracker.policy.set_by_a_clock_ahead); the caller decides,
        with tracker.policy.is_due, which of those are due.

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
            due = [col(FeedRow.next_attempt_at).is_(None), col(FeedRow.next_attempt_at) <= now + due_within]
            if ahead_beyond is not None:
                due.append(col(FeedRow.next_attempt_at) > now + ahead_beyond)
            query = query.where(or_(*due))
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


def _health_params(feed_id: str, outcome: FetchOutcome, now: datetime) -> dict[str, object]:
    # What a server said reaches these columns; the fetch cleans it, and this holds if something slips
    # through: one NUL (PostgreSQL refuses it) failed the batch, so every feed's health, every cycle.
    etag, last_modified = _storable(outcome.etag), _storable(outcome.last_modified)
    return {
        "b_id": feed_id, "b_now": now, "b_status": outcome.status, "b_next": outcome.next_attempt_at,
        "b_min_interval": outcome.min_interval_s, "b_new_url": _storable(outcome.new_url),
        "b_disable": outcome.disable_reason, "b_error": clean_text(outcome.error) if outcome.error else None,
        "b_items": outcome.items_seen,
        # Validators are replaced together: a server that drops its ETag must not keep the old one.
        "b_has_validators": etag is not None or last_modified is not None,
        "b_etag": etag, "b_last_modified": last_modified,
        "b_hash": outcome.content_hash, "b_title": outcome.title or None,
        "b_had_new": outcome.had_new_items, "b_newest": outcome.newest_item_at,
        "b_alert": outcome.alert,
    }


# No validator or URL holds a control character; a lone surrogate cannot even be encoded.
_UNSTORABLE_RE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _storable(value: str | None) -> str | None:
    """A validator or a URL as it came, or None if it holds what must not be stored: cleaned, it would be a wrong one."""
    return None if value is None or _UNSTORABLE_RE.search(value) else value


def _health_updates() -> tuple[Any, Any]:
    """The two UPDATEs of record_fetches: every rule of one attempt's outcome, in SQL.

    SET expressions read the row as it was before the UPDATE (SQL semantics, both databases),
    so `moved_from` gets the old URL while `url` gets the new one. Only a success moves a feed: a
    permanent redirect to what is not a feed (a redesign's home page, a WAF page) must not stick.
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
    }
    has_validators = bindparam("b_has_validators", type_=Boolean)
    success = update(FeedRow.__table__).where(t.id == bindparam("b_id")).values(  # type: ignore[attr-defined]
        **common,
        moved_from=case((moved, t.url), else_=t.moved_from),
        url=case((moved, new_url), else_=t.url),
        # What the policy decided from this answer (and, not parsed, the interval known before): a hint
        # the publisher dropped is dropped here too, not applied forever.
        min_interval_s=bindparam("b_min_interval", type_=Integer),
        last_success_at=now,
        last_error=None,
        consecutive_failures=0,
        # Set when the outcome disables it (410), cleared otherwise: a gone feed that came back is live.
        disabled_reason=bindparam("b_disable", type_=Text),
        items_seen_last=func.coalesce(bindparam("b_items", type_=Integer), t.items_seen_last),
        # Not parsed this time (304, same bytes): the feed still has the problem it had.
        last_alert=case((bindparam("b_items", type_=Integer).is_(None), t.last_alert),
                        else_=bindparam("b_alert", type_=Text)),
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
        min_interval_s=func.coalesce(bindparam("b_min_interval", type_=Integer), t.min_interval_s),
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

"""The stages of polling one feed, each a named function; the runner only moves their records around.

    due_step      which feeds to poll now; the others' reports say when they are due (pure)
    fetch_step    conditional GET → a finished PollResult (304, same bytes, an error) or a Fetched body
    parse_step    parse and match a Fetched body in this process, then combine
    combine       a Fetched body and its ParseOutcome (from here or a parse process) → PollResult (pure)
    store_step    the feed's matched entries in one transaction → Stored (never raises)
    health_step   PollResult + Stored → the feed's report and its health row, with the next attempt (pure)

The records are named for their stage, as reader's update pipeline names its own:
FeedConfig + FeedState in, Fetched half-way, PollResult before storing, Stored after,
FeedReport + FetchOutcome out. Fetching and parsing touch no database.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from tracker.errors import FetchError, ParseError, TrackerError
from tracker.fetch import FeedSession, FetchOptions, fetch
from tracker.ingest.parsepool import ParseOutcome, parse_and_match
from tracker.ingest.reports import STOPPED, FeedReport
from tracker.match import Matcher
from tracker.models import FeedConfig, FeedState, FetchOutcome, FetchResult, MatchedEntry
from tracker.normalize import believable_date
from tracker.policy import Attempt, decide
from tracker.store import Store


@dataclass(frozen=True)
class Fetched:
    """A body that needs parsing: the half-way point between fetch (threads) and parse (maybe processes)."""

    feed: FeedConfig
    state: FeedState
    result: FetchResult
    digest: str


@dataclass(frozen=True)
class PollResult:
    """All one feed's poll found, ready to store and record (built in any thread, no database access)."""

    feed: FeedConfig
    state: FeedState
    entries: tuple[MatchedEntry, ...] = ()
    items_seen: int = 0
    status: int | None = None
    error: TrackerError | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    title: str | None = None
    new_url: str | None = None
    max_age_s: int | None = None
    ttl_minutes: int | None = None
    retry_after_s: float | None = None
    not_modified: bool = False
    unchanged: bool = False
    problem: str | None = None
    alert: str | None = None
    item_dates: tuple[datetime, ...] = ()
    match_cpu_s: float = 0.0
    stopped: bool = False  # the cycle was stopped before this feed was fetched: nothing else is set

    def newest_item_at(self, now: datetime) -> datetime | None:
        """The newest entry date that is not in the future (a mistyped year must not hide news)."""
        dates = [d for d in self.item_dates if believable_date(d, now) == d]
        return max(dates) if dates else None

    def had_new_items(self, now: datetime) -> bool:
        """Did the feed publish something since last time? By entry dates when it has them:
        search feeds rewrite their bodies on every request, so a changed body proves nothing."""
        if self.error is not None or self.not_modified or self.unchanged or not self.items_seen:
            return False
        newest = self.newest_item_at(now)
        if newest is not None:
            known = self.state.newest_item_at
            return known is None or newest > known
        return True  # undated entries: a changed body is the best evidence there is


@dataclass(frozen=True)
class Stored:
    new_clips: int = 0
    error: TrackerError | None = None  # the poll's own error, or why storing failed


def due_step(
    feeds: Sequence[FeedConfig], states: Mapping[str, FeedState], now: datetime, *, due_only: bool
) -> tuple[list[tuple[FeedConfig, FeedState]], list[FeedReport]]:
    """Split feeds into those to poll now and reports for those not due yet (only with due_only)."""
    todo: list[tuple[FeedConfig, FeedState]] = []
    not_due: list[FeedReport] = []
    for feed in feeds:
        state = states[feed.id]
        if due_only and state.next_attempt_at is not None and state.next_attempt_at > now:
            skip = f"next attempt at {state.next_attempt_at:%Y-%m-%d %H:%M} UTC"
            not_due.append(FeedReport(feed.id, feed.name, state.url, ok=True, skipped=skip))
        else:
            todo.append((feed, state))
    return todo, not_due


class _Answer(TypedDict):
    """What the server said, kept whether or not the body is parsed."""

    status: int
    etag: str | None
    last_modified: str | None
    new_url: str | None
    max_age_s: int | None


def _answer(result: FetchResult) -> _Answer:
    return _Answer(
        status=result.status, etag=result.etag, last_modified=result.last_modified,
        new_url=result.permanent_redirect_to, max_age_s=result.max_age_s,
    )


def fetch_step(
    feed: FeedConfig, state: FeedState, options: FetchOptions, session: FeedSession | None
) -> PollResult | Fetched:
    """Fetch one feed: a finished PollResult when there is nothing to parse, else the body to parse."""
    try:
        result = fetch(state.url, session=session, etag=state.etag, last_modified=state.last_modified, options=options)
    except FetchError as exc:
        return PollResult(feed, state, status=exc.status, error=exc, retry_after_s=exc.retry_after_s)
    except Exception as exc:  # a library surprise is this feed's failure, never the cycle's
        return PollResult(feed, state, error=FetchError(f"fetch failed: {type(exc).__name__}: {exc}"))
    if result.not_modified or result.body is None:
        return PollResult(feed, state, not_modified=True, **_answer(result))
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == state.content_hash:
        # Byte-identical to last time although the server sent no validators: no parse.
        return PollResult(feed, state, unchanged=True, content_hash=digest, **_answer(result))
    return Fetched(feed, state, result, digest)


def parse_step(fetched: Fetched, matcher: Matcher) -> PollResult:
    """Parse and match a body in this process (small cycles, or a parse process that died)."""
    result = fetched.result
    return combine(fetched, parse_and_match(result.body or b"", result.url, result.content_type, matcher))


def combine(fetched: Fetched, parsed: ParseOutcome) -> PollResult:
    if parsed.error is not None:
        return PollResult(fetched.feed, fetched.state, error=ParseError(parsed.error), **_answer(fetched.result))
    return PollResult(
        fetched.feed, fetched.state, entries=parsed.matched,
        items_seen=parsed.items_seen, content_hash=fetched.digest, title=parsed.title,
        ttl_minutes=parsed.ttl_minutes, problem=parsed.problem, alert=parsed.alert, item_dates=parsed.item_dates,
        match_cpu_s=parsed.match_cpu_s, **_answer(fetched.result),
    )


def store_step(store: Store, poll: PollResult, now: datetime) -> Stored:
    """Store one feed's clips in one transaction. A failure is this feed's, returned, never raised:
    it must not stop the cycle."""
    if poll.error is not None or not poll.entries:
        return Stored(error=poll.error)
    try:
        outcome = store.store_entries(poll.feed.id, poll.entries, now)
    except Exception as exc:
        return Stored(error=TrackerError(f"storing failed: {type(exc).__name__}: {exc}"))
    return Stored(new_clips=outcome.new_clips)


def health_step(poll: PollResult, stored: Stored, now: datetime, rng: random.Random) -> tuple[FeedReport, FetchOutcome]:
    """The feed's report and the health to record: ok or not, and when to try it next (policy.decide)."""
    feed, state, error = poll.feed, poll.state, stored.error
    ok = error is None
    # Not parsed this time (304, same bytes): the feed still holds what it held.
    not_parsed = poll.not_modified or poll.unchanged
    decision = decide(
        Attempt(
            ok=ok, status=poll.status, consecutive_failures=state.consecutive_failures,
            retry_after_s=poll.retry_after_s, max_age_s=poll.max_age_s, ttl_minutes=poll.ttl_minutes,
            # No <ttl> without a parse: keep the interval the feed asked for before.
            known_min_interval_s=state.min_interval_s if not_parsed else None,
        ),
        now,
        rng,
    )
    health = FetchOutcome(
        ok=ok, status=poll.status, error=str(error) if error else None,
        etag=poll.etag if ok else None, last_modified=poll.last_modified if ok else None,
        # A body that failed to store must be parsed again next time.
        content_hash=poll.content_hash if ok else None, title=poll.title,
        new_url=poll.new_url, next_attempt_at=decision.next_attempt_at,
        min_interval_s=decision.min_interval_s,
        items_seen=None if not_parsed else poll.items_seen,
        had_new_items=stored.new_clips > 0 or (ok and poll.had_new_items(now)),
        newest_item_at=poll.newest_item_at(now) if ok else None,
        disable_reason=decision.disable_reason,
        alert=poll.alert,
    )
    report = FeedReport(
        feed.id, feed.name or poll.title or "", state.url, ok=ok, status=poll.status,
        error=str(error) if error else None, items_seen=poll.items_seen, matched=len(poll.entries),
        new_clips=stored.new_clips, not_modified=not_parsed, problem=poll.problem, alert=poll.alert,
        match_cpu_s=poll.match_cpu_s,
    )
    return report, health


def stopped_report(poll: PollResult) -> FeedReport:
    return FeedReport(poll.feed.id, poll.feed.name, poll.state.url, ok=True, skipped=STOPPED)

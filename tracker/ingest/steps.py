"""The stages of polling one feed, each a named function; the runner only moves their records around.

    due_step      which feeds to poll now; the others' reports say when they are due (pure)
    fetch_step    conditional GET → a finished PollResult (304, same bytes, an error) or a Fetched body
    parse_step    parse and match a Fetched body in this process, then combine
    combine       a Fetched body and its ParseOutcome (from here or a parse process) → PollResult (pure)
    sample_dates_step  the offline demo's sample dates moved forward to the day it runs (pure)
    links_step    search-engine links → the publisher's URL when the link carries it, else kept and
                  marked for the resolver (pure)
    store_step    the feed's matched entries in one transaction → Stored (never raises); new clips and
                  the unmatched items of search feeds (and `enrich: all` feeds) queued for the article step
    health_step   PollResult + Stored → the feed's report and its health row, with the next attempt (pure)

and once per cycle, after every feed is stored:

    resolve_step  queued search links looked up within the cycle's budget, what staff need first;
                  each clip moves to (or merges into) its publisher's URL (never raises)
    enrich_step   queued articles read within the cycle's budget (settings.enrich_per_cycle): matched on
                  the article's text too; a search item whose article names nobody dropped, one whose
                  article cannot be read kept unverified; the rest wait for the next cycle (never raises)
    stories_step  the cycle's new clips placed in stories: each joins the story of a copy in the
                  window it is like, or starts one; re-keyed clips' outlets named (never raises)

The records are named for their stage, as reader's update pipeline names its own:
FeedConfig + FeedState in, Fetched half-way, PollResult before storing, Stored after,
FeedReport + FetchOutcome out. Fetching and parsing touch no database.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TypedDict
from urllib.parse import urlsplit

from tracker.clock import Clock
from tracker.enrich import ArticleReader
from tracker.errors import FetchError, ParseError, StorageError, TrackerError
from tracker.fetch import FeedSession, FetchOptions, fetch, make_session
from tracker.ingest.parsepool import ParseOutcome, parse_and_match
from tracker.ingest.reports import STOPPED, ArticleReport, FeedReport, ResolveReport
from tracker.match import Matcher
from tracker.models import (
    Article,
    Config,
    EnrichTask,
    FeedConfig,
    FeedState,
    FetchOutcome,
    FetchResult,
    MatchedEntry,
    MatchItem,
    Mention,
    ParsedEntry,
    ResolverState,
)
from tracker.normalize import believable_date, with_publisher_url
from tracker.policy import Attempt, decide, is_due, link_retry_at, resolver_backoff
from tracker.resolve.links import search_link
from tracker.resolve.resolver import GoogleNewsResolver, LinkOutcome
from tracker.store import Store
from tracker.syndication import StoriesReport, place_new_clips


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
    articles_queued: int = 0
    # Our database refused the clips (down for a moment, or a row it will not take): said on the feed,
    # but no backoff, since the publisher answered; the feed is polled again next cycle.
    storage_failed: bool = False


def feed_is_due(state: FeedState, now: datetime) -> bool:
    """tracker.policy.is_due for a feed's stored state: a publisher's interval is the one learnt
    from its last good answer; after a failure the backoff counts."""
    return is_due(state.next_attempt_at, now, gone=state.disabled_reason is not None,
                  interval_s=state.min_interval_s if state.consecutive_failures == 0 else None)


def due_step(
    feeds: Sequence[FeedConfig], states: Mapping[str, FeedState], now: datetime, *, due_only: bool
) -> tuple[list[tuple[FeedConfig, FeedState]], list[FeedReport]]:
    """Split feeds into those to poll now and reports for those not due yet (only with due_only)."""
    todo: list[tuple[FeedConfig, FeedState]] = []
    not_due: list[FeedReport] = []
    for feed in feeds:
        state = states[feed.id]
        if due_only and not feed_is_due(state, now):
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


def _answer(result: FetchResult, *, is_feed: bool) -> _Answer:
    """What the server said; a permanent redirect's new URL only when what it led to is known to be a feed
    (a publisher's redesign 301-ing its feed to the home page or a WAF page must not move the feed for good)."""
    return _Answer(
        status=result.status, etag=result.etag, last_modified=result.last_modified,
        new_url=result.permanent_redirect_to if is_feed else None, max_age_s=result.max_age_s,
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
        # A 304 proves nothing about the new address (a page older than our Last-Modified answers one):
        # the move waits for a body there that parses.
        return PollResult(feed, state, not_modified=True, **_answer(result, is_feed=False))
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == state.content_hash:
        # Byte-identical to last time although the server sent no validators: no parse (the bytes parsed before).
        return PollResult(feed, state, unchanged=True, content_hash=digest, **_answer(result, is_feed=True))
    return Fetched(feed, state, result, digest)


def parse_step(fetched: Fetched, matcher: Matcher) -> PollResult:
    """Parse and match a body in this process (small cycles, or a parse process that died)."""
    result = fetched.result
    return combine(fetched, parse_and_match(result.body or b"", result.url, result.content_type, matcher,
                                            fetched.feed.reads_unmatched))


def combine(fetched: Fetched, parsed: ParseOutcome) -> PollResult:
    if parsed.error is not None:
        return PollResult(fetched.feed, fetched.state, error=ParseError(parsed.error),
                          **_answer(fetched.result, is_feed=False))
    return PollResult(
        fetched.feed, fetched.state, entries=parsed.matched,
        items_seen=parsed.items_seen, content_hash=fetched.digest, title=parsed.title,
        ttl_minutes=parsed.ttl_minutes, problem=parsed.problem, alert=parsed.alert, item_dates=parsed.item_dates,
        match_cpu_s=parsed.match_cpu_s, **_answer(fetched.result, is_feed=True),
    )


def sample_days_behind(as_of: date | None, now: datetime) -> int:
    """Whole days from the day the demo's samples were written (settings.sample_dates_as_of) to now."""
    return max(0, (now.date() - as_of).days) if as_of is not None else 0


def sample_dates_step(poll: PollResult, days: int) -> PollResult:
    """Every date of a sample feed moved `days` forward: the offline demo shows news as recent on any
    day as on the day its samples were written (the review queue's week, Insights' 90 days)."""
    if not days or (not poll.entries and not poll.item_dates):
        return poll
    ahead = timedelta(days=days)
    entries = tuple(
        replace(item, entry=replace(item.entry, published_at=item.entry.published_at + ahead))
        if item.entry.published_at is not None else item
        for item in poll.entries
    )
    return replace(poll, entries=entries, item_dates=tuple(d + ahead for d in poll.item_dates))


def links_step(poll: PollResult, google_base: str) -> PollResult:
    """Entries linking to a search engine: the publisher's URL when the link carries it (Bing, old Google
    News ids), so the clip is the publisher's from the start; else the link is kept and marked unresolved."""
    found: dict[str, MatchedEntry] = {}
    changed = False
    for item in poll.entries:
        link = search_link(item.entry.link, google_base)
        if link is not None:
            changed = True
            if link.publisher_url is not None:
                item = with_publisher_url(item, link.publisher_url)
            else:
                item = replace(item, search_link=link.link, resolved=False)
        found[item.clip_id] = _one_story(found[item.clip_id], item) if item.clip_id in found else item
    return replace(poll, entries=tuple(found.values())) if changed else poll


def _one_story(kept: MatchedEntry, other: MatchedEntry) -> MatchedEntry:
    """Two search links of one feed to one story are one clip: the first item, with every mention of
    both (the second may be the one that named the member)."""
    have = {(m.kind, m.target_id) for m in kept.mentions}
    extra = tuple(m for m in other.mentions if (m.kind, m.target_id) not in have)
    return replace(kept, mentions=kept.mentions + extra) if extra else kept


def store_step(store: Store, poll: PollResult, now: datetime, *, read_articles: bool = True) -> Stored:
    """Store one feed's clips in one transaction, then queue the articles to read: its clips' (those
    whose page was not read before), and the unmatched items' (only search feeds and `enrich: all`
    feeds keep those). A failure is this feed's, returned, never raised: it must not stop the cycle."""
    if poll.error is not None or not poll.entries:
        return Stored(error=poll.error)
    matched = [e for e in poll.entries if e.mentions]
    try:
        outcome = store.store_entries(poll.feed.id, matched, now) if matched else None
    except Exception as exc:
        return Stored(error=TrackerError(f"storing failed: {type(exc).__name__}: {exc}"), storage_failed=True)
    new_clips = outcome.new_clips if outcome else 0
    if not read_articles:
        return Stored(new_clips=new_clips)
    # Every matched item, not only the new clips': an article never queued (queueing failed after its
    # clip was stored, the budget was 0 then) is queued when the item is next read; queue_articles
    # skips a clip whose page was read before.
    to_read = [*matched, *(e for e in poll.entries if not e.mentions)]
    try:
        queued = store.queue_articles(poll.feed.id, to_read, now, search_for=poll.feed.search_for) if to_read else 0
    except Exception as exc:  # the clips are stored; their articles are simply not read
        return Stored(new_clips=new_clips, error=TrackerError(f"queueing articles failed: {type(exc).__name__}: {exc}"))
    return Stored(new_clips=new_clips, articles_queued=queued)


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
        new_url=poll.new_url, next_attempt_at=None if stored.storage_failed else decision.next_attempt_at,
        min_interval_s=decision.min_interval_s,
        items_seen=None if not_parsed else poll.items_seen,
        had_new_items=stored.new_clips > 0 or (ok and poll.had_new_items(now)),
        newest_item_at=poll.newest_item_at(now) if ok else None,
        disable_reason=decision.disable_reason,
        alert=poll.alert,
    )
    report = FeedReport(
        feed.id, feed.name or poll.title or "", state.url, ok=ok, status=poll.status,
        error=str(error) if error else None, items_seen=poll.items_seen,
        matched=sum(1 for e in poll.entries if e.mentions), new_clips=stored.new_clips,
        articles_queued=stored.articles_queued, not_modified=not_parsed, problem=poll.problem, alert=poll.alert,
        match_cpu_s=poll.match_cpu_s,
    )
    return report, health


def stopped_report(poll: PollResult) -> FeedReport:
    return FeedReport(poll.feed.id, poll.feed.name, poll.state.url, ok=True, skipped=STOPPED)


def resolve_step(
    store: Store, resolver: GoogleNewsResolver, budget: int, clock: Clock, stop: threading.Event | None = None
) -> ResolveReport:
    """Look up queued search links, at most `budget`, approved clips' first; nothing while backing off.

    A 429 backs the whole resolver off (kept in the database, so the next cycle waits too); any other
    failure is that link's, retried later and eventually given up. Never raises: the cycle's clips are
    stored already, and an unresolved link only waits for the next cycle.
    """
    counts = {"resolved": 0, "merged": 0, "failed": 0, "retry": 0}

    def record(outcome: LinkOutcome) -> None:
        at = clock()
        if outcome.url is not None:
            done = store.resolve_link(outcome.task.key, outcome.url, at)
            counts["resolved"] += 1
            counts["merged"] += int(done is not None and done.merged)
            return
        retry_at = None if outcome.permanent else link_retry_at(outcome.task.attempts + 1, at)
        store.link_failed(outcome.task.key, outcome.error or "no URL", at, retry_at)
        counts["retry" if retry_at else "failed"] += 1

    try:
        now = clock()
        state = store.resolver_state()
        if state.backoff_until is not None and state.backoff_until > now:
            return ResolveReport(backing_off_until=state.backoff_until, error=state.last_error)
        run = resolver.resolve(store.due_resolutions(budget, now), record, stop)
        until = None
        if run.rate_limited:
            level = state.backoff_level + 1
            until = resolver_backoff(level, run.retry_after_s, clock())
            store.set_resolver_state(ResolverState(until, level, run.error), clock())
        elif state.backoff_level and run.looked_up:
            store.set_resolver_state(ResolverState(), clock())  # Google answers again: the next 429 starts afresh
        return _resolve_report(counts, looked_up=run.looked_up, backing_off_until=until, error=run.error)
    except Exception as exc:  # a database blip here must not fail a cycle whose clips are stored
        return _resolve_report(counts, error=f"resolving links failed: {type(exc).__name__}: {exc}")


def stories_step(store: Store, config: Config, clock: Clock) -> StoriesReport:
    """Place the clips that have no story yet (README, "Stories"). Incremental: only new clips are
    signed and compared, against the stored signatures of the window. Never raises: an unplaced clip
    shows as a story of its own and is placed next cycle."""
    try:
        return place_new_clips(store, config, clock())
    except Exception as exc:
        return StoriesReport(error=f"placing stories failed: {type(exc).__name__}: {exc}")


def excluded_by_article(matcher: Matcher, entry: ParsedEntry | None, with_article: Sequence[Mention]) -> list[tuple[str, str]]:
    """Pure: what the item's feed text matched that the whole item, article included, does not: ruled
    out by an `exclude` term only the article has ("Chris Evans visits Boston"; the page: "the Marvel star")."""
    if entry is None:
        return []
    own = matcher.match(MatchItem(title=entry.title, summary=entry.summary, content=entry.content))
    kept = {(m.kind, m.target_id) for m in with_article}
    return sorted({(m.kind, m.target_id) for m in own} - kept)


def _resolve_report(counts: Mapping[str, int], *, looked_up: int = 0, backing_off_until: datetime | None = None,
                    error: str | None = None) -> ResolveReport:
    return ResolveReport(resolved=counts["resolved"], merged=counts["merged"], failed=counts["failed"],
                         retry=counts["retry"], looked_up=looked_up, backing_off_until=backing_off_until, error=error)


def enrich_step(
    store: Store, reader: ArticleReader, matcher: Callable[[], Matcher], budget: int, clock: Clock, *,
    per_host: int = 2, threads: int = 8, stop: threading.Event | None = None,
) -> ArticleReport:
    """Read at most `budget` queued articles (new clips' first), a few at a time and at most `per_host`
    per publisher; match each item on its feed text and its article; record what each read means.

    Pages are fetched in threads; matching and storing happen here, one item at a time. A page that
    cannot be read (HTTP error, timeout, too large, not HTML, an internal address on any hop, a consent
    wall, no text) is that item's recorded failure; nothing here fails the cycle.
    """
    counts = {"read": 0, "new_clip": 0, "dropped": 0, "unverified": 0, "failed": 0, "retry": 0}
    try:
        tasks = store.due_articles(budget)
        todo = []
        for task in tasks:
            if task.link_failed is not None:  # nothing to read: the resolver gave up on its search link
                counts[store.finish_article(task, None, (), clock(), reason=f"link not resolved: {task.link_failed}")] += 1
            else:
                todo.append(task)
        if todo:
            _read_articles(store, reader, matcher(), todo, counts, clock, per_host, threads, stop)
        left = store.articles_waiting()
        return ArticleReport(read=counts["read"], new_clips=counts["new_clip"], dropped=counts["dropped"],
                             unverified=counts["unverified"], failed=counts["failed"], retry=counts["retry"], left=left)
    except Exception as exc:  # a database blip here must not fail a cycle whose clips are stored
        return ArticleReport(read=counts["read"], new_clips=counts["new_clip"], dropped=counts["dropped"],
                             unverified=counts["unverified"], failed=counts["failed"], retry=counts["retry"],
                             error=f"reading articles failed: {type(exc).__name__}: {exc}")


def _read_articles(store: Store, reader: ArticleReader, matcher: Matcher, tasks: Sequence[EnrichTask],
                   counts: dict[str, int], clock: Clock, per_host: int, threads: int,
                   stop: threading.Event | None) -> None:
    hosts: dict[str, threading.Semaphore] = {}
    guard = threading.Lock()

    def read(task: EnrichTask) -> tuple[EnrichTask, Article | None, str | None, bool]:
        """(task, article, why unreadable, whether worth trying again later)."""
        if stop is not None and stop.is_set():
            return task, None, None, False
        host = (urlsplit(task.url).hostname or "").lower()
        with guard:
            slot = hosts.setdefault(host, threading.Semaphore(max(1, per_host)))
        with slot:
            try:
                return task, reader.read(task.url, session), None, False
            except FetchError as exc:
                return task, None, str(exc), exc.transient
            except Exception as exc:  # a library surprise on one page is that item's failure
                return task, None, f"reading failed: {type(exc).__name__}: {exc}", False

    session = make_session(threads * 2)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(threads, len(tasks))), thread_name_prefix="article") as pool:
            for task, article, reason, transient in pool.map(read, tasks):
                if article is None and reason is None:
                    continue  # stopped before reading: it waits for the next cycle
                mentions: list[Mention] = []
                excluded: list[tuple[str, str]] = []
                if article is not None:
                    entry = task.entry
                    mentions = matcher.match(MatchItem(
                        title=entry.title if entry else article.title, summary=entry.summary if entry else "",
                        content=entry.content if entry else "", article=article.text,
                    ))
                    excluded = excluded_by_article(matcher, entry, mentions)
                try:
                    counts[store.finish_article(task, article, mentions, clock(), reason=reason, transient=transient,
                                                excluded=excluded)] += 1
                except (StorageError, ValueError) as exc:  # ValueError: a driver refusing text (UnicodeEncodeError)
                    if article is None:
                        raise  # recording a failure failed: the database itself is in trouble
                    # What this page gave, the database refused (a value too long for an index, a
                    # character it cannot store): this item's failure, never the queue's. Unrecorded,
                    # it stayed first in line and stopped every later article, every cycle.
                    counts[store.finish_article(task, None, (), clock(), reason=f"the page's details could not be "
                                                f"stored: {exc}")] += 1
    finally:
        session.close()

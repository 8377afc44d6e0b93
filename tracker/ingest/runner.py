"""One ingest cycle: fetch → parse → match → store, feed by feed.

Feeds are fetched, parsed and matched concurrently (a bounded pool, at most a
few requests per host); each feed's clips are stored in their own transaction
on the calling thread, so a failing feed is recorded and the rest go on, and a
crash never leaves half a feed behind. On large cycles the bodies are parsed and
matched in a process pool (tracker.ingest.parsepool), one process per core, because
feedparser holds the GIL; fetching stays in threads.
"""

from __future__ import annotations

import hashlib
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tracker.clock import Clock, system_clock
from tracker.errors import FetchError, ParseError, TrackerError
from tracker.fetch import FeedSession, FetchOptions, fetch, make_session
from tracker.ingest.parsepool import (
    ParseOutcome,
    ParsePool,
    default_processes,
    parse_and_match,
)
from tracker.match import Matcher, compile_matcher
from tracker.models import Config, FeedConfig, FetchResult
from tracker.policy import Attempt, decide
from tracker.store import EntryToStore, FeedState, FetchOutcome, Store
from tracker.store.repo import believable_date


@dataclass(frozen=True)
class FeedReport:
    feed_id: str
    name: str
    url: str
    ok: bool
    status: int | None = None
    error: str | None = None
    items_seen: int = 0
    matched: int = 0
    new_clips: int = 0
    skipped: str | None = None  # why the feed was not fetched (backoff, disabled, stopped)
    not_modified: bool = False
    problem: str | None = None  # parsed, but feedparser found the feed malformed
    match_cpu_s: float = 0.0


class FeedTally:
    """Counts over `feeds`, shared by the reports of a whole cycle and of one worker's share."""

    feeds: tuple[FeedReport, ...]

    @property
    def feeds_ok(self) -> int:
        return sum(1 for f in self.feeds if f.ok and not f.skipped)

    @property
    def feeds_failed(self) -> int:
        return sum(1 for f in self.feeds if not f.ok and not f.skipped)

    @property
    def feeds_skipped(self) -> int:
        return sum(1 for f in self.feeds if f.skipped)

    @property
    def items_seen(self) -> int:
        return sum(f.items_seen for f in self.feeds)

    @property
    def new_clips(self) -> int:
        return sum(f.new_clips for f in self.feeds)

    @property
    def match_cpu_s(self) -> float:
        return sum(f.match_cpu_s for f in self.feeds)


@dataclass(frozen=True)
class CycleReport(FeedTally):
    run_id: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    feeds: tuple[FeedReport, ...]
    export_error: str | None = None  # the cycle was stored, but settings.exports could not be written


@dataclass(frozen=True)
class _Work:
    """What a worker thread hands back for one feed (no database access there)."""

    feed: FeedConfig
    state: FeedState
    entries: tuple[EntryToStore, ...] = ()
    items_seen: int = 0
    status: int | None = None
    error: FetchError | TrackerError | None = None
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
    item_dates: tuple[datetime, ...] = ()
    match_cpu_s: float = 0.0

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


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class _HostLimiter:
    """At most `limit` requests in flight per host: polite to publishers behind one server."""

    limit: int
    _locks: dict[str, threading.Semaphore] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def for_url(self, url: str) -> threading.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        with self._guard:
            if host not in self._locks:
                self._locks[host] = threading.Semaphore(self.limit)
            return self._locks[host]


@dataclass(frozen=True)
class _Fetched:
    """A body that needs parsing: the half-way point between fetch (threads) and parse (maybe processes)."""

    feed: FeedConfig
    state: FeedState
    result: FetchResult
    digest: str


def _fetch_step(
    feed: FeedConfig, state: FeedState, options: FetchOptions, session: FeedSession | None
) -> _Work | _Fetched:
    """Fetch one feed: a finished _Work when there is nothing to parse, else the body to parse."""
    try:
        result = fetch(state.url, session=session, etag=state.etag, last_modified=state.last_modified, options=options)
    except FetchError as exc:
        return _Work(feed, state, status=exc.status, error=exc, retry_after_s=exc.retry_after_s)
    except Exception as exc:  # a library surprise is this feed's failure, never the cycle's
        return _Work(feed, state, error=FetchError(f"fetch failed: {type(exc).__name__}: {exc}"))
    if result.not_modified or result.body is None:
        return _Work(feed, state, not_modified=True, **_common(result))  # type: ignore[arg-type]
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == state.content_hash:
        # Byte-identical to last time although the server sent no validators: no parse.
        return _Work(feed, state, unchanged=True, content_hash=digest, **_common(result))  # type: ignore[arg-type]
    return _Fetched(feed, state, result, digest)


def _common(result: FetchResult) -> dict[str, object]:
    return {
        "status": result.status, "etag": result.etag, "last_modified": result.last_modified,
        "new_url": result.permanent_redirect_to, "max_age_s": result.max_age_s,
    }


def _combine(fetched: _Fetched, parsed: ParseOutcome) -> _Work:
    common = _common(fetched.result)
    if parsed.error is not None:
        return _Work(fetched.feed, fetched.state, error=ParseError(parsed.error), **common)  # type: ignore[arg-type]
    return _Work(
        fetched.feed, fetched.state, entries=parsed.matched,
        items_seen=parsed.items_seen, content_hash=fetched.digest, title=parsed.title,
        ttl_minutes=parsed.ttl_minutes, problem=parsed.problem, item_dates=parsed.item_dates,
        match_cpu_s=parsed.match_cpu_s,
        **common,  # type: ignore[arg-type]
    )


# Below this many feeds, starting the parse pool costs more than it saves.
POOL_MIN_FEEDS = 200
# Feed health is written in batches: one transaction per feed was most of a re-poll's CPU.
HEALTH_BATCH = 250
HEALTH_FLUSH_S = 2.0


class Ingestor:
    """Runs cycles for one config against one store."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        matcher: Matcher | None = None,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
        workers: int | None = None,
        parse_processes: int | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._matcher = matcher
        self._matcher_lock = threading.Lock()
        self.clock = clock
        self.rng = rng or random.Random()
        s = config.settings
        self.workers = workers or s.workers
        # None: one parser process per core for large cycles; 0 or 1: parse in the fetch threads.
        self.parse_processes = default_processes() if parse_processes is None else parse_processes
        self.pool_min_feeds = POOL_MIN_FEEDS
        self.options = FetchOptions(
            timeout_s=s.timeout_s, connect_timeout_s=min(10.0, s.timeout_s), max_body_bytes=s.max_body_bytes,
            user_agent=s.user_agent, clock=clock,
        )
        # Test hook: crash while storing this feed after N rows (proves per-feed atomicity).
        self.fail_storing: dict[str, int] = {}

    @property
    def matcher(self) -> Matcher:
        """Compiled at the first body to match: a re-poll where every feed answers 304 never needs it."""
        if self._matcher is None:
            with self._matcher_lock:
                if self._matcher is None:
                    self._matcher = compile_matcher(self.config.members, self.config.campaigns)
        return self._matcher

    def run_cycle(
        self,
        *,
        due_only: bool = False,
        owner: str | None = None,
        progress: Callable[[FeedReport, int, int], None] | None = None,
        stop: threading.Event | None = None,
        feed_ids: Sequence[str] | None = None,
    ) -> CycleReport:
        """Poll every configured feed once (only the due ones with due_only)."""
        started = self.clock()
        feeds = list(self.config.all_feeds())
        self.store.sync_feeds(feeds)
        if feed_ids is not None:
            wanted = set(feed_ids)
            feeds = [f for f in feeds if f.id in wanted]
        run_id = self.store.start_run(owner or default_owner(), len(feeds), started)
        reports: list[FeedReport] = []
        outcome = "ok"
        error: str | None = None
        try:
            self._run(feeds, due_only, reports, progress, stop)
            if stop is not None and stop.is_set():
                outcome = "interrupted"
        except KeyboardInterrupt:
            outcome = "interrupted"
            raise
        except BaseException as exc:
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            finished = self.clock()
            if outcome == "ok" and any(not r.ok and not r.skipped for r in reports):
                outcome = "partial"
            report = CycleReport(run_id, started, finished, outcome, tuple(reports))
            self.store.finish_run(
                run_id, outcome=outcome, now=finished, feeds_ok=report.feeds_ok, feeds_failed=report.feeds_failed,
                feeds_skipped=report.feeds_skipped, items_seen=report.items_seen, clips_new=report.new_clips,
                error=error,
            )
        return report

    def _run(
        self,
        feeds: list[FeedConfig],
        due_only: bool,
        reports: list[FeedReport],
        progress: Callable[[FeedReport, int, int], None] | None,
        stop: threading.Event | None,
    ) -> None:
        now = self.clock()
        total = len(feeds)
        todo: list[tuple[FeedConfig, FeedState]] = []
        states = self.store.feed_states([f.id for f in feeds])
        for feed in feeds:
            state = states[feed.id]
            skip = None
            if due_only and state.next_attempt_at is not None and state.next_attempt_at > now:
                skip = f"next attempt at {state.next_attempt_at:%Y-%m-%d %H:%M} UTC"
            if skip:
                report = FeedReport(feed.id, feed.name, state.url, ok=True, skipped=skip)
                reports.append(report)
                if progress:
                    progress(report, len(reports), total)
            else:
                todo.append((feed, state))
        self._poll(todo, reports, progress, stop, total)

    def poll_feeds(
        self,
        todo: Sequence[tuple[FeedConfig, FeedState]],
        *,
        progress: Callable[[FeedReport, int, int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[FeedReport]:
        """Fetch, parse, match and store exactly these feeds (no run row): for multi-worker cycles."""
        reports: list[FeedReport] = []
        self._poll(list(todo), reports, progress, stop, len(todo))
        return reports

    def _poll(
        self,
        todo: list[tuple[FeedConfig, FeedState]],
        reports: list[FeedReport],
        progress: Callable[[FeedReport, int, int], None] | None,
        stop: threading.Event | None,
        total: int,
    ) -> None:
        limiter = _HostLimiter(self.config.settings.per_host_limit)
        session = make_session(self.workers * 2)
        use_pool = self.parse_processes > 1 and len(todo) >= self.pool_min_feeds
        # Started at the first body to parse: a re-poll of unchanged feeds never pays for it.
        parse_pool: ParsePool | None = None
        # Bodies waiting for a parser are held here, not queued without bound: memory stays flat.
        gate = threading.BoundedSemaphore(max(1, self.parse_processes) * 4)

        def stopped() -> bool:
            return stop is not None and stop.is_set()

        def parse_here(fetched: _Fetched) -> _Work:
            body = fetched.result.body or b""
            return _combine(fetched, parse_and_match(body, fetched.result.url, fetched.result.content_type, self.matcher))

        def task(feed: FeedConfig, state: FeedState) -> _Work | _Fetched:
            if stopped():
                return _Work(feed, state, error=TrackerError("stopped before fetching"))
            with limiter.for_url(state.url):
                # Waiting for the host's slot can take long; a stop that came meanwhile wins.
                if stopped():
                    return _Work(feed, state, error=TrackerError("stopped before fetching"))
                step = _fetch_step(feed, state, self.options, session)
            if isinstance(step, _Fetched):
                if not use_pool:
                    return parse_here(step)
                gate.acquire()  # released when its parse finishes
            return step

        health: list[tuple[str, FetchOutcome, datetime]] = []

        def deliver(work: _Work) -> None:
            report, outcome, at = self._record(work)
            if outcome is not None:
                health.append((work.feed.id, outcome, at))
            reports.append(report)
            if progress:
                progress(report, len(reports), total)

        last_flush = time.monotonic()

        def flush_health(force: bool = False) -> None:
            # Clips are already committed per feed; health rows go in one transaction per batch
            # of a few hundred feeds or a couple of seconds, whichever comes first.
            nonlocal last_flush
            if health and (force or len(health) >= HEALTH_BATCH or time.monotonic() - last_flush > HEALTH_FLUSH_S):
                self.store.record_fetches(health)
                health.clear()
                last_flush = time.monotonic()

        parsing: dict[Future[Any], _Fetched] = {}  # parse futures, and the fetch each one came from
        # Finished futures arrive here, each exactly once (cancelled ones too): O(1) per feed,
        # where concurrent.futures.wait() locks every pending future on each wake-up, a cost
        # that grows with the cycle (within noise at 1,000 feeds; it is for the larger ones).
        finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="ingest") as pool:
                for f, s in todo:
                    pool.submit(task, f, s).add_done_callback(finished.put)
                outstanding = len(todo)  # futures not yet taken off `finished`
                cancelled = False
                try:
                    while outstanding:
                        fut: Future[Any] | None
                        try:
                            fut = finished.get(timeout=0.5)
                        except queue.Empty:
                            fut = None
                        if stopped() and not cancelled:
                            # Queued fetches are cancelled (they still arrive on `finished`);
                            # parses in flight finish: they are quick.
                            cancelled = True
                            pool.shutdown(wait=False, cancel_futures=True)
                        if fut is None:
                            flush_health()
                            continue
                        outstanding -= 1
                        if fut.cancelled():
                            continue
                        if fut in parsing:
                            fetched = parsing.pop(fut)
                            gate.release()
                            try:
                                parsed = fut.result()
                            except Exception:  # a parser process died (OOM, signal): parse this one here
                                deliver(parse_here(fetched))
                            else:
                                deliver(_combine(fetched, parsed))
                        else:
                            step = fut.result()
                            if isinstance(step, _Fetched):
                                if parse_pool is None:
                                    parse_pool = ParsePool(self.parse_processes, self.matcher)
                                body = step.result.body or b""
                                try:
                                    pf = parse_pool.submit(body, step.result.url, step.result.content_type)
                                except RuntimeError:  # broken or shut-down pool: BrokenProcessPool is one
                                    gate.release()
                                    deliver(parse_here(step))
                                else:
                                    parsing[pf] = step
                                    pf.add_done_callback(finished.put)
                                    outstanding += 1
                            else:
                                deliver(step)
                        flush_health()
                except BaseException:
                    # Ctrl-C or a crash: drop the queued feeds instead of fetching them for nothing.
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
        finally:
            flush_health(force=True)
            session.close()
            if parse_pool is not None:
                parse_pool.close()

    def _record(self, work: _Work) -> tuple[FeedReport, FetchOutcome | None, datetime]:
        """Store one feed's clips (one transaction); return its report and the health to record.

        Errors are reported, never raised: one feed's failure must not stop the cycle.
        """
        now = self.clock()
        feed, state = work.feed, work.state
        if isinstance(work.error, TrackerError) and str(work.error) == "stopped before fetching":
            return FeedReport(feed.id, feed.name, state.url, ok=True, skipped="stopped"), None, now
        new_clips = 0
        error = work.error
        if error is None and work.entries:
            try:
                outcome = self.store.store_entries(
                    feed.id, work.entries, now, _fail_after=self.fail_storing.get(feed.id)
                )
                new_clips = outcome.new_clips
            except Exception as exc:  # one feed's storage failure must not stop the cycle
                error = TrackerError(f"storing failed: {type(exc).__name__}: {exc}")
        ok = error is None
        decision = decide(
            Attempt(
                ok=ok, status=work.status, consecutive_failures=state.consecutive_failures,
                retry_after_s=work.retry_after_s, max_age_s=work.max_age_s, ttl_minutes=work.ttl_minutes,
                # Not parsed this time, so no <ttl>: keep the interval the feed asked for before.
                known_min_interval_s=state.min_interval_s if work.not_modified or work.unchanged else None,
            ),
            now,
            self.rng,
        )
        health = FetchOutcome(
            ok=ok, status=work.status, error=str(error) if error else None,
            etag=work.etag if ok else None, last_modified=work.last_modified if ok else None,
            # A body that failed to store must be parsed again next time.
            content_hash=work.content_hash if ok else None, title=work.title,
            new_url=work.new_url, next_attempt_at=decision.next_attempt_at,
            min_interval_s=decision.min_interval_s,
            # Not parsed this time (304, same bytes): the feed still holds what it held.
            items_seen=None if work.not_modified or work.unchanged else work.items_seen,
            had_new_items=new_clips > 0 or (ok and work.had_new_items(now)),
            newest_item_at=work.newest_item_at(now) if ok else None,
            disable_reason=decision.disable_reason,
        )
        report = FeedReport(
            feed.id, feed.name or work.title or "", state.url, ok=ok, status=work.status,
            error=str(error) if error else None, items_seen=work.items_seen, matched=len(work.entries),
            new_clips=new_clips, not_modified=work.not_modified or work.unchanged, problem=work.problem,
            match_cpu_s=work.match_cpu_s,
        )
        return report, health, now


def run_ingest(config: Config, store: Store, **kwargs: object) -> CycleReport:
    """Convenience for callers that need one cycle and nothing else."""
    return Ingestor(config, store).run_cycle(**kwargs)  # type: ignore[arg-type]


__all__ = ["CycleReport", "FeedReport", "Ingestor", "run_ingest"]

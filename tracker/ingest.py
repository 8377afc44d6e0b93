"""One ingest cycle: fetch → parse → match → store, feed by feed.

Feeds are fetched, parsed and matched concurrently (a bounded pool, at most a
few requests per host); each feed's clips are stored in their own transaction
on the calling thread, so a failing feed is recorded and the rest go on, and a
crash never leaves half a feed behind.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import threading

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests

from tracker.errors import FetchError, ParseError, TrackerError
from tracker.fetch import FetchOptions, fetch, make_session
from tracker.match import Matcher, compile_matcher
from tracker.models import Config, FeedConfig, MatchItem, ParsedEntry
from tracker.normalize import canonical_url, clip_id_for, utcnow
from tracker.parse import parse_feed
from tracker.policy import Attempt, decide
from tracker.store import EntryToStore, FeedState, FetchOutcome, Store


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


@dataclass(frozen=True)
class CycleReport:
    run_id: int
    started_at: datetime
    finished_at: datetime
    outcome: str
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


def match_entries(entries: Sequence[ParsedEntry], matcher: Matcher) -> list[EntryToStore]:
    """Only entries mentioning at least one member or campaign become clips."""
    out: dict[str, EntryToStore] = {}
    for entry in entries:
        mentions = matcher.match(MatchItem(title=entry.title, summary=entry.summary, content=entry.content))
        if not mentions:
            continue
        canonical = canonical_url(entry.link)
        clip_id = clip_id_for(canonical)
        if clip_id not in out:  # the same story twice in one feed is one clip
            out[clip_id] = EntryToStore(entry=entry, canonical_url=canonical, clip_id=clip_id, mentions=tuple(mentions))
    return list(out.values())


def process_feed(
    feed: FeedConfig,
    state: FeedState,
    matcher: Matcher,
    options: FetchOptions,
    session: requests.Session | None = None,
) -> _Work:
    """Fetch, parse and match one feed. Pure of the database; never raises TrackerError."""
    try:
        result = fetch(state.url, session=session, etag=state.etag, last_modified=state.last_modified, options=options)
    except FetchError as exc:
        return _Work(feed, state, status=exc.status, error=exc, retry_after_s=exc.retry_after_s)
    common = {
        "status": result.status, "etag": result.etag, "last_modified": result.last_modified,
        "new_url": result.permanent_redirect_to, "max_age_s": result.max_age_s,
    }
    if result.not_modified or result.body is None:
        return _Work(feed, state, not_modified=True, **common)  # type: ignore[arg-type]
    digest = hashlib.sha256(result.body).hexdigest()
    if digest == state.content_hash:
        # Byte-identical to last time although the server sent no validators: no parse.
        return _Work(feed, state, unchanged=True, content_hash=digest, **common)  # type: ignore[arg-type]
    try:
        parsed = parse_feed(result.body, url=result.url, content_type=result.content_type)
    except ParseError as exc:
        return _Work(feed, state, error=exc, **common)  # type: ignore[arg-type]
    return _Work(
        feed, state, entries=tuple(match_entries(parsed.entries, matcher)), items_seen=len(parsed.entries),
        content_hash=digest, title=parsed.title, ttl_minutes=parsed.ttl_minutes, problem=parsed.problem,
        **common,  # type: ignore[arg-type]
    )


class Ingestor:
    """Runs cycles for one config against one store."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        matcher: Matcher | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        workers: int | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.matcher = matcher or compile_matcher(config.members, config.campaigns)
        self.clock = clock
        self.rng = rng or random.Random()
        s = config.settings
        self.workers = workers or s.workers
        self.options = FetchOptions(
            timeout_s=s.timeout_s, connect_timeout_s=min(10.0, s.timeout_s), max_body_bytes=s.max_body_bytes,
            user_agent=s.user_agent,
        )
        # Test hook: crash while storing this feed after N rows (proves per-feed atomicity).
        self.fail_storing: dict[str, int] = {}

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
        for feed in feeds:
            state = self.store.feed_state(feed.id)
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
        limiter = _HostLimiter(self.config.settings.per_host_limit)
        session = make_session(self.workers * 2)

        def task(feed: FeedConfig, state: FeedState) -> _Work:
            if stop is not None and stop.is_set():
                return _Work(feed, state, error=TrackerError("stopped before fetching"))
            with limiter.for_url(state.url):
                # Waiting for the host's slot can take long; a stop that came meanwhile wins.
                if stop is not None and stop.is_set():
                    return _Work(feed, state, error=TrackerError("stopped before fetching"))
                return process_feed(feed, state, self.matcher, self.options, session)

        try:
            with ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="ingest") as pool:
                pending: set[Future[_Work]] = {pool.submit(task, f, s) for f, s in todo}
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    if stop is not None and stop.is_set():
                        for fut in pending:
                            fut.cancel()
                    for fut in done:
                        if fut.cancelled():
                            continue
                        report = self._record(fut.result())
                        reports.append(report)
                        if progress:
                            progress(report, len(reports), total)
                    pending = {f for f in pending if not f.cancelled()}
        finally:
            session.close()

    def _record(self, work: _Work) -> FeedReport:
        """Store one feed's clips (one transaction) and its health. Errors are recorded, not raised."""
        now = self.clock()
        feed, state = work.feed, work.state
        if isinstance(work.error, TrackerError) and str(work.error) == "stopped before fetching":
            return FeedReport(feed.id, feed.name, state.url, ok=True, skipped="stopped")
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
        self.store.record_fetch(
            feed.id,
            FetchOutcome(
                ok=ok, status=work.status, error=str(error) if error else None,
                etag=work.etag if ok else None, last_modified=work.last_modified if ok else None,
                # A body that failed to store must be parsed again next time.
                content_hash=work.content_hash if ok else None, title=work.title,
                new_url=work.new_url, next_attempt_at=decision.next_attempt_at,
                min_interval_s=decision.min_interval_s, items_seen=work.items_seen,
                had_new_items=new_clips > 0 or (work.items_seen > 0 and not work.unchanged and ok),
                disable_reason=decision.disable_reason,
            ),
            now,
        )
        return FeedReport(
            feed.id, feed.name or work.title or "", state.url, ok=ok, status=work.status,
            error=str(error) if error else None, items_seen=work.items_seen, matched=len(work.entries),
            new_clips=new_clips, not_modified=work.not_modified or work.unchanged, problem=work.problem,
        )


def run_ingest(config: Config, store: Store, **kwargs: object) -> CycleReport:
    """Convenience for callers that need one cycle and nothing else."""
    return Ingestor(config, store).run_cycle(**kwargs)  # type: ignore[arg-type]


__all__ = ["CycleReport", "FeedReport", "Ingestor", "match_entries", "process_feed", "run_ingest"]

"""Ingestor: one ingest cycle, the steps of tracker.ingest.steps run concurrently over its feeds.

Feeds are fetched in a bounded thread pool (at most a few requests per host); on large
cycles the bodies are parsed and matched in a process pool (tracker.ingest.parsepool),
one process per core, because feedparser holds the GIL. Each feed's clips are stored on
the calling thread in their own transaction, so a failing feed is recorded and the rest
go on, and a crash never leaves half a feed behind.
"""

from __future__ import annotations

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
from tracker.enrich import ArticleReader
from tracker.errors import NotFoundError
from tracker.fetch import FeedSession, FetchOptions, make_session
from tracker.ingest.parsepool import ParseOutcome, ParsePool, default_processes
from tracker.ingest.reports import ArticleReport, CycleReport, FeedReport, FeedTally, ResolveReport
from tracker.ingest.steps import (
    Fetched,
    PollResult,
    combine,
    due_step,
    enrich_step,
    fetch_step,
    health_step,
    links_step,
    parse_step,
    resolve_step,
    sample_dates_step,
    sample_days_behind,
    stopped_report,
    store_step,
    stories_step,
)
from tracker.match import Matcher, compile_matcher
from tracker.models import Config, FeedConfig, FeedState, FetchOutcome
from tracker.resolve.resolver import GoogleNewsResolver, Pacer, SampleLinksResolver
from tracker.store import Store
from tracker.store.runs import STEP_FAILED
from tracker.syndication import StoriesReport

Progress = Callable[[FeedReport, int, int], None]  # (report, feeds done, feeds in the cycle)

# Below this many feeds, starting the parse pool costs more than it saves.
POOL_MIN_FEEDS = 200
# Feed health is written in batches: one transaction per feed was most of a re-poll's CPU.
HEALTH_BATCH = 250
HEALTH_FLUSH_S = 2.0
# With nothing finished for this long, the poll still looks at the stop event and the health batch.
WAKE_S = 0.5


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def step_failures(links: ResolveReport | None, articles: ArticleReport | None,
                  stories: StoriesReport | None) -> str | None:
    """The run's note when a closing step failed ("a step failed: articles: …"), else None. Waiting out
    Google's 429 is no failure: the resolver backs off as it should, for hours, and says so in status."""
    failed = [f"{name}: {report.error}" for name, report in (("links", links), ("articles", articles),
                                                              ("stories", stories))
              if report is not None and report.error
              and not (isinstance(report, ResolveReport) and report.backing_off_until is not None)]
    return (STEP_FAILED + "; ".join(failed))[:1000] if failed else None


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
        resolver: GoogleNewsResolver | None = None,
        articles: ArticleReader | None = None,
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
            # Listed feed URLs are trusted; where they redirect is not (unless allowed).
            private_redirects=s.allow_private_hosts,
        )
        google_options = FetchOptions(
            timeout_s=s.timeout_s, connect_timeout_s=min(10.0, s.timeout_s),
            max_body_bytes=min(s.max_body_bytes, 5 * 1024 * 1024), user_agent=s.user_agent, clock=clock,
            # Google's own host is looked up like any other: internal only when allowed.
            allow_private_hosts=s.allow_private_hosts,
        )
        if resolver is None and s.sample_links is not None:  # the offline demo: Google's answers from a file
            resolver = SampleLinksResolver(s.google_news_url, google_options, s.sample_links)
        self.resolver = resolver or GoogleNewsResolver(s.google_news_url, google_options,
                                                       Pacer(s.google_news_min_interval_s))
        self.articles = articles or ArticleReader(s, clock=clock)

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
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        feed_ids: Sequence[str] | None = None,
    ) -> CycleReport:
        """Poll every configured feed once (only the due ones with due_only), recorded as one ingest run."""
        started = self.clock()
        feeds = list(self.config.all_feeds())
        self.store.sync_feeds(feeds)
        if feed_ids is not None:
            wanted = set(feed_ids)
            unknown = sorted(wanted - {f.id for f in feeds})
            if unknown:  # a typo would poll nothing and report a run of 0 feeds as fine
                import difflib

                near = difflib.get_close_matches(unknown[0], [f.id for f in feeds], n=3)
                raise NotFoundError(f"no feed {unknown[0]!r} in the config" + (f" (did you mean {', '.join(near)}?)" if near
                                    else ": `tracker status --json` lists the feeds' ids"))
            feeds = [f for f in feeds if f.id in wanted]
        run_id = self.store.start_run(owner or default_owner(), len(feeds), started)
        reports: list[FeedReport] = []
        outcome = "ok"
        error: str | None = None
        links: ResolveReport | None = None
        articles: ArticleReport | None = None
        stories: StoriesReport | None = None
        try:
            now = self.clock()
            todo, not_due = due_step(feeds, self.store.feed_states([f.id for f in feeds]), now, due_only=due_only)
            poll = Poll(self, todo, reports, progress, stop, total=len(feeds))
            for report in not_due:
                poll.report(report)
            poll.run()
            if stop is not None and stop.is_set():
                outcome = "interrupted"
            else:
                links = self.resolve_links(stop)
                articles = self.read_articles(stop)
                stories = self.place_stories()
        except KeyboardInterrupt:
            outcome = "interrupted"
            raise
        except BaseException as exc:
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            finished = self.clock()
            tally = FeedTally(tuple(reports))
            if outcome == "ok" and tally.feeds_failed:
                outcome = "partial"
            if error is None:
                # A step's failure does not fail the cycle (its clips are stored), but it must not pass
                # unseen either: an install could go months without reading an article.
                error = step_failures(links, articles, stories)
            self.store.finish_run(run_id, outcome=outcome, now=finished, error=error, **tally.run_counts())
        return CycleReport(tally.feeds, run_id=run_id, started_at=started, finished_at=finished, outcome=outcome,
                           links=links, articles=articles, stories=stories)

    def close_steps(self, stop: threading.Event | None = None) -> str | None:
        """A shared cycle's closing steps (links, articles, stories); what failed among them, if anything."""
        return step_failures(self.resolve_links(stop), self.read_articles(stop), self.place_stories())

    def resolve_links(self, stop: threading.Event | None = None) -> ResolveReport:
        """The cycle's last step: queued search links looked up within settings.resolve_per_cycle."""
        return resolve_step(self.store, self.resolver, self.config.settings.resolve_per_cycle, self.clock, stop)

    def read_articles(self, stop: threading.Event | None = None) -> ArticleReport:
        """After the resolver: queued articles read within settings.enrich_per_cycle."""
        s = self.config.settings
        # The matcher only when there is an article to match: a cycle of 304s never compiles it.
        return enrich_step(self.store, self.articles, lambda: self.matcher, s.enrich_per_cycle, self.clock,
                           per_host=s.per_host_limit, threads=min(8, self.workers), stop=stop)

    def place_stories(self) -> StoriesReport:
        """After the links are resolved (a clip's outlet is its publisher's): new clips into stories."""
        return stories_step(self.store, self.config, self.clock)

    def poll_feeds(
        self,
        todo: Sequence[tuple[FeedConfig, FeedState]],
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> list[FeedReport]:
        """Fetch, parse, match and store exactly these feeds (no run row): for multi-worker cycles."""
        reports: list[FeedReport] = []
        Poll(self, list(todo), reports, progress, stop, total=len(todo)).run()
        return reports


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


class Poll:
    """One pass over a list of feeds: the steps, moved between threads, processes and this thread.

    1. submit        every feed's fetch goes to a pool of `workers` threads; each finished future
                     (fetch or parse) comes back once on the `finished` queue, cancelled ones too
    2. fetch         in a fetch thread: wait for the host's slot, fetch_step; on small cycles the
                     body is parsed there too (parse_step), on large ones it takes a parse slot
    3. to_parsers    on this thread: a Fetched body goes to the parse processes, which are
                     started at the first body (a re-poll of unchanged feeds never pays for them)
    4. parsed        a parse came back: combine; the body of a parser that died is parsed here
    5. deliver       store_step (one transaction per feed), health_step, progress
    6. flush_health  health rows go in one transaction per few hundred feeds or two seconds
    A stop cancels the fetches not yet started; fetches and parses in flight finish and are stored.
    """

    def __init__(
        self,
        ingestor: Ingestor,
        todo: list[tuple[FeedConfig, FeedState]],
        reports: list[FeedReport],
        progress: Progress | None,
        stop: threading.Event | None,
        *,
        total: int,
    ) -> None:
        self.ingestor = ingestor
        self.todo = todo
        self.reports = reports
        self.progress = progress
        self.stop = stop
        self.total = total
        self.limiter = _HostLimiter(ingestor.config.settings.per_host_limit)
        self.session: FeedSession | None = None  # opened by run()
        self.fetchers = ThreadPoolExecutor(max_workers=max(1, ingestor.workers), thread_name_prefix="ingest")
        self.use_parsers = ingestor.parse_processes > 1 and len(todo) >= ingestor.pool_min_feeds
        self.parsers: ParsePool | None = None
        # Bodies waiting for a parser are held here, not queued without bound: memory stays flat.
        self.parse_slots = threading.BoundedSemaphore(max(1, ingestor.parse_processes) * 4)
        self.parsing: dict[Future[ParseOutcome], Fetched] = {}  # parses in flight, and the fetch of each
        # Finished futures arrive here, each exactly once (cancelled ones too): O(1) per feed,
        # where concurrent.futures.wait() locks every pending future on each wake-up, a cost
        # that grows with the cycle (within noise at 1,000 feeds; it is for the larger ones).
        self.finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self.outstanding = 0  # futures not yet taken off `finished`
        self.cancelled = False
        # Set when the loop dies: fetch threads waiting for a parse slot give up instead of waiting
        # for a loop that will never free one (the pool's shutdown would wait for them for good).
        self.aborted = threading.Event()
        self.health: list[tuple[str, FetchOutcome, datetime]] = []
        self.last_flush = time.monotonic()

    def run(self) -> None:
        session = self.session = make_session(self.ingestor.workers * 2)
        try:
            with self.fetchers:
                self.submit()
                try:
                    while self.outstanding:
                        self.take(self.next_finished())
                except BaseException:
                    # Ctrl-C or a crash: drop the queued feeds instead of fetching them for nothing.
                    self.aborted.set()
                    self.cancel_queued()
                    raise
        finally:
            self.flush_health(force=True)
            session.close()
            if self.parsers is not None:
                self.parsers.close()

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def submit(self) -> None:
        for feed, state in self.todo:
            self.fetchers.submit(self.fetch, feed, state).add_done_callback(self.finished.put)
        self.outstanding = len(self.todo)

    def fetch(self, feed: FeedConfig, state: FeedState) -> PollResult | Fetched:
        """In a fetch thread (no database here)."""
        if self.stopped():
            return PollResult(feed, state, stopped=True)
        with self.limiter.for_url(state.url):
            # Waiting for the host's slot can take long; a stop that came meanwhile wins.
            if self.stopped():
                return PollResult(feed, state, stopped=True)
            step = fetch_step(feed, state, self.ingestor.options, self.session)
        if isinstance(step, Fetched):
            if not self.use_parsers:
                return parse_step(step, self.ingestor.matcher)
            # Released when its parse comes back; the wait is in turns so that a dead loop ends it.
            while not self.parse_slots.acquire(timeout=WAKE_S):
                if self.aborted.is_set():
                    return PollResult(feed, state, stopped=True)
        return step

    def next_finished(self) -> Future[Any] | None:
        try:
            return self.finished.get(timeout=WAKE_S)
        except queue.Empty:
            return None

    def take(self, future: Future[Any] | None) -> None:
        """One turn of the loop: a finished fetch or parse (None: nothing came within WAKE_S)."""
        if self.stopped() and not self.cancelled:
            self.cancel_queued()
        if future is None:
            self.flush_health()
            return
        self.outstanding -= 1
        if future.cancelled():
            return
        if future in self.parsing:
            self.parsed(future)
        else:
            step: PollResult | Fetched = future.result()
            if isinstance(step, Fetched):
                self.to_parsers(step)
            else:
                self.deliver(step)
        self.flush_health()

    def cancel_queued(self) -> None:
        """Queued fetches are cancelled (they still arrive on `finished`); parses in flight finish: they are quick."""
        self.cancelled = True
        self.fetchers.shutdown(wait=False, cancel_futures=True)

    def to_parsers(self, fetched: Fetched) -> None:
        if self.parsers is None:
            self.parsers = ParsePool(self.ingestor.parse_processes, self.ingestor.matcher)
        body = fetched.result.body or b""
        try:
            future = self.parsers.submit(body, fetched.result.url, fetched.result.content_type,
                                         fetched.feed.reads_unmatched)
        except RuntimeError:  # broken or shut-down pool: BrokenProcessPool is one
            self.parse_slots.release()
            self.deliver(parse_step(fetched, self.ingestor.matcher))
            return
        self.parsing[future] = fetched
        future.add_done_callback(self.finished.put)
        self.outstanding += 1

    def parsed(self, future: Future[ParseOutcome]) -> None:
        fetched = self.parsing.pop(future)
        self.parse_slots.release()
        try:
            parsed = future.result()
        except Exception:  # a parser process died (OOM, signal): parse this one here
            self.deliver(parse_step(fetched, self.ingestor.matcher))
        else:
            self.deliver(combine(fetched, parsed))

    def deliver(self, poll: PollResult) -> None:
        """Store one feed and report it; its health waits for the next batch."""
        now = self.ingestor.clock()
        if poll.stopped:
            self.report(stopped_report(poll))
            return
        poll = sample_dates_step(poll, sample_days_behind(self.ingestor.config.settings.sample_dates_as_of, now))
        poll = links_step(poll, self.ingestor.config.settings.google_news_url)
        stored = store_step(self.ingestor.store, poll, now,
                            read_articles=self.ingestor.config.settings.enrich_per_cycle > 0)
        report, health = health_step(poll, stored, now, self.ingestor.rng)
        self.health.append((poll.feed.id, health, now))
        self.report(report)

    def report(self, report: FeedReport) -> None:
        self.reports.append(report)
        if self.progress:
            self.progress(report, len(self.reports), self.total)

    def flush_health(self, force: bool = False) -> None:
        # Clips are already committed per feed; health rows go in one transaction per batch
        # of a few hundred feeds or a couple of seconds, whichever comes first.
        if self.health and (
            force or len(self.health) >= HEALTH_BATCH or time.monotonic() - self.last_flush > HEALTH_FLUSH_S
        ):
            self.ingestor.store.record_fetches(self.health)
            self.health.clear()
            self.last_flush = time.monotonic()


__all__ = ["Ingestor", "Poll", "default_owner"]

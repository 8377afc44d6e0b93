"""Looking up where Google News links lead: two requests per link through tracker.fetch, paced, on one origin.

Every request goes to settings.google_news_url and nowhere else (a redirect to another site is an error),
through fetch's SSRF guard. A publisher URL that comes back is checked to be http(s) and handed to the
caller; it is never fetched here. A 429 stops the run at once: Google rate-limits the whole client, so
the caller backs the whole resolver off (tracker.policy.resolver_backoff), not one link.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tracker.errors import ConfigError, FetchError
from tracker.fetch import FeedSession, FetchOptions, fetch, make_session, post_form
from tracker.models import FetchResult, ResolveTask, Settings
from tracker.resolve.google import (
    Signed,
    batch_form,
    batch_url,
    locale_of,
    page_url,
    read_batch_reply,
    read_signature,
)
from tracker.resolve.links import GOOGLE_NEWS, search_link

HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
# Ids per batchexecute POST: public decoders send up to a hundred; a small batch loses less to one bad reply.
BATCH_SIZE = 10
# This many requests in a row failing (not 429) means the service is down for us: stop for this cycle.
MAX_FAILURES_IN_A_ROW = 3
# Answers that say the link itself is bad, not the service: no point asking again.
_GONE = frozenset({400, 404, 410})


class Pacer:
    """At least min_interval_s between two requests: Google answers 429 after ~15 quick lookups.

    `sleep` and `monotonic` are injected by tests; by default a stop event cuts a wait short.
    """

    def __init__(
        self,
        min_interval_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.min_interval_s = min_interval_s
        self.monotonic = monotonic
        self.sleep = sleep
        self._last: float | None = None

    def wait(self, stop: threading.Event | None = None) -> None:
        if self._last is not None:
            remaining = self.min_interval_s - (self.monotonic() - self._last)
            if remaining > 0:
                if self.sleep is not None:
                    self.sleep(remaining)
                elif stop is not None:
                    stop.wait(remaining)
                else:
                    time.sleep(remaining)
        self._last = self.monotonic()


@dataclass(frozen=True)
class LinkOutcome:
    """What the resolver learnt about one queued link."""

    task: ResolveTask
    url: str | None = None  # the publisher's URL
    error: str | None = None
    permanent: bool = False  # the link itself is bad: retrying cannot help


@dataclass(frozen=True)
class ResolverRun:
    """One run over a batch of queued links."""

    looked_up: int = 0  # requests sent
    rate_limited: bool = False
    retry_after_s: float | None = None  # Google's Retry-After with its 429
    error: str | None = None  # why the run stopped early (429, the service failing)


class GoogleNewsResolver:
    """Resolves queued links: offline when the id carries the URL, else by Google News' two requests."""

    def __init__(
        self,
        base: str,
        options: FetchOptions,
        pacer: Pacer,
        *,
        batch_size: int = BATCH_SIZE,
        session: FeedSession | None = None,
    ) -> None:
        self.base = base
        # One origin only, no browser disguise on a 403: Google serves scripts a page to parse, browsers a wall.
        self.options = replace(options, same_origin_only=True, retry_403_as_browser=False)
        self.pacer = pacer
        self.batch_size = max(1, batch_size)
        self.session = session

    def resolve(
        self,
        tasks: Sequence[ResolveTask],
        on_outcome: Callable[[LinkOutcome], None],
        stop: threading.Event | None = None,
    ) -> ResolverRun:
        """Look up each task, handing every outcome to on_outcome as soon as it is known (so a killed
        process loses at most the batch in flight). Tasks left when the run stops get no outcome."""
        session = self.session or make_session(2)
        run = _Run(self, session, on_outcome, stop)
        try:
            for task in tasks:
                if run.finished:
                    break
                run.take(task)
            run.flush()
        finally:
            if self.session is None:
                session.close()
        return ResolverRun(looked_up=run.requests, rate_limited=run.rate_limited,
                           retry_after_s=run.retry_after_s, error=run.stopped_because)


class _Run:
    """One resolve() call's state: the batch of signed ids waiting for their POST, and why it stopped."""

    def __init__(self, resolver: GoogleNewsResolver, session: FeedSession,
                 on_outcome: Callable[[LinkOutcome], None], stop: threading.Event | None) -> None:
        self.r, self.session, self.on_outcome, self.stop = resolver, session, on_outcome, stop
        self.batch: list[tuple[ResolveTask, Signed, str]] = []
        self.requests = 0
        self.failures_in_a_row = 0
        self.rate_limited = False
        self.retry_after_s: float | None = None
        self.stopped_because: str | None = None

    @property
    def finished(self) -> bool:
        return self.stopped_because is not None or (self.stop is not None and self.stop.is_set())

    def take(self, task: ResolveTask) -> None:
        link = search_link(task.link, self.r.base)
        if link is None or link.engine != GOOGLE_NEWS:
            # Not a link of the configured base (the base changed, or queued by the migration).
            if link is not None and link.publisher_url:
                self.on_outcome(LinkOutcome(task, url=link.publisher_url))
            else:
                self.on_outcome(LinkOutcome(task, error=f"not a Google News link of {self.r.base}", permanent=True))
            return
        if link.publisher_url is not None:  # an old-style id: no request needed
            self.on_outcome(LinkOutcome(task, url=link.publisher_url))
            return
        try:
            result = self.request(lambda: fetch(page_url(self.r.base, link.article_id, task.link), session=self.session,
                                                options=self.r.options, accept=HTML_ACCEPT))
        except FetchError as exc:
            if self.rate_limited:  # Google's limit, not this link's fault: tried again after the back-off
                return
            self.on_outcome(LinkOutcome(task, error=f"article page: {exc}", permanent=exc.status in _GONE))
            return
        signed = read_signature(link.article_id, result.body or b"")
        if signed is None:
            self.on_outcome(LinkOutcome(task, error="article page has no signature (a consent or script page?)"))
            return
        self.batch.append((task, signed, locale_of(task.link)[2]))
        if len(self.batch) >= self.r.batch_size:
            self.flush()

    def flush(self) -> None:
        """POST the signed ids waiting; each gets its URL or an error."""
        batch, self.batch = self.batch, []
        if not batch or self.rate_limited:
            return  # after a 429 the signatures are left to expire; the links are tried again later
        form = batch_form([signed for _, signed, _ in batch], ceid=batch[0][2])
        try:
            result = self.request(lambda: post_form(batch_url(self.r.base), form, session=self.session,
                                                    options=self.r.options))
        except FetchError as exc:
            if not self.rate_limited:
                for task, _, _ in batch:
                    self.on_outcome(LinkOutcome(task, error=f"batchexecute: {exc}"))
            return
        urls = read_batch_reply(result.body or b"", len(batch))
        for i, (task, _, _) in enumerate(batch):
            url = urls.get(i)
            self.on_outcome(LinkOutcome(task, url=url) if url else
                            LinkOutcome(task, error="batchexecute answered without a URL for this link"))

    def request(self, send: Callable[[], FetchResult]) -> FetchResult:
        """One paced request; a 429 or too many failures in a row end the run."""
        self.r.pacer.wait(self.stop)
        self.requests += 1
        try:
            result = send()
        except FetchError as exc:
            if exc.status == 429:
                self.rate_limited, self.retry_after_s = True, exc.retry_after_s
                self.stopped_because = f"rate-limited by Google News ({exc})"
            elif exc.status not in _GONE:
                self.failures_in_a_row += 1
                if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                    self.stopped_because = f"{self.failures_in_a_row} requests failed in a row: {exc}"
            raise
        self.failures_in_a_row = 0
        return result


class SampleLinksResolver(GoogleNewsResolver):
    """The offline demo's resolver: each current-style Google News id is looked up in a file, as Google's
    answer would give it; an old-style id is read offline as always. The demo's search links are
    redirects that need a lookup, as real ones are (none of 92 in a real Google News feed could be
    read offline), so the demo shows clips waiting for, and moving on, that lookup."""

    def __init__(self, base: str, options: FetchOptions, path: str) -> None:
        super().__init__(base, options, Pacer(0))
        try:
            answers = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"settings.sample_links: cannot read {path}: {exc}") from None
        self.answers = {str(k): str(v) for k, v in answers.items()} if isinstance(answers, dict) else {}

    def resolve(self, tasks: Sequence[ResolveTask], on_outcome: Callable[[LinkOutcome], None],
                stop: threading.Event | None = None) -> ResolverRun:
        looked_up = 0
        for task in tasks:
            if stop is not None and stop.is_set():
                break
            link = search_link(task.link, self.base)
            if link is not None and link.publisher_url:
                on_outcome(LinkOutcome(task, url=link.publisher_url))
                continue
            looked_up += 1
            url = self.answers.get(link.article_id) if link is not None else None
            on_outcome(LinkOutcome(task, url=url) if url else
                       LinkOutcome(task, error="not in the offline demo's sample links (settings.sample_links)",
                                   permanent=True))
        return ResolverRun(looked_up=looked_up)


def publisher_link(url: str, settings: Settings) -> str:
    """The publisher's URL for a link staff paste (add a clip by URL): a Google News or Bing link is
    decoded (offline when it can be, else one lookup at Google News, within settings' rules); any other
    link comes back as it is. FetchError when Google News cannot say where its link leads."""
    link = search_link(url.strip(), settings.google_news_url)
    if link is None:
        return url
    if link.publisher_url is not None:
        return link.publisher_url
    resolver = GoogleNewsResolver(
        settings.google_news_url,
        FetchOptions(timeout_s=settings.timeout_s, connect_timeout_s=min(10.0, settings.timeout_s),
                     max_body_bytes=min(settings.max_body_bytes, 5 * 1024 * 1024), user_agent=settings.user_agent,
                     allow_private_hosts=settings.allow_private_hosts),
        Pacer(0),
    )
    found: list[LinkOutcome] = []
    run = resolver.resolve([ResolveTask(key=url, link=url, clip_id=None)], found.append)
    if found and found[0].url:
        return found[0].url
    why = (found[0].error if found else None) or run.error or "no answer"
    raise FetchError(f"could not find where this Google News link leads: {why}")


__all__ = ["BATCH_SIZE", "GoogleNewsResolver", "LinkOutcome", "Pacer", "ResolverRun", "publisher_link"]

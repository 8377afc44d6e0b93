"""Which feeds need attention and why: the data behind `tracker status` and the Feeds page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from tracker.models import EnrichQueueStatus, FeedHealth, IngestRunView, ResolveQueueStatus
from tracker.policy import set_by_a_clock_ahead
from tracker.store import Store
from tracker.store.runs import CYCLE_LEASE, STEP_FAILED, run_is_live

FAILING_AFTER = timedelta(hours=24)
QUIET_AFTER = timedelta(days=14)
QUIET_PREFIX = "quiet: "
# Backoff is capped at a day and publishers' hints at 12 h, so a feed that is this far past
# its due time is not being polled at all: the scheduler is down, not the feed.
OVERDUE_AFTER = timedelta(hours=36)
OVERDUE_PREFIX = "not polled since "
# A run still marked running whose process no longer holds the cycle lease: it died mid-cycle.
ABANDONED_STATE = "abandoned"
ABANDONED_NOTE = "its process stopped without finishing; the next ingest marks it interrupted"


_HTTP_REASONS = {
    400: "the site did not understand our request",
    401: "the site asks for a login",
    403: "the site refuses our requests (it may block automated readers)",
    404: "the feed's address no longer exists on the site: check the outlet's site for its new feed",
    405: "the site does not accept our kind of request",
    406: "the site will not send the feed in a format we asked for",
    408: "the site took too long to answer",
    410: "the site has removed this feed for good: find its new address or remove it from feeds.yml",
    429: "the site says we asked too often; we wait longer before the next try",
    451: "the site blocks this content where we are",
}
# What an error message says, in order: the first pattern found explains it.
_EXPLAINED = (
    (("html page",), "the address sends a web page, not a feed: the feed may have moved"),
    (("saxparseexception", "not well-formed", "mismatched tag", "syntax error", "invalid token", "not a feed",
      "feed parser failed", "invalid json", "json without"),
     "what the address sends is not a readable feed (it may have moved, or sent a web page instead)"),
    (("empty response", "empty page"), "the site sent an empty answer"),
    (("timed out", "timeout", "too slow", "readtimeout", "connecttimeout"),
     "the site took too long to answer; it is tried again later"),
    (("cannot resolve", "name or service not known", "nodename nor servname", "getaddrinfo", "name resolution"),
     "the site's address could not be found (a typo in the URL, or the site is gone)"),
    # Before the connection entry: a failed TLS handshake is a ConnectionError too, but the site is up.
    (("wrong version number",),
     "the site does not answer securely (https) at this address: it may need http:// instead of https://"),
    (("tls error", "sslerror", "ssl:", "certificate"),
     "the site's certificate is not valid (expired, self-signed or for another address), "
     "or its secure connection (TLS) failed"),
    (("connectionerror", "connection failed", "connection refused", "connection reset", "remotedisconnected",
      "max retries exceeded", "newconnectionerror"),
     "could not connect to the site; it may be down, and is tried again later"),
    (("redirect loop", "too many redirects", "more than"), "the site sends us round in circles (redirect loop)"),
    (("redirect to another site",), "the feed now redirects to another site, which is not followed"),
    (("bad redirect location",), "the site redirects to an address that is not valid"),
    (("private or loopback",), "the address points inside the network, which is not allowed"),
    (("larger than", "over the"), "the feed is too large to read"),
    (("cannot read",), "the sample file could not be read"),
)


def explain_error(error: str | None) -> str:
    """Pure: a fetch or parse error as a sentence staff understand (the raw text stays in the logs
    and `tracker status`). Unknown errors are passed through rather than guessed at."""
    if not error:
        return "unknown error"
    lowered = error.lower()
    http = re.search(r"\bHTTP (\d{3})\b", error)
    if http:
        code = int(http.group(1))
        reason = _HTTP_REASONS.get(code)
        if reason is None and 500 <= code < 600:
            reason = "the site's server had a problem; this usually passes, and it is tried again later"
        if reason is None:
            reason = "the site answered with an error"
        return f"{reason[0].upper()}{reason[1:]} (HTTP {code})."
    for needles, sentence in _EXPLAINED:
        if any(n in lowered for n in needles):
            return f"{sentence[0].upper()}{sentence[1:]}."
    return error


def plain_problem(status: FeedStatus) -> str | None:
    """The feed's problem with its raw error put into words (for the dashboard)."""
    error = status.feed.last_error
    if status.problem and error and status.problem.endswith(error):
        return status.problem[: -len(error)] + explain_error(error)
    return status.problem


@dataclass(frozen=True)
class FeedStatus:
    feed: FeedHealth
    problem: str | None  # one line a person can act on; None when healthy

    @property
    def state(self) -> str:
        f = self.feed
        if f.disabled_reason:
            return "disabled"
        if f.last_attempt_at is None:
            return "never polled"
        if self.problem and self.problem.startswith(OVERDUE_PREFIX):
            return "overdue"
        if f.consecutive_failures:
            return "failing"
        if f.last_alert and self.problem == f.last_alert:
            return "alert"  # read, but not all of it, or nothing usable in it
        if self.problem and self.problem.startswith(QUIET_PREFIX):
            return "quiet"
        return "ok"


def assess(feed: FeedHealth, now: datetime) -> str | None:
    """Pure: the problem with a feed, if any."""
    if feed.disabled_reason:
        return feed.disabled_reason
    if feed.last_attempt_at is not None:
        due = max(feed.last_attempt_at, feed.next_attempt_at or feed.last_attempt_at)
        if set_by_a_clock_ahead(due, now):
            # No due time to count 36 h from: a running scheduler polls it at its next cycle (policy.is_due).
            return (f"{OVERDUE_PREFIX}{feed.last_attempt_at:%Y-%m-%d %H:%M} UTC, a time ahead of this clock (a clock "
                    "ran ahead and was set back): the next cycle polls it; is `tracker schedule` running?")
        if now - due > OVERDUE_AFTER:
            return f"{OVERDUE_PREFIX}{feed.last_attempt_at:%Y-%m-%d %H:%M} UTC: is `tracker schedule` running?"
    if feed.consecutive_failures:
        since = feed.last_success_at
        if since is None or now - since > FAILING_AFTER:
            span = "never succeeded" if since is None else f"failing since {since:%Y-%m-%d %H:%M} UTC"
            if since is None and feed.consecutive_failures < 2 and feed.last_attempt_at and now - feed.last_attempt_at < FAILING_AFTER:
                span = "failed on its first try"
            return f"{span}: {feed.last_error or 'unknown error'}"
        return None
    if feed.last_alert:
        return feed.last_alert  # read, but not all of it, or nothing usable in it
    if feed.last_success_at is not None:
        last_new = feed.last_new_item_at
        if last_new is None or now - last_new > QUIET_AFTER:
            when = "ever" if last_new is None else f"since {last_new:%Y-%m-%d}"
            if last_new is not None or now - feed.last_success_at > QUIET_AFTER:
                return f"{QUIET_PREFIX}no new items {when}"
    return None


@dataclass(frozen=True)
class HealthReport:
    now: datetime
    feeds: tuple[FeedStatus, ...]
    runs: tuple[IngestRunView, ...]
    lease_owner: str | None = None  # who holds the ingest-cycle lease now, if anyone
    links: ResolveQueueStatus = field(default_factory=ResolveQueueStatus)  # search links waiting for the resolver
    articles: EnrichQueueStatus = field(default_factory=EnrichQueueStatus)  # articles waiting to be read

    @property
    def needs_attention(self) -> tuple[FeedStatus, ...]:
        return tuple(f for f in self.feeds if f.problem)

    @property
    def last_run_problem(self) -> str | None:
        """What went wrong in the last finished ingest run: it failed, or one of its steps did (links,
        articles, stories); None when it went well (failing feeds are the feeds' problems)."""
        finished = next((r for r in self.runs if r.outcome not in ("running", "interrupted")), None)
        if finished is None:
            return None
        if finished.outcome == "failed":
            return f"the last ingest run failed: {finished.error or 'unknown error'}"
        if finished.error and finished.error.startswith(STEP_FAILED):
            return f"the last ingest run: {finished.error}"
        return None

    def live(self, run: IngestRunView) -> bool:
        return run_is_live(run, self.lease_owner)

    def run_state(self, run: IngestRunView) -> str:
        """The outcome, except that a 'running' run whose process is gone is shown as abandoned."""
        return ABANDONED_STATE if run.outcome == "running" and not self.live(run) else run.outcome

    def run_note(self, run: IngestRunView) -> str | None:
        return ABANDONED_NOTE if self.run_state(run) == ABANDONED_STATE else run.error

    @property
    def backing_off_until(self) -> datetime | None:
        """When the resolver may ask Google News again, while it is backing off."""
        until = self.links.state.backoff_until
        return until if until is not None and until > self.now else None

    def to_json(self) -> dict[str, Any]:
        def ts(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "generated_at": ts(self.now),
            "needs_attention": len(self.needs_attention),
            "feeds": [
                {
                    "id": s.feed.id, "name": s.feed.name, "url": s.feed.url, "kind": s.feed.kind,
                    "tags": list(s.feed.tags), "state": s.state, "problem": s.problem,
                    "last_attempt_at": ts(s.feed.last_attempt_at), "last_success_at": ts(s.feed.last_success_at),
                    "last_status": s.feed.last_status, "last_error": s.feed.last_error,
                    "consecutive_failures": s.feed.consecutive_failures,
                    "next_attempt_at": ts(s.feed.next_attempt_at), "last_new_item_at": ts(s.feed.last_new_item_at),
                    "disabled_reason": s.feed.disabled_reason, "moved_from": s.feed.moved_from,
                    "items_seen_last": s.feed.items_seen_last,
                }
                for s in self.feeds
            ],
            "search_links": {
                "waiting": self.links.waiting, "done": self.links.done, "failed": self.links.failed,
                "failures": [{"reason": reason, "links": n} for reason, n in self.links.failures],
                "next_attempt_at": ts(self.links.next_attempt_at),
                "backing_off_until": ts(self.backing_off_until),
                "backoff_reason": self.links.state.last_error if self.backing_off_until else None,
            },
            "articles": {
                "waiting": self.articles.waiting, "done": self.articles.done, "failed": self.articles.failed,
                "dropped": self.articles.dropped, "retrying": self.articles.retrying,
                "failures": [{"reason": reason, "articles": n} for reason, n in self.articles.failures],
            },
            "runs": [
                {
                    "id": r.id, "started_at": ts(r.started_at), "finished_at": ts(r.finished_at),
                    "outcome": r.outcome, "state": self.run_state(r), "live": self.live(r), "error": self.run_note(r),
                    "owner": r.owner, "feeds_total": r.feeds_total, "feeds_ok": r.feeds_ok,
                    "feeds_failed": r.feeds_failed, "feeds_skipped": r.feeds_skipped,
                    "items_seen": r.items_seen, "clips_new": r.clips_new,
                }
                for r in self.runs
            ],
        }


def health_report(store: Store, now: datetime, runs: int = 5) -> HealthReport:
    feeds = store.feed_health()
    recent = tuple(store.recent_runs(runs)) if runs else ()
    # Read after the runs: a run starts only once its lease is held, so none looks dead by mistake.
    holder = store.lease_holder(CYCLE_LEASE, now) if any(r.outcome == "running" for r in recent) else None
    return HealthReport(
        now=now,
        feeds=tuple(FeedStatus(f, assess(f, now)) for f in feeds),
        runs=recent,
        lease_owner=holder[0] if holder else None,
        links=store.resolve_queue_status(now),
        articles=store.enrich_queue_status(),
    )


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _next_try(now: datetime, next_attempt_at: datetime | None) -> str:
    if next_attempt_at is None or set_by_a_clock_ahead(next_attempt_at, now):
        return "next cycle"
    return _ago(now, next_attempt_at)


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)}s"
    if seconds < 5400:
        return f"{int(seconds // 60)}m"
    if seconds < 172800:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def render_health_table(report: HealthReport, stream: IO[str]) -> None:
    console = Console(file=stream, highlight=False, width=max(120, Console(file=stream).width))
    if not report.feeds:
        console.print("no feeds polled yet: list them in feeds.yml and run `tracker ingest` (or start `tracker schedule`)")
    else:
        table = Table(title=f"Feeds ({len(report.feeds)}; {len(report.needs_attention)} need attention)")
        for column in ("feed", "state", "http", "last success", "next try", "fails", "problem"):
            table.add_column(column)
        ordered = sorted(report.feeds, key=lambda s: (s.problem is None, s.feed.name))
        for s in ordered:
            table.add_row(
                s.feed.name[:40], s.state, str(s.feed.last_status or "–"), _ago(report.now, s.feed.last_success_at),
                _next_try(report.now, s.feed.next_attempt_at),
                str(s.feed.consecutive_failures), (s.problem or "")[:120],
            )
        console.print(table)
    links = report.links
    if links.waiting or links.done or links.failed:
        line = f"Search links: {links.waiting} waiting, {links.done} resolved, {links.failed} failed"
        if report.backing_off_until is not None:
            line += (f"; backing off until {report.backing_off_until:%Y-%m-%d %H:%M} UTC "
                     f"({_ago(report.now, report.backing_off_until)}): {links.state.last_error or 'HTTP 429'}")
        elif links.next_attempt_at is not None and links.waiting:
            line += f"; next retry {_ago(report.now, links.next_attempt_at)}"
        console.print(line)
        for reason, n in links.failures:
            console.print(f"  failed ({n}): {reason[:150]}")
    articles = report.articles
    if articles.waiting or articles.done or articles.failed or articles.dropped:
        retrying = f" ({articles.retrying} to try again after a timeout or a busy server)" if articles.retrying else ""
        console.print(f"Articles: {articles.waiting} waiting{retrying}, {articles.done} read, {articles.failed} unreadable, "
                      f"{articles.dropped} naming nobody (dropped)")
        for reason, n in articles.failures:
            console.print(f"  unreadable ({n}): {reason[:150]}")
    if report.runs:
        runs = Table(title="Recent ingest runs")
        for column in ("run", "started", "took", "outcome", "feeds ok/failed/skipped", "items", "new clips", "note"):
            runs.add_column(column)
        for r in report.runs:
            took = _span((r.finished_at - r.started_at).total_seconds()) if r.finished_at else "…"
            runs.add_row(str(r.id), f"{r.started_at:%Y-%m-%d %H:%M} UTC", took, report.run_state(r),
                         f"{r.feeds_ok}/{r.feeds_failed}/{r.feeds_skipped}", str(r.items_seen), str(r.clips_new),
                         (report.run_note(r) or "")[:100])
        console.print(runs)

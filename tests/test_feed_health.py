"""Per-feed schedule and health against a real HTTP server on 127.0.0.1, on SQLite and PostgreSQL.

The clock and the jitter are passed in, so every next_attempt_at is asserted exactly.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from xml.sax.saxutils import escape

from click.testing import CliRunner

from tests.fakes import FakeClock
from tests.feedserver import FeedServer, Route
from tracker.cli import cli
from tracker.ingest import CycleReport, FeedReport, Ingestor
from tracker.models import ClipFilter, Config, FeedConfig, FeedHealth, MemberConfig, Settings
from tracker.policy import BACKOFF_CAP, GONE_REASON, backoff_delay
from tracker.store import Store

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MEMBER = MemberConfig(id="kendra-brooks", name="Kendra Brooks")


def rss(n_items: int = 2, *, ttl: int | None = None, prefix: str = "story", title: str = "Test Paper") -> bytes:
    """An RSS 2.0 feed whose items all mention the member (so they become clips)."""
    items = "".join(
        f"<item><title>Kendra Brooks on {escape(prefix)} {i}</title>"
        f"<link>https://news.example.org/{prefix}/{i}</link><guid>{prefix}-{i}</guid>"
        f"<description>Councilmember Kendra Brooks spoke about item {i}.</description>"
        f"<pubDate>Mon, 23 Nov 2026 10:{i % 60:02d}:00 GMT</pubDate></item>"
        for i in range(n_items)
    )
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example.org/</link><description>d</description>{ttl_el}{items}</channel></rss>"
    ).encode()


def respond(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
            headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for k, v in (headers or {"Content-Type": "application/rss+xml"}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def make_config(tmp_path: Path, urls: list[str], **settings: object) -> Config:
    feeds = tuple(FeedConfig(id=f"feed-{i}", url=u, name=f"Feed {i}") for i, u in enumerate(urls))
    return Config(
        path=str(tmp_path / "feeds.yml"),
        settings=Settings(timeout_s=5.0, **settings),  # type: ignore[arg-type]
        feeds=feeds, members=(MEMBER,),
    )


@dataclass
class Harness:
    config: Config
    store: Store
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    seed: int = 0

    def __post_init__(self) -> None:
        self.ingestor = Ingestor(self.config, self.store, clock=self.clock, rng=random.Random(self.seed))

    def cycle(self, *, due_only: bool = True) -> CycleReport:
        return self.ingestor.run_cycle(due_only=due_only)

    def feed(self, feed_id: str = "feed-0") -> FeedHealth:
        return next(f for f in self.store.feed_health() if f.id == feed_id)


def only(report: CycleReport, feed_id: str = "feed-0") -> FeedReport:
    return next(f for f in report.feeds if f.feed_id == feed_id)


def harness(tmp_path: Path, store: Store, urls: list[str], **settings: object) -> Harness:
    return Harness(make_config(tmp_path, urls, **settings), store)


# ---------------------------------------------------------------- 429 / backoff / recovery


def test_429_with_retry_after_sets_the_next_attempt(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.add("/busy.xml", status=429, headers={"Retry-After": "7200"})
    h = harness(tmp_path, store, [url])
    report = h.cycle()
    assert only(report).status == 429 and not only(report).ok
    f = h.feed()
    assert f.next_attempt_at == T0 + timedelta(hours=2)
    assert (f.last_status, f.consecutive_failures, f.disabled_reason) == (429, 1, None)
    assert "429" in (f.last_error or "")

    h.clock.advance(hours=1, minutes=59)  # the publisher asked for two hours: not a request before that
    assert only(h.cycle()).skipped
    assert len(feed_server.hits("/busy.xml")) == 1

    feed_server.routes["/busy.xml"] = Route(body=rss())
    h.clock.advance(minutes=1)
    assert only(h.cycle()).ok
    assert len(feed_server.hits("/busy.xml")) == 2
    assert h.feed().consecutive_failures == 0


def test_failing_feed_backs_off_up_to_a_day_never_gives_up_and_recovers(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    url = feed_server.add("/flaky.xml", status=500)
    h = harness(tmp_path, store, [url])
    expected_rng = random.Random(h.seed)  # the same seed the ingestor draws its jitter from
    delays: list[timedelta] = []
    for failures in range(1, 11):
        h.cycle()
        f = h.feed()
        assert f.consecutive_failures == failures
        assert f.disabled_reason is None and f.last_status == 500
        assert f.next_attempt_at is not None
        delay = f.next_attempt_at - h.clock.now
        assert delay == backoff_delay(failures, expected_rng)
        delays.append(delay)
        # Nothing is fetched before the next attempt is due…
        h.clock.set(f.next_attempt_at - timedelta(seconds=1))
        assert only(h.cycle()).skipped == f"next attempt at {f.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        h.clock.advance(seconds=1)  # …and it is fetched as soon as it is.
    assert len(feed_server.hits("/flaky.xml")) == 10
    assert all(a < b for a, b in itertools.pairwise(delays[:7]))  # 30 min, 1 h, … 16 h, then the cap
    assert all(BACKOFF_CAP * 0.9 <= d <= BACKOFF_CAP for d in delays[6:])

    feed_server.routes["/flaky.xml"] = Route(body=rss())
    report = h.cycle()
    assert only(report).ok and only(report).new_clips == 2
    f = h.feed()
    assert (f.consecutive_failures, f.last_error, f.last_status, f.next_attempt_at) == (0, None, 200, None)
    assert f.last_success_at == h.clock.now


# ---------------------------------------------------------------- unchanged content costs no parse


def test_304_costs_no_parse(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.add("/etag.xml", body=rss(3), etag='"v1"')
    h = harness(tmp_path, store, [url])
    first = only(h.cycle())
    assert (first.items_seen, first.new_clips, first.not_modified) == (3, 3, False)
    new_item_at = h.feed().last_new_item_at

    h.clock.advance(hours=1)
    second = only(h.cycle())
    assert feed_server.hits("/etag.xml")[-1].headers.get("if-none-match") == '"v1"'
    # items_seen is only ever the length of a parse result: zero means the parser never ran.
    assert (second.ok, second.status, second.not_modified, second.items_seen) == (True, 304, True, 0)
    f = h.feed()
    assert f.last_success_at == h.clock.now and f.last_new_item_at == new_item_at
    assert f.items_seen_last == 3  # the feed still holds its three items: feed health must not say 0


def test_byte_identical_body_without_validators_skips_parsing(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    url = feed_server.add("/plain.xml", body=rss(2))  # no ETag, no Last-Modified
    h = harness(tmp_path, store, [url])
    assert only(h.cycle()).items_seen == 2
    h.clock.advance(hours=1)
    same = only(h.cycle())
    assert "if-none-match" not in feed_server.hits("/plain.xml")[-1].headers
    assert (same.ok, same.status, same.not_modified, same.items_seen) == (True, 200, True, 0)
    assert h.feed().items_seen_last == 2

    feed_server.routes["/plain.xml"] = Route(body=rss(3))  # one byte changes: parsed again
    h.clock.advance(hours=1)
    changed = only(h.cycle())
    assert (changed.not_modified, changed.items_seen, changed.new_clips) == (False, 3, 1)


# ---------------------------------------------------------------- moved, gone, refused


def test_301_updates_the_stored_url_and_records_where_from(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    old = feed_server.add("/old.xml", status=301, headers={"Location": "/new.xml"})
    new = feed_server.add("/new.xml", body=rss())
    h = harness(tmp_path, store, [old])
    assert only(h.cycle()).ok
    f = h.feed()
    assert (f.url, f.moved_from) == (new, old)
    h.clock.advance(hours=1)
    h.cycle()
    assert len(feed_server.hits("/old.xml")) == 1 and len(feed_server.hits("/new.xml")) == 2

    result = CliRunner().invoke(cli, ["--db", store.url, "status", "--json"])
    assert result.exit_code == 0, result.output
    assert '"moved_from": "' + old + '"' in result.output


def test_302_is_followed_but_the_stored_url_stays(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.add("/temp.xml", status=302, headers={"Location": "/elsewhere.xml"})
    feed_server.add("/elsewhere.xml", body=rss())
    h = harness(tmp_path, store, [url])
    assert only(h.cycle()).ok
    assert (h.feed().url, h.feed().moved_from) == (url, None)


def test_410_disables_with_the_reason_shown_and_a_return_is_noticed(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    url = feed_server.add("/gone.xml", status=410)
    h = harness(tmp_path, store, [url])
    h.cycle()
    f = h.feed()
    assert f.disabled_reason == GONE_REASON
    assert f.next_attempt_at == T0 + BACKOFF_CAP  # still one look a day, in case it was a mistake

    runner = CliRunner()
    table = runner.invoke(cli, ["--db", store.url, "status"], obj=h.clock)
    assert table.exit_code == 0 and "disabled" in table.output and "410 Gone" in table.output
    check = runner.invoke(cli, ["--config", h.config.path, "--db", store.url, "status", "--check", "--json"], obj=h.clock)
    assert check.exit_code == 1
    assert '"disabled_reason": "' + GONE_REASON + '"' in check.output

    feed_server.routes["/gone.xml"] = Route(body=rss())
    h.clock.set(f.next_attempt_at)
    assert only(h.cycle()).ok
    assert h.feed().disabled_reason is None
    assert runner.invoke(cli, ["--config", h.config.path, "--db", store.url, "status", "--check"], obj=h.clock).exit_code == 0


def test_403_is_retried_once_with_a_browser_user_agent(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    def picky(handler: BaseHTTPRequestHandler) -> None:
        if "Mozilla/5.0" in handler.headers.get("User-Agent", ""):
            respond(handler, 200, rss())
        else:
            respond(handler, 403, b"bots not welcome", {"Content-Type": "text/plain"})

    url = feed_server.add("/picky.xml", handler=picky)
    h = harness(tmp_path, store, [url], user_agent="media-tracker-test/1.0")
    report = only(h.cycle())
    assert (report.ok, report.status, report.new_clips) == (True, 200, 2)
    agents = [r.headers["user-agent"] for r in feed_server.hits("/picky.xml")]
    assert agents[0] == "media-tracker-test/1.0" and agents[1].startswith("Mozilla/5.0") and len(agents) == 2


def test_403_for_every_agent_is_a_failure_not_a_loop(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.add("/locked.xml", status=403)
    h = harness(tmp_path, store, [url])
    assert not only(h.cycle()).ok
    assert len(feed_server.hits("/locked.xml")) == 2
    assert h.feed().disabled_reason is None


# ---------------------------------------------------------------- publishers' caching hints


def test_cache_control_max_age_is_a_minimum_interval_even_across_304s(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    url = feed_server.add("/cached.xml", body=rss(), etag='"a"', headers={
        "Content-Type": "application/rss+xml", "Cache-Control": "public, max-age=7200"})
    h = harness(tmp_path, store, [url])
    h.cycle()
    assert h.feed().next_attempt_at == T0 + timedelta(hours=2)
    h.clock.advance(hours=1)
    assert only(h.cycle()).skipped
    assert len(feed_server.hits("/cached.xml")) == 1

    h.clock.advance(hours=1)
    assert only(h.cycle()).status == 304  # the test server's 304 carries no Cache-Control…
    assert h.feed().next_attempt_at == T0 + timedelta(hours=4)  # …and the interval is remembered


def test_rss_ttl_is_a_minimum_interval(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.add("/ttl.xml", body=rss(ttl=180))
    h = harness(tmp_path, store, [url])
    h.cycle()
    assert h.feed().next_attempt_at == T0 + timedelta(hours=3)
    h.clock.advance(hours=3)
    assert only(h.cycle()).not_modified  # identical body: not parsed, <ttl> unknown this time
    assert h.feed().next_attempt_at == T0 + timedelta(hours=6)


def test_an_hourly_ttl_is_polled_every_hourly_cycle_though_stored_seconds_after_one_started(
        tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    """Answers are stored seconds after a cycle starts, and the next attempt counts from then: the
    feed that asks for an hour is still due at the next hourly cycle, not the one after."""
    url = feed_server.add("/hourly.xml", body=rss(ttl=60))
    h = harness(tmp_path, store, [url])
    h.clock.advance(seconds=4)  # stored at 10:00:04, as a cycle starting at 10:00 would
    h.cycle()
    assert h.feed().next_attempt_at == T0 + timedelta(hours=1, seconds=4)
    h.clock.set(T0 + timedelta(minutes=50))  # a manual cycle well before: still not due
    assert only(h.cycle()).skipped
    h.clock.set(T0 + timedelta(hours=1))
    assert only(h.cycle()).ok
    assert len(feed_server.hits("/hourly.xml")) == 2


def test_manual_full_cycle_ignores_the_schedule(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    url = feed_server.add("/ttl.xml", body=rss(ttl=180))
    h = harness(tmp_path, store, [url])
    h.cycle()
    assert only(h.cycle(due_only=False)).status == 200
    assert len(feed_server.hits("/ttl.xml")) == 2


# ---------------------------------------------------------------- politeness per host


def test_at_most_two_requests_in_flight_per_host(tmp_path: Path, store: Store, feed_server: FeedServer) -> None:
    lock = threading.Lock()
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    peak_total = 0

    def slow(handler: BaseHTTPRequestHandler) -> None:
        nonlocal peak_total
        host = handler.headers.get("Host", "").split(":")[0]
        with lock:
            in_flight[host] = in_flight.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), in_flight[host])
            peak_total = max(peak_total, sum(in_flight.values()))
        try:
            time.sleep(0.25)
            respond(handler, 200, rss(1, prefix=handler.path.strip("/")))
        finally:
            with lock:
                in_flight[host] -= 1

    port = feed_server.httpd.server_address[1]
    urls = []
    for i in range(6):
        feed_server.add(f"/s{i}", handler=slow)
        # Two host names for one server: the limit is per host, not global.
        urls += [f"http://127.0.0.1:{port}/s{i}", f"http://localhost:{port}/s{i}"]
    h = harness(tmp_path, store, urls, per_host_limit=2, workers=8)
    report = h.cycle()
    assert report.feeds_ok == 12
    assert peak == {"127.0.0.1": 2, "localhost": 2}
    assert peak_total > 2


def test_search_feed_that_reorders_old_items_is_not_new(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """A body that changes without a newer entry (search feeds do this) does not count as new items."""
    from tracker.config import parse_config

    def feed(order: list[int], newest_day: int) -> bytes:
        items = "".join(
            f"<item><title>Story {i}</title><link>https://x.example.com/{i}</link>"
            f"<pubDate>{min(i, newest_day):02d} Nov 2026 10:00:00 GMT</pubDate></item>"
            for i in order
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>{items}</channel></rss>'.encode()

    route = Route(body=feed([1, 2, 3], 3))
    feed_server.add("/search", route)
    config = parse_config({"feeds": [{"url": feed_server.url("/search")}]}, str(tmp_path / "f.yml"), tmp_path)
    days = iter(range(1, 100))

    def clock() -> datetime:
        return datetime(2026, 11, 10, tzinfo=UTC) + timedelta(days=next(days))

    ingestor = Ingestor(config, store, clock=clock)
    ingestor.run_cycle()
    first = store.feed_health()[0].last_new_item_at
    route.body = feed([3, 1, 2], 3)  # reshuffled, nothing newer
    ingestor.run_cycle()
    assert store.feed_health()[0].last_new_item_at == first
    route.body = feed([4, 3, 1, 2], 4)  # a newer story
    ingestor.run_cycle()
    assert store.feed_health()[0].last_new_item_at is not None and store.feed_health()[0].last_new_item_at > first


# ---------------------------------------------------------------- read, but not all of it (issue #16)


def test_an_oversized_feed_is_stored_newest_first_and_flagged_in_status(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    from tracker.parse import MAX_ENTRIES_PER_FEED

    n = MAX_ENTRIES_PER_FEED + 200
    items = "".join(  # oldest first in the document
        f"<item><title>Kendra Brooks on item {i}</title><link>https://news.example.org/dump/{i}</link>"
        f"<pubDate>{(T0 - timedelta(hours=n - i)):%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for i in range(n)
    )
    url = feed_server.add("/dump.xml", body=(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Dump</title>'
                                             f"{items}</channel></rss>").encode())
    h = harness(tmp_path, store, [url])
    report = only(h.cycle())
    assert report.ok and report.new_clips == MAX_ENTRIES_PER_FEED
    assert report.alert == f"{n:,} items in the feed; only the newest {MAX_ENTRIES_PER_FEED:,} were read"
    kept = {c.url for c in store.all_clips(ClipFilter())}
    assert "https://news.example.org/dump/0" not in kept and f"https://news.example.org/dump/{n - 1}" in kept
    check = CliRunner().invoke(cli, ["--config", h.config.path, "--db", store.url, "status", "--check", "--json"], obj=h.clock)
    assert check.exit_code == 1 and report.alert in check.output


def test_a_listed_feed_redirecting_to_an_internal_address_fails_with_the_reason(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    target = feed_server.url("/inside.xml").replace("127.0.0.1", "localhost")
    feed_server.add("/inside.xml", body=rss())
    url = feed_server.add("/public.xml", status=302, headers={"Location": target})
    refused = only(harness(tmp_path, store, [url]).cycle())
    assert not refused.ok and refused.error == "refusing to fetch localhost: private or loopback address (127.0.0.1)"
    assert feed_server.hits("/inside.xml") == []
    allowed = only(harness(tmp_path, store, [url], allow_private_hosts=True).cycle(due_only=False))
    assert allowed.ok and allowed.new_clips == 2


def test_ttl_is_remembered_across_a_304_that_carries_a_shorter_max_age(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    # <ttl>180</ttl> (3 h) and Cache-Control: max-age=300 on every answer, 304s too (RFC 9111 requires it).
    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            respond(h, 304, b"", {"ETag": '"v1"', "Cache-Control": "max-age=300"})
        else:
            respond(h, 200, rss(ttl=180), {"Content-Type": "application/rss+xml", "ETag": '"v1"',
                                            "Cache-Control": "max-age=300"})

    url = feed_server.add("/ttl.xml", Route(handler=handler))
    h = harness(tmp_path, store, [url])
    h.cycle()
    assert h.feed().next_attempt_at == T0 + timedelta(hours=3)  # the longer hint (ttl) wins on a 200
    h.clock.advance(hours=3)
    assert only(h.cycle()).status == 304
    # The feed still asks for 3 h; the 304's max-age=300 must not make it "every cycle".
    assert h.feed().next_attempt_at == h.clock.now + timedelta(hours=3)


def test_a_hint_the_publisher_dropped_is_not_applied_forever(
    tmp_path: Path, store: Store, feed_server: FeedServer
) -> None:
    url = feed_server.add("/ttl.xml", body=rss(ttl=600))  # 10 h, no validators
    h = harness(tmp_path, store, [url])
    h.cycle()
    assert h.feed().next_attempt_at == T0 + timedelta(hours=10)
    feed_server.routes["/ttl.xml"] = Route(body=rss(3))  # the publisher drops <ttl>: poll every cycle
    h.clock.advance(hours=10)
    h.cycle()
    assert h.feed().next_attempt_at is None
    h.clock.advance(hours=1)
    assert only(h.cycle()).not_modified  # same bytes
    # No hint any more, so every cycle; but the old 10 h <ttl> comes back from the store.
    assert h.feed().next_attempt_at is None

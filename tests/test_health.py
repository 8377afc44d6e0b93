"""Which feeds need attention: the pure rules, and `tracker status` (table, --json, --check) over a real database."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.clock import system_clock
from tracker.health import FeedStatus, HealthReport, assess, health_report, render_health_table
from tracker.models import FeedConfig, FeedHealth, FetchOutcome
from tracker.policy import GONE_REASON
from tracker.store import Store

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HEALTHY = FeedHealth(
    id="f", url="https://example.org/rss", name="Example", kind="feed", tags=(),
    last_attempt_at=NOW - timedelta(hours=1), last_success_at=NOW - timedelta(hours=1), last_status=200,
    last_error=None, consecutive_failures=0, next_attempt_at=None, last_new_item_at=NOW - timedelta(days=2),
    disabled_reason=None,
)


def test_a_healthy_feed_needs_nothing() -> None:
    assert assess(HEALTHY, NOW) is None


def test_a_feed_never_polled_is_not_a_problem_yet() -> None:
    fresh = replace(HEALTHY, last_attempt_at=None, last_success_at=None, last_status=None, last_new_item_at=None)
    assert assess(fresh, NOW) is None


def test_failing_for_less_than_a_day_is_tolerated() -> None:
    feed = replace(HEALTHY, consecutive_failures=4, last_error="HTTP 503 Service Unavailable",
                   last_success_at=NOW - timedelta(hours=23), last_status=503)
    assert assess(feed, NOW) is None


def test_failing_for_more_than_a_day_says_since_when_and_why() -> None:
    feed = replace(HEALTHY, consecutive_failures=9, last_error="HTTP 503 Service Unavailable",
                   last_success_at=NOW - timedelta(hours=25), last_status=503)
    assert assess(feed, NOW) == "failing since 2026-11-23 11:00 UTC: HTTP 503 Service Unavailable"


def test_a_new_feed_that_never_worked_is_reported_at_once() -> None:
    # Staff just added it: a wrong URL should not wait a day to be noticed.
    feed = replace(HEALTHY, consecutive_failures=1, last_error="HTTP 404 Not Found", last_success_at=None,
                   last_new_item_at=None, last_status=404)
    assert assess(feed, NOW) == "failed on its first try: HTTP 404 Not Found"
    assert assess(replace(feed, consecutive_failures=3), NOW) == "never succeeded: HTTP 404 Not Found"


def test_disabled_feed_shows_the_reason() -> None:
    feed = replace(HEALTHY, disabled_reason=GONE_REASON, consecutive_failures=1, last_status=410)
    assert assess(feed, NOW) == GONE_REASON


def test_a_feed_nobody_polls_any_more_points_at_the_scheduler() -> None:
    stalled = replace(HEALTHY, last_attempt_at=NOW - timedelta(days=3), last_success_at=NOW - timedelta(days=3),
                      last_new_item_at=NOW - timedelta(days=3))
    assert assess(stalled, NOW) == "not polled since 2026-11-21 12:00 UTC: is `tracker schedule` running?"
    # Backing off for a day after many failures is not "overdue": the next try is simply not due yet.
    backing_off = replace(HEALTHY, last_attempt_at=NOW - timedelta(hours=23), consecutive_failures=12,
                          last_success_at=NOW - timedelta(days=5), next_attempt_at=NOW + timedelta(hours=1),
                          last_error="HTTP 500")
    assert assess(backing_off, NOW) == "failing since 2026-11-19 12:00 UTC: HTTP 500"
    # A daily cron `tracker ingest` is slow but alive.
    assert assess(replace(HEALTHY, last_attempt_at=NOW - timedelta(hours=30)), NOW) is None


def test_a_feed_polled_while_the_clock_ran_ahead_is_said_to_wait_for_the_next_cycle() -> None:
    # The clock jumped 400 days ahead and NTP set it back: no due time to count 36 h from, and not
    # "next try in 400 days" (the scheduler polls it at its next cycle, tracker.policy.is_due).
    ahead = NOW + timedelta(days=400)
    feed = replace(HEALTHY, last_attempt_at=ahead, last_success_at=ahead, next_attempt_at=ahead + timedelta(hours=1))
    problem = assess(feed, NOW)
    assert problem is not None and problem.startswith("not polled since 2027-12-29 12:00 UTC, a time ahead of this clock")
    out = io.StringIO()
    render_health_table(HealthReport(now=NOW, feeds=(FeedStatus(feed, problem),), runs=()), out)
    assert "next cycle" in out.getvalue() and "overdue" in out.getvalue()
    # A day's backoff is no jump.
    assert assess(replace(HEALTHY, next_attempt_at=NOW + timedelta(hours=24)), NOW) is None


@pytest.mark.parametrize(("days", "quiet"), [(13, False), (15, True)])
def test_quiet_after_fourteen_days_without_new_items(days: int, quiet: bool) -> None:
    feed = replace(HEALTHY, last_new_item_at=NOW - timedelta(days=days))
    expected = f"quiet: no new items since {NOW - timedelta(days=days):%Y-%m-%d}" if quiet else None
    assert assess(feed, NOW) == expected


def test_a_feed_that_answers_but_never_has_items_is_reported_quiet(store: Store) -> None:
    store.sync_feeds([FeedConfig(id="empty", url="https://example.org/empty")])
    first = NOW - timedelta(days=20)
    for day in range(20):
        store.record_fetch("empty", FetchOutcome(ok=True, status=200, items_seen=0), first + timedelta(days=day))
    [feed] = store.feed_health()
    assert assess(feed, NOW) == f"quiet: no new items since {first:%Y-%m-%d}"
    day_10 = first + timedelta(days=10)  # as it stood then: a last attempt after `now` is a clock that ran ahead
    assert assess(replace(feed, last_attempt_at=day_10, last_success_at=day_10), day_10) is None


def test_a_feed_twice_in_one_health_batch_ends_in_its_latest_state(store: Store) -> None:
    # Health is written in batches of executemany UPDATEs; the same feed twice must still be
    # applied in the order the attempts happened, whichever way they went.
    store.sync_feeds([FeedConfig(id="a", url="https://a.example/rss"), FeedConfig(id="b", url="https://b.example/rss")])
    ok = FetchOutcome(ok=True, status=200, items_seen=4, etag='"v1"')
    gone = FetchOutcome(ok=False, status=410, error="HTTP 410 Gone", disable_reason=GONE_REASON)
    store.record_fetches([("a", ok, NOW), ("b", gone, NOW), ("a", gone, NOW + timedelta(minutes=1)),
                          ("b", ok, NOW + timedelta(minutes=1))])
    feeds = {f.id: f for f in store.feed_health()}
    assert (feeds["a"].last_status, feeds["a"].consecutive_failures, feeds["a"].disabled_reason) == (410, 1, GONE_REASON)
    assert (feeds["b"].last_status, feeds["b"].consecutive_failures, feeds["b"].disabled_reason) == (200, 0, None)
    assert feeds["b"].last_error is None and feeds["b"].items_seen_last == 4


# ---------------------------------------------------------------- tracker status


def _seed(store: Store) -> datetime:
    """Four feeds in four states, timed against the real clock `tracker status` uses."""
    now = system_clock()
    store.sync_feeds([
        FeedConfig(id="ok", url="https://ok.example/rss", name="Healthy Herald"),
        FeedConfig(id="failing", url="https://down.example/rss", name="Down Daily"),
        FeedConfig(id="quiet", url="https://quiet.example/rss", name="Quiet Quarterly"),
        FeedConfig(id="gone", url="https://gone.example/rss", name="Gone Gazette"),
    ])
    store.record_fetch("ok", FetchOutcome(ok=True, status=200, items_seen=5, had_new_items=True), now)
    store.record_fetch("failing", FetchOutcome(ok=True, status=200, items_seen=5), now - timedelta(hours=30))
    for hours in (29, 20, 10, 1):
        store.record_fetch("failing", FetchOutcome(ok=False, status=500, error="HTTP 500 Internal Server Error",
                                                   next_attempt_at=now + timedelta(hours=2)),
                           now - timedelta(hours=hours))
    store.record_fetch("quiet", FetchOutcome(ok=True, status=200, items_seen=3), now - timedelta(days=30))
    store.record_fetch("quiet", FetchOutcome(ok=True, status=304), now - timedelta(hours=1))
    store.record_fetch("gone", FetchOutcome(ok=False, status=410, error="HTTP 410 Gone", disable_reason=GONE_REASON,
                                            next_attempt_at=now + timedelta(hours=24)), now)
    run = store.start_run("host:1:2", 4, now - timedelta(minutes=1))
    store.finish_run(run, outcome="partial", now=now, feeds_ok=2, feeds_failed=2, feeds_skipped=0,
                     items_seen=8, clips_new=1)
    return now


def test_status_json_lists_each_feed_with_its_problem_and_the_runs(store: Store) -> None:
    _seed(store)
    result = CliRunner().invoke(cli, ["--db", store.url, "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["needs_attention"] == 3
    by_id = {f["id"]: f for f in data["feeds"]}
    assert by_id["ok"]["problem"] is None and by_id["ok"]["state"] == "ok"
    assert by_id["failing"]["state"] == "failing" and by_id["failing"]["consecutive_failures"] == 4
    assert by_id["failing"]["problem"].startswith("failing since ")
    assert by_id["failing"]["problem"].endswith(": HTTP 500 Internal Server Error")
    assert by_id["failing"]["next_attempt_at"].endswith("Z")
    assert by_id["quiet"]["problem"].startswith("quiet: no new items since ")
    assert by_id["quiet"]["state"] == "quiet"
    assert by_id["gone"]["state"] == "disabled" and by_id["gone"]["problem"] == GONE_REASON
    assert [(r["outcome"], r["feeds_failed"], r["clips_new"]) for r in data["runs"]] == [("partial", 2, 1)]


def test_status_table_puts_feeds_needing_attention_first(store: Store) -> None:
    _seed(store)
    result = CliRunner().invoke(cli, ["--db", store.url, "status"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Feeds (4; 3 need attention)" in out
    assert out.index("Down Daily") < out.index("Healthy Herald")
    assert out.index("Gone Gazette") < out.index("Healthy Herald")
    words = " ".join(out.replace("│", " ").split())  # rich wraps long cells; compare the words
    assert "Internal Server Error" in words and "410 Gone" in words and "quiet: no new items" in words
    assert "Recent ingest runs" in out and "partial" in out


def test_status_check_exit_code_is_for_monitoring(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--config", str(tmp_path / "no-config.yml"), "--db", store.url]
    store.sync_feeds([FeedConfig(id="ok", url="https://ok.example/rss", name="Healthy Herald")])
    store.record_fetch("ok", FetchOutcome(ok=True, status=200, items_seen=5, had_new_items=True), system_clock())
    assert runner.invoke(cli, [*base, "status", "--check"]).exit_code == 0
    _seed(store)
    assert runner.invoke(cli, [*base, "status", "--check"]).exit_code == 1
    assert runner.invoke(cli, [*base, "status", "--check", "--json"]).exit_code == 1


def test_status_check_fails_for_feeds_the_config_lists_that_this_database_never_polled(store: Store,
                                                                                     tmp_path: Path) -> None:
    # A mistyped database URL makes a fresh, empty database; a scheduler that never ran leaves one.
    config = tmp_path / "feeds.yml"
    config.write_text("feeds:\n  - https://ok.example/rss\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", store.url, "status", "--check"])
    assert result.exit_code == 1 and "was ever polled in this database" in result.output


def test_status_check_fails_when_a_step_of_the_last_run_failed(store: Store, tmp_path: Path) -> None:
    # The articles, links or stories step failing does not fail the cycle, but must not pass unseen.
    from tracker.store.runs import STEP_FAILED

    store.sync_feeds([FeedConfig(id="ok", url="https://ok.example/rss", name="Healthy Herald")])
    store.record_fetch("ok", FetchOutcome(ok=True, status=200, items_seen=5, had_new_items=True), system_clock())
    base = ["--config", str(tmp_path / "no-config.yml"), "--db", store.url, "status", "--check"]
    run = store.start_run("host:1:1", 1, system_clock())
    store.finish_run(run, outcome="ok", now=system_clock(), feeds_ok=1, feeds_failed=0, feeds_skipped=0, items_seen=5,
                     clips_new=0, error=STEP_FAILED + "articles: reading articles failed: StorageError: database error")
    result = CliRunner().invoke(cli, base)
    assert result.exit_code == 1 and "articles: reading articles failed" in result.output
    run = store.start_run("host:1:1", 1, system_clock())
    store.finish_run(run, outcome="ok", now=system_clock(), feeds_ok=1, feeds_failed=0, feeds_skipped=0, items_seen=5,
                     clips_new=0)
    assert CliRunner().invoke(cli, base).exit_code == 0  # the next run went well


def test_status_on_an_empty_database_says_what_to_do(store: Store, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "no-config.yml"), "--db", store.url, "status", "--check"])
    assert result.exit_code == 0
    assert "tracker ingest" in result.output
    assert health_report(store, system_clock()).needs_attention == ()


def test_a_feed_alert_is_shown_until_a_clean_parse_and_survives_a_304(store: Store) -> None:
    """A feed read with an alert (items left unread, nothing usable) needs attention, not 'ok'."""
    store.sync_feeds([FeedConfig(id="dump", url="https://dump.example/rss", name="Dump Daily")])
    alert = "5,000 items in the feed; only the newest 1,000 were read"

    def state() -> tuple[str | None, str | None]:
        feed = next(f for f in store.feed_health() if f.id == "dump")
        return feed.last_alert, assess(feed, NOW + timedelta(minutes=5))

    store.record_fetch("dump", FetchOutcome(ok=True, status=200, items_seen=1000, had_new_items=True, alert=alert), NOW)
    assert state() == (alert, alert)
    assert [(s.feed.id, s.state) for s in health_report(store, NOW).needs_attention] == [("dump", "alert")]
    # A 304 (not parsed: items_seen None) says nothing new about the body: the alert stays.
    store.record_fetch("dump", FetchOutcome(ok=True, status=304, items_seen=None), NOW + timedelta(minutes=1))
    assert state() == (alert, alert)
    # A failure is reported as a failure; the alert is kept for when it answers again.
    store.record_fetch("dump", FetchOutcome(ok=False, status=500, error="HTTP 500"), NOW + timedelta(minutes=2))
    assert state()[0] == alert
    # A clean parse clears it.
    store.record_fetch("dump", FetchOutcome(ok=True, status=200, items_seen=40, had_new_items=True), NOW + timedelta(minutes=3))
    assert state() == (None, None)


def test_status_check_is_quiet_about_a_feed_added_since_the_last_cycle(store: Store, tmp_path: Path) -> None:
    store.sync_feeds([FeedConfig(id="ok", url="https://ok.example/rss", name="Healthy Herald")])
    store.record_fetch("ok", FetchOutcome(ok=True, status=200, items_seen=5, had_new_items=True), system_clock())
    config = tmp_path / "feeds.yml"
    config.write_text("feeds:\n  - {url: https://ok.example/rss, id: ok}\n  - https://new.example/rss\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", store.url, "status", "--check"])
    assert result.exit_code == 0, result.output  # the new feed is polled next cycle: no alarm

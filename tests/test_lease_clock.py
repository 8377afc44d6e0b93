"""A clock that jumps forward and is set back (NTP) freezes neither the feeds nor the cycle lease."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.test_ingest import make_config
from tracker.ingest import Ingestor
from tracker.ingest.lease import CYCLE_LEASE, LEASE_TTL, close_abandoned_runs
from tracker.ingest.scheduler import CycleScheduler, ScheduleOptions
from tracker.store import Store

JUMP = timedelta(days=400)


def test_a_lease_taken_while_the_clock_ran_ahead_is_free_once_it_is_set_back(store: Store) -> None:
    clock = FakeClock(NOW + JUMP)
    assert store.acquire_lease(CYCLE_LEASE, "host-a:11:1", LEASE_TTL, clock())
    store.start_run("host-a:11:1", 1, clock())  # then host-a was killed, its lease running to NOW + 400 days
    clock.set(NOW)  # NTP sets the clock back
    assert store.lease_holder(CYCLE_LEASE, clock()) is None
    assert close_abandoned_runs(store, clock) == 1
    assert store.acquire_lease(CYCLE_LEASE, "host-b:22:1", LEASE_TTL, clock())


def test_a_live_holder_renewing_after_the_clock_is_set_back_keeps_its_lease(store: Store) -> None:
    clock = FakeClock(NOW + JUMP)
    assert store.acquire_lease(CYCLE_LEASE, "host-a:11:1", LEASE_TTL, clock())
    clock.set(NOW)
    assert store.renew_lease(CYCLE_LEASE, "host-a:11:1", LEASE_TTL, clock())  # its renewer, on the corrected clock
    clock.advance(minutes=1)
    assert store.lease_holder(CYCLE_LEASE, clock()) == ("host-a:11:1", NOW + LEASE_TTL)
    assert not store.acquire_lease(CYCLE_LEASE, "host-b:22:1", LEASE_TTL, clock())


def test_a_lease_taken_by_a_clock_a_little_ahead_is_still_held(store: Store) -> None:
    # Hosts' clocks differ by a little: that is no jump, and the holder keeps its lease.
    assert store.acquire_lease(CYCLE_LEASE, "host-a:11:1", LEASE_TTL, NOW + timedelta(minutes=2))
    assert not store.acquire_lease(CYCLE_LEASE, "host-b:22:1", LEASE_TTL, NOW)


def test_a_feed_polled_while_the_clock_ran_ahead_is_polled_again_once_it_is_set_back(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    feed_server.add("/down", status=503, body=b"")
    config = make_config(feed_server, ["/down"], tmp_path)
    clock = FakeClock(NOW + JUMP)
    Ingestor(config, store, clock=clock).run_cycle(due_only=True)  # fails: backoff until NOW + 400 days + 30 min
    assert len(feed_server.hits("/down")) == 1
    clock.set(NOW + timedelta(hours=1))
    report = Ingestor(config, store, clock=clock).run_cycle(due_only=True)
    assert report.feeds_skipped == 0 and len(feed_server.hits("/down")) == 2
    # A backoff set on a clock that did not jump is kept as ever.
    clock.advance(minutes=5)
    report = Ingestor(config, store, clock=clock).run_cycle(due_only=True)
    assert report.feeds_skipped == 1 and len(feed_server.hits("/down")) == 2


def test_the_schedulers_skip_message_gives_the_date_of_a_lease_until_another_day(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_scheduler import _config

    clock = FakeClock(NOW)  # 12:00
    scheduler = CycleScheduler(lambda: _config(tmp_path, []), store, ScheduleOptions(every_s=60), clock=clock)
    assert store.acquire_lease(CYCLE_LEASE, "host-a:11:1", timedelta(hours=13), clock())
    with caplog.at_level(logging.INFO, logger="tracker.scheduler"):
        assert scheduler.tick() is None
    assert "held by host-a:11:1 (lease until 2026-11-25 01:00:00 UTC)" in caplog.text
    store.release_lease(CYCLE_LEASE, "host-a:11:1")
    assert store.acquire_lease(CYCLE_LEASE, "host-a:11:1", timedelta(minutes=5), clock())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tracker.scheduler"):
        assert scheduler.tick() is None
    assert "held by host-a:11:1 (lease until 12:05:00 UTC)" in caplog.text

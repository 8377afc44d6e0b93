"""The cycle lease is never held for nothing: not by a cycle stuck on a lock, not by a process that died
on this host; and a stop (SIGTERM) cuts the Google News pause short."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.test_ingest import make_config, rss
from tracker.clock import system_clock
from tracker.errors import StorageError
from tracker.ingest import run_locked_cycle
from tracker.ingest.lease import CYCLE_LEASE, LEASE_TTL, LeaseRenewer, _CycleStop
from tracker.resolve.resolver import Pacer
from tracker.store import Store
from tracker.store.engine import make_engine

# ---------------------------------------------------------------- a cycle stuck on a lock


def test_a_cycle_stuck_on_a_locked_table_fails_in_one_line_within_the_lock_timeout(
    feed_server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    feed_server.add("/f", body=rss(("Good Cause Eviction win", "https://x.example.com/1", "")))
    config = make_config(feed_server, ["/f"], tmp_path)
    store = Store(pg_url, engine=make_engine(pg_url, lock_timeout_s=1.0))
    try:
        # A forgotten session (a psql left open, a dead client whose server side lives on) holds the feed table.
        with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as locker:
            locker.execute("LOCK TABLE feed IN EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(StorageError) as info:
                run_locked_cycle(config, store)
            took = time.monotonic() - started
        assert took < 15
        message = str(info.value)
        assert "lock timeout" in message and "\n" not in message
        assert store.lease_holder(CYCLE_LEASE, system_clock()) is None  # released: the next tick runs
        assert run_locked_cycle(config, store) is not None  # and works once the lock is gone
    finally:
        store.close()


def test_the_renewer_stops_renewing_and_stops_a_cycle_past_its_maximum_age(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    clock = FakeClock(NOW)
    assert store.acquire_lease(CYCLE_LEASE, "me", LEASE_TTL, clock())
    lost = threading.Event()
    with LeaseRenewer(store, "me", LEASE_TTL, 0.05, clock, lost=lost, max_age_s=0.3):
        assert lost.wait(5)  # the cycle is told to stop
        clock.advance(minutes=1)
        time.sleep(0.3)  # a renewal now would move the expiry to NOW + 6 minutes
        assert store.lease_holder(CYCLE_LEASE, clock()) == ("me", NOW + LEASE_TTL)
    store.close()


# ---------------------------------------------------------------- a holder that died on this host


def _exited_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_a_lease_held_by_a_dead_process_of_this_host_is_taken_at_once(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    # kill -9 or the OOM killer: the restarted scheduler's first tick must not skip for 5 minutes.
    feed_server.add("/f", body=rss(("Good Cause Eviction win", "https://x.example.com/1", "")))
    dead = f"{socket.gethostname()}:{_exited_pid()}:140000"
    clock = FakeClock(NOW)
    assert store.acquire_lease(CYCLE_LEASE, dead, LEASE_TTL, clock())
    left_running = store.start_run(dead, 1, clock())
    clock.advance(seconds=5)
    report = run_locked_cycle(make_config(feed_server, ["/f"], tmp_path), store, clock=clock)
    assert report is not None and report.feeds_ok == 1
    outcomes = {r.id: r.outcome for r in store.recent_runs(5)}
    assert outcomes == {left_running: "interrupted", report.run_id: "ok"}


def test_a_lease_held_by_a_live_process_of_this_host_or_another_host_is_kept(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    config = make_config(feed_server, ["/f"], tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        clock = FakeClock(NOW)
        live = f"{socket.gethostname()}:{sleeper.pid}:140000"
        assert store.acquire_lease(CYCLE_LEASE, live, LEASE_TTL, clock())
        assert run_locked_cycle(config, store, clock=clock) is None
        store.release_lease(CYCLE_LEASE, live)
        # A pid that does not exist here says nothing about a process on another host.
        elsewhere = f"another-host.{socket.gethostname()}:{_exited_pid()}:140000"
        assert store.acquire_lease(CYCLE_LEASE, elsewhere, LEASE_TTL, clock())
        assert run_locked_cycle(config, store, clock=clock) is None
        assert not feed_server.hits("/f")
    finally:
        sleeper.kill()
        sleeper.wait()


# ---------------------------------------------------------------- a stop during the Google News pause


def test_a_stop_cuts_the_google_news_pause_short() -> None:
    shutdown = threading.Event()  # the scheduler's, set by SIGTERM
    stop = _CycleStop(shutdown)  # what the cycle, and so the Pacer, waits on
    pacer = Pacer(5.0)
    pacer.wait(stop)  # the first request does not wait
    threading.Timer(0.3, shutdown.set).start()
    started = time.monotonic()
    pacer.wait(stop)
    assert time.monotonic() - started < 2.0


def test_a_cycle_stop_waits_its_timeout_when_nothing_stops_it() -> None:
    stop = _CycleStop(threading.Event())
    started = time.monotonic()
    assert stop.wait(0.3) is False
    assert 0.25 < time.monotonic() - started < 2.0
    stop.set()  # the renewer's: the lease was lost
    assert stop.wait(5) is True


def test_a_cycle_stop_with_no_outer_event_still_waits() -> None:
    stop = _CycleStop(None)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert stop.wait(timedelta(seconds=5).total_seconds())
    assert time.monotonic() - started < 2.0

"""One ingest cycle at a time across processes: real `tracker schedule` subprocesses sharing one database.

Runs on SQLite and PostgreSQL. Lease TTLs are shortened with the hidden --lease-ttl
option so a killed scheduler's lease runs out within the test.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.feedserver import FeedServer, Route
from tests.test_feed_health import rss
from tracker.cli import cli
from tracker.clock import system_clock
from tracker.config import load_config
from tracker.ingest import CycleReport, run_locked_cycle
from tracker.ingest.lease import ABANDONED, CYCLE_LEASE
from tracker.models import IngestRunView
from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, server: FeedServer, n_feeds: int, *, delay_s: float = 0.0,
                 items: int = 3, per_host_limit: int = 2) -> Path:
    """feeds.yml with n slow feeds on the test server, each item mentioning the member."""
    lines = [f"settings:\n  timeout_s: 10\n  per_host_limit: {per_host_limit}\n", "feeds:\n"]
    for i in range(n_feeds):
        server.add(f"/feed{i}.xml", Route(body=rss(items, prefix=f"f{i}"), delay_s=delay_s))
        lines.append(f"  - {{id: feed-{i}, url: '{server.url(f'/feed{i}.xml')}', name: Feed {i}}}\n")
    lines.append("members:\n  - name: Kendra Brooks\n")
    path = tmp_path / "feeds.yml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def start_tracker(config: Path, db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TRACKER_LEASE_TTL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "--db", db_url, *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    """Wait for the process; returns (exit code, stderr). Kills it if it overstays."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"process did not exit within {timeout}s; stderr:\n{err}") from None
    return proc.returncode, err


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 20.0, every_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every_s)


def runs(store: Store) -> list[IngestRunView]:
    return sorted(store.recent_runs(1000), key=lambda r: (r.started_at, r.id))  # ids break ties of a fixed clock


def assert_no_overlap(all_runs: list[IngestRunView]) -> None:
    assert all(r.finished_at is not None for r in all_runs), "a run never finished"
    for a, b in itertools.pairwise(all_runs):
        assert a.finished_at is not None and a.finished_at <= b.started_at, (
            f"runs {a.id} ({a.owner}) and {b.id} ({b.owner}) overlap"
        )


@contextmanager
def killing(*procs: subprocess.Popen[str]) -> Iterator[None]:
    """Never leave a scheduler behind when a test fails."""
    try:
        yield
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


# ---------------------------------------------------------------- the lease itself


def test_lease_is_exclusive_until_released_or_expired(store: Store) -> None:
    now = system_clock()
    ttl = timedelta(seconds=30)
    assert store.acquire_lease(CYCLE_LEASE, "a", ttl, now)
    assert not store.acquire_lease(CYCLE_LEASE, "b", ttl, now + timedelta(seconds=29))
    assert store.acquire_lease(CYCLE_LEASE, "a", ttl, now + timedelta(seconds=1))  # re-entrant for its owner
    assert store.renew_lease(CYCLE_LEASE, "a", ttl, now + timedelta(seconds=20))
    assert not store.acquire_lease(CYCLE_LEASE, "b", ttl, now + timedelta(seconds=40))  # renewed to +50 s
    assert store.acquire_lease(CYCLE_LEASE, "b", ttl, now + timedelta(seconds=51))  # expired: taken over
    assert not store.renew_lease(CYCLE_LEASE, "a", ttl, now + timedelta(seconds=52))  # a learns it lost it
    store.release_lease(CYCLE_LEASE, "a")  # releasing someone else's lease does nothing
    assert store.lease_holder(CYCLE_LEASE, now + timedelta(seconds=52)) is not None
    store.release_lease(CYCLE_LEASE, "b")
    assert store.lease_holder(CYCLE_LEASE, now) is None
    assert store.acquire_lease(CYCLE_LEASE, "c", ttl, now)


def test_many_threads_racing_for_a_free_lease_one_wins(store: Store) -> None:
    now = system_clock()
    barrier = threading.Barrier(8)
    wins: list[str] = []

    def race(name: str) -> None:
        barrier.wait()
        if store.acquire_lease("race", name, timedelta(minutes=1), now):
            wins.append(name)

    threads = [threading.Thread(target=race, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


# ---------------------------------------------------------------- real processes


def test_two_schedulers_never_overlap_a_cycle(tmp_path: Path, db_url: str, feed_server: FeedServer) -> None:
    # Each cycle takes about as long as the tick interval, so the two processes keep colliding.
    config = write_config(tmp_path, feed_server, 3, delay_s=0.4)
    Store(db_url).close()  # migrate once up front, so the race is about cycles, not schema
    args = ("schedule", "--every", "1", "--max-runs", "4", "--lease-ttl", "5")
    a, b = start_tracker(config, db_url, *args), start_tracker(config, db_url, *args)
    with killing(a, b):
        (rc_a, err_a), (rc_b, err_b) = finish(a), finish(b)
    assert (rc_a, rc_b) == (0, 0), err_a + err_b
    store = Store(db_url)
    try:
        all_runs = runs(store)
        assert_no_overlap(all_runs)
        assert all(r.outcome == "ok" for r in all_runs)
        ran = err_a.count("INFO tracker.scheduler: run ") + err_b.count("INFO tracker.scheduler: run ")
        skipped = (err_a + err_b).count("skipped: another ingest cycle is running, held by")
        assert ran == len(all_runs) >= 2
        assert skipped >= 1, "the schedulers never collided, so the test proved nothing"
        assert ran + skipped <= 8  # every tick either ran or skipped; none ran twice
        assert {r.owner.split(":")[1] for r in all_runs} <= {str(a.pid), str(b.pid)}
        assert store.lease_holder(CYCLE_LEASE, system_clock()) is None  # released on the way out
    finally:
        store.close()


def test_a_killed_schedulers_lease_expires_and_the_next_proceeds(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    config = write_config(tmp_path, feed_server, 2, delay_s=30)  # the first cycle hangs on slow feeds
    store = Store(db_url)
    first = start_tracker(config, db_url, "schedule", "--every", "60", "--lease-ttl", "2")
    with killing(first):
        wait_until("the first scheduler's cycle", lambda: any(r.outcome == "running" for r in runs(store)))
        holder = store.lease_holder(CYCLE_LEASE, system_clock())
        assert holder is not None and f":{first.pid}:" in holder[0]
        first.send_signal(signal.SIGKILL)
        first.communicate()
    killed_at = system_clock()
    for i in range(2):
        feed_server.routes[f"/feed{i}.xml"].delay_s = 0  # the publisher is fast again

    second = start_tracker(config, db_url, "schedule", "--every", "0.5", "--max-runs", "8", "--lease-ttl", "2")
    with killing(second):
        rc, err = finish(second)
    try:
        assert rc == 0, err
        dead, *later = runs(store)
        assert f":{first.pid}:" in dead.owner
        assert (dead.outcome, dead.error) == ("interrupted", ABANDONED)  # not "running" forever
        assert "left unfinished by a process that died: marked interrupted" in err
        ok = [r for r in later if r.outcome == "ok"]
        assert ok and all(f":{second.pid}:" in r.owner for r in later)
        # The lease lapses 2 s (its TTL) after the kill; the second scheduler takes over as soon as
        # it is up and the lease has lapsed, not after the first cycle's 30 s of slow feeds. Its
        # start-up is measured (its log's first line), not guessed: it is seconds on a loaded machine.
        ready_at = _first_log_time(err)
        assert ok[0].started_at <= max(killed_at + timedelta(seconds=2), ready_at) + timedelta(seconds=2)
        assert ok[0].feeds_ok == 2
    finally:
        store.close()


def _first_log_time(stderr: str) -> datetime:
    """When the scheduler logged its first line (its LOG_FORMAT's asctime, local time)."""
    stamp = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ", stderr, re.M)
    assert stamp, stderr
    local = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S").replace(microsecond=int(stamp[2]) * 1000)
    return local.astimezone(UTC)


def test_manual_ingest_during_a_cycle_skips_with_a_message_or_waits(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    config_path = write_config(tmp_path, feed_server, 2, delay_s=1.5)
    store = Store(db_url)
    result: list[CycleReport | None] = []
    scheduled = threading.Thread(
        target=lambda: result.append(run_locked_cycle(load_config(config_path), store, owner="scheduler-host:1:1")))
    scheduled.start()
    try:
        wait_until("the scheduled cycle to hold the lease", lambda: store.lease_holder(CYCLE_LEASE, system_clock()) is not None)
        runner = CliRunner()
        base = ["--config", str(config_path), "--db", db_url, "ingest", "--quiet"]
        skipped = runner.invoke(cli, base)
        assert skipped.exit_code == 0
        assert "another ingest cycle is running; skipped (use --wait-lock to wait for it)" in skipped.stderr
        assert "ingest run" not in skipped.stdout

        waited = runner.invoke(cli, [*base, "--wait-lock"])
        assert waited.exit_code == 0, waited.output
        assert "waiting for the cycle held by scheduler-host:1:1" in waited.stderr
        assert "ingest run" in waited.stdout
    finally:
        scheduled.join()
    try:
        assert result[0] is not None and result[0].outcome == "ok"
        all_runs = runs(store)
        assert len(all_runs) == 2
        assert_no_overlap(all_runs)
    finally:
        store.close()


def test_a_cycle_that_loses_its_lease_stops_instead_of_running_beside_another(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    config_path = write_config(tmp_path, feed_server, 4, delay_s=0.6, per_host_limit=1)
    store = Store(db_url)
    result: list[CycleReport | None] = []
    ttl = timedelta(seconds=1.5)
    cycle = threading.Thread(target=lambda: result.append(
        run_locked_cycle(load_config(config_path), store, owner="slow-host:1:1", ttl=ttl)))
    cycle.start()
    try:
        wait_until("the cycle to start", lambda: store.lease_holder(CYCLE_LEASE, system_clock()) is not None)
        # As if the holder had stalled past its TTL: another process takes the expired lease.
        assert store.acquire_lease(CYCLE_LEASE, "other-host:2:2", timedelta(minutes=5), system_clock() + timedelta(hours=1))
    finally:
        cycle.join(timeout=20)
    try:
        report = result[0]
        assert report is not None and report.outcome == "interrupted"
        assert report.feeds_ok < 4 and any(f.skipped == "stopped" for f in report.feeds)
        holder = store.lease_holder(CYCLE_LEASE, system_clock() + timedelta(hours=1))
        assert holder is not None and holder[0] == "other-host:2:2"  # the loser did not release the winner's lease
    finally:
        store.close()

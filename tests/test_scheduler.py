"""`tracker schedule`: the APScheduler job, ticks and logs, config reloads, and shutdown on signals.

Signal tests run the real command in a subprocess against slow feeds on the local
HTTP server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner
from sqlalchemy import text

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.test_feed_health import MEMBER, rss
from tests.test_lease import finish, killing, runs, start_tracker, wait_until, write_config
from tracker.cli import cli
from tracker.errors import ConfigError
from tracker.ingest.scheduler import JOB_ID, MISFIRE_GRACE_S, CycleScheduler, ScheduleOptions
from tracker.models import Config, FeedConfig, Settings
from tracker.store import Store


def _config(tmp_path: Path, urls: list[str], poll: str = "0 * * * *") -> Config:
    return Config(
        path=str(tmp_path / "feeds.yml"), settings=Settings(poll=poll, timeout_s=5.0),
        feeds=tuple(FeedConfig(id=f"feed-{i}", url=u, name=f"Feed {i}") for i, u in enumerate(urls)),
        members=(MEMBER,),
    )


def _in_thread(scheduler: CycleScheduler) -> threading.Thread:
    thread = threading.Thread(target=scheduler.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    wait_until("the scheduler to start", lambda: scheduler._scheduler.running)
    return thread


def _consistency(store: Store) -> dict[str, int]:
    """Clips per source feed; asserts no clip is missing its source or its mentions."""
    with store.engine.connect() as conn:
        orphans = conn.execute(text(
            "SELECT count(*) FROM clip c WHERE NOT EXISTS (SELECT 1 FROM clip_source s WHERE s.clip_id = c.id)"
        )).scalar_one()
        unmatched = conn.execute(text(
            "SELECT count(*) FROM clip c WHERE NOT EXISTS (SELECT 1 FROM mention m WHERE m.clip_id = c.id)"
        )).scalar_one()
        rows = conn.execute(text("SELECT feed_id, count(*) FROM clip_source GROUP BY feed_id")).all()
    assert (orphans, unmatched) == (0, 0)
    return {str(feed_id): int(n) for feed_id, n in rows}


# ---------------------------------------------------------------- the job


def test_the_job_follows_settings_poll_in_utc(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    scheduler = CycleScheduler(lambda: _config(tmp_path, [], poll="15 */2 * * *"), store,
                               ScheduleOptions(initial_run=False))
    thread = _in_thread(scheduler)
    try:
        job = scheduler._scheduler.get_job(JOB_ID)
        assert job is not None
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, MISFIRE_GRACE_S)
        assert isinstance(job.trigger, CronTrigger) and str(job.trigger.timezone) == "UTC"
        nxt = job.next_run_time.astimezone(UTC)
        assert (nxt.minute, nxt.hour % 2, nxt.second) == (15, 0, 0)
        assert nxt - datetime.now(UTC) <= timedelta(hours=2)
        # Adding it again replaces it: there is only ever one ingest job.
        scheduler.add_job()
        assert [j.id for j in scheduler._scheduler.get_jobs()] == [JOB_ID]
    finally:
        scheduler.request_stop("test over")
        thread.join(timeout=10)
        store.close()
    assert not thread.is_alive() and scheduler.ticks == 0


def test_every_overrides_the_cron_and_the_first_run_is_immediate(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    scheduler = CycleScheduler(lambda: _config(tmp_path, []), store, ScheduleOptions(every_s=3600))
    thread = _in_thread(scheduler)
    try:
        wait_until("the immediate first run", lambda: scheduler.ticks == 1, timeout=10)
        job = scheduler._scheduler.get_job(JOB_ID)
        assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(hours=1)
    finally:
        scheduler.request_stop("test over")
        thread.join(timeout=10)
        store.close()


def test_schedule_command_ticks_logs_and_stops_by_itself(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    good = feed_server.add("/good.xml", body=rss(2))
    feed_server.add("/broken.xml", status=500)
    config = tmp_path / "feeds.yml"
    config.write_text(
        f"feeds:\n  - {{id: good, url: '{good}', name: Good News}}\n"
        f"  - {{id: broken, url: '{feed_server.url('/broken.xml')}', name: Broken Bugle}}\n"
        "members:\n  - name: Kendra Brooks\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", db_url, "schedule", "--every", "0.3",
                                      "--max-runs", "3"], obj=FakeClock(NOW))
    assert result.exit_code == 0, result.output
    log = result.stderr
    assert "scheduler started: every 0.3s" in log
    assert log.count("INFO tracker.scheduler: run ") == 3
    # One line per failing feed, saying when it will be tried again; then it backs off.
    assert log.count("WARNING tracker.scheduler: feed Broken Bugle failed: HTTP 500") == 1
    assert "(failure 1 in a row; next try " in log
    assert "scheduler stopped after 3 tick(s)" in log
    store = Store(db_url)
    try:
        assert [(r.outcome, r.feeds_failed, r.feeds_skipped) for r in runs(store)] == [
            ("partial", 1, 0), ("ok", 0, 1), ("ok", 0, 1)]
        assert {r.started_at for r in runs(store)} == {NOW}  # the command's clock, as `tracker ingest` takes it
    finally:
        store.close()
    assert len(feed_server.hits("/broken.xml")) == 1 and len(feed_server.hits("/good.xml")) == 3


def _loads(results: list[Config | Exception]) -> Callable[[], Config]:
    """A config loader handing out these results in turn (an exception is raised, as a broken file's)."""
    def load() -> Config:
        item = results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return load


def test_config_edits_are_picked_up_and_a_broken_config_keeps_the_last_good_one(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    first = feed_server.add("/a.xml", body=rss(1, prefix="a"))
    second = feed_server.add("/b.xml", body=rss(1, prefix="b"))
    load = _loads([_config(tmp_path, [first]), _config(tmp_path, [first]),
                   ConfigError("feeds.yml: feeds[1].url: bad URL"), _config(tmp_path, [first, second])])
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    caplog.set_level(logging.INFO, logger="tracker")
    try:
        ticks = CycleScheduler(load, store, ScheduleOptions(every_s=0.2, max_runs=3)).run(handle_signals=False)
        assert ticks == 3
        assert [r.feeds_total for r in runs(store)] == [1, 1, 2]
        assert "config not reloaded, keeping the last good one: feeds.yml: feeds[1].url: bad URL" in caplog.text
        assert len(feed_server.hits("/b.xml")) == 1
    finally:
        store.close()


def test_an_unexpected_error_reading_the_config_keeps_the_last_good_one(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    first = feed_server.add("/a.xml", body=rss(1, prefix="a"))
    load = _loads([_config(tmp_path, [first]), _config(tmp_path, [first]), ValueError("a bug in reading feeds.yml")])
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    try:
        ticks = CycleScheduler(load, store, ScheduleOptions(every_s=0.2, max_runs=2)).run(handle_signals=False)
        assert ticks == 2 and [r.feeds_total for r in runs(store)] == [1, 1]  # the second cycle still polled
        assert "config not reloaded (unexpected error), keeping the last good one" in caplog.text
        assert len(feed_server.hits("/a.xml")) >= 1
    finally:
        store.close()


# ---------------------------------------------------------------- signals


def test_sigterm_mid_cycle_finishes_the_feeds_in_hand_and_records_an_interrupted_run(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    # Six slow feeds, two at a time (one host): three waves of two seconds each.
    config = write_config(tmp_path, feed_server, 6, delay_s=2.0, items=30)
    proc = start_tracker(config, db_url, "schedule", "--every", "3600")
    with killing(proc):
        wait_until("the first wave of requests", lambda: len(feed_server.requests) >= 2)
        time.sleep(0.3)  # in the middle of the first wave
        proc.send_signal(signal.SIGTERM)
        rc, err = finish(proc, timeout=20)
    assert rc == 0, err
    assert "SIGTERM received: finishing the feed in hand, then exiting" in err
    assert len(feed_server.requests) == 2  # the feeds still waiting for the host were never fetched

    store = Store(db_url)
    try:
        [run] = runs(store)
        assert run.outcome == "interrupted" and run.finished_at is not None
        assert (run.feeds_ok, run.feeds_skipped, run.feeds_failed) == (2, 4, 0)
        # Nothing half-written: each feed in hand stored all 30 clips, the others none.
        assert sorted(_consistency(store).values()) == [30, 30]
        polled = [f for f in store.feed_health() if f.last_attempt_at is not None]
        assert len(polled) == 2 and all(f.consecutive_failures == 0 for f in polled)
        assert store.lease_holder("ingest-cycle", datetime.now(UTC)) is None
    finally:
        store.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_between_runs_exits_cleanly_at_once(
    tmp_path: Path, feed_server: FeedServer, signum: signal.Signals
) -> None:
    db_url = f"sqlite:///{tmp_path / 't.db'}"
    config = write_config(tmp_path, feed_server, 1)
    proc = start_tracker(config, db_url, "schedule", "--every", "3600")
    store = Store(db_url)
    with killing(proc):
        wait_until("the first run to finish", lambda: any(r.outcome == "ok" for r in runs(store)))
        proc.send_signal(signum)
        rc, err = finish(proc, timeout=10)
    try:
        assert rc == 0, err
        assert f"{signum.name} received" in err and "scheduler stopped after 1 tick(s)" in err
        assert [r.outcome for r in runs(store)] == ["ok"]
    finally:
        store.close()


def test_a_second_signal_exits_without_waiting(tmp_path: Path, feed_server: FeedServer) -> None:
    db_url = f"sqlite:///{tmp_path / 't.db'}"
    config = write_config(tmp_path, feed_server, 1, delay_s=30)
    proc = start_tracker(config, db_url, "schedule", "--every", "3600")
    with killing(proc):
        wait_until("the request in hand", lambda: len(feed_server.requests) >= 1)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rc, err = finish(proc, timeout=5)
    assert rc == 130, err
    assert "SIGINT again: exiting without waiting" in err


def test_a_new_poll_cron_in_feeds_yml_reschedules_the_job(tmp_path: Path) -> None:
    polls = iter(["0 * * * *", "0 * * * *", "30 6 * * *"])
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    scheduler = CycleScheduler(lambda: _config(tmp_path, [], poll=next(polls, "30 6 * * *")), store)
    thread = _in_thread(scheduler)
    try:
        wait_until("the first tick", lambda: scheduler.ticks == 1, timeout=10)  # reloads: "0 * * * *"
        scheduler.tick()  # reloads again: "30 6 * * *"
        job = scheduler._scheduler.get_job(JOB_ID)
        nxt = job.next_run_time.astimezone(UTC)
        assert (nxt.hour, nxt.minute) == (6, 30)
    finally:
        scheduler.request_stop("test over")
        thread.join(timeout=10)
        store.close()

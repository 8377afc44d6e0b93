"""The long-running scheduler: one locked ingest cycle per tick, for months, unattended.

APScheduler decides *when* (cron from settings.poll, or a fixed interval for
tests); the database lease in tracker.ingest.lease decides *whether* (one cycle at a
time across processes and hosts). A tick that finds another cycle running skips
with a log line; it never waits, so ticks never pile up.

Shutdown (SIGTERM/SIGINT) sets the stop event the ingest cycle honours: feeds
not yet fetched are dropped, the feed in hand is stored or rolled back as one
transaction, the run is recorded as interrupted and the process exits 0.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracker.clock import Clock, system_clock
from tracker.cron import cron_trigger
from tracker.errors import TrackerError
from tracker.ingest.lease import CYCLE_LEASE, LEASE_TTL, run_locked_cycle
from tracker.ingest.reports import CycleReport
from tracker.models import Config, DigestConfig
from tracker.notify import run_digest_job, run_webhooks
from tracker.store import Store

JOB_ID = "ingest-cycle"
DIGEST_JOB_PREFIX = "digest:"  # one job per notify.digests entry, on its own cron and time zone
# A tick delayed by a busy machine or a suspended VM still runs if it is this late;
# later than that, the next cron time is closer than the missed one was useful.
MISFIRE_GRACE_S = 15 * 60

# glibc gives threads their own malloc arenas (up to 8 per core). Each cycle starts its fetch threads
# afresh, and what they leave in those arenas grew the scheduler ~7 KB a cycle for good; with two
# arenas it stays flat (bench/soak.py, bench/README.md "Soak"). An operator's MALLOC_ARENA_MAX wins.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt()'s parameter number, from glibc's malloc.h

# Named for the command, not the module: operators grep and filter on "tracker.scheduler" (README).
log = logging.getLogger("tracker.scheduler")


@dataclass(frozen=True)
class ScheduleOptions:
    every_s: float | None = None  # None: settings.poll (cron)
    initial_run: bool = True
    max_runs: int | None = None  # stop after this many ticks (tests, one-off runs)
    lease_ttl: timedelta = LEASE_TTL
    misfire_grace_s: int = MISFIRE_GRACE_S


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the rest of this process's life; False where that does not apply
    (another C library, or MALLOC_ARENA_MAX set in the environment)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):  # type: ignore[union-attr]
            return False
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas))
    except (AttributeError, OSError, ValueError):  # no confstr name, no mallopt: not glibc
        return False


def make_trigger(config: Config, every_s: float | None) -> BaseTrigger:
    if every_s is not None:
        return IntervalTrigger(seconds=every_s, timezone=UTC)
    return cron_trigger(config.settings.poll, UTC)


def digest_trigger(digest: DigestConfig) -> BaseTrigger:
    """The digest's cron in its own time zone: "0 7 * * mon-fri" in America/New_York is 07:00 there, DST or not."""
    return cron_trigger(digest.schedule, ZoneInfo(digest.timezone))


def describe_run(report: CycleReport) -> str:
    seconds = (report.finished_at - report.started_at).total_seconds()
    return (
        f"run {report.run_id}: {report.outcome} in {seconds:.1f}s; {report.feeds_ok} feeds ok, "
        f"{report.feeds_failed} failed, {report.feeds_skipped} skipped; "
        f"{report.items_seen} items seen, {report.new_clips} new clips"
    )


def lease_until(expires_at: datetime, now: datetime) -> str:
    """The time of day, with the date when it is not today's: a lease until tomorrow (a clock that ran ahead)
    must not read as a few minutes away."""
    return f"{expires_at:%H:%M:%S}" if expires_at.date() == now.date() else f"{expires_at:%Y-%m-%d %H:%M:%S}"


class CycleScheduler:
    """Runs locked ingest cycles on a trigger until stopped.

    `load_config` is called at every tick so edits to feeds.yml take effect
    without a restart; a config that no longer loads is logged and the last good
    one is kept, so a typo never stops the polling.
    """

    def __init__(
        self,
        load_config: Callable[[], Config],
        store: Store,
        options: ScheduleOptions = ScheduleOptions(),
        *,
        stop: threading.Event | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.load_config = load_config
        self.clock = clock
        self.config = load_config()
        self.store = store
        self.options = options
        self.stop = stop or threading.Event()
        self.ticks = 0
        # Only the latest: the process runs for months, and every cycle's report is in the
        # database (ingest_run) and the log. A list of them grew ~40 KB a cycle at 200 feeds.
        self.last_report: CycleReport | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._scheduler = BlockingScheduler(
            timezone=UTC,
            # One worker: a second tick can never run beside the first in this process. Digests have
            # their own, so a long ingest cycle does not make the 07:00 digest late.
            executors={"default": ThreadPoolExecutor(max_workers=1), "notify": ThreadPoolExecutor(max_workers=1)},
        )

    # -------------------------------------------------------------- the job

    def tick(self) -> CycleReport | None:
        """One scheduled tick: reload the config, run the cycle if the lease is free."""
        if self.stop.is_set() or self._enough():
            return None
        self._idle.clear()
        try:
            return self._tick()
        except TrackerError as exc:
            # A database outage or the like: say so and try again next tick.
            log.error("run failed: %s", exc)
            return None
        except Exception:
            log.exception("run failed unexpectedly")
            return None
        finally:
            self.ticks += 1
            self._idle.set()
            if self._enough():
                self._shutdown_soon(f"done: {self.ticks} tick(s)")

    def _enough(self) -> bool:
        return self.options.max_runs is not None and self.ticks >= self.options.max_runs

    def _tick(self) -> CycleReport | None:
        self._reload_config()
        ttl = self.options.lease_ttl
        report = run_locked_cycle(
            self.config, self.store, due_only=True, stop=self.stop, ttl=ttl,
            renew_every_s=max(0.2, ttl.total_seconds() / 3), clock=self.clock,
        )
        if report is None:
            now = self.clock()
            holder = self.store.lease_holder(CYCLE_LEASE, now)
            who = f"{holder[0]} (lease until {lease_until(holder[1], now)} UTC)" if holder else "another process"
            log.info("skipped: another ingest cycle is running, held by %s", who)
            return None
        self.last_report = report
        log.info("%s", describe_run(report))
        self.alert_webhooks()
        for feed in report.feeds:
            if not feed.failed:
                continue
            state = self.store.feed_state(feed.feed_id)
            when = f"{state.next_attempt_at:%Y-%m-%d %H:%M} UTC" if state.next_attempt_at else "next run"
            log.warning(
                "feed %s failed: %s (failure %d in a row; next try %s)",
                feed.name or feed.feed_id, feed.error, state.consecutive_failures, when,
            )
        return report

    def _reload_config(self) -> None:
        try:
            fresh = self.load_config()
        except TrackerError as exc:
            log.error("config not reloaded, keeping the last good one: %s", exc)
            return
        except Exception:  # a bug in reading it must not stop an unattended scheduler either
            log.exception("config not reloaded (unexpected error), keeping the last good one")
            return
        if fresh.settings.poll != self.config.settings.poll and self.options.every_s is None:
            log.info("poll schedule changed to %r", fresh.settings.poll)
            self._scheduler.reschedule_job(JOB_ID, trigger=make_trigger(fresh, None))
        digests_changed = fresh.notify.digests != self.config.notify.digests
        self.config = fresh
        if digests_changed:
            log.info("digests changed: rescheduling them")
            self.add_digest_jobs()

    # -------------------------------------------------------------- telling the team (tracker.notify)

    def alert_webhooks(self) -> None:
        """After each cycle: post the webhooks' new alerts. Never raises: an alert that could not be
        posted is recorded and retried after the next cycle."""
        if not self.config.notify.webhooks:
            return
        try:
            for result in run_webhooks(self.config, self.store, self.clock()):
                if result.posted:
                    log.info("webhook %r: %d alert(s) posted", result.name, result.posted)
        except Exception:
            log.exception("webhook alerts failed")

    def send_digest(self, name: str) -> None:
        """One digest's scheduled send, with the injected clock's now (tracker.notify.run_digest_job never raises)."""
        if not self.stop.is_set():
            run_digest_job(self.config, self.store, name, self.clock())

    def add_digest_jobs(self) -> list[Job]:
        """One cron job per digest, in the digest's time zone; jobs of digests no longer configured go."""
        wanted = {f"{DIGEST_JOB_PREFIX}{d.name}": d for d in self.config.notify.digests}
        for job in self._scheduler.get_jobs():
            if job.id.startswith(DIGEST_JOB_PREFIX) and job.id not in wanted:
                job.remove()
        jobs = []
        for job_id, digest in wanted.items():
            jobs.append(self._scheduler.add_job(
                self.send_digest, digest_trigger(digest), args=[digest.name], id=job_id, name=f"digest {digest.name}",
                executor="notify", replace_existing=True, coalesce=True, max_instances=1,
                misfire_grace_time=self.options.misfire_grace_s,
            ))
            log.info("digest %r: cron %r in %s, to %d recipient(s)", digest.name, digest.schedule, digest.timezone,
                     len(digest.recipients))
        return jobs

    # -------------------------------------------------------------- running and stopping

    def add_job(self) -> Job:
        """The one ingest job. Fixed id + replace_existing: never two copies of it; coalesce and
        max_instances=1: ticks missed while a long cycle ran become one run, not a burst."""
        first = self.clock() if self.options.initial_run else None
        self.add_digest_jobs()
        return self._scheduler.add_job(
            self.tick, make_trigger(self.config, self.options.every_s), id=JOB_ID, name="ingest cycle",
            replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=self.options.misfire_grace_s,
            **({"next_run_time": first} if first else {}),
        )

    def run(self, *, handle_signals: bool = True) -> int:
        """Block until stopped (signal, max_runs, request_stop). Returns the number of ticks."""
        self.add_job()
        previous = self._install_signal_handlers() if handle_signals else {}
        try:
            if self.stop.is_set():
                return self.ticks
            log.info("scheduler started: %s; first run %s", self._describe_trigger(), self._first_run())
            self._scheduler.start()  # blocks until shutdown
            # The tick in hand honours the stop event; let it record its run before leaving.
            self._idle.wait()
            log.info("scheduler stopped after %d tick(s)", self.ticks)
            return self.ticks
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _describe_trigger(self) -> str:
        if self.options.every_s:
            return f"every {self.options.every_s:g}s"
        return f"cron {self.config.settings.poll!r} (UTC)"

    def _first_run(self) -> str:
        if self.options.initial_run:
            return "now"
        # The job is still pending here (no next_run_time yet); ask its trigger.
        when = make_trigger(self.config, self.options.every_s).get_next_fire_time(None, self.clock())
        return f"at {when:%Y-%m-%d %H:%M:%S} UTC" if when else "never"

    def request_stop(self, why: str = "stop requested") -> None:
        """Interrupt the cycle in hand (if any) and stop scheduling. Safe from any thread or a signal handler."""
        self.stop.set()
        self._shutdown_soon(why)

    def _shutdown_soon(self, why: str) -> None:
        # shutdown() takes the scheduler's locks, which a signal handler may interrupt
        # the main thread holding; doing it from a fresh thread cannot deadlock.
        def shutdown() -> None:
            log.info("stopping: %s", why)
            # start() may not have been reached yet; wait for it so the stop is not lost.
            deadline = time.monotonic() + 30
            while self._scheduler.state == STATE_STOPPED and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._scheduler.state != STATE_STOPPED:
                self._scheduler.shutdown(wait=False)

        threading.Thread(target=shutdown, name="scheduler-shutdown", daemon=True).start()

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}  # signal.signal only works there; embedding callers stop us themselves

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if self.stop.is_set():
                # A second signal: the operator really wants out now.
                # os._exit, not SystemExit: the latter would still join the worker thread.
                # The database rolls back whatever transaction the dead connection had open.
                log.warning("%s again: exiting without waiting", name)
                os._exit(130)
            log.info("%s received: finishing the feed in hand, then exiting", name)
            self.request_stop(name)

        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, on_signal)
        return previous

"""`tracker schedule`: the long-running scheduler command (thin: options in, CycleScheduler out)."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

import click

from tracker.cli.context import AppContext, pass_app
from tracker.config import load_config
from tracker.models import Config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@click.command()
@click.option("--every", "every_s", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Run every SECONDS instead of on settings.poll (for tests and demos).")
@click.option("--initial-run/--no-initial-run", default=True, show_default=True,
              help="Run a cycle right away instead of waiting for the first scheduled time.")
@click.option("--max-runs", type=click.IntRange(min=1), metavar="N",
              help="Exit after N ticks (run or skipped); default: run until stopped.")
@click.option("--lease-ttl", "lease_ttl_s", type=click.FloatRange(min=0.5), envvar="TRACKER_LEASE_TTL",
              hidden=True, help="Seconds before a dead scheduler's cycle lease expires (tests shorten it).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              default="INFO", show_default=True, help="Log lines go to stderr.")
@pass_app
def schedule(app: AppContext, every_s: float | None, initial_run: bool, max_runs: int | None,
             lease_ttl_s: float | None, log_level: str) -> None:
    """Run ingest cycles on the config's cron (settings.poll, UTC) until SIGTERM/SIGINT.

    Only one cycle runs at a time across every scheduler and `tracker ingest`
    sharing the database; a tick that finds one running skips it. Stopping
    finishes the feed in hand, records the run as interrupted and exits 0.
    """
    from tracker.ingest.lease import LEASE_TTL
    from tracker.ingest.scheduler import CycleScheduler, ScheduleOptions, limit_malloc_arenas

    limit_malloc_arenas()  # a process that runs for months: keep glibc's per-thread arenas from piling up

    config_path = app.config_path
    app.config  # noqa: B018 - load now: a bad config refuses to start, with the usual one-line error

    def reload() -> Config:
        return load_config(config_path)

    lease_ttl = LEASE_TTL if lease_ttl_s is None else timedelta(seconds=lease_ttl_s)
    handler = _log_to_stderr(log_level.upper())
    try:
        scheduler = CycleScheduler(
            reload, app.store,
            ScheduleOptions(every_s=every_s, initial_run=initial_run, max_runs=max_runs, lease_ttl=lease_ttl),
            clock=app.clock,  # the one clock, as `tracker ingest` takes it
        )
        scheduler.run()
    finally:
        for name in ("tracker", "apscheduler"):
            logging.getLogger(name).removeHandler(handler)


def _log_to_stderr(level: str) -> logging.Handler:
    """One line per event on stderr, for journald or a log file; APScheduler only when it warns."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    tracker_log = logging.getLogger("tracker")
    tracker_log.setLevel(level)
    tracker_log.addHandler(handler)
    aps_log = logging.getLogger("apscheduler")
    aps_log.setLevel(logging.WARNING)
    aps_log.addHandler(handler)
    return handler

"""`tracker ingest`: one ingest cycle (or one worker's share of a shared cycle), with Ctrl-C handled."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta

import click

from tracker.cli.context import AppContext, pass_app


@click.command()
@click.option("--due-only", is_flag=True, help="Skip feeds that are backing off or asked to be polled less often.")
@click.option("--feed", "feed_ids", multiple=True, help="Only this feed id (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output; the summary only.")
@click.option("--wait-lock/--no-wait-lock", default=False, help="Wait for a running cycle instead of skipping.")
@click.option("--worker", is_flag=True,
              help="Share the cycle with other `ingest --worker` processes (PostgreSQL; see README.md, 'Scale').")
@click.option("--lease-ttl", "lease_ttl_s", type=click.FloatRange(min=0.5), envvar="TRACKER_LEASE_TTL",
              hidden=True, help="Seconds before a killed ingest's cycle lease expires (tests shorten it).")
@pass_app
def ingest(app: AppContext, due_only: bool, feed_ids: tuple[str, ...], quiet: bool, wait_lock: bool,
           worker: bool, lease_ttl_s: float | None) -> None:
    """Run one ingest cycle over all feeds and print a summary.

    Exits 0 even when some feeds failed: their errors are recorded (see `tracker status`).
    """
    from tracker.cli.progress import CycleProgress, print_summary
    from tracker.ingest import run_locked_cycle
    from tracker.ingest.lease import LEASE_TTL, RENEW_EVERY_S

    config, store = app.config, app.store
    ttl = LEASE_TTL if lease_ttl_s is None else timedelta(seconds=lease_ttl_s)
    if worker and feed_ids:
        raise click.UsageError("--worker shares the whole cycle; it cannot be combined with --feed")
    if worker and store.dialect == "postgresql":
        from tracker.ingest.workers import run_worker

        shared = run_worker(config, store, due_only=due_only, clock=app.clock, lease_ttl=ttl)
        if shared is None:
            click.echo("a single-process ingest cycle is running; worker skipped", err=True)
        elif shared.already_done:
            click.echo(f"shared cycle {shared.cycle_id} has just finished; nothing to do")
        else:
            click.echo(f"worker {shared.owner}: cycle {shared.cycle_id} — {shared.feeds_ok} feeds ok, "
                       f"{shared.feeds_failed} failed, {shared.new_clips} new clips"
                       + ("; closed the cycle" if shared.closed_cycle else ""))
            if shared.export_error:
                click.echo(f"warning: {shared.export_error}", err=True)
        return
    if worker:
        click.echo(f"--worker needs PostgreSQL (row claims with SKIP LOCKED); on {store.dialect} "
                   "running the cycle in a single process", err=True)
    stop = threading.Event()
    with CycleProgress(enabled=not quiet) as progress, _stop_on_ctrl_c(stop):
        report = run_locked_cycle(
            config, store, clock=app.clock, due_only=due_only, feed_ids=feed_ids or None, progress=progress.update,
            wait=wait_lock, on_wait=lambda msg: click.echo(msg, err=True), stop=stop,
            ttl=ttl, renew_every_s=min(RENEW_EVERY_S, ttl.total_seconds() / 3),
        )
    if report is None:
        if stop.is_set():
            raise click.exceptions.Abort()
        click.echo("another ingest cycle is running; skipped (use --wait-lock to wait for it)", err=True)
        return
    print_summary(report, sys.stdout)
    if stop.is_set():
        raise click.exceptions.Abort()  # exit 130 after the summary of what was done


@contextlib.contextmanager
def _stop_on_ctrl_c(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C asks the cycle to stop (in-flight feeds finish, the queue is dropped).

    A KeyboardInterrupt raised at an arbitrary point can land where Python only prints it
    (a finaliser, a callback) and the cycle would run on; an event the cycle polls cannot be lost.
    A second Ctrl-C interrupts at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def on_sigint(_signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

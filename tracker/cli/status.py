"""`tracker status`: feeds' health and recent ingest runs, as a table, JSON or an exit code for monitoring."""

from __future__ import annotations

import json
import sys

import click

from tracker.cli.context import AppContext, pass_app


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Exit 1 when any feed needs attention (for cron/monitoring).")
@click.option("--runs", type=click.IntRange(0, 10**6), default=5, show_default=True, help="How many recent runs to show.")
@pass_app
def status(app: AppContext, as_json: bool, check: bool, runs: int) -> None:
    """Feeds' health (last fetch, status, error, next attempt) and recent ingest runs."""
    from tracker.health import health_report, render_health_table

    report = health_report(app.store, app.clock(), runs=max(runs, 1) if check else runs)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        render_health_table(report, sys.stdout)
    if not check:
        return
    problems = [report.last_run_problem] if report.last_run_problem else []
    config = app.config_if_present
    if config is not None and config.all_feeds() and not any(s.feed.last_attempt_at for s in report.feeds):
        # Listed, and no feed ever polled here: the scheduler never ran, or this is the wrong database. (A
        # feed added since the last cycle is not polled yet either: that is no alarm.)
        problems.append(f"no feed of {app.config_path} was ever polled in this database: is `tracker schedule` "
                        "running, and is --db the scheduler's database?")
    for problem in problems:
        click.echo(f"attention: {problem}", err=True)
    if report.needs_attention or problems:
        sys.exit(1)

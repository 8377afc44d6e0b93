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
    if config is not None:  # listed but never polled: the scheduler never ran, or this is the wrong database
        known = {s.feed.id for s in report.feeds}
        never = [f for f in config.all_feeds() if f.id not in known]
        if never:
            problems.append(f"{len(never)} feed(s) in {app.config_path} never polled in this database "
                            f"(first: {never[0].url}): is `tracker schedule` running, and is --db right?")
    for problem in problems:
        click.echo(f"attention: {problem}", err=True)
    if report.needs_attention or problems:
        sys.exit(1)

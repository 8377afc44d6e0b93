"""`tracker backup`, `tracker restore`, `tracker prune`: keeping the database safe and small."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_app

_AGE = re.compile(r"^\s*(\d+)\s*([dw])\s*$")


MAX_AGE_DAYS = 36_500


def parse_age(text: str) -> timedelta:
    """'365d' or '52w' (days or weeks; at least one day)."""
    match = _AGE.match(text.lower())
    if not match or int(match.group(1)) < 1:
        raise click.BadParameter(f"{text!r}: give days or weeks, like 365d or 52w")
    if int(match.group(1)) * (7 if match.group(2) == "w" else 1) > MAX_AGE_DAYS:
        raise click.BadParameter(f"{text!r}: at most {MAX_AGE_DAYS}d (100 years)")
    n = int(match.group(1))
    return timedelta(days=n) if match.group(2) == "d" else timedelta(weeks=n)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@pass_app
def backup(app: AppContext, path: Path, force: bool) -> None:
    """Write a consistent copy of the database to PATH, safe while the scheduler runs.

    SQLite: a single SQLite file (online backup API). PostgreSQL: a pg_dump custom-format archive
    of the tracker's schema (needs pg_dump on PATH).
    """
    from tracker.backup import backup as run_backup

    report = run_backup(app.store, path, force=force)
    size = f"{report.size / 1e6:.1f} MB" if report.size >= 1e6 else f"{report.size / 1e3:.0f} kB"
    click.echo(f"backed up {report.counts} (schema {report.revision}) to {report.path} ({size})")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds clips, feeds, runs or audit entries.")
@pass_app
def restore(app: AppContext, path: Path, force: bool) -> None:
    """Replace the database with the backup at PATH (made by `tracker backup`).

    Refuses a file that is not a tracker backup, a database that is not empty (unless --force),
    and a database where an ingest cycle is running. A backup from an older version is migrated.
    """
    from tracker.backup import restore as run_restore

    report = run_restore(app.db_url, path, now=app.clock(), force=force)
    replaced = "" if report.replaced.empty else f"; replaced {report.replaced}"
    click.echo(f"restored {report.counts} from {report.path} (schema {report.revision}){replaced}")


@click.command()
@click.option("--older-than", "age", required=True, metavar="AGE",
              help="Remove what is older than this: days or weeks, like 365d or 52w.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--include-audit", is_flag=True,
              help="Also remove audit entries older than AGE of clips that no longer exist.")
@pass_app
def prune(app: AppContext, age: str, dry_run: bool, include_audit: bool) -> None:
    """Remove old rejected clips, ingest runs, finished article reads and the state of feeds taken out of feeds.yml.

    Never removes a new or approved clip. The audit trail is kept unless --include-audit.
    """
    cutoff = app.clock() - parse_age(age)
    report = app.store.prune(cutoff, include_audit=include_audit, dry_run=dry_run)
    click.echo(f"{'would remove (dry run)' if dry_run else 'removed'}, older than {cutoff:%Y-%m-%d %H:%M} UTC:")
    click.echo(f"  rejected clips   {report.rejected_clips:>8}  (with {report.mentions} mentions and "
               f"{report.clip_sources} feed sources)")
    click.echo(f"  ingest runs      {report.ingest_runs:>8}")
    click.echo(f"  removed feeds    {report.feeds:>8}  (no longer in feeds.yml, not polled since, no clip left)")
    click.echo(f"  article reads    {report.articles:>8}  (finished, of no remaining clip; never waiting ones)")
    click.echo(f"  search links     {report.search_links:>8}  (looked up for items that are no clip)")
    click.echo(f"  sent records     {report.deliveries:>8}  (digests and alerts, over a week before the cutoff)")
    if include_audit:
        click.echo(f"  audit entries    {report.audit:>8}  (of clips that no longer exist)")
    else:
        click.echo("  audit entries           0  (kept; --include-audit removes those of clips that no longer exist)")

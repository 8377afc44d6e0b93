"""The `tracker` command: parse arguments, call the library, turn errors into one line.

Each command group is a module of this package, registered on the root group below; none
holds business logic. Libraries that are slow to import (SQLAlchemy, requests, Alembic, rich,
PyYAML, pandas, Streamlit) are imported inside the commands that use them, so `tracker --help`
takes under twice what importing click alone does (bench/cli.py).
"""

from __future__ import annotations

import gc
import sys

import click

from tracker.cli import (
    clips,
    dashboard,
    demo,
    export,
    ingest,
    maintenance,
    match,
    notify,
    report,
    schedule,
    status,
    stories,
    users,
)
from tracker.cli.context import AppContext
from tracker.clock import Clock, system_clock
from tracker.config import DEFAULT_CONFIG_PATH, DEFAULT_DB_URL
from tracker.errors import ConfigError, TrackerError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", envvar="TRACKER_CONFIG", default=DEFAULT_CONFIG_PATH,
              show_default=True, help="feeds.yml to use (env TRACKER_CONFIG).")
@click.option("--db", "db_url", envvar="TRACKER_DATABASE_URL", default=DEFAULT_DB_URL, show_default=True,
              help="Database URL: sqlite:///path or postgresql+psycopg://user@host/db (env TRACKER_DATABASE_URL).")
@click.version_option(package_name="media-tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str, db_url: str) -> None:
    """media-tracker: find press coverage of members and campaigns, review it, export it."""
    # A caller may hand in its Clock as the context object (tests do, to fix "now" for every command).
    clock: Clock = ctx.obj if callable(ctx.obj) else system_clock
    app = AppContext(config_path=config_path, db_url=db_url, clock=clock)
    ctx.obj = app
    ctx.call_on_close(app.close)


for command in (
    ingest.ingest, match.match, match.rematch, clips.clips, status.status, export.export, schedule.schedule,
    users.users, demo.demo, dashboard.dashboard, maintenance.backup, maintenance.restore, maintenance.prune,
    notify.digest, notify.alerts, report.report,
    stories.stories, stories.outlets,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every error becomes one line on stderr and an exit code, here and only here."""
    try:
        cli.main(args=argv, prog_name="tracker", standalone_mode=False)
    except click.exceptions.Abort:  # click's name for Ctrl-C (and for a declined prompt)
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"config error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except TrackerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OverflowError as exc:  # a date or count past what Python or the database can hold
        click.echo(f"error: a date or number out of range ({exc})", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    finally:
        if argv is None:  # the process ends here (callers that pass argv, like tests, live on)
            # Skip the collector's last pass over every object SQLAlchemy & co. created: it took
            # ~0.2 s of each `tracker status`. Files and the store are closed by then; atexit still runs.
            gc.freeze()

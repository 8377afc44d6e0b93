"""The `tracker` command: parse arguments, call the library, turn errors into one line.

No business logic here; every command calls functions the dashboard uses too.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from tracker.clock import Clock, system_clock
from tracker.config import DEFAULT_CONFIG_PATH, load_config
from tracker.errors import ConfigError, TrackerError
from tracker.models import ClipFilter, ClipStatus, ClipView, Config
from tracker.normalize import parse_date
from tracker.store import Store
from tracker.store.engine import DEFAULT_DB_URL

# Command groups that live in their own modules; each has register(main).
_COMMAND_MODULES = ("tracker.commands.export", "tracker.commands.schedule", "tracker.commands.dashboard")


@dataclass
class AppContext:
    config_path: str
    db_url: str
    clock: Clock = system_clock
    _config: Config | None = None
    _store: Store | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.db_url)
        return self._store


pass_app = click.make_pass_decorator(AppContext)


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
    ctx.obj = AppContext(config_path=config_path, db_url=db_url, clock=clock)
    ctx.call_on_close(lambda: ctx.obj._store.close() if ctx.obj._store else None)


# ------------------------------------------------------------------ ingest


@cli.command()
@click.option("--due-only", is_flag=True, help="Skip feeds that are backing off or asked to be polled less often.")
@click.option("--feed", "feed_ids", multiple=True, help="Only this feed id (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output; the summary only.")
@click.option("--wait-lock/--no-wait-lock", default=False, help="Wait for a running cycle instead of skipping.")
@click.option("--worker", is_flag=True,
              help="Share the cycle with other `ingest --worker` processes (PostgreSQL; see README.md, 'Scale').")
@pass_app
def ingest(app: AppContext, due_only: bool, feed_ids: tuple[str, ...], quiet: bool, wait_lock: bool,
           worker: bool) -> None:
    """Run one ingest cycle over all feeds and print a summary.

    Exits 0 even when some feeds failed: their errors are recorded (see `tracker status`).
    """
    from tracker.ingest import run_locked_cycle
    from tracker.progress import CycleProgress, print_summary

    config, store = app.config, app.store
    if worker and feed_ids:
        raise click.UsageError("--worker shares the whole cycle; it cannot be combined with --feed")
    if worker and store.dialect == "postgresql":
        from tracker.ingest.workers import run_worker

        shared = run_worker(config, store, due_only=due_only, clock=app.clock)
        if shared is None:
            click.echo("a single-process ingest cycle is running; worker skipped", err=True)
        elif shared.already_done:
            click.echo(f"shared cycle {shared.cycle_id} has just finished; nothing to do")
        else:
            click.echo(f"worker {shared.owner}: cycle {shared.cycle_id} — {shared.feeds_ok} feeds ok, "
                       f"{shared.feeds_failed} failed, {shared.new_clips} new clips"
                       + ("; closed the cycle" if shared.closed_cycle else ""))
        return
    if worker:
        click.echo(f"--worker needs PostgreSQL (row claims with SKIP LOCKED); on {store.dialect} "
                   "running the cycle in a single process", err=True)
    stop = threading.Event()
    with CycleProgress(enabled=not quiet) as progress, _stop_on_ctrl_c(stop):
        report = run_locked_cycle(
            config, store, clock=app.clock, due_only=due_only, feed_ids=feed_ids or None, progress=progress.update,
            wait=wait_lock, on_wait=lambda msg: click.echo(msg, err=True), stop=stop,
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


# ------------------------------------------------------------------ matching


def _read_jsonl(stream: IO[str], source: str) -> Iterator[dict[str, Any]]:
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrackerError(f"{source}: line {line_no}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or "id" not in item:
            raise TrackerError(f"{source}: line {line_no}: expected an object with an 'id'")
        yield item


@cli.command("match")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--explain", is_flag=True, help="Add each mention: the term that fired, the field and a snippet.")
@pass_app
def match_cmd(app: AppContext, file: IO[str], explain: bool) -> None:
    """Match items from FILE.jsonl ('-' for stdin) and print one JSON line per item.

    Each input line: {"id", "title", "summary", "content"?, "url"?, "source"?}.
    """
    from tracker.match import compile_matcher, item_from_json, mentions_json

    config = app.config
    matcher = compile_matcher(config.members, config.campaigns)
    out = sys.stdout
    for item in _read_jsonl(file, getattr(file, "name", "input")):
        mentions = matcher.match(item_from_json(item))
        result: dict[str, Any] = {
            "id": item["id"],
            "members": sorted({m.target_id for m in mentions if m.kind == "member"}),
            "campaigns": sorted({m.target_id for m in mentions if m.kind == "campaign"}),
        }
        if explain:
            result["mentions"] = mentions_json(mentions)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")


@cli.command()
@click.option("--since", help="Only clips first seen on or after this date (YYYY-MM-DD).")
@pass_app
def rematch(app: AppContext, since: str | None) -> None:
    """Re-apply the current config's members and campaigns to stored clips (no re-fetching).

    Staff decisions (status, edits, hand-attached members) are kept.
    """
    from tracker.rematch import rematch_store

    since_at = _parse_day(since, "--since") if since else None
    result = rematch_store(app.config, app.store, since=since_at, clock=app.clock)
    click.echo(f"rematched {result.clips_checked} clips: {result.clips_gained} gained mentions, "
               f"{result.clips_lost} lost mentions")
    for line in result.changes[:50]:
        click.echo(f"  {line}")
    if len(result.changes) > 50:
        click.echo(f"  … and {len(result.changes) - 50} more")


def _parse_day(value: str, option: str) -> datetime:
    at = parse_date(value)
    if at is None:
        raise TrackerError(f"{option}: not a date: {value!r} (use YYYY-MM-DD)")
    return at


# ------------------------------------------------------------------ clips


@cli.group()
def clips() -> None:
    """List and review clips."""


def clip_json(clip: ClipView) -> dict[str, Any]:
    return {
        "id": clip.id,
        "status": clip.status.value,
        "headline": clip.display_headline,
        "outlet": clip.display_outlet,
        "url": clip.url,
        "published_at": clip.published_at.isoformat().replace("+00:00", "Z") if clip.published_at else None,
        "first_seen_at": clip.first_seen_at.isoformat().replace("+00:00", "Z"),
        "members": list(clip.member_ids),
        "campaigns": list(clip.campaign_ids),
        "featured": clip.featured,
        "sources": list(clip.feed_ids),
    }


@clips.command("list")
@click.option("--status", type=click.Choice([s.value for s in ClipStatus]), help="Only clips with this status.")
@click.option("--member", help="Only clips mentioning this member id.")
@click.option("--campaign", help="Only clips about this campaign id.")
@click.option("--search", "text", help="Text to find in headline or summary.")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many clips.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@pass_app
def clips_list(app: AppContext, status: str | None, member: str | None, campaign: str | None,
               text: str | None, limit: int | None, as_json: bool) -> None:
    """Clips, newest first, with status, outlet, URL and matches."""
    f = ClipFilter(status=ClipStatus(status) if status else None, member=member, campaign=campaign, text=text)
    found = app.store.list_clips(f, limit=limit).clips if limit else tuple(app.store.all_clips(f))
    if as_json:
        click.echo(json.dumps([clip_json(c) for c in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("no clips yet: run `tracker ingest` (or check the filters)")
        return
    for c in found:
        when = (c.published_at or c.first_seen_at).strftime("%Y-%m-%d")
        who = ", ".join(c.member_ids + c.campaign_ids)
        click.echo(f"{c.id}  {c.status.value:<8} {when}  {c.display_outlet[:24]:<24}  {c.display_headline[:70]}  [{who}]")


def _review(app: AppContext, ids: tuple[str, ...], status: ClipStatus, user: str) -> None:
    from tracker.review import set_status

    changed = set_status(app.store, app.config if Path(app.config_path).exists() else None, list(ids), status, user,
                         clock=app.clock)
    click.echo(f"{changed} clip(s) {status.value}" + ("" if changed == len(ids) else f" ({len(ids) - changed} already were)"))


@clips.command("approve")
@click.argument("ids", nargs=-1, required=True)
@click.option("--user", default="cli", show_default=True, help="Recorded in the clip's history.")
@pass_app
def clips_approve(app: AppContext, ids: tuple[str, ...], user: str) -> None:
    """Approve clips for the website."""
    _review(app, ids, ClipStatus.APPROVED, user)


@clips.command("reject")
@click.argument("ids", nargs=-1, required=True)
@click.option("--user", default="cli", show_default=True, help="Recorded in the clip's history.")
@pass_app
def clips_reject(app: AppContext, ids: tuple[str, ...], user: str) -> None:
    """Reject clips (they never reach the website)."""
    _review(app, ids, ClipStatus.REJECTED, user)


@clips.command("tag")
@click.argument("clip_id", metavar="ID")
@click.option("--add-member", multiple=True, metavar="ID", help="Attach this member (repeatable).")
@click.option("--remove-member", multiple=True, metavar="ID", help="Take this member off (repeatable).")
@click.option("--add-campaign", multiple=True, metavar="ID", help="Attach this campaign (repeatable).")
@click.option("--remove-campaign", multiple=True, metavar="ID", help="Take this campaign off (repeatable).")
@click.option("--user", default="cli", show_default=True, help="Recorded in the clip's history.")
@pass_app
def clips_tag(app: AppContext, clip_id: str, add_member: tuple[str, ...], remove_member: tuple[str, ...],
              add_campaign: tuple[str, ...], remove_campaign: tuple[str, ...], user: str) -> None:
    """Correct a clip's members and campaigns; later ingests and rematches keep the correction."""
    from tracker.review import set_targets

    before = app.store.get_clip(clip_id)
    members = [i for i in dict.fromkeys(before.member_ids + add_member) if i not in remove_member]
    campaigns = [i for i in dict.fromkeys(before.campaign_ids + add_campaign) if i not in remove_campaign]
    after = set_targets(app.store, app.config if Path(app.config_path).exists() else None, clip_id,
                        members, campaigns, user, clock=app.clock)
    click.echo(f"{after.id}  members: {', '.join(after.member_ids) or '-'}  "
               f"campaigns: {', '.join(after.campaign_ids) or '-'}")


# ------------------------------------------------------------------ status


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Exit 1 when any feed needs attention (for cron/monitoring).")
@click.option("--runs", type=click.IntRange(0), default=5, show_default=True, help="How many recent runs to show.")
@pass_app
def status(app: AppContext, as_json: bool, check: bool, runs: int) -> None:
    """Feeds' health (last fetch, status, error, next attempt) and recent ingest runs."""
    from tracker.health import health_report, render_health_table

    report = health_report(app.store, app.clock(), runs=runs)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        render_health_table(report, sys.stdout)
    if check and report.needs_attention:
        sys.exit(1)


# ------------------------------------------------------------------ entry point


def _register_command_modules() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that command group is not part of this build
            raise
        module.register(cli)


_register_command_modules()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: library errors become one line on stderr and an exit code."""
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
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()

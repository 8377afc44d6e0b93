"""`tracker export`: the approved clips, for the website."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_app
from tracker.errors import NotFoundError, StorageError, TrackerError
from tracker.models import ClipStatus

_EXTENSIONS = {"json": "json", "rss": "xml", "csv": "csv", "html": "html"}


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(list(_EXTENSIONS)), help="Output format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write ('-' for stdout).")
@click.option("--all-formats", is_flag=True, help="Write every format into --out-dir.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder for --all-formats.")
@click.option("--campaign", help="Only clips about this campaign id (per-campaign pages).")
@click.option("--member", help="Only clips mentioning this member id.")
@click.option("--tag", help="Only clips with this tag.")
@click.option("--limit", type=click.IntRange(1, 10**9), help="At most this many clips.")
@click.option("--preview", is_flag=True, help="With --format html: a standalone page with minimal CSS.")
@pass_app
def export(app: AppContext, fmt: str | None, out: Path | None, all_formats: bool, out_dir: Path | None,
           campaign: str | None, member: str | None, tag: str | None, limit: int | None,
           preview: bool) -> None:
    """Write the approved clips as json, rss, csv or an html fragment.

    Featured clips first, then the staff's order, then newest. Files are
    written atomically and left untouched when nothing changed.
    """
    from tracker.export import (
        Registry,
        SiteInfo,
        exports_locked,
        render_in_time,
        render_preview_page,
        select_for_export,
        write_atomic,
    )
    from tracker.models import ClipFilter

    if all_formats:
        if out_dir is None:
            raise TrackerError("--all-formats needs --out-dir")
        formats = list(_EXTENSIONS)
    else:
        if fmt is None or out is None:
            raise TrackerError("give --format and --out (or --all-formats --out-dir DIR)")
        formats = [fmt]
    config = app.config
    # A typo would write an empty website file and say nothing (as settings.exports refuses too).
    if campaign is not None and campaign not in {c.id for c in config.campaigns}:
        raise NotFoundError(f"no campaign with id {campaign!r} in {app.config_path}")
    if member is not None and member not in {m.id for m in config.members}:
        raise NotFoundError(f"no member with id {member!r} in {app.config_path}")
    registry = Registry.from_config(config)
    site = SiteInfo.from_settings(config.settings)
    feed_tags = {feed.id: feed.tags for feed in config.all_feeds()}  # `--tag pa`: clips of the pa feeds too
    folder = out_dir if all_formats else (None if str(out) == "-" else out.parent if out else None)
    failures: list[str] = []
    # As the automatic exports do: read and write under the folder's lock, each file with its own time
    # (never going back, unchanged clips leave the file untouched).
    with exports_locked(folder) if folder is not None else contextlib.nullcontext():
        site_floor = app.store.last_unpublished_at()
        clips = app.store.all_clips(ClipFilter(status=ClipStatus.APPROVED))
        chosen = select_for_export(clips, campaign=campaign, member=member, tag=tag, limit=limit, feed_tags=feed_tags)
        for f in formats:
            target = (out_dir / f"in-the-news.{_EXTENSIONS[f]}") if all_formats and out_dir else out
            assert target is not None
            to_stdout = str(target) == "-"
            if preview and f == "html":
                data = render_preview_page(chosen, registry, replace(site, changed_at=site_floor)).encode("utf-8")
            else:
                try:
                    data = render_in_time(f, chosen, registry, site, None if to_stdout else target, site_floor)
                except StorageError as exc:  # its old file cannot be read: the other formats still go
                    failures.append(str(exc))
                    continue
            if to_stdout:
                sys.stdout.buffer.write(data)
                continue
            try:
                changed = write_atomic(target, data)
            except StorageError as exc:  # one file that cannot be written leaves the other formats to write
                failures.append(str(exc))
                continue
            click.echo(f"{target}: {'written' if changed else 'unchanged'}", err=True)
    if failures:
        raise StorageError("; ".join(failures))

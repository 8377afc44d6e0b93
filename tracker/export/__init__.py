"""Exports for the website: pure writers (clips in, bytes out) and an atomic file writer.

    data = export_clips("json", all_clips, Registry.from_config(config))
    write_atomic(Path("data/exports/in-the-news.json"), data)

or, for every `settings.exports` target at once, `write_exports(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, get_args

from tracker.errors import ConfigError, StorageError, TrackerError
from tracker.export.atomic import exports_locked, write_atomic
from tracker.export.csv_writer import CSV_COLUMNS, render_csv
from tracker.export.html_writer import render_card, render_html, render_preview_page
from tracker.export.json_writer import JSON_VERSION, json_schema, render_json
from tracker.export.registry import Registry, SiteInfo
from tracker.export.rss_writer import render_rss
from tracker.export.select import select_for_export
from tracker.export.stamp import floor_for_change, stamp_of
from tracker.models import ClipView, ExportTarget

ExportFormat = Literal["json", "rss", "csv", "html"]
FORMATS: Final[tuple[str, ...]] = get_args(ExportFormat)
DEFAULT_SITE_TITLE = "In The News"
DEFAULT_SITE_URL = "https://example.org/news"

Writer = Callable[[Sequence[ClipView], Registry, SiteInfo], bytes]
WRITERS: Final[dict[str, Writer]] = {
    "json": render_json,
    "rss": render_rss,
    "csv": render_csv,
    "html": render_html,
}

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "JSON_VERSION",
    "ExportFormat",
    "Registry",
    "SiteInfo",
    "export_clips",
    "exports_locked",
    "json_schema",
    "render",
    "render_card",
    "render_csv",
    "render_html",
    "render_in_time",
    "render_json",
    "render_preview_page",
    "render_rss",
    "select_for_export",
    "write_atomic",
    "write_exports",
]


def render(
    fmt: str,
    clips: Sequence[ClipView],
    registry: Registry,
    *,
    site_title: str = DEFAULT_SITE_TITLE,
    site_url: str = DEFAULT_SITE_URL,
    changed_at: datetime | None = None,
) -> bytes:
    """`clips` exactly as given (already selected and ordered) in format `fmt`."""
    writer = WRITERS.get(fmt)
    if writer is None:
        raise ConfigError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return writer(clips, registry, SiteInfo(title=site_title, url=site_url, changed_at=changed_at))


def export_clips(
    fmt: str,
    all_clips: Sequence[ClipView],
    registry: Registry,
    *,
    campaign: str | None = None,
    member: str | None = None,
    tag: str | None = None,
    limit: int | None = None,
    site_title: str = DEFAULT_SITE_TITLE,
    site_url: str = DEFAULT_SITE_URL,
    changed_at: datetime | None = None,
    feed_tags: Mapping[str, Sequence[str]] | None = None,
) -> bytes:
    """Select the approved clips (filters as in select_for_export), then render them."""
    chosen = select_for_export(all_clips, campaign=campaign, member=member, tag=tag, limit=limit, feed_tags=feed_tags)
    return render(fmt, chosen, registry, site_title=site_title, site_url=site_url, changed_at=changed_at)


def render_in_time(fmt: str, chosen: Sequence[ClipView], registry: Registry, site: SiteInfo, path: Path | None,
                   site_floor: datetime | None) -> bytes:
    """The file's new bytes, with a time of its own (tracker.export.stamp): the same clips as the file
    on disk give its very bytes back (left untouched, its time kept); changed ones a later time."""
    previous = _read_if_there(path) if path is not None else None  # None: standard output, no file
    old = stamp_of(fmt, previous) if previous is not None else None
    if old is not None:
        same = render(fmt, chosen, registry, site_title=site.title, site_url=site.url, changed_at=old)
        if same == previous:
            return same
    elif previous is None and not chosen:
        site_floor = None  # an export that never had a clip: 1970, not the site's last takedown
    return render(fmt, chosen, registry, site_title=site.title, site_url=site.url,
                  changed_at=floor_for_change(old, site_floor))


def _read_if_there(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_exports(
    targets: Sequence[ExportTarget],
    all_clips: Sequence[ClipView],
    registry: Registry,
    base_dir: Path,
    site_title: str = DEFAULT_SITE_TITLE,
    site_url: str = DEFAULT_SITE_URL,
    changed_at: datetime | None = None,
    feed_tags: Mapping[str, Sequence[str]] | None = None,
) -> list[tuple[str, bool]]:
    """Regenerate every target (relative paths are under base_dir): [(path, changed)].

    A target that fails does not stop the others; the failures are raised together
    afterwards, so one unwritable path cannot freeze the rest of the website.
    """
    results: list[tuple[str, bool]] = []
    failures: list[str] = []
    for target in targets:
        path = Path(target.path)
        if not path.is_absolute():
            path = Path(base_dir) / path
        try:
            chosen = select_for_export(all_clips, campaign=target.campaign, member=target.member, tag=target.tag,
                                       limit=target.limit, feed_tags=feed_tags)
            site = SiteInfo(title=site_title, url=site_url)
            data = render_in_time(target.format, chosen, registry, site, path, changed_at)
            results.append((str(path), write_atomic(path, data)))
        except TrackerError as exc:
            failures.append(f"{path}: {exc}")
        except Exception as exc:  # a writer's own bug on odd data: still no reason to leave the other files stale
            failures.append(f"{path}: {type(exc).__name__}: {exc}")
    if failures:
        raise StorageError("export failed for " + "; ".join(failures))
    return results

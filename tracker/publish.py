"""Regenerating the website's exports after ingest and after staff publish."""

from __future__ import annotations

import logging
from pathlib import Path

from tracker.errors import ExportError, StorageError
from tracker.models import Config
from tracker.store import Store

log = logging.getLogger(__name__)
# How an ExportError from here starts; an ingest run's note keeps only the reason after it.
NOT_WRITTEN = "saved, but the website exports could not be written: "


def regenerate_exports(config: Config | None, store: Store) -> list[tuple[str, bool]]:
    """Write every export in settings.exports; returns (path, changed) per file.

    Relative paths are resolved from the config file's folder (/etc/media-tracker/feeds.yml's
    data/exports/… is /etc/media-tracker/data/exports/…). Unchanged content leaves the
    file untouched, so the website's caches stay warm.
    """
    if config is None or not config.settings.exports:
        return []
    from tracker.export import Registry, exports_locked, write_exports
    from tracker.models import ClipFilter, ClipStatus

    base = Path(config.path).resolve().parent
    first = Path(config.settings.exports[0].path)
    try:
        # Read and write under one lock: the last writer is the last reader, whichever process it is.
        with exports_locked((first if first.is_absolute() else base / first).parent):
            clips = store.all_clips(ClipFilter(status=ClipStatus.APPROVED))
            return write_exports(
                config.settings.exports, clips, Registry.from_config(config), base,
                site_title=config.settings.site_title, site_url=config.settings.site_url,
                changed_at=store.last_unpublished_at(), feed_tags={f.id: f.tags for f in config.all_feeds()},
            )
    except StorageError as exc:
        # The caller's change is already committed: say so, so nobody repeats it.
        raise ExportError(f"{NOT_WRITTEN}{exc}") from None

"""When a file last changed, as its own bytes say: `generated_at` (JSON) or `lastBuildDate` (RSS).

A file's time is its own. The site-wide time of the last takedown moved every file (rewriting
files whose clips had not changed), and a clip leaving one file (its campaign removed) left that
file's newest clip older than the time it already showed: the time went back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from tracker.export.sanitize import as_utc

_LAST_BUILD = re.compile(rb"<lastBuildDate>([^<]{1,64})</lastBuildDate>")
STEP = timedelta(seconds=1)  # the least a changed file's time moves on: its times are whole seconds


def stamp_of(fmt: str, data: bytes) -> datetime | None:
    """The time written in an export file of format `fmt`; None when it has none or cannot be read."""
    try:
        if fmt == "json":
            value = json.loads(data).get("generated_at")
            return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
        if fmt == "rss":
            found = _LAST_BUILD.search(data)
            return as_utc(parsedate_to_datetime(found.group(1).decode("ascii"))) if found else None
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return None
    return None


def floor_for_change(previous: datetime | None, site_floor: datetime | None) -> datetime | None:
    """The least time a file whose bytes change may show: past its previous time (never back), and
    no earlier than the site's last takedown (which may be what changed it)."""
    bounds = [t for t in (previous + STEP if previous is not None else None, site_floor) if t is not None]
    return max(bounds) if bounds else None

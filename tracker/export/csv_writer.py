"""CSV for staff spreadsheets: one row per clip, guarded against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from tracker.export.items import ExportItem, prepare_items
from tracker.export.registry import Registry, SiteInfo
from tracker.export.sanitize import guard_cell, iso_utc
from tracker.models import ClipView

CSV_COLUMNS = (
    "id", "status", "headline", "outlet", "url", "published_at", "members",
    "campaigns", "featured", "position", "image_url", "image_credit", "blurb",
)  # fmt: skip
LIST_SEPARATOR = "; "
def _row(item: ExportItem) -> list[str]:
    cells = [
        item.id,
        item.status,
        item.headline,
        item.outlet,
        item.url or "",
        iso_utc(item.published_at),
        LIST_SEPARATOR.join(m.name for m in item.members),
        LIST_SEPARATOR.join(c.name for c in item.campaigns),
        "true" if item.featured else "false",
        "" if item.position is None else str(item.position),
        item.image.url if item.image else "",
        item.image.credit if item.image else "",
        item.blurb,
    ]
    return [guard_cell(cell) for cell in cells]


def render_csv(clips: Sequence[ClipView], registry: Registry, site: SiteInfo) -> bytes:
    """UTF-8 without BOM, RFC 4180 (CRLF, minimal quoting), header row first."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_row(item) for item in prepare_items(clips, registry))
    return buffer.getvalue().encode("utf-8")

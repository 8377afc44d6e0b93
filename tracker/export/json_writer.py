"""JSON, the website's contract: version 1, described by schema-v1.json beside this file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from tracker.export.items import ExportItem, generated_at, prepare_items
from tracker.export.registry import Registry, SiteInfo
from tracker.export.sanitize import iso_utc
from tracker.models import ClipView

JSON_VERSION = 1
SCHEMA_FILE = "schema-v1.json"


def item_to_json(item: ExportItem) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": item.id,
        "url": item.url,
        "headline": item.headline,
        "outlet": item.outlet,
        "published_at": iso_utc(item.published_at),
        "blurb": item.blurb,
        "image": (
            {"url": item.image.url, "credit": item.image.credit, "alt": item.image.alt}
            if item.image
            else None
        ),
        "members": [{"id": m.id, "name": m.name} for m in item.members],
        "campaigns": [{"id": c.id, "name": c.name} for c in item.campaigns],
        "featured": item.featured,
    }
    if item.also_in:  # optional: only a syndicated story has it, so other items' bytes never change
        found["also_in"] = [{"url": c.url, "outlet": c.outlet} for c in item.also_in]
    return found


def render_json(clips: Sequence[ClipView], registry: Registry, site: SiteInfo) -> bytes:
    """Items in the given order (the selection's order is the display order)."""
    document = {
        "version": JSON_VERSION,
        "generated_at": generated_at(clips, site.changed_at),
        "items": [item_to_json(item) for item in prepare_items(clips, registry)],
    }
    # sort_keys + fixed indent: byte-identical output for the same clips, readable diffs.
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every render_json output validates against."""
    text = resources.files("tracker.export").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema

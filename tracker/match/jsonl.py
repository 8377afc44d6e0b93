"""The `tracker match` line format: a JSON object in, mentions out as JSON values.

Kept apart from tracker.rematch, which needs the store: `tracker match` reads no database
and should not import one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.models import MatchItem, Mention
from tracker.normalize import html_to_text

__all__ = ["item_from_json", "mentions_json"]


def item_from_json(item: dict[str, Any]) -> MatchItem:
    """An item of `tracker match` input; HTML in any field is reduced to text."""
    return MatchItem(
        title=html_to_text(str(item.get("title") or "")),
        summary=html_to_text(str(item.get("summary") or "")),
        content=html_to_text(str(item.get("content") or "")),
    )


def mentions_json(mentions: Sequence[Mention]) -> list[dict[str, Any]]:
    """What `--explain` prints for each mention."""
    return [
        {"kind": m.kind, "id": m.target_id, "term": m.term, "field": m.field, "snippet": m.snippet,
         "start": m.start, "end": m.end}
        for m in mentions
    ]

"""Text, URL and time hygiene shared by every export writer.

Everything a feed supplies is untrusted; it passes through here exactly once
(see `items.prepare_item`), so each writer only has to apply its own escaping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# The URL rule lives with the other URL normalisers (config checks site_url with it too); here for
# the writers, as always.
from tracker.normalize import EXPORT_CONTROL
from tracker.normalize import SAFE_SCHEMES as SAFE_SCHEMES
from tracker.normalize import safe_http_url as safe_http_url

_CONTROL = EXPORT_CONTROL
# Line-breaking white space; collapsed to one space because every exported text is
# a single line or a single paragraph. NBSP and other spaces are left alone on purpose.
_WHITESPACE = re.compile("[ \t\n\r\x0b\x0c\x85\u2028\u2029]+")

# Spreadsheets evaluate a cell that starts with one of these as a formula (=HYPERLINK(...)
# exfiltration, DDE); tab and CR are on OWASP's list too, and the full-width forms are what an
# East Asian keyboard types for them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# What a spreadsheet's import may trim or not show before a cell's first character: white space
# (NBSP and the other Unicode spaces too), the soft hyphen, zero-width characters and joiners, bidi
# marks (the Arabic letter mark too), Hangul fillers, variation selectors, the BOM.
_INVISIBLE_LEAD = re.compile(
    "^[\\s\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0]+"
)

EPOCH_ISO = "1970-01-01T00:00:00Z"

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def clean_text(value: str | None) -> str:
    """Untrusted text → one line: controls removed, white space collapsed and trimmed.

    Emoji, right-to-left scripts and bidi marks are kept: they are content.
    Entities are *not* decoded: clip text is already plain text, and decoding it
    again would turn a headline about "&lt;b&gt;" into markup.
    """
    if not value:
        return ""
    return _WHITESPACE.sub(" ", _CONTROL.sub("", value)).strip()


def guard_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading apostrophe when it would start a formula,
    also behind invisible characters, which one spreadsheet or another trims before deciding."""
    visible = _INVISIBLE_LEAD.sub("", value)
    return "'" + value if value.startswith(_FORMULA_START) or visible.startswith(_FORMULA_START) else value


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (how the store keeps them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601, whole seconds, with Z: stable and easy for any site to parse."""
    d = as_utc(value)  # not strftime: glibc's %Y gives "26" for the year 26, not "0026"
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


def human_date(value: datetime) -> str:
    """Like "November 20, 2026", without strftime's %B, which follows the process locale."""
    d = as_utc(value)
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"

"""Text, URL and time hygiene shared by every export writer.

Everything a feed supplies is untrusted; it passes through here exactly once
(see `items.prepare_item`), so each writer only has to apply its own escaping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

# Deleted outright: C0/C1 controls (except whitespace, handled below), DEL, lone
# surrogates (cannot be encoded) and the two non-characters XML 1.0 forbids.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# Line-breaking white space; collapsed to one space because every exported text is
# a single line or a single paragraph. NBSP and other spaces are left alone on purpose.
_WHITESPACE = re.compile("[ \t\n\r\x0b\x0c\x85\u2028\u2029]+")
# Browsers delete these anywhere in a URL before parsing it ("java\nscript:" works).
_URL_IGNORED = re.compile("[\t\n\r]")
# Characters that must not appear raw in a URL we emit; other non-ASCII (IRIs) is kept. Unicode
# spaces count (NBSP, U+2003, U+3000, the BOM): a URL ends at them in text, and the schema refuses them.
_URL_UNSAFE = re.compile('[\x00-\x20"<>^`{|}\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]')

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

SAFE_SCHEMES = frozenset({"http", "https"})
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


def safe_http_url(value: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None.

    Anything else (javascript:, data:, vbscript:, relative or scheme-relative
    paths, malformed hosts) is refused rather than repaired.
    """
    if not value:
        return None
    url = _URL_IGNORED.sub("", _CONTROL.sub("", value)).strip(" \x0b\x0c")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not host:
        return None
    # A backslash after the scheme is a path separator to browsers but not to urlsplit.
    if "\\" in url:
        return None
    return _URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url)  # UTF-8 bytes, %XX each


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

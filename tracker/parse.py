"""Fetched bytes to ParsedFeed, with feedparser and no network."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import feedparser

from tracker.errors import ParseError
from tracker.models import ParsedEntry, ParsedFeed
from tracker.normalize import (
    clean_text,
    fits_as_key,
    html_to_text,
    parse_date,
    related_headlines,
    struct_time_to_utc,
    within_limits,
)

_IMAGE_EXT_RE = re.compile(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", re.I)

# feedparser would otherwise resolve xml:base against nothing and sanitise HTML we only read as text.
feedparser.RESOLVE_RELATIVE_URIS = 0
feedparser.SANITIZE_HTML = 0


def _get(obj: Mapping[str, Any], key: str, default: Any = None) -> Any:
    try:
        return obj.get(key, default)
    except AttributeError:
        return default


def _looks_like_image(item: Mapping[str, Any]) -> bool:
    medium = str(_get(item, "medium", "") or "")
    mime = str(_get(item, "type", "") or "")
    url = str(_get(item, "url", "") or _get(item, "href", "") or "")
    if medium == "image" or mime.startswith("image/"):
        return True
    return not medium and not mime and bool(_IMAGE_EXT_RE.search(url))


def _image_of(entry: Mapping[str, Any]) -> str | None:
    """media:content, then media:thumbnail, then an image enclosure; largest media:content wins."""
    candidates: list[tuple[int, str]] = []
    for item in _get(entry, "media_content", []) or []:
        url = _get(item, "url")
        if url and _looks_like_image(item):
            try:
                width = int(_get(item, "width", 0) or 0)
            except (TypeError, ValueError):
                width = 0
            candidates.append((width, url))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    for item in _get(entry, "media_thumbnail", []) or []:
        url = _get(item, "url")
        if url:
            return str(url)
    for link in _get(entry, "links", []) or []:
        if _get(link, "rel") == "enclosure" and _looks_like_image(link):
            href = _get(link, "href")
            if href:
                return str(href)
    for enc in _get(entry, "enclosures", []) or []:
        if _looks_like_image(enc):
            href = _get(enc, "href") or _get(enc, "url")
            if href:
                return str(href)
    return None


def _image_credit(entry: Mapping[str, Any]) -> str | None:
    """The item's media:credit (inside its media:content or on the item itself): a photographer's
    first, else one with no role, else the first. feedparser lists every media:credit of the item
    without saying which media:content it sat in, so only an item that has an image gets one."""
    credits: list[tuple[str, str]] = []
    for item in _get(entry, "media_credit", []) or []:
        text = clean_text(str(_get(item, "content", "") or ""))
        if text:
            credits.append((str(_get(item, "role", "") or "").strip().lower(), text))
    for wanted in ("photographer", ""):
        for role, text in credits:
            if role == wanted:
                return text
    return credits[0][1] if credits else None


def _content_text(entry: Mapping[str, Any]) -> str:
    parts = [html_to_text(_get(c, "value", "")) for c in (_get(entry, "content", []) or [])]
    return " ".join(p for p in parts if p)


MAX_ENTRIES_PER_FEED = 1000
# Longer links are not articles staff could use, and PostgreSQL cannot index them (8 KB rows).
MAX_LINK_CHARS = 2000


def web_link(value: object) -> str | None:
    """An absolute http(s) link with a host, control characters removed; None for anything else
    (javascript:, mailto:, data:, urn:, relative junk): those are never clips."""
    link = clean_text(str(value or ""))
    try:
        parts = urlsplit(link)
    except ValueError:  # "http://host]": one bad link must cost its item, not the whole feed
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(link) > MAX_LINK_CHARS:
        return None
    return link if fits_as_key(link) else None


_ISO_OFFSET_WITHOUT_COLON = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{4}\s*$")


def _entry(entry: Mapping[str, Any], feed_title: str) -> ParsedEntry | None:
    guid = clean_text(str(_get(entry, "id", "") or ""))
    link = web_link(_get(entry, "link", "")) or web_link(guid)
    if link is None:
        return None  # nothing to clip without a web address
    # dict.get: FeedParserDict.get would map updated↔published itself, with a DeprecationWarning.
    fields = dict(entry)
    raw_date = str(fields.get("published") or fields.get("updated") or "")
    if _ISO_OFFSET_WITHOUT_COLON.search(raw_date):
        # feedparser 6 reads "+0530" as +05:00 (and "-0330" as -03:00): minutes of the offset lost
        published = parse_date(raw_date)
    else:
        published = struct_time_to_utc(fields.get("published_parsed") or fields.get("updated_parsed"))
    if published is None and raw_date:
        published = parse_date(raw_date)
    raw_summary = _get(entry, "summary", "")
    summary = html_to_text(raw_summary)
    related = related_headlines(raw_summary if isinstance(raw_summary, str) else None)
    content = _content_text(entry)
    if content == summary:
        content = ""
    source = _get(entry, "source", {}) or {}
    source_title = clean_text(str(_get(source, "title", "") or ""))
    outlet = source_title or feed_title
    author = clean_text(str(_get(entry, "author", "") or ""))
    title = html_to_text(_get(entry, "title", "")) or link
    if source_title and title.endswith(f" - {source_title}"):
        # News-search feeds append " - Outlet" to every headline; the outlet has its own field.
        title = title[: -len(source_title) - 3].rstrip() or title
    if source_title and summary.replace(title, "", 1).strip() in ("", source_title):
        summary = ""  # a search feed's description that only repeats headline and outlet says nothing
    image = web_link(_image_of(entry))
    return within_limits(ParsedEntry(
        title=title,
        link=link,
        guid=guid[:MAX_LINK_CHARS] or link,
        summary=summary,
        content=content,
        author=author,
        published_at=published,
        published_raw=clean_text(raw_date)[:200],
        image_url=image,
        source_outlet=outlet,
        related=related,
        image_credit=_image_credit(entry) if image else None,
    ))


def newest_first(raw_entries: list[Any]) -> list[Any]:
    """Entries by date, newest first; undated ones after the dated, in document order (stable)."""
    def when(entry: Any) -> tuple[int, tuple[int, ...]]:
        fields = dict(entry)
        stamp = fields.get("published_parsed") or fields.get("updated_parsed")
        return (1, tuple(stamp[:6])) if stamp else (0, ())
    return sorted(raw_entries, key=when, reverse=True)


# feedparser looks for an e-mail address in author text with a regex that is quadratic in the
# text's length: a 1 MB <author> took minutes. Person and address elements are cut to a length
# no real byline reaches before feedparser sees them (a linear pass over the bytes).
_LONG_PERSON_TEXT = re.compile(
    rb"(<(?:[\w.-]+:)?(?:author|creator|contributor|name|email|managingEditor|webMaster|publisher)\b[^<>]*>)"
    rb"([^<]{1000})[^<]*"
)


# No feed needs its own entity declarations; a one-line "billion laughs" DOCTYPE got past
# feedparser (it strips them only line by line) and expanded one title to 3 million characters.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY[^>]*>", re.IGNORECASE)

# What expat (2.4+) says when a document's entities would expand past its amplification limit.
_AMPLIFICATION = "limit on input amplification factor"


def _defuse(body: bytes) -> tuple[bytes, int]:
    """The body made safe for feedparser, and how many entity declarations were taken out."""
    return _ENTITY_DECLARATION.subn(b"", _LONG_PERSON_TEXT.sub(rb"\1\2", body))


def parse_feed(body: bytes, *, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes; a broken but partly readable feed yields what it could.

    Raises ParseError when the bytes are not a feed at all (an HTML page, an
    empty body, garbage) so the feed's health shows why.
    """
    if not body or not body.strip():
        raise ParseError("empty response body")
    # A byte-order mark before JSON is common from Windows tools; json.loads reads past it itself.
    if body.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        return _parse_json_feed(body)
    # Without a content type feedparser flags every feed as bozo; XML is what feeds are.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    defused, entities_removed = _defuse(body)
    try:
        parsed = feedparser.parse(defused, response_headers=headers)
    except Exception as exc:  # feedparser should not raise, but a parser bug must not stop ingest
        raise ParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from None
    problem = None
    if parsed.get("bozo"):
        bozo = parsed.get("bozo_exception")
        problem = f"{type(bozo).__name__}: {bozo}" if bozo else "malformed feed"
        problem = problem.splitlines()[0][:300]
    feed_meta = parsed.get("feed", {}) or {}
    title = html_to_text(_get(feed_meta, "title", ""))
    raw_entries = parsed.get("entries", [])
    notes: list[str] = []
    if len(raw_entries) > MAX_ENTRIES_PER_FEED:
        # A feed of 40,000 items is a dump, and storing it would hold the database for minutes:
        # keep the newest (by date, not document order: some feeds list oldest first).
        notes.append(f"{len(raw_entries):,} items in the feed; only the newest {MAX_ENTRIES_PER_FEED:,} were read")
        raw_entries = newest_first(raw_entries)[:MAX_ENTRIES_PER_FEED]
    entries = [e for e in (_entry(raw, title) for raw in raw_entries) if e is not None]
    if entities_removed:
        # No honest feed declares its own entities; a "billion laughs" does. Hostile or broken,
        # staff should know (the references are left as text, never expanded).
        notes.append(f"the feed declares its own XML entities ({entities_removed}), removed unread:"
                     " no honest feed does (a \"billion laughs\" or an XXE attempt)")
    elif problem and _AMPLIFICATION in problem:
        # expat refused a "billion laughs" (entities that expand without bound); feedparser then read
        # the text without them. No honest feed does that: hostile or broken, staff should know.
        notes.append(f"entity expansion refused: the feed's entities would expand without bound ({problem})")
    if not entries and not parsed.get("version"):
        head = body[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
            raise ParseError("not a feed: the server sent an HTML page")
        raise ParseError(f"not a feed ({problem or 'no feed elements found'})")
    if not entries and problem:
        # Malformed and nothing usable: a broken feed, not a quiet one (an alert rather than a
        # failure: a half-broken feed's readable items are still stored on the days it has some).
        notes.append(f"broken feed: no items could be read ({problem})")
    elif raw_entries and not entries:
        # Items that cannot become clips; a single odd item among good ones is not worth a flag.
        notes.append(f"none of the {len(raw_entries):,} items has a web link to clip")
    ttl_raw = _get(feed_meta, "ttl")
    ttl = int(ttl_raw) if isinstance(ttl_raw, str) and ttl_raw.strip().isdigit() else None
    return ParsedFeed(
        title=title,
        link=str(_get(feed_meta, "link", "") or ""),
        entries=tuple(entries),
        problem=problem,
        ttl_minutes=ttl,
        alert="; ".join(notes) or None,
    )


def _parse_json_feed(body: bytes) -> ParsedFeed:
    """JSON Feed 1.x (feedparser 6 reads only XML)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not a feed (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise ParseError("not a feed (JSON without a JSON Feed version)")
    title = clean_text(str(data.get("title") or ""))
    entries: list[ParsedEntry] = []
    items = data.get("items")
    for item in items if isinstance(items, list) else []:  # any JSON may stand where a list should
        if not isinstance(item, dict):
            continue
        link = web_link(item.get("url")) or web_link(item.get("external_url"))
        if link is None:
            continue
        raw_date = str(item.get("date_published") or item.get("date_modified") or "")
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        authors = authors if isinstance(authors, list) else []
        author = clean_text(", ".join(str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")))
        summary = html_to_text(str(item.get("summary") or ""))
        content = html_to_text(str(item.get("content_html") or "")) or clean_text(str(item.get("content_text") or ""))
        entries.append(within_limits(
            ParsedEntry(
                title=html_to_text(str(item.get("title") or "")) or link,
                link=link,
                guid=clean_text(str(item.get("id") or link))[:MAX_LINK_CHARS],
                summary=summary or content[:500],
                content=content if content != summary else "",
                author=author,
                published_at=parse_date(raw_date),
                published_raw=clean_text(raw_date)[:200],
                image_url=web_link(item.get("image") or item.get("banner_image")),
                source_outlet=title,
            )
        ))
    return ParsedFeed(title=title, link=str(data.get("home_page_url") or ""), entries=tuple(entries))

"""RSS 2.0 of the same items as the JSON export, with Media RSS images."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from tracker.export.items import ExportItem, generated_at, prepare_items
from tracker.export.registry import Registry, SiteInfo
from tracker.export.sanitize import as_utc
from tracker.models import ClipView

MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"


def rfc822(value: datetime) -> str:
    return format_datetime(as_utc(value), usegmt=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def _item(channel: ET.Element, item: ExportItem) -> None:
    entry = _sub(channel, "item")
    _sub(entry, "title", item.headline)
    if item.url:
        _sub(entry, "link", item.url)
    # Readers render <description> as HTML, so the plain-text blurb is HTML-escaped
    # before the XML layer escapes it again; <title> is plain text by RSS convention.
    if item.blurb:
        _sub(entry, "description", html.escape(item.blurb))
    _sub(entry, "guid", item.id, isPermaLink="false")
    _sub(entry, "pubDate", rfc822(item.published_at))
    if item.outlet:
        # <source> would need the outlet's own feed URL, which we rarely know.
        _sub(entry, "dc:publisher", item.outlet)
    for member in item.members:
        _sub(entry, "category", member.name, domain="member")
    for campaign in item.campaigns:
        _sub(entry, "category", campaign.name, domain="campaign")
    if item.image:
        media = _sub(entry, "media:content", url=item.image.url, medium="image")
        if item.image.alt:
            _sub(media, "media:description", item.image.alt, type="plain")
        if item.image.credit:
            _sub(media, "media:credit", item.image.credit)


def render_rss(clips: Sequence[ClipView], registry: Registry, site: SiteInfo) -> bytes:
    # Prefixed tag names with fixed xmlns attributes (rather than ElementTree's
    # namespace handling) keep the declarations on <rss> whether or not any item
    # uses them, so the header never changes with the content.
    rss = ET.Element("rss", {"version": "2.0", "xmlns:media": MEDIA_NS, "xmlns:dc": DC_NS})
    channel = _sub(rss, "channel")
    _sub(channel, "title", site.title)
    _sub(channel, "link", site.url)
    # <description> is HTML to readers: escaped like an item's blurb, so a site_title with
    # markup shows as text instead of running in a reader (the XML layer escapes once more).
    _sub(channel, "description", html.escape(f"{site.title}: press coverage"))
    _sub(channel, "lastBuildDate", rfc822(datetime.fromisoformat(generated_at(clips, site.changed_at))))
    _sub(channel, "generator", "media-tracker")
    for item in prepare_items(clips, registry):
        _item(channel, item)
    ET.indent(rss, space="  ")
    body = ET.tostring(rss, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")

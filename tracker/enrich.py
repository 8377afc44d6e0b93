"""Article pages: read a page's metadata so staff can add coverage the feeds missed.

`extract_page_meta` is pure (bytes in, PageMeta out); `fetch_page_meta` is the only
part that touches the network, through tracker.fetch with the config's rules for
private hosts. `add_clip_from_page` stores the result as a manual clip.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from tracker.clock import Clock, system_clock
from tracker.errors import FetchError
from tracker.fetch import FetchOptions, fetch
from tracker.match import compile_matcher
from tracker.models import (
    Actor,
    ClipView,
    Config,
    MatchedEntry,
    MatchItem,
    Mention,
    ParsedEntry,
    Settings,
)
from tracker.models import (
    staff_mention as staff_mention,  # re-exported: callers attach by hand through enrich
)
from tracker.normalize import canonical_url, clean_text, clip_id_for, parse_date, within_limits
from tracker.roles import Permission, require
from tracker.store import Store

HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "opinionnewsarticle", "webpage", "report"}
_MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class PageMeta:
    url: str  # the address finally answered
    title: str
    outlet: str
    image_url: str | None
    published_at: datetime | None
    description: str
    author: str = ""
    text: str = ""  # the article's paragraphs, for matching


def _meta(doc: Any) -> dict[str, str]:
    """First value of each <meta property|name=...>, keys lower-cased."""
    found: dict[str, str] = {}
    for el in doc.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        value = el.get("content")
        if key and value and value.strip() and key not in found:
            found[key] = value.strip()
    return found


def _json_ld(doc: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object on the page, @graph flattened; broken blocks are skipped."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])


def _ld_types(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def _ld_name(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("name") or "")
    if isinstance(value, list) and value:
        return _ld_name(value[0])
    return ""


def _ld_image(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("url") or value.get("contentUrl") or "")
    if isinstance(value, list) and value:
        return _ld_image(value[0])
    return ""


def _http_url(base: str, value: str | None) -> str | None:
    if not value:
        return None
    absolute = urljoin(base, value.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _site_from_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _paragraph_text(doc: Any) -> str:
    root = doc.find(".//article")
    if root is None:
        root = doc
    parts: list[str] = []
    total = 0
    for p in root.iter("p"):
        text = clean_text(p.text_content())
        if len(text) < 40:  # bylines, captions, share buttons
            continue
        parts.append(text)
        total += len(text)
        if total > _MAX_TEXT_CHARS:
            break
    return "\n".join(parts)[:_MAX_TEXT_CHARS]


_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def page_charset(body: bytes, declared: str | None = None) -> str:
    """The page's encoding: the server's, else a <meta charset> anywhere in the head (libxml2
    only looks at the first kilobyte), else UTF-8 if it decodes, else Windows-1252."""
    for candidate in (declared, *(m.decode("ascii", "ignore") for m in _CHARSET_RE.findall(body[:65536])[:1])):
        if candidate:
            try:
                return codecs.lookup(candidate).name
            except LookupError:
                continue
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def extract_page_meta(body: bytes, url: str, charset: str | None = None) -> PageMeta:
    """Title, outlet, image, date and description from Open Graph, JSON-LD and plain HTML."""
    try:
        doc = lxml.html.document_fromstring(body, parser=lxml.html.HTMLParser(encoding=page_charset(body, charset)))
    except (etree.ParserError, ValueError):
        return PageMeta(url=url, title="", outlet=_site_from_host(url), image_url=None, published_at=None, description="")
    meta = _meta(doc)
    article: dict[str, Any] = {}
    publisher = ""
    for item in _json_ld(doc):
        types = _ld_types(item)
        if types & _ARTICLE_TYPES and not article:
            article = item
        if "newsmediaorganization" in types or "organization" in types:
            publisher = publisher or _ld_name(item)
    title_el = doc.find(".//title")
    title = (
        meta.get("og:title") or meta.get("twitter:title") or str(article.get("headline") or "")
        or (title_el.text_content() if title_el is not None else "")
    )
    outlet = meta.get("og:site_name") or _ld_name(article.get("publisher")) or publisher or meta.get("application-name") or ""
    image = _http_url(url, meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image")
                      or _ld_image(article.get("image")))
    published = None
    for raw in (
        meta.get("article:published_time"), str(article.get("datePublished") or ""), meta.get("og:published_time"),
        meta.get("date"), meta.get("pubdate"), meta.get("dc.date"), meta.get("dc.date.issued"),
        meta.get("parsely-pub-date"), meta.get("sailthru.date"),
    ):
        published = parse_date(raw)
        if published:
            break
    if published is None:
        time_el = doc.find(".//time[@datetime]")
        if time_el is not None:
            published = parse_date(time_el.get("datetime"))
    description = meta.get("og:description") or meta.get("description") or meta.get("twitter:description") or str(
        article.get("description") or ""
    )
    author = _ld_name(article.get("author")) or meta.get("author") or ""
    return PageMeta(
        url=url,
        title=clean_text(title),
        outlet=clean_text(outlet) or _site_from_host(url),
        image_url=image,
        published_at=published,
        description=clean_text(description),
        author=clean_text(author),
        text=_paragraph_text(doc),
    )


def fetch_page_meta(url: str, settings: Settings) -> PageMeta:
    """Fetch an article page and read its metadata. Only http(s); private hosts as settings allow."""
    url = url.strip()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise FetchError(f"not a web address: {url!r} (expected http:// or https://)")
    options = FetchOptions(
        timeout_s=settings.timeout_s,
        max_body_bytes=settings.max_body_bytes,
        user_agent=settings.user_agent,
        # An article URL pasted by staff is no more trusted than one found in a feed.
        allow_private_hosts=settings.allow_private_hosts,
    )
    result = fetch(url, options=options, accept=HTML_ACCEPT)
    if not result.body:
        raise FetchError(f"{url}: empty page", status=result.status)
    kind = (result.content_type or "").split(";")[0].strip().lower()
    if kind and kind not in ("text/html", "application/xhtml+xml"):
        raise FetchError(f"{url}: not a web page (the server sent {kind})", status=result.status)
    declared = None
    if result.content_type and "charset=" in result.content_type.lower():
        declared = result.content_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
    return extract_page_meta(result.body, result.url, declared)


def match_page(config: Config, meta: PageMeta) -> list[Mention]:
    matcher = compile_matcher(config.members, config.campaigns)
    return matcher.match(MatchItem(title=meta.title, summary=meta.description, article=meta.text))


def add_clip_from_page(
    store: Store,
    meta: PageMeta,
    *,
    user: Actor | str,
    mentions: Sequence[Mention] = (),
    clock: Clock = system_clock,
) -> tuple[ClipView, bool]:
    """Store the page as a new clip (status new, marked manual). Returns (clip, created)."""
    actor = require(user, Permission.ADD)
    now = clock()
    canonical = canonical_url(meta.url)
    entry = within_limits(ParsedEntry(
        title=meta.title or meta.url,
        link=meta.url,
        guid=meta.url,
        summary=meta.description,
        content=meta.text,
        author=meta.author,
        published_at=meta.published_at,
        published_raw=meta.published_at.isoformat() if meta.published_at else "",
        image_url=meta.image_url,
        source_outlet=meta.outlet,
    ))
    return store.add_manual_clip(
        MatchedEntry(entry=entry, canonical_url=canonical, clip_id=clip_id_for(canonical), mentions=tuple(mentions)),
        actor.name,
        now,
        role=actor.role.value,
    )


def with_edits(meta: PageMeta, **changes: Any) -> PageMeta:
    """The page as staff corrected it before saving (title, outlet, image, date, description)."""
    return replace(meta, **changes)

"""Which links are search-engine redirects, and the publisher's URL when the link itself carries it (pure).

Google News (`settings.google_news_url`, default https://news.google.com): a link whose scheme,
host and port are the base's and whose path is /rss/articles/<id>, /articles/<id>, /read/<id>
(or the older /__i/rss/rd/articles/<id>). <id> is URL-safe base64 of a small protobuf:
field 1 = 19 (bytes 08 13), field 4 = the target (22, a varint length, the bytes), sometimes
more fields after it (26 = the AMP URL). Before mid-2024 the target was the publisher's URL,
decoded here with no request; since then it is an opaque `AU_yqL…` token that only Google can
turn into a URL (tracker.resolve.google).

Bing News RSS: https://www.bing.com/news/apiclick.aspx?…&url=<publisher URL>&…, decoded here.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from tracker.normalize import fits_as_key

Engine = Literal["google_news", "bing_news"]
GOOGLE_NEWS: Engine = "google_news"
BING_NEWS: Engine = "bing_news"

# The longest link that can become a clip (tracker.parse drops longer ones too).
MAX_URL_CHARS = 2000
_ARTICLE_PATH_RE = re.compile(r"^/(?:rss/articles|articles|read|__i/rss/rd/articles)/([A-Za-z0-9_-]{8,1900}=*)/?$")
_BING_HOSTS = frozenset({"www.bing.com", "bing.com"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_CHARS_RE = re.compile(r"[\x00-\x20\x7f]")
# Field 1 (varint) = 19: what every Google News article id starts with, old and new.
_ID_HEADER = b"\x08\x13"


@dataclass(frozen=True)
class SearchLink:
    """A search engine's link to an article, and the publisher's URL when it could be read offline."""

    engine: Engine
    link: str  # as it appeared in the feed
    article_id: str = ""  # Google News' id; empty for Bing
    publisher_url: str | None = None

    @property
    def needs_lookup(self) -> bool:
        """Only Google can say where a current-style id leads: a request to it is needed."""
        return self.publisher_url is None


def publisher_url_ok(url: str) -> bool:
    """An http(s) URL with a host, no white space or control characters, not too long to be a clip."""
    if not url or len(url) > MAX_URL_CHARS or _UNSAFE_CHARS_RE.search(url) or not fits_as_key(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower().rstrip("."), parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None


def same_origin(url: str, base: str) -> bool:
    """Scheme, host and port equal (a default port written out or not)."""
    here, there = _origin(url), _origin(base)
    return here is not None and there is not None and bool(here[1]) and here == there


def google_article_id(link: str, base: str) -> str | None:
    """The article id of a Google News link on `base`, or None when it is not one."""
    if not same_origin(link, base):
        return None
    m = _ARTICLE_PATH_RE.match(urlsplit(link).path)
    return m.group(1).rstrip("=") if m else None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def _google_target(article_id: str) -> bytes | None:
    """Field 4 of the id's protobuf: the publisher's URL (old ids) or an opaque token (current ids)."""
    try:
        data = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(_ID_HEADER):
        return None
    i = 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            field, wire = key >> 3, key & 7
            if wire == 0:
                _, i = _varint(data, i)
            elif wire == 2:
                length, i = _varint(data, i)
                if i + length > len(data):
                    return None
                if field == 4:
                    return data[i : i + length]
                i += length
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
            else:
                return None
    except ValueError:
        return None
    return None


def decode_google_id(article_id: str) -> str | None:
    """The publisher's URL inside an old-style id; None for current ids (a token) and anything unreadable."""
    target = _google_target(article_id)
    if target is None:
        return None
    try:
        url = target.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return url if publisher_url_ok(url) else None


def encode_google_id(url: str, amp_url: str | None = None) -> str:
    """An old-style id for url (the demo's sample feed and tests write their links with it)."""

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    raw = url.encode("utf-8")
    data = _ID_HEADER + b"\x22" + varint(len(raw)) + raw
    if amp_url is not None:
        amp = amp_url.encode("utf-8")
        data += b"\xd2\x01" + varint(len(amp)) + amp  # field 26, as old ids carried the AMP page
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_bing_link(link: str) -> str | None:
    """The publisher's URL in a Bing News click-through link (…/apiclick.aspx?…&url=…)."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in _BING_HOSTS or not parts.path.lower().endswith("/apiclick.aspx"):
        return None
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == "url" and publisher_url_ok(value):
            return value
    return None


def search_link(link: str, google_base: str, *, _depth: int = 0) -> SearchLink | None:
    """What kind of search redirect link is, decoded when it can be; None for any other link.

    A Bing link without a readable url= is nobody's to resolve: it stays an ordinary link. A search
    link wrapping another (Bing's url= naming a Google News link, an old Google id holding one) is the
    inner one, read in turn: the wrapped redirect is never taken for the publisher's address.
    """
    article_id = google_article_id(link, google_base)
    if article_id is not None:
        found = SearchLink(GOOGLE_NEWS, link, article_id, decode_google_id(article_id))
    else:
        bing = decode_bing_link(link)
        if bing is None:
            return None
        found = SearchLink(BING_NEWS, link, publisher_url=bing)
    if found.publisher_url is not None and (_depth >= 3 or _is_search_host(found.publisher_url)
                                            or google_article_id(found.publisher_url, google_base) is not None):
        inner = search_link(found.publisher_url, google_base, _depth=_depth + 1) if _depth < 3 else None
        if inner is None:  # a redirect we cannot read (another region's Google, a search page): no
            return SearchLink(found.engine, link, found.article_id, None)  # publisher's address, ever
        return SearchLink(inner.engine, link, inner.article_id, inner.publisher_url)
    return found


def _is_search_host(url: str) -> bool:
    """A search engine's own page: never a publisher's address."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return host in _BING_HOSTS or host.startswith("news.google.") or host == "news.url.google.com"


__all__ = [
    "BING_NEWS", "GOOGLE_NEWS", "MAX_URL_CHARS", "Engine", "SearchLink", "decode_bing_link", "decode_google_id",
    "encode_google_id", "google_article_id", "publisher_url_ok", "same_origin", "search_link",
]

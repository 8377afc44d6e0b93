"""Pure normalisers: canonical URLs, HTML to plain text, dates to UTC (and which dates to believe)."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from tracker.models import MatchedEntry, ParsedEntry

# Query parameters that only track the reader; two URLs differing in these are one story.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "mc_cid", "mc_eid", "_ga", "_gl", "igshid", "ocid", "cmpid", "cmp", "smid",
        "ito", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
        "sr_share", "share", "rss", "taid", "cid", "ref_src", "ref_url", "spm",
        "mkt_tok", "vero_id", "oly_anon_id", "oly_enc_id", "__twitter_impression",
        "s_cid", "src", "ftag", "leadsource", "sref", "partner", "at_medium", "at_campaign",
        # Seen in real feeds' links (../shared/corpus): Al Jazeera, the Monitor, DW, heise; and the NYT's.
        # Adding one re-keys stored clips (migration 0012 moves or merges them).
        "traffic_source", "icid", "maca", "wt_mc", "wt_zmc", "emc",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_", "at_", "trk_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(key: str) -> bool:
    k = key.lower()
    return k in _TRACKING_PARAMS or k.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The form two links to the same story share.

    Lower-case scheme and host, no default port, no fragment, no tracking
    parameters; meaningful query parameters are kept (sorted, so their order
    does not split one story in two).
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return url
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    # Escapes are decoded and re-made byte for byte (Latin-1 maps each byte to one character), so a
    # page's non-UTF-8 bytes (/caf%E9, ?q=S%E3o) survive; decoding them as UTF-8 made /caf%E9 and
    # /caf%E8 one story. Characters written raw are escaped as UTF-8 first, as browsers send them.
    path = quote(unquote(_escaped(parts.path), encoding="latin-1"), safe=_PATH_SAFE, encoding="latin-1") or "/"
    query = [(k, v) for k, v in parse_qsl(_escaped(parts.query), keep_blank_values=True, encoding="latin-1")
             if not _is_tracking(k)]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True, encoding="latin-1"), ""))


_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = "%=&;+/?:@!$'()*,~-._[]"


def _escaped(text: str) -> str:
    """Raw non-ASCII characters (and spaces) as UTF-8 escapes; escapes already there kept."""
    return text if text.isascii() and " " not in text else quote(text, safe=_QUERY_SAFE + "#")


# A clip's key is its canonical URL, indexed unique: PostgreSQL's index takes at most 2,704 bytes a
# row. A link's characters can grow into far more bytes once percent-encoded (a CJK character is 9),
# so the limit is on the canonical form's bytes: a longer one is never a clip (it failed its feed).
MAX_KEY_BYTES = 2000


def fits_as_key(url: str) -> bool:
    """Is this link's canonical form short enough to be a clip's key on either database?"""
    return len(canonical_url(url).encode("utf-8", errors="replace")) <= MAX_KEY_BYTES


def clean_url(url: str) -> str:
    """The link as a reader should get it: tracking parameters and the fragment removed, the rest as
    the publisher wrote it (unlike canonical_url, which also lower-cases and sorts, for comparing)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    # The parameters kept as written, byte for byte: decoding and encoding them again turned a
    # Latin-1 site's ?q=S%E3o into ?q=S%EF%BF%BDo, a broken link on the website.
    fields = [f for f in parts.query.split("&") if f]
    kept = [f for f in fields if not _is_tracking(unquote_plus(f.split("=", 1)[0], encoding="latin-1"))]
    query = parts.query if len(kept) == len(fields) else "&".join(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


# What may be handed to a website (the exports, digests, alerts): deleted outright are C0/C1 controls
# (except white space), DEL, lone surrogates (cannot be encoded) and the two non-characters XML 1.0 forbids.
EXPORT_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# Browsers delete these anywhere in a URL before parsing it ("java\nscript:" works).
_URL_IGNORED = re.compile("[\t\n\r]")
# Characters that must not appear raw in a URL we emit; other non-ASCII (IRIs) is kept. Unicode
# spaces count (NBSP, U+2003, U+3000, the BOM): a URL ends at them in text, and the schema refuses them.
_URL_UNSAFE = re.compile('[\x00-\x20"<>^`{|}\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]')
SAFE_SCHEMES = frozenset({"http", "https"})


def safe_http_url(value: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None.

    Anything else (javascript:, data:, vbscript:, relative or scheme-relative
    paths, malformed hosts) is refused rather than repaired.
    """
    if not value:
        return None
    url = _URL_IGNORED.sub("", EXPORT_CONTROL.sub("", value)).strip(" \x0b\x0c")
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


def clip_id_for(canonical: str) -> str:
    """Short, stable id of a clip: the same canonical URL always gives the same id."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def with_publisher_url(item: MatchedEntry, url: str) -> MatchedEntry:
    """A matched entry that came with a search link, as if its feed had linked the publisher's URL:
    the clip's canonical URL and id are the publisher's; the search link is kept beside them."""
    canonical = canonical_url(url)
    return replace(item, entry=replace(item.entry, link=url), canonical_url=canonical,
                   clip_id=clip_id_for(canonical), search_link=item.search_link or item.entry.link, resolved=True)


_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td",
        "th", "table", "section", "article", "header", "footer", "blockquote", "figure",
        "figcaption", "hr", "pre", "dd", "dt", "dl", "aside", "nav", "main", "img",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "iframe", "svg"})
_WS_RE = re.compile(r"\s+")
# Lone surrogates too: a JSON \ud800 escape decodes to one, and no database can store it as UTF-8.
# Not the controls that separate words (form feed, vertical tab: Word's manual line break, and the
# information separators): \s collapses those into a space, so "Kendra\x0bBrooks" keeps two words.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML snippet: tags removed, entities decoded, white space collapsed.

    Inline tags join their neighbours (`Kendra <b>Brooks</b>` stays two words,
    `Brook<b>s</b>` stays one), block tags separate words, as a browser shows them.
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return clean_text(markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # HTMLParser is lenient; this guards the odd assertion in it
        return clean_text(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    return clean_text("".join(parser.parts))


class _RelatedExtractor(HTMLParser):
    """Google News' description: <ol><li><a …>headline</a>&nbsp;&nbsp;<font …>Outlet</font></li>…</ol>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._field: str | None = None
        self._headline: list[str] = []
        self._outlet: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li" or (tag == "a" and self._field is None and not self._headline):
            self._flush()
        if tag == "a":
            self._field = "a"
        elif tag == "font":
            self._field = "font"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("a", "font"):
            self._field = None
        elif tag in ("li", "ol"):
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._field == "a":
            self._headline.append(data)
        elif self._field == "font":
            self._outlet.append(data)

    def _flush(self) -> None:
        headline, outlet = clean_text("".join(self._headline)), clean_text("".join(self._outlet))
        if headline and outlet:
            self.found.append((headline[:300], outlet[:200]))
        self._headline, self._outlet = [], []

    def close(self) -> None:
        super().close()
        self._flush()


def related_headlines(markup: str | None, limit: int = 20) -> tuple[tuple[str, str], ...]:
    """(headline, outlet) pairs a news-search item lists as the same story in other outlets (its own among
    them); () for any other description."""
    if not markup or "<font" not in markup:
        return ()
    parser = _RelatedExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # lenient parser; a hint is never worth failing an entry for
        return ()
    return tuple(dict.fromkeys(parser.found))[:limit]


def clean_text(text: str) -> str:
    """Control characters and lone surrogates dropped, white space (non-breaking too) collapsed."""
    return _WS_RE.sub(" ", _CONTROL_RE.sub("", text)).strip()


# Limits on text from feeds and pages (README, "Limits"): far above real headlines (under 300
# characters), summaries and articles (tens of thousands), low enough that a hostile 1 MB title
# is never stored, exported or rendered.
MAX_HEADLINE_CHARS = 500
MAX_SUMMARY_CHARS = 5_000
MAX_ARTICLE_CHARS = 200_000
MAX_NAME_CHARS = 200  # author, outlet


def limit_text(text: str, max_chars: int) -> str:
    """text cut to at most max_chars, at a word boundary when one is near, marked with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ", max(0, len(cut) - 40))
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


def within_limits(entry: ParsedEntry) -> ParsedEntry:
    """The entry with every text field inside the documented limits (unchanged when it already is)."""
    credit = limit_text(entry.image_credit, MAX_NAME_CHARS) if entry.image_credit else entry.image_credit
    limited = (limit_text(entry.title, MAX_HEADLINE_CHARS), limit_text(entry.summary, MAX_SUMMARY_CHARS),
               limit_text(entry.content, MAX_ARTICLE_CHARS), limit_text(entry.author, MAX_NAME_CHARS),
               limit_text(entry.source_outlet, MAX_NAME_CHARS), credit)
    if limited == (entry.title, entry.summary, entry.content, entry.author, entry.source_outlet, entry.image_credit):
        return entry
    title, summary, content, author, outlet, credit = limited
    return replace(entry, title=title, summary=summary, content=content, author=author, source_outlet=outlet,
                   image_credit=credit)


def to_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def struct_time_to_utc(value: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed fields are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def parse_date(raw: str | None) -> datetime | None:
    """A date string from a feed or page (RFC 822 or ISO 8601) as aware UTC, or None."""
    if not raw:
        return None
    raw = raw.strip()
    # OverflowError: a date at the ends of datetime's range whose UTC falls outside it (9999-12-31T23:00-05:00).
    try:
        return to_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        pass
    try:
        return to_utc(parsedate_to_datetime(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None



# How far ahead of our clock a publisher's date may be (time zones, clock skew) and still be believed.
FUTURE_SLACK = timedelta(days=1)


def believable_date(at: datetime | None, now: datetime) -> datetime | None:
    """A date from the future is not believed: the clip is dated when it was first seen, so
    one mistyped year cannot pin it to the top of every list and of the website."""
    if at is not None and at > now + FUTURE_SLACK:
        return now
    return at

"""Article pages: what a publisher's page says (text, title, site, author, date, canonical address,
image and its credit), for the ingest's article step and for staff adding a clip by URL.

`extract_article` is pure (bytes in, Article out): trafilatura (with htmldate and courlan, which it
uses) finds the main text and fills what the page's own metadata leaves blank; Open Graph and
JSON-LD, read here, win where the publisher states a field outright, and give what trafilatura does
not: the image's credit and caption (schema.org ImageObject, <figcaption>). `fetch_article` is the
only part that touches the network, through tracker.fetch (timeouts, size cap, the SSRF guard on
every redirect hop). `add_clip_from_page` stores a page as a manual clip.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from lxml import etree

from tracker.clock import Clock, system_clock
from tracker.errors import FetchError
from tracker.fetch import FeedSession, FetchOptions, fetch
from tracker.match import compile_matcher
from tracker.models import (
    Actor,
    Article,
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
from tracker.normalize import (
    MAX_ARTICLE_CHARS,
    MAX_HEADLINE_CHARS,
    MAX_NAME_CHARS,
    MAX_SUMMARY_CHARS,
    canonical_url,
    clean_text,
    clean_url,
    clip_id_for,
    html_to_text,
    limit_text,
    parse_date,
    within_limits,
)
from tracker.roles import Permission, require
from tracker.store import Store

HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "opinionnewsarticle", "report"}
# A page's own node: the article's details only when no article node says them (a @graph often has both).
_PAGE_TYPES = {"webpage"}
# Less readable text than this is no article: a consent wall, a paywall stub, a script-only page.
MIN_ARTICLE_CHARS = 200
# Hosts and paths publishers send readers to instead of the article until they accept cookies.
_CONSENT_HOST_RE = re.compile(r"(^|\.)consent\.", re.I)
_CONSENT_PATH_RE = re.compile(r"/(consent|gdpr|cookie-?wall|privacy-gate)(/|$)", re.I)
# A page with more tags than this is not an article (real ones have a few thousand): reading it
# would hold a reader thread for minutes (5 MB of paragraphs: 90 s in trafilatura).
MAX_PAGE_TAGS = 50_000
_MAX_URL_CHARS = 2000  # as a feed's link (tracker.parse)
# Encodings pages declare under names Python does not know (WHATWG's aliases).
_CHARSET_ALIASES = {"windows-874": "cp874", "x-sjis": "shift_jis", "windows-31j": "cp932", "x-euc-jp": "euc_jp",
                    "x-cp1252": "cp1252", "x-user-defined": "cp1252"}
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
# A label some sites print before a credit for screen readers ("Credit...Rich Pedroncelli/AP").
_CREDIT_LABEL_RE = re.compile(r"^\s*(?:image |photo )?credit\s*(?:\.\.\.|…|:)\s*", re.I)
# The readable page as staff and the ingest see it (the old name, kept for callers).
PageMeta = Article


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
        except (ValueError, RecursionError):  # a block nested thousands deep is as broken as a bad one
            continue
        waiting = deque([data])  # in the page's order: the first article node is the page's article
        while waiting:
            item = waiting.popleft()
            if isinstance(item, list):
                waiting.extend(item)
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    waiting.extend(item["@graph"])


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
    value = clean_text(value or "")  # no control characters or lone surrogates: no database stores them
    if not value or len(value) > _MAX_URL_CHARS:
        return None
    try:
        absolute = urljoin(base, value)
        return absolute if urlsplit(absolute).scheme in ("http", "https") else None
    except ValueError:  # `https://[cdn…`: an address no one can open
        return None


def _site_from_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


# Text encodings whose decode raises even with errors="replace" (measured over every codec Python has).
_UNDECODABLE_CHARSETS = frozenset({"idna", "punycode", "undefined"})


def page_charset(body: bytes, declared: str | None = None) -> str:
    """The page's encoding: the server's, else a <meta charset> anywhere in the head (libxml2
    only looks at the first kilobyte), else UTF-8 if it decodes, else Windows-1252."""
    for candidate in (declared, *(m.decode("ascii", "ignore") for m in _CHARSET_RE.findall(body[:65536])[:1])):
        if charset := _text_charset(candidate):
            return charset
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _text_charset(label: str | None) -> str | None:
    """Python's name for a charset label if it decodes bytes to text; a server's label may name any codec
    (charset=zlib, base64 and rot13 are bytes-to-bytes or str-to-str: decoding with them raises)."""
    if not label:
        return None
    try:
        info = codecs.lookup(_CHARSET_ALIASES.get(label.lower(), label))
    except (LookupError, ValueError):  # ValueError: a label with a NUL in it
        return None
    usable = info._is_text_encoding and info.name not in _UNDECODABLE_CHARSETS
    return info.name if usable else None


def _trafilatura(html: str, url: str) -> Any:
    """trafilatura's reading of the page: main text and metadata (None when it finds nothing)."""
    import trafilatura  # ~0.3 s of imports: only processes that read articles pay for them

    try:
        # deduplicate stays off: trafilatura's is a process-wide cache of text already seen, so the
        # second reading of a page (another feed's copy, a re-read) would come back empty.
        return trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                           include_tables=False, include_images=False, deduplicate=False)
    except Exception:  # a library surprise on one page is that page's empty reading, never a crash
        return None


def _credit_of(value: Any) -> str:
    """An ImageObject's credit: creditText, else its copyright holder or author."""
    if not isinstance(value, dict):
        return ""
    for key in ("creditText", "copyrightHolder", "author", "creator"):
        found = _ld_name(value.get(key))
        if found:
            return found
    return ""


def _image_object(article: dict[str, Any]) -> dict[str, Any]:
    image = article.get("image")
    if isinstance(image, list):
        image = next((i for i in image if isinstance(i, dict)), None)
    return image if isinstance(image, dict) else {}


def _figure_credit(doc: Any, image_url: str | None) -> tuple[str, str]:
    """(credit, caption) from the <figure> showing the lead image, else the article's first figure."""
    figures = list(doc.iter("figure"))
    if not figures:
        return "", ""
    lead = figures[0]
    if image_url:
        name = urlsplit(image_url).path.rsplit("/", 1)[-1]
        for fig in figures:
            if name and any(name in (img.get("src") or "") for img in fig.iter("img")):
                lead = fig
                break
    caption_el = lead.find(".//figcaption")
    if caption_el is None:
        return "", ""
    credit = ""
    for el in caption_el.iter():
        if not isinstance(el.tag, str):
            continue
        kind = f"{el.get('class') or ''} {el.get('itemprop') or ''}".lower()
        if "credit" in kind or "copyright" in kind or "byline" in kind:
            credit = clean_text(el.text_content())
            if el is not caption_el:
                el.drop_tree()  # the caption is what is left
            break
    caption = clean_text(caption_el.text_content())
    return credit, caption


def extract_article(body: bytes, url: str, charset: str | None = None) -> Article:
    """Everything the page says about itself; never raises (a page with nothing readable has no text)."""
    bare = Article(url=url, title="", outlet=_site_from_host(url), image_url=None, published_at=None, description="")
    encoding = page_charset(body, charset)
    # Decoded here, by Python's codec: libxml2 knows fewer encodings by name (EUC-KR, EUC-JP and
    # ISO-2022-JP pages came out empty). An XHTML page's <?xml … encoding?> line would make lxml
    # refuse the text.
    html = _XML_DECLARATION_RE.sub("", body.decode(encoding, errors="replace"), count=1)
    try:
        # A parser of its own: lxml.html's default is one module-wide instance, and pages are read in
        # threads (sharing it aborted the process in libxml2).
        doc = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser())
    except (etree.ParserError, ValueError, LookupError):
        return bare
    meta = _meta(doc)
    article: dict[str, Any] = {}
    page_node: dict[str, Any] = {}
    publisher = ""
    for item in _json_ld(doc):
        types = _ld_types(item)
        if types & _ARTICLE_TYPES and not article:
            article = item
        elif types & _PAGE_TYPES and not page_node:
            page_node = item
        if "newsmediaorganization" in types or "organization" in types:
            publisher = publisher or _ld_name(item)
    article = article or page_node
    found = _trafilatura(html, url) if body.count(b"<") <= MAX_PAGE_TAGS else None
    title_el = doc.find(".//title")
    title = (
        meta.get("og:title") or meta.get("twitter:title") or str(article.get("headline") or "")
        or (found.title if found is not None and found.title else "")
        or (title_el.text_content() if title_el is not None else "")
    )
    outlet = (meta.get("og:site_name") or _ld_name(article.get("publisher")) or publisher
              or (found.sitename if found is not None and found.sitename else "") or meta.get("application-name") or "")
    image_object = _image_object(article)
    image = _http_url(url, meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image")
                      or _ld_image(article.get("image")) or (found.image if found is not None else None))
    published = None
    # Stated times first (htmldate, through trafilatura, knows the day only).
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
    if published is None and found is not None and found.date:
        published = parse_date(found.date)
    description = meta.get("og:description") or meta.get("description") or meta.get("twitter:description") or str(
        article.get("description") or "") or (found.description if found is not None and found.description else "")
    author = (_ld_name(article.get("author")) or meta.get("author")
              or (found.author if found is not None and found.author else "") or "")
    fig_credit, fig_caption = _figure_credit(doc, image)
    credit = _CREDIT_LABEL_RE.sub("", _credit_of(image_object) or fig_credit or meta.get("og:image:credit") or "")
    caption = str(image_object.get("caption") or "") or fig_caption
    stated = _http_url(url, meta.get("og:url") or _canonical_link(doc) or "")
    text = found.text if found is not None and found.text else ""
    stated_text = article.get("articleBody")
    if len(text) < MIN_ARTICLE_CHARS and isinstance(stated_text, str) and len(stated_text) > len(text):
        # The page's own statement of its text, where trafilatura found only a caption (a script-built page).
        text = html_to_text(stated_text)
    # The limits a feed's text has (README, "Limits"): a page is as untrusted as a feed.
    return Article(
        url=url,
        title=limit_text(clean_text(title), MAX_HEADLINE_CHARS),
        outlet=limit_text(clean_text(outlet), MAX_NAME_CHARS) or _site_from_host(url),
        image_url=image,
        published_at=published,
        description=limit_text(clean_text(description), MAX_SUMMARY_CHARS),
        author=limit_text(clean_text(author), MAX_NAME_CHARS),
        text=limit_text(text.strip(), MAX_ARTICLE_CHARS),
        canonical_url=stated,
        image_credit=limit_text(clean_text(credit), MAX_HEADLINE_CHARS) or None,
        image_caption=limit_text(clean_text(caption), MAX_SUMMARY_CHARS) or None,
    )


def _canonical_link(doc: Any) -> str | None:
    for el in doc.iter("link"):
        if "canonical" in (el.get("rel") or "").lower().split() and el.get("href"):
            return str(el.get("href"))
    return None


def extract_page_meta(body: bytes, url: str, charset: str | None = None) -> Article:
    """The page as "add a clip by URL" shows it (extract_article, by its older name)."""
    return extract_article(body, url, charset)


def same_site(a: str, b: str) -> bool:
    """One site: one registrable domain (www.x.com and amp.x.com are one site; x.co.uk and y.co.uk are
    not), where each tenant of a hosting platform is a site of its own (alice.blogspot.com is not
    bob.blogspot.com, nor alice.substack.com bob.substack.com); for an address with no public suffix
    (an IP, localhost), the same host and port."""
    from tracker.stories.outlets import site_domain

    da, db = site_domain(a), site_domain(b)
    if da and db:
        return da == db
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.hostname, pa.port) == (pb.hostname, pb.port) and pa.hostname is not None


def is_consent_wall(url: str) -> bool:
    """A page publishers send readers to until they accept cookies: a `consent.` host (Yahoo's,
    Google's), or a consent or GDPR path."""
    parts = urlsplit(url)
    return bool(_CONSENT_HOST_RE.search(parts.hostname or "") or _CONSENT_PATH_RE.search(parts.path))


def _is_front_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def article_address(article: Article) -> str:
    """The clip's address: the page's canonical/og:url when on the site that answered (a page cannot
    claim another site's story) and not the site's front page (some sites state that on every page),
    else the address that answered; tracking parameters removed."""
    stated = article.canonical_url
    believed = stated and same_site(stated, article.url) and not (_is_front_page(stated) and not _is_front_page(article.url))
    return clean_url(stated if stated and believed else article.url)


def _is_html(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return not kind or kind in ("text/html", "application/xhtml+xml")


def _sample_page(url: str, folder: str, options: FetchOptions) -> tuple[bytes, str | None]:
    """The demo's page for url: <folder>/<host><path>(.html); never outside the folder."""
    parts = urlsplit(url)
    root = Path(folder).resolve()
    rel = unquote(parts.path).strip("/") or "index"
    path = (root / (parts.hostname or "") / rel).resolve()
    if path.suffix not in (".html", ".htm"):
        path = path.with_name(path.name + ".html")
    if root not in path.parents:
        raise FetchError(f"{url}: no sample page for this address")
    try:
        if path.stat().st_size > options.max_body_bytes:
            raise FetchError(f"body over the {options.max_body_bytes}-byte limit; cut off")
        return path.read_bytes(), "text/html; charset=utf-8"
    except OSError:
        # One reason for every missing page, so `tracker status` groups them.
        raise FetchError("HTTP 404 (no sample page for this address: offline demo)", status=404) from None


def fetch_article(url: str, options: FetchOptions, *, session: FeedSession | None = None,
                  sample_pages: str | None = None) -> Article:
    """Read the article at url. FetchError says why it is unreadable: not a web address, HTTP 401/403/451
    (or any error), a timeout, too large, not HTML, a consent wall, or no article text on the page."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not a web address: {url!r} (expected http:// or https://)")
    if sample_pages is not None:
        body, content_type = _sample_page(url, sample_pages, options)
        final = url
    else:
        result = fetch(url, session=session, options=options, accept=HTML_ACCEPT)
        body, content_type, final = result.body or b"", result.content_type, result.url
    if not body:
        raise FetchError(f"{url}: empty page")
    if not _is_html(content_type):
        kind = (content_type or "").split(";")[0].strip().lower()
        raise FetchError(f"{url}: not a web page (the server sent {kind})")
    if is_consent_wall(final):
        raise FetchError(f"consent wall: sent to {urlsplit(final).hostname}{urlsplit(final).path}")
    if _is_front_page(final) and not _is_front_page(url):
        # An expired or removed article often redirects home: its text is other stories, and every
        # such link would become one clip at the home page's address.
        raise FetchError(f"sent to the site's front page ({urlsplit(final).hostname}): the article may have been removed")
    tags = body.count(b"<")
    if tags > MAX_PAGE_TAGS:
        raise FetchError(f"{url}: page too large to read ({tags:,} tags; an article has a few thousand)")
    declared = None
    if content_type and "charset=" in content_type.lower():
        declared = content_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
    return extract_article(body, final, declared)


def readable(article: Article) -> str | None:
    """Why this reading is no article (None when it is one): too little text to be the story."""
    if len(article.text) < MIN_ARTICLE_CHARS:
        return "no article text on the page (empty extraction)"
    return None


def article_options(settings: Settings, clock: Clock = system_clock) -> FetchOptions:
    """How articles are fetched: the feed's limits, a page's size cap, and never an internal address
    unless settings allow it (these URLs come from feeds), on the first hop and every redirect."""
    return FetchOptions(
        clock=clock,
        timeout_s=settings.timeout_s,
        connect_timeout_s=min(10.0, settings.timeout_s),
        max_body_bytes=min(settings.max_body_bytes, 5 * 1024 * 1024),
        user_agent=settings.user_agent,
        allow_private_hosts=settings.allow_private_hosts,
        private_redirects=settings.allow_private_hosts,
    )


def fetch_page_meta(url: str, settings: Settings) -> Article:
    """Fetch an article page and read it (add a clip by URL). Only http(s); private hosts as settings allow."""
    options = replace(article_options(settings), max_body_bytes=settings.max_body_bytes)
    # An article URL pasted by staff is no more trusted than one found in a feed.
    article = fetch_article(url, options, sample_pages=settings.sample_pages)
    return replace(article, url=article_address(article))


def match_page(config: Config, meta: Article) -> list[Mention]:
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


class ArticleReader:
    """Reads articles for the ingest: fetch_article with the settings' rules, one connection pool, and the
    address each clip should have. Thread-safe (one requests session shared by the reading threads)."""

    def __init__(self, settings: Settings, *, options: FetchOptions | None = None, clock: Clock = system_clock) -> None:
        self.options = options or article_options(settings, clock)
        self.sample_pages = settings.sample_pages

    def read(self, url: str, session: FeedSession | None = None) -> Article:
        """The article, its url the clip's clean address; FetchError when it cannot be read."""
        article = fetch_article(url, self.options, session=session, sample_pages=self.sample_pages)
        why = readable(article)
        if why is not None:
            raise FetchError(why)
        return replace(article, canonical_url=article_address(article))

"""A hostile feed server: every way a feed we poll can misbehave, on 127.0.0.1 only.

`add_hostile_feeds(server)` puts the routes on a tests.feedserver.FeedServer and returns
one HostileFeed per route: its feed id, its URL and what the tracker must make of it (the
problem recorded for the feed, or what must be stored instead). tests/test_hostile.py runs
one real `tracker ingest` over all of them beside good feeds.

Nothing here needs the network: the "private" redirect targets are refused before any
connection is made, and every other route is served by the local server.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape

from tests.feedserver import FeedServer, Route

MEMBER = "Kendra Brooks"
MB = 1024 * 1024
# Old enough that no "now" a test runs at comes before it, fixed so bodies are the same every run.
DATED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def item(key: str, *, title: str | None = None, link: str | None = "", guid: str | None = None,
         date: datetime | None = DATED, extra: str = "", title_xml: str | None = None) -> str:
    """One RSS item that mentions the member (so it becomes a clip), link and date unless told otherwise.
    title_xml goes in as it is (entity references and all)."""
    link = f"https://news.example.org/{key}" if link == "" else link
    if title_xml is None:
        title_xml = escape(title if title is not None else f"{MEMBER} on {key}")
    parts = [f"<title>{title_xml}</title>"]
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f"<guid isPermaLink=\"false\">{escape(guid)}</guid>")
    if date is not None:
        parts.append(f"<pubDate>{format_datetime(date, usegmt=True)}</pubDate>")
    parts.append(f"<description>Councilmember {MEMBER} spoke about {escape(key)}.</description>{extra}")
    return f"<item>{''.join(parts)}</item>"


def rss(*items: str, doctype: str = "", title: str = "Hostile Test Paper", encoding: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>{doctype}<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example.org/</link><description>d</description>{''.join(items)}</channel></rss>"
    )


def good_feed(name: str, n: int = 3) -> bytes:
    return rss(*(item(f"{name}/{i}") for i in range(n)), title=f"Good {name}").encode()


# ------------------------------------------------------------------ handlers for what a Route cannot say


def _head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.end_headers()


def drip(handler: BaseHTTPRequestHandler, pause_s: float = 0.25) -> None:
    """A byte every pause_s, for a while: every read succeeds (the pause is far inside any read
    timeout, even on a loaded machine), the body never ends in time."""
    body = good_feed("drip").decode()
    _head(handler, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(len(body))})
    try:
        for ch in body[:60]:
            handler.wfile.write(ch.encode())
            handler.wfile.flush()
            time.sleep(pause_s)
    except OSError:
        pass  # the client gave up: what it should do


def drip_headers(handler: BaseHTTPRequestHandler) -> None:
    """The status line at once, then a header a byte at a time for a minute: each read succeeds, so
    a per-read timeout never fires; the answer never starts."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Padding: ")
        handler.wfile.flush()
        for _ in range(120):
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(0.5)
    except OSError:
        pass  # the client hung up: what it should do
    handler.close_connection = True


def drip_raw(head: bytes, drip: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    """Raw bytes: `head`, then `drip` every 0.1 s for a while, each read inside any read timeout."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        try:
            h.wfile.write(head)
            h.wfile.flush()
            for _ in range(80):
                h.wfile.write(drip)
                h.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client hung up: what it should do
        h.close_connection = True

    return handler


# A chunk-size line (with an extension) a byte at a time: http.client waits for the line's end.
drip_chunk_size = drip_raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n"
                           b"\r\n10;x=", b"a")
# A gzip header, then empty stored deflate blocks: bytes arrive, none decode, read1 keeps reading.
drip_gzip_nothing = drip_raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\n"
                             b"\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"\x00\x00\x00\xff\xff")


def endless(handler: BaseHTTPRequestHandler) -> None:
    """50 MB with no Content-Length: only counting what arrives can stop it."""
    _head(handler, 200, {"Content-Type": "application/rss+xml", "Connection": "close"})
    handler.close_connection = True
    chunk = b"<!-- " + b"x" * (MB - 10) + b" -->\n"
    try:
        for _ in range(50):
            handler.wfile.write(chunk)
    except OSError:
        pass


def declared_50mb(handler: BaseHTTPRequestHandler) -> None:
    """Says 50 MB up front (and would send it): refused before the body is read."""
    _head(handler, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(50 * MB)})
    try:
        for _ in range(50):
            handler.wfile.write(b" " * MB)
    except OSError:
        pass


def _deflated_zeros(mib: int, wbits: int) -> bytes:
    """`mib` MiB of zeros deflated, in a gzip wrapper (wbits=31) or a zlib one (15): ~1 KB per MiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * MB
    return b"".join(c.compress(block) for _ in range(mib)) + c.flush()


def bomb_body(encoding: str) -> bytes:
    """A body that inflates to 1 GiB (gzip: 32 gzip members of 32 MiB, which decoders read as one
    stream; the same inside another gzip) or to 32 MiB (deflate, one stream). Built in well under
    a second: compressing a whole GiB takes seconds."""
    if encoding == "deflate":
        return _deflated_zeros(32, 15)
    gib = _deflated_zeros(32, 31) * 32
    if encoding == "gzip":
        return gib
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(gib) + c.flush()


def bomb(encoding: str) -> Callable[[BaseHTTPRequestHandler], None]:
    body = bomb_body(encoding)  # up front: building it inside the request would look like a stall

    def send(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, 200, {"Content-Type": "application/rss+xml", "Content-Encoding": encoding,
                             "Content-Length": str(len(body))})
        with contextlib.suppress(OSError):
            handler.wfile.write(body)

    return send


# ------------------------------------------------------------------ bodies


BILLION_LAUGHS = rss(
    item("laughs", title_xml=f"{MEMBER} &lol9;"),
    doctype="<!DOCTYPE rss [<!ENTITY lol0 \"lol\">"
    + "".join(f"<!ENTITY lol{i} \"{f'&lol{i - 1};' * 10}\">" for i in range(1, 10))
    + "]>",
).encode()

XXE = rss(
    item("xxe", title_xml=f"{MEMBER} &xxe;", extra="<author>&xxe;</author>"),
    doctype='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
).encode()

# Mismatched tags from the first item on: nothing in it can be read as an item.
INVALID_XML = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Broken</title>'
    f"<item><title>{MEMBER} on broken</titel><link>https://news.example.org/broken</lnk></itme>"
    "</channel></rss>"
).encode()

# Declared UTF-8, written in Windows-1252: the accents are not valid UTF-8.
WRONG_CHARSET = rss(item("charset", title=f"{MEMBER} at the Café Señor")).encode("cp1252")

HTML_PAGE = b"<!doctype html><html><head><title>Welcome</title></head><body><h1>Not a feed</h1></body></html>"

HUGE_TITLE = rss(item("huge-title", title=f"{MEMBER} " + "headline " * 116_509)).encode()  # ~1 MB
HUGE_AUTHOR = rss(item("huge-author", extra=f"<author>{'a' * MB}</author>")).encode()  # feedparser's quadratic e-mail regex


def many_items(n: int = 5000) -> bytes:
    """Oldest first, as some feeds list them; only the oldest and the newest mention the member."""
    items = []
    for i in range(n):
        title = f"{MEMBER} on item {i}" if i in (0, n - 1) else f"Local story {i}"
        items.append(item(f"many/{i}", title=title, date=DATED - timedelta(minutes=n - i)).replace(
            f"Councilmember {MEMBER} spoke", "Officials spoke"))
    return rss(*items).encode()


NEWEST_OF_MANY = "https://news.example.org/many/4999"
OLDEST_OF_MANY = "https://news.example.org/many/0"
FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------ the routes and what each must become


@dataclass(frozen=True)
class HostileFeed:
    id: str
    url: str
    error: str | None = None  # recorded as the feed's last_error (the fetch or parse failed)
    alert: str | None = None  # recorded as its problem although the fetch worked (items left unread)
    stored: tuple[str, ...] = ()  # clip URLs that must be stored (the feed is readable after all)


def add_hostile_feeds(server: FeedServer) -> list[HostileFeed]:
    feeds: list[HostileFeed] = []

    def add(fid: str, route: Route, **expect: object) -> None:
        feeds.append(HostileFeed(fid, server.add(f"/hostile/{fid}", route), **expect))  # type: ignore[arg-type]

    add("drip", Route(handler=drip), error="server too slow")
    add("drip-headers", Route(handler=drip_headers), error="server too slow: no complete answer")
    add("stall", Route(body=good_feed("stall"), delay_s=8.0), error="timed out after")
    add("declared-50mb", Route(handler=declared_50mb), error=f"body of {50 * MB} bytes is over the")
    add("endless-50mb", Route(handler=endless), error="byte limit; cut off")
    for name, enc in (("gzip-bomb", "gzip"), ("deflate-bomb", "deflate"), ("double-gzip-bomb", "gzip, gzip")):
        add(name, Route(handler=bomb(enc)), error="byte limit; cut off")
    # Redirects: a loop, a chain too long, and hops to addresses inside the network.
    server.add("/hostile/loop-b", Route(status=302, headers={"Location": "/hostile/redirect-loop"}))
    add("redirect-loop", Route(status=302, headers={"Location": "/hostile/loop-b"}), error="redirect loop at")
    for i in range(8):
        server.add(f"/hostile/chain-{i}", Route(status=302, headers={"Location": f"/hostile/chain-{i + 1}"}))
    add("redirect-chain", Route(status=302, headers={"Location": "/hostile/chain-0"}), error="more than 5 redirects")
    port = server.httpd.server_address[1]
    for name, target, refused in (
        ("redirect-metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("redirect-rfc1918", "http://10.1.2.3/feed", "10.1.2.3"),
        ("redirect-localhost", f"http://localhost:{port}/hostile/good-feed", "localhost"),
        ("redirect-ipv6-loopback", f"http://[::1]:{port}/", "::1"),
    ):
        add(name, Route(status=302, headers={"Location": target}),
            error=f"refusing to fetch {refused}: private or loopback address")
    # Bodies that are not feeds, or not well-formed ones.
    add("invalid-xml", Route(body=INVALID_XML), alert="broken feed: no items could be read (SAXParseException")
    add("billion-laughs", Route(body=BILLION_LAUGHS),
        alert="declares its own XML entities", stored=("https://news.example.org/laughs",))
    # Never read (/etc/passwd stays out of every field), and flagged: no honest feed declares entities.
    add("xxe", Route(body=XXE), alert="declares its own XML entities", stored=("https://news.example.org/xxe",))
    add("wrong-charset", Route(body=WRONG_CHARSET, headers={"Content-Type": "application/rss+xml; charset=utf-8"}),
        stored=("https://news.example.org/charset",))
    add("html", Route(body=HTML_PAGE, headers={"Content-Type": "text/html"}),
        error="not a feed: the server sent an HTML page")
    add("empty-200", Route(body=b""), error="empty response body")
    # Server errors, told when to come back or not.
    for status, reason in ((500, "Internal Server Error"), (502, "Bad Gateway"), (503, "Service Unavailable"),
                           (429, "Too Many Requests")):
        add(f"http-{status}", Route(status=status, body=b"busy", headers={"Content-Type": "text/plain"}),
            error=f"HTTP {status} {reason}")
        add(f"http-{status}-retry-after", Route(status=status, body=b"busy",
                                                headers={"Content-Type": "text/plain", "Retry-After": "7200"}),
            error=f"HTTP {status} {reason}")
    # Items that are odd but readable, and items that cannot be clips.
    add("no-links", Route(body=rss(*(item(f"nolink/{i}", link=None) for i in range(3))).encode()),
        alert="none of the 3 items has a web link to clip")
    add("no-dates", Route(body=rss(*(item(f"nodate/{i}", date=None) for i in range(2))).encode()),
        stored=("https://news.example.org/nodate/0", "https://news.example.org/nodate/1"))
    add("duplicate-guids", Route(body=rss(
        *(item(f"dup/{i}", guid="same-guid") for i in range(3)), item("dup/0", guid="same-guid")).encode()),
        stored=tuple(f"https://news.example.org/dup/{i}" for i in range(3)))
    add("future-dates", Route(body=rss(item("future", date=FUTURE)).encode()),
        stored=("https://news.example.org/future",))
    add("huge-title", Route(body=HUGE_TITLE), stored=("https://news.example.org/huge-title",))
    add("huge-author", Route(body=HUGE_AUTHOR), stored=("https://news.example.org/huge-author",))
    add("5000-items", Route(body=many_items()), alert="5,000 items in the feed; only the newest 1,000 were read",
        stored=(NEWEST_OF_MANY,))
    return feeds

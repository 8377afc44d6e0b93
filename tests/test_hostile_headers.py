"""Hostile status lines, headers and charsets from servers on 127.0.0.1: each ends in a recorded
failure (or is ignored), never a Python error, a database refusal, a feed moved for good, or a
TLS problem reported as a site that is down."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeClock
from tests.feedserver import FeedServer, Route
from tests.localserver import QuietServer
from tracker.config import parse_config
from tracker.enrich import extract_article, fetch_page_meta, page_charset
from tracker.errors import FetchError
from tracker.fetch import FetchOptions, fetch
from tracker.health import explain_error
from tracker.ingest import Ingestor
from tracker.ingest.reports import CycleReport
from tracker.models import (
    Config,
    FeedConfig,
    FetchOutcome,
    MatchedEntry,
    Mention,
    ParsedEntry,
    Settings,
)
from tracker.normalize import canonical_url, clip_id_for
from tracker.store import Store

FAST = FetchOptions(timeout_s=2.0, connect_timeout_s=2.0)
HTML = {"Content-Type": "text/html; charset=utf-8"}
MEMBER = "Kendra Brooks"
WORDS = f"Councilmember {MEMBER} of Philadelphia spoke for the bill at the hearing. " * 12
PAGE = (f"<!doctype html><html><head><title>Hearing | The Daily Example</title></head><body>"
        f"<article><h1>Hearing</h1>{''.join(f'<p>{WORDS}</p>' for _ in range(4))}</article></body></html>").encode()


def rss(*items: tuple[str, str], title: str = "Paper") -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><description>{t}</description>"
                   f"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>" for t, link in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


FEED = rss((f"{MEMBER} speaks", "https://news.example.org/1"))


def raw(status_line: bytes, *headers: bytes, body: bytes = b"") -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that writes these bytes to the socket as the whole answer and hangs up: what no
    HTTP library would send (http.server checks nothing either, but this says exactly what goes out)."""
    answer = b"\r\n".join([status_line, *headers, b"Connection: close", b"", b""]) + body

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        h.wfile.write(answer)

    return handler


def config(server: FeedServer, tmp_path: Path, paths: list[str], **settings: Any) -> Config:
    data = {
        "settings": {"allow_private_hosts": True, "timeout_s": 2, **settings},
        "feeds": [{"url": server.url(p), "id": p.strip("/").replace("/", "-")} for p in paths],
        "members": [{"name": MEMBER, "require_any": ["Philadelphia", "Councilmember"]}],
    }
    return parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)


def cycle(cfg: Config, store: Store, clock: FakeClock) -> CycleReport:
    return Ingestor(cfg, store, clock=clock, parse_processes=0).run_cycle()


# ---------------------------------------------------------------- control characters never reach the database


def test_control_characters_in_headers_cost_nobody_s_health_on_either_database(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """A NUL in a status line, an ETag, a Last-Modified or a Location: PostgreSQL refuses it, and the
    health of every feed is written in one batch, so one such server lost every feed's health, every cycle."""
    feed_server.add("/good", body=FEED)
    feed_server.add("/reason", Route(handler=raw(b"HTTP/1.1 503 Service \x00Unavailable", b"Content-Length: 0")))
    feed_server.add("/validators", Route(handler=raw(
        b"HTTP/1.1 200 OK", b"Content-Type: application/rss+xml", b'ETag: "a\x00b"',
        b"Last-Modified: Mon, 23 Nov 2026 10:00:00 GMT\x01", b"Content-Length: %d" % len(FEED), body=FEED)))
    feed_server.add("/moved", Route(handler=raw(b"HTTP/1.1 301 Moved Permanently", b"Location: /new\x00feed",
                                                b"Content-Length: 0")))
    cfg = config(feed_server, tmp_path, ["/good", "/reason", "/validators", "/moved"], enrich_per_cycle=0)

    report = cycle(cfg, store, FakeClock())

    assert report.outcome == "partial" and (report.feeds_ok, report.feeds_failed) == (2, 2)
    health = {h.id: h for h in store.feed_health()}
    assert health["good"].last_success_at is not None and health["good"].last_error is None
    assert health["reason"].last_status == 503 and health["reason"].last_error == "HTTP 503 Service Unavailable"
    assert health["validators"].last_success_at is not None
    state = store.feed_state("validators")
    assert (state.etag, state.last_modified) == (None, None), "a validator with a control character is dropped"
    assert health["moved"].last_error is not None and "bad redirect Location" in health["moved"].last_error
    assert "\x00" not in health["moved"].last_error and health["moved"].url == feed_server.url("/moved")


def test_an_article_server_s_status_line_with_a_nul_fails_its_item_not_the_queue(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/nul", Route(handler=raw(b"HTTP/1.1 404 Not\x00Found", b"Content-Length: 0")))
    feed_server.add("/a/good", body=PAGE, headers=HTML)
    feed_server.add("/outlet", body=rss((f"{MEMBER} of Philadelphia: gone", f"{base}/a/nul"),
                                        (f"{MEMBER} of Philadelphia: read", f"{base}/a/good")))
    report = cycle(config(feed_server, tmp_path, ["/outlet"]), store, FakeClock())
    articles = report.articles
    assert articles is not None and articles.error is None, articles
    assert (articles.read, articles.failed, articles.left) == (1, 1, 0)
    assert dict(store.enrich_queue_status().failures) == {"HTTP 404 Not Found": 1}


def test_health_and_article_reasons_are_stored_clean_whatever_reaches_the_store(store: Store) -> None:
    """The second safeguard: the store itself never hands a control character to the database."""
    clock = FakeClock()
    store.sync_feeds([FeedConfig(id="a", url="https://news.example.org/a.xml"),
                      FeedConfig(id="b", url="https://news.example.org/b.xml")])
    store.record_fetches([
        ("a", FetchOutcome(ok=False, status=503, error="HTTP 503 Service\x00Unavailable"), clock()),
        ("b", FetchOutcome(ok=True, status=200, etag='"a\x00b"', last_modified="Mon\x00",
                           new_url="https://news.example.org/\x00b.xml"), clock()),
    ])
    health = {h.id: h for h in store.feed_health()}
    assert health["a"].last_error == "HTTP 503 ServiceUnavailable"
    assert health["b"].url == "https://news.example.org/b.xml" and health["b"].moved_from is None
    assert (store.feed_state("b").etag, store.feed_state("b").last_modified) == (None, None)

    url = "https://news.example.org/story"
    entry = ParsedEntry(title=f"{MEMBER} story", link=url, guid=url, summary="", content="")
    item = MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)),
                        (Mention("member", "kendra-brooks", MEMBER, "title", ""),))
    store.store_entries("a", [item], clock())
    store.queue_articles("a", [item], clock())
    (task,) = store.due_articles(10)
    assert store.finish_article(task, None, (), clock(), reason="HTTP 404 Not\x00Found") == "failed"
    assert dict(store.enrich_queue_status().failures) == {"HTTP 404 NotFound": 1}


# ---------------------------------------------------------------- a permanent redirect moves a feed only to a feed


def test_a_permanent_redirect_to_a_web_page_does_not_move_the_feed(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """A redesign 301-ing the feed to its home page (or a WAF page): the feed keeps its address, so
    the publisher putting the feed back (or staff) is noticed; a 301 to a real feed still moves it."""
    old = feed_server.add("/old", status=301, headers={"Location": "/html"})
    feed_server.add("/html", body=b"<!doctype html><html><body>Our new site</body></html>",
                    headers={"Content-Type": "text/html"})
    cfg = config(feed_server, tmp_path, ["/old"], enrich_per_cycle=0)
    clock = FakeClock()
    cycle(cfg, store, clock)
    (feed,) = store.feed_health()
    assert (feed.url, feed.moved_from) == (old, None)
    assert feed.last_error is not None and "HTML page" in feed.last_error

    feed_server.add("/old", status=301, headers={"Location": "/new"})
    new = feed_server.add("/new", body=FEED)
    clock.advance(days=2)
    cycle(cfg, store, clock)
    (feed,) = store.feed_health()
    assert (feed.url, feed.moved_from, feed.last_error) == (new, old, None)


def test_a_failed_attempt_never_moves_a_feed(store: Store) -> None:
    store.sync_feeds([FeedConfig(id="a", url="https://news.example.org/a.xml")])
    store.record_fetch("a", FetchOutcome(ok=False, error="storing failed", new_url="https://news.example.org/b.xml"),
                       FakeClock()())
    (feed,) = store.feed_health()
    assert (feed.url, feed.moved_from) == ("https://news.example.org/a.xml", None)


# ---------------------------------------------------------------- numbers, Locations and charsets a server made up


@pytest.mark.parametrize("headers", [
    [b"Retry-After: \xb2"],  # '\xb2' is '²' in Latin-1: '²'.isdigit() is true, float('²') fails
    [b"Retry-After: " + b"9" * 5000],
])
def test_a_retry_after_that_is_no_number_is_ignored(feed_server: FeedServer, headers: list[bytes]) -> None:
    url = feed_server.add("/busy", Route(handler=raw(b"HTTP/1.1 503 Busy", *headers, b"Content-Length: 0")))
    with pytest.raises(FetchError, match="HTTP 503") as caught:
        fetch(url, options=FAST)
    assert caught.value.retry_after_s is None


@pytest.mark.parametrize("header", [b"Content-Length: \xb2", b"Content-Length: " + b"9" * 5000,
                                    b"Cache-Control: max-age=" + b"9" * 5000])
def test_a_content_length_or_max_age_that_is_no_number_is_ignored(feed_server: FeedServer, header: bytes) -> None:
    url = feed_server.add("/feed", Route(handler=raw(b"HTTP/1.1 200 OK", b"Content-Type: application/rss+xml",
                                                     header, body=FEED)))
    result = fetch(url, options=FAST)
    assert result.body == FEED and result.max_age_s is None


@pytest.mark.parametrize("location", ["http://[oops/", "http://127.0.0.1:99999/feed", "http://127.0.0.1:port/"])
def test_a_redirect_to_a_broken_location_is_a_fetch_error(feed_server: FeedServer, location: str) -> None:
    url = feed_server.add("/old", status=301, headers={"Location": location})
    for options in (FAST, FetchOptions(timeout_s=2.0, private_redirects=False)):
        with pytest.raises(FetchError, match="bad redirect Location") as caught:
            fetch(url, options=options)
    assert explain_error(str(caught.value)) == "The site redirects to an address that is not valid."


@pytest.mark.parametrize("charset", ["zlib", "base64", "rot13", "idna", "punycode", "undefined", "utf-8\x00"])
def test_a_charset_that_is_no_text_encoding_is_not_used(feed_server: FeedServer, charset: str) -> None:
    """A server may name any of Python's codecs; the page is read as if it named none (here UTF-8)."""
    assert page_charset(PAGE, charset) == "utf-8"
    assert "Councilmember" in extract_article(PAGE, "https://news.example.org/a", charset).text
    meta_page = PAGE.replace(b"<head>", f'<head><meta charset="{charset.strip(chr(0))}">'.encode())
    assert page_charset(meta_page) == "utf-8"
    # The dashboard's Add-by-URL page catches only TrackerError.
    url = feed_server.add("/a/page", body=PAGE, headers={"Content-Type": f"text/html; charset={charset}"})
    assert fetch_page_meta(url, Settings(allow_private_hosts=True, timeout_s=2)).title.startswith("Hearing")


# ---------------------------------------------------------------- TLS problems say so


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name localhost (not for 127.0.0.1), made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (and neither is the cryptography package): cannot make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[int]:
    """An https server on 127.0.0.1 answering every GET with the feed; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            self.wfile.write(FEED)

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_self_signed_certificate_is_a_tls_error_not_a_site_that_is_down(tls_server: int) -> None:
    with pytest.raises(FetchError, match=r"^TLS error: certificate verify failed: self-signed certificate") as caught:
        fetch(f"https://localhost:{tls_server}/feed", options=FAST)
    assert not caught.value.transient
    explained = explain_error(str(caught.value))
    assert "certificate is not valid" in explained and "down" not in explained


def test_a_certificate_for_another_name_is_a_tls_error(tls_server: int, certificate: tuple[Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))  # trusted now: only the name is wrong
    assert fetch(f"https://localhost:{tls_server}/feed", options=FAST).body == FEED
    with pytest.raises(FetchError, match=r"^TLS error: certificate verify failed: .*mismatch"):
        fetch(f"https://127.0.0.1:{tls_server}/feed", options=FAST)


def test_https_to_a_plain_http_server_says_the_address_may_need_http(feed_server: FeedServer) -> None:
    feed_server.add("/feed", body=FEED)
    with pytest.raises(FetchError, match=r"^TLS error: wrong version number") as caught:
        fetch(feed_server.url("/feed").replace("http://", "https://"), options=FAST)
    assert "http:// instead of https://" in explain_error(str(caught.value))


# ---------------------------------------------------------------- a proxy on a private address


def test_pages_read_through_a_proxy_on_a_private_address_are_not_refused(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a proxy the connection's peer is the proxy (here 127.0.0.1), not the page's site: only the
    site's own name is checked, before anything is sent."""
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", feed_server.base_url)  # the test server answers as a proxy would
    feed_server.add("http://news.example.org/a/story", body=PAGE, headers=HTML)
    feed_server.add("http://intranet.example.org/a/story", body=PAGE, headers=HTML)
    names = {"news.example.org": "93.184.215.14", "intranet.example.org": "10.1.2.3"}
    resolve = socket.getaddrinfo  # the tests' own, which resolves only local names

    def public_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], 0))]
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", public_dns)
    strict = FetchOptions(timeout_s=2.0, allow_private_hosts=False, private_redirects=False)
    assert fetch("http://news.example.org/a/story", options=strict).body == PAGE
    with pytest.raises(FetchError, match="private or loopback"):
        fetch("http://intranet.example.org/a/story", options=strict)
    assert [r.path for r in feed_server.requests] == ["http://news.example.org/a/story"]

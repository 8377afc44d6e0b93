"""Fetching against a real HTTP server on 127.0.0.1: every way a server can misbehave."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, Route, bad_gzip
from tests.hostile import drip_chunk_size, drip_gzip_nothing, drip_headers
from tracker.errors import FetchError
from tracker.fetch import FetchOptions, fetch, make_session, parse_max_age, parse_retry_after
from tracker.parse import parse_feed

FEED = (Path(__file__).parent / "data" / "feeds" / "city-desk.rss").read_bytes()
FAST = FetchOptions(timeout_s=1.0, connect_timeout_s=1.0)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _feed_or_403(handler: BaseHTTPRequestHandler, ok: bool) -> None:
    """For handlers that decide per request: the feed, or an empty 403."""
    handler.send_response(200 if ok else 403)
    handler.send_header("Content-Length", str(len(FEED) if ok else 0))
    handler.end_headers()
    if ok:
        handler.wfile.write(FEED)


def test_plain_fetch_sends_a_real_user_agent(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", body=FEED)
    result = fetch(url, options=FAST)
    assert result.status == 200 and result.body == FEED
    ua = feed_server.hits("/feed")[0].headers["user-agent"]
    assert ua.startswith("media-tracker/")
    assert "gzip" in feed_server.hits("/feed")[0].headers["accept-encoding"]


def test_etag_round_trip_gives_304_without_body(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", body=FEED, etag='"v1"')
    first = fetch(url, options=FAST)
    assert first.etag == '"v1"'
    second = fetch(url, etag=first.etag, options=FAST)
    assert second.status == 304 and second.not_modified and second.body is None
    assert feed_server.hits("/feed")[1].headers["if-none-match"] == '"v1"'


def test_last_modified_round_trip(feed_server: FeedServer) -> None:
    stamp = "Mon, 23 Nov 2026 10:00:00 GMT"
    url = feed_server.add("/feed", body=FEED, last_modified=stamp)
    first = fetch(url, options=FAST)
    assert first.last_modified == stamp
    second = fetch(url, last_modified=first.last_modified, options=FAST)
    assert second.not_modified
    assert feed_server.hits("/feed")[1].headers["if-modified-since"] == stamp


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", body=FEED, gzip=True)
    assert fetch(url, options=FAST).body == FEED


def test_stalling_server_times_out(feed_server: FeedServer) -> None:
    url = feed_server.add("/slow", body=FEED, delay_s=3.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(url, options=FAST)
    assert time.monotonic() - started < 2.5


def test_drip_feeding_server_is_cut_off(feed_server: FeedServer) -> None:
    # Every chunk arrives inside the read timeout, but the whole body never would.
    url = feed_server.add("/drip", body=FEED, drip_s=0.05)
    started = time.monotonic()
    with pytest.raises(FetchError, match="too slow"):
        fetch(url, options=FetchOptions(timeout_s=0.3, connect_timeout_s=1.0))
    assert time.monotonic() - started < 3.0


def test_a_server_dripping_its_headers_is_cut_off(feed_server: FeedServer) -> None:
    # A byte of header every 0.5 s: each read is inside the read timeout, the answer never starts.
    url = feed_server.add("/drip-headers", Route(handler=drip_headers))
    options = FetchOptions(timeout_s=1.0, connect_timeout_s=1.0)
    session = make_session(2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="server too slow: no complete answer within the time limit") as info:
        fetch(url, options=options, session=session)
    assert 2.9 < time.monotonic() - started < 4.5  # cut at 3 x timeout_s, the bound every fetch has
    assert not info.value.transient  # final, as a body that drips past the limit is
    # The pool's next fetch, on a fresh connection, is not hurt by the cut.
    ok = feed_server.add("/feed", body=FEED)
    assert fetch(ok, options=options, session=session).body == FEED


@pytest.mark.parametrize("route", ["chunk-size", "gzip-nothing"])
def test_a_body_read_that_never_returns_is_cut_off_too(feed_server: FeedServer, route: str) -> None:
    # Bytes arrive inside every read timeout, but a single read1 never returns: the chunk-size line
    # is not finished, or the gzip blocks decode to nothing. Only the whole-answer deadline ends it.
    handler = drip_chunk_size if route == "chunk-size" else drip_gzip_nothing
    url = feed_server.add(f"/drip-{route}", Route(handler=handler))
    started = time.monotonic()
    with pytest.raises(FetchError, match="server too slow"):
        fetch(url, options=FetchOptions(timeout_s=0.5, connect_timeout_s=1.0))
    assert time.monotonic() - started < 3.0  # cut at 1.5 s; the server drips for 8


def test_a_body_that_stalls_halfway_may_pass_and_bad_gzip_will_not(feed_server: FeedServer) -> None:
    def stall_midway(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(FEED)))
        handler.end_headers()
        handler.wfile.write(FEED[:20])
        handler.wfile.flush()
        time.sleep(1.5)  # past the read timeout

    url = feed_server.add("/stall-midway", Route(handler=stall_midway))
    with pytest.raises(FetchError, match="download failed") as stalled:
        fetch(url, options=FetchOptions(timeout_s=0.5, connect_timeout_s=1.0))
    assert stalled.value.transient  # read again later, like a timeout before the answer
    broken = feed_server.add("/bad-gzip", Route(handler=bad_gzip))
    with pytest.raises(FetchError, match="download failed") as corrupt:
        fetch(broken, options=FAST)
    assert not corrupt.value.transient


def test_body_size_cap_with_content_length(feed_server: FeedServer) -> None:
    url = feed_server.add("/huge", body=b"x" * 200_000)
    with pytest.raises(FetchError, match="limit"):
        fetch(url, options=FetchOptions(timeout_s=2, max_body_bytes=100_000))


def test_body_size_cap_without_content_length_is_streamed(feed_server: FeedServer) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            for _ in range(10_000):  # 640 MB if it were all read
                handler.wfile.write(b"y" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass

    url = feed_server.add("/endless", Route(handler=endless))
    with pytest.raises(FetchError, match="cut off"):
        fetch(url, options=FetchOptions(timeout_s=5, max_body_bytes=1_000_000))


def test_gzip_bomb_is_capped_on_decoded_size(feed_server: FeedServer) -> None:
    url = feed_server.add("/bomb", body=b"\0" * 5_000_000, gzip=True)
    with pytest.raises(FetchError, match="cut off"):
        fetch(url, options=FetchOptions(timeout_s=5, max_body_bytes=1_000_000))


def test_redirect_loop_is_an_error(feed_server: FeedServer) -> None:
    feed_server.add("/a", status=302, headers={"Location": "/b"})
    feed_server.add("/b", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(feed_server.url("/a"), options=FAST)


def test_too_many_redirects(feed_server: FeedServer) -> None:
    for i in range(10):
        feed_server.add(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(feed_server.url("/r0"), options=FAST)


def test_permanent_redirect_is_reported(feed_server: FeedServer) -> None:
    feed_server.add("/old", status=301, headers={"Location": "/new"})
    new = feed_server.add("/new", body=FEED)
    result = fetch(feed_server.url("/old"), options=FAST)
    assert result.body == FEED and result.permanent_redirect_to == new


def test_temporary_redirect_keeps_the_url(feed_server: FeedServer) -> None:
    feed_server.add("/old", status=302, headers={"Location": "/new"})
    feed_server.add("/new", body=FEED)
    assert fetch(feed_server.url("/old"), options=FAST).permanent_redirect_to is None


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_http_errors_carry_the_status(feed_server: FeedServer, status: int) -> None:
    url = feed_server.add("/x", status=status, body=b"nope", headers={"Content-Type": "text/plain"})
    with pytest.raises(FetchError) as info:
        fetch(url, options=FAST)
    assert info.value.status == status
    assert str(status) in str(info.value)


def test_429_retry_after_is_parsed(feed_server: FeedServer) -> None:
    url = feed_server.add("/x", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as info:
        fetch(url, options=FAST)
    assert info.value.status == 429 and info.value.retry_after_s == 120.0


def test_403_is_retried_once_as_a_browser(feed_server: FeedServer) -> None:
    def picky(handler: BaseHTTPRequestHandler) -> None:
        _feed_or_403(handler, "Mozilla" in (handler.headers.get("User-Agent") or ""))

    url = feed_server.add("/picky", Route(handler=picky))
    assert fetch(url, options=FAST).body == FEED
    assert len(feed_server.hits("/picky")) == 2


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="connection failed"):
        fetch("http://127.0.0.1:9/feed", options=FAST)


def test_non_feed_html_is_fetched_then_refused_by_the_parser(feed_server: FeedServer) -> None:
    url = feed_server.add("/page", body=b"<!doctype html><html><body>Hi</body></html>", headers={"Content-Type": "text/html"})
    result = fetch(url, options=FAST)
    from tracker.errors import ParseError

    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(result.body or b"", content_type=result.content_type)


def test_wrong_declared_charset_still_parses(feed_server: FeedServer) -> None:
    body = FEED.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(b"Tenants", "Inquilinos señalan".encode())
    url = feed_server.add("/cs", body=body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    result = fetch(url, options=FAST)
    feed = parse_feed(result.body or b"", content_type=result.content_type)
    assert "Inquilinos señalan" in feed.entries[0].summary


def test_private_hosts_refused_when_not_allowed(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", body=FEED)
    with pytest.raises(FetchError, match="private or loopback"):
        fetch(url, options=FetchOptions(timeout_s=1, allow_private_hosts=False))


def test_file_url(tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_bytes(FEED)
    assert fetch(path.as_uri()).body == FEED
    with pytest.raises(FetchError, match="cannot read"):
        fetch((tmp_path / "missing.xml").as_uri())


def test_header_parsers() -> None:
    assert parse_retry_after("30", NOW) == 30.0
    assert parse_retry_after("garbage", NOW) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW) == 0.0  # in the past
    assert parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC)) == 120.0
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("no-cache, max-age=600") is None
    assert parse_max_age(None) is None


def test_dns_rebinding_to_loopback_is_refused(feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name checks out as public, then the connection lands on 127.0.0.1: nothing is read."""
    import socket as socket_module

    import tracker.fetch as fetch_module

    feed_server.add("/secret", body=b"INTERNAL ADMIN SECRET", headers={"Content-Type": "text/html"})
    port = feed_server.httpd.server_address[1]
    real = socket_module.getaddrinfo

    def first_public(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if host == "rebind.example":
            return [(socket_module.AF_INET, socket_module.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", first_public)
    # The connection itself resolves rebind.example to loopback (what a rebinding DNS server does).
    import urllib3.util.connection as conn

    real_create = conn.create_connection

    def to_loopback(address: tuple[str, int], *args: object, **kwargs: object) -> socket_module.socket:
        host, p = address
        return real_create(("127.0.0.1" if host == "rebind.example" else host, p), *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(conn, "create_connection", to_loopback)
    with pytest.raises(FetchError, match="private or loopback"):
        fetch(f"http://rebind.example:{port}/secret", options=FetchOptions(timeout_s=2, allow_private_hosts=False))


@pytest.mark.parametrize("ip", ["100.100.100.200", "169.254.169.254", "10.0.0.1", "::ffff:127.0.0.1", "0.0.0.0"])
def test_internal_addresses_are_refused(ip: str) -> None:
    from tracker.fetch import _refuse_if_internal

    with pytest.raises(FetchError, match="private or loopback"):
        _refuse_if_internal("x", ip)
    _refuse_if_internal("x", "93.184.216.34")  # a public address passes


def test_broken_gzip_and_cut_off_bodies_are_fetch_errors(feed_server: FeedServer) -> None:
    def cut_off(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"<rss>" * 10)
        handler.wfile.flush()
        handler.close_connection = True

    for path, handler in (("/badgz", bad_gzip), ("/cut", cut_off)):
        url = feed_server.add(path, Route(handler=handler))
        with pytest.raises(FetchError, match="download failed"):
            fetch(url, options=FAST)


# ---------------------------------------------------------------- what requests takes from the environment
# fetch() prepares requests itself (tracker.fetch._send) instead of going through Session.request,
# so these prove it still honours what a deployment configures: proxies, no_proxy, ~/.netrc.


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "NO_PROXY", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_proxy_from_the_environment_is_used(feed_server: FeedServer, clean_proxy_env: pytest.MonkeyPatch) -> None:
    # A proxy receives the absolute URL in the request line: the test server plays the proxy.
    feed_server.add("http://feeds.example.invalid/rss", body=FEED)
    clean_proxy_env.setenv("http_proxy", feed_server.base_url)
    session = make_session(2)
    assert fetch("http://feeds.example.invalid/rss", session=session, options=FAST).body == FEED
    assert fetch("http://feeds.example.invalid/rss", session=session, options=FAST).body == FEED
    assert len(feed_server.hits("http://feeds.example.invalid/rss")) == 2


def test_no_proxy_hosts_are_fetched_directly(feed_server: FeedServer, clean_proxy_env: pytest.MonkeyPatch) -> None:
    url = feed_server.add("/direct.xml", body=FEED)
    clean_proxy_env.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    clean_proxy_env.setenv("no_proxy", "127.0.0.1")
    assert fetch(url, session=make_session(2), options=FAST).body == FEED


def test_netrc_credentials_are_sent_and_url_credentials_win(
    feed_server: FeedServer, clean_proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = feed_server.add("/private.xml", body=FEED)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    netrc.chmod(0o600)
    clean_proxy_env.setenv("NETRC", str(netrc))
    fetch(url, session=make_session(2), options=FAST)
    assert feed_server.hits("/private.xml")[-1].headers["authorization"] == "Basic YWxpY2U6czNjcmV0"  # alice:s3cret

    with_user = url.replace("http://", "http://bob:pw@")
    fetch(with_user, session=make_session(2), options=FAST)
    assert feed_server.hits("/private.xml")[-1].headers["authorization"] == "Basic Ym9iOnB3"  # bob:pw


def test_netrc_credentials_go_only_to_their_host_on_a_shared_session(
    feed_server: FeedServer, clean_proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The environment is read once per host and kept on the session: never one host's for another.
    url = feed_server.add("/private.xml", body=FEED)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    netrc.chmod(0o600)
    clean_proxy_env.setenv("NETRC", str(netrc))
    session = make_session(2)
    fetch(url, session=session, options=FAST)
    fetch(url.replace("127.0.0.1", "localhost"), session=session, options=FAST)
    fetch(url, session=session, options=FAST)
    to_ip, to_name, again = (r.headers.get("authorization") for r in feed_server.hits("/private.xml"))
    assert to_ip == again == "Basic YWxpY2U6czNjcmV0" and to_name is None


def test_a_cookie_set_before_a_redirect_goes_to_its_target_but_not_to_other_feeds(feed_server: FeedServer) -> None:
    def gate(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Set-Cookie", "consent=yes; Path=/")
        handler.send_header("Location", "/checked.xml")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def checked(handler: BaseHTTPRequestHandler) -> None:
        _feed_or_403(handler, "consent=yes" in (handler.headers.get("Cookie") or ""))

    gate_url = feed_server.add("/gate.xml", Route(handler=gate))
    checked_url = feed_server.add("/checked.xml", Route(handler=checked))
    session = make_session(2)
    assert fetch(gate_url, session=session, options=FAST).body == FEED
    with pytest.raises(FetchError, match="403"):  # another fetch on the same session: no cookie
        fetch(checked_url, session=session, options=FetchOptions(timeout_s=1.0, retry_403_as_browser=False))


# ---------------------------------------------------------------- connections


def test_feeds_on_one_host_share_a_connection_and_broken_responses_do_not(feed_server: FeedServer) -> None:
    # Search feeds are hundreds of URLs on one host: a body read to the end leaves its
    # connection (its TLS handshake) to the next feed.
    feed = feed_server.add("/a.xml", body=FEED)
    other = feed_server.add("/b.xml", body=FEED, gzip=True)
    session = make_session(2)
    fetch(feed, session=session, options=FAST)
    fetch(other, session=session, options=FAST)
    fetch(feed, session=session, options=FAST)
    assert len({r.client_port for r in feed_server.requests}) == 1

    # A body cut off at the size limit leaves unread bytes on its connection: never reused.
    big = feed_server.add("/big.xml", body=FEED * 20)
    with pytest.raises(FetchError, match="limit"):
        fetch(big, session=session, options=FetchOptions(timeout_s=1.0, max_body_bytes=len(FEED)))
    with pytest.raises(FetchError, match="404"):  # an error page is not read either
        fetch(feed_server.url("/missing.xml"), session=session, options=FAST)
    assert fetch(feed, session=session, options=FAST).body == FEED
    big_port, missing_port, last_port = (r.client_port for r in feed_server.requests[-3:])
    assert big_port == feed_server.requests[0].client_port  # the big body came on the shared one…
    assert len({big_port, missing_port, last_port}) == 3  # …and each request after a broken one is new


def test_a_304_with_a_stray_body_cannot_answer_the_next_feed(feed_server: FeedServer) -> None:
    # HTTP says a 304 has no body; a broken server sends one anyway. Were the connection
    # reused, those bytes would be read as the next feed's response.
    def not_modified_with_body(handler: BaseHTTPRequestHandler) -> None:
        page = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!"
        handler.send_response(304)
        handler.send_header("ETag", '"x"')
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)

    stale = feed_server.add("/stale.xml", Route(handler=not_modified_with_body))
    fresh = feed_server.add("/fresh.xml", body=FEED)
    session = make_session(2)
    for _ in range(3):
        assert fetch(stale, session=session, etag='"x"', options=FAST).not_modified
        assert fetch(fresh, session=session, options=FAST).body == FEED


def test_a_kept_connection_the_server_drops_is_retried_once_on_a_new_one(feed_server: FeedServer) -> None:
    # The server ends an idle keep-alive connection just as the next feed reuses it.
    used: set[int] = set()

    def drops_reused_connections(handler: BaseHTTPRequestHandler) -> None:
        if id(handler) in used:  # one handler per connection: seen before means reused
            handler.close_connection = True
            return  # hang up without a response
        used.add(id(handler))
        _feed_or_403(handler, True)

    first = feed_server.add("/one.xml", Route(handler=drops_reused_connections))
    second = feed_server.add("/two.xml", Route(handler=drops_reused_connections))
    session = make_session(2)
    assert fetch(first, session=session, options=FAST).body == FEED
    assert fetch(second, session=session, options=FAST).body == FEED
    ports = [r.client_port for r in feed_server.requests]
    assert len(ports) == 3 and ports[0] == ports[1] != ports[2]  # reused, dropped, retried anew


def test_a_server_that_always_hangs_up_fails_after_two_tries(feed_server: FeedServer) -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True

    url = feed_server.add("/rude.xml", Route(handler=hang_up))
    with pytest.raises(FetchError, match="connection failed"):
        fetch(url, session=make_session(2), options=FAST)
    assert len(feed_server.hits("/rude.xml")) == 2


# ---------------------------------------------------------------- redirects from a listed feed


def test_a_listed_feed_redirecting_to_another_internal_host_is_refused(feed_server: FeedServer) -> None:
    """Staff listed the feed's URL, not where it redirects: a hop to another private origin
    (here another port on loopback, standing in for 169.254.169.254) is refused unless
    allow_private_hosts says internal addresses are fine."""
    from tests.feedserver import running_server

    with running_server() as internal:
        target = internal.add("/metadata", body=b"<rss><channel><title>secret</title></channel></rss>")
        url = feed_server.add("/feed.xml", status=302, headers={"Location": target.replace("127.0.0.1", "localhost")})
        with pytest.raises(FetchError, match="refusing to fetch localhost: private or loopback"):
            fetch(url, options=FetchOptions(timeout_s=2, private_redirects=False))
        assert internal.hits("/metadata") == []  # refused before connecting, not after reading
        followed = fetch(url, options=FetchOptions(timeout_s=2, private_redirects=True))
        assert followed.status == 200 and b"secret" in (followed.body or b"")


def test_an_internal_listed_feed_may_move_on_its_own_host(feed_server: FeedServer) -> None:
    """An intranet feed that staff listed on purpose may redirect within its own origin."""
    feed_server.add("/new.xml", body=b"<rss><channel><title>moved</title></channel></rss>")
    url = feed_server.add("/old.xml", status=301, headers={"Location": "/new.xml"})
    result = fetch(url, options=FetchOptions(timeout_s=2, private_redirects=False))
    assert result.status == 200 and result.permanent_redirect_to == feed_server.url("/new.xml")

"""The only code that talks HTTP: polite, bounded, conditional GETs.

Every way a server can misbehave (stall, drip, flood, loop, lie about its
charset) ends in a FetchResult or a FetchError, never a hang or a crash.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3

from tracker import __version__
from tracker.clock import Clock, system_clock
from tracker.deadline import WatchedAdapter, cut_off, deadline
from tracker.errors import FetchError
from tracker.models import FetchResult

DEFAULT_USER_AGENT = f"media-tracker/{__version__} (+https://github.com/media-tracker; feed monitor)"
# Some publishers' CDNs refuse anything that does not look like a browser.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36"
)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_CODES = frozenset({301, 308})
_MAX_AGE_RE = re.compile(r"max-age\s*=\s*([0-9]+)", re.I)
# C0 controls and DEL have no place in a header's text, and PostgreSQL refuses a NUL in any column:
# one in a reason phrase or an ETag failed the whole cycle's health batch.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_DIGITS = 10  # a header's number of seconds or bytes: 10 digits is 300 years, or 9 GB
_MAX_VALIDATOR_CHARS = 1024  # real ETags and HTTP dates are under 100; a validator is sent back on every poll


@dataclass(frozen=True)
class FetchOptions:
    timeout_s: float = 20.0
    connect_timeout_s: float = 10.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    # Staff-listed feeds are trusted; URLs found inside feeds (articles) are not.
    allow_private_hosts: bool = True
    # A listed feed's own URL is trusted, where it redirects is not: with this False a redirect
    # may lead to a private/loopback/link-local address only when it stays on the listed URL's
    # origin and that origin itself answered from an internal address (an intranet feed moving).
    private_redirects: bool = True
    retry_403_as_browser: bool = True
    # Never leave the first URL's origin (scheme, host, port): a redirect elsewhere is an error.
    # The Google News resolver talks to settings.google_news_url and nothing else.
    same_origin_only: bool = False
    # An HTTP-date Retry-After is turned into seconds against this clock.
    clock: Clock = system_clock


def make_session(pool_size: int = 16) -> FeedSession:
    session = FeedSession()
    adapter = WatchedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _header_text(value: str | None, limit: int = 200) -> str:
    """A header's text fit for a message or a database: control characters as spaces, spaces collapsed."""
    return " ".join(_CONTROL_RE.sub(" ", value or "").split())[:limit]


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth storing and sending back. One with control characters or absurdly
    long is dropped rather than cleaned: a changed validator is a wrong one, a missing one costs a full GET."""
    value = (value or "").strip()
    if not value or len(value) > _MAX_VALIDATOR_CHARS or _CONTROL_RE.search(value):
        return None
    return value


def _header_number(value: str | None) -> int | None:
    """A header's whole number, or None: ASCII digits only ('²'.isdigit() is true, int('²') fails) and
    few enough of them (int() refuses more than 4,300 digits)."""
    value = (value or "").strip()
    if not value or len(value) > _MAX_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():  # digits of any kind are meant as seconds, never a date
        seconds = _header_number(value)
        return None if seconds is None else float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> int | None:
    if not cache_control or "no-cache" in cache_control.lower() or "no-store" in cache_control.lower():
        return None
    m = _MAX_AGE_RE.search(cache_control)
    return _header_number(m.group(1)) if m else None


def _check_host_allowed(url: str) -> None:
    host = urlsplit(url).hostname
    if not host:
        raise FetchError(f"bad URL {url!r}")
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}", transient=True) from None
    for info in infos:
        _refuse_if_internal(host, str(info[4][0]))


def _internal_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address when it is private, loopback, link-local, multicast or otherwise not global."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    # not is_global also covers carrier-grade NAT (100.64/10), where cloud metadata services live.
    if not addr.is_global or addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_multicast:
        return addr
    return None


def _is_internal(ip: str) -> bool:
    return _internal_address(ip) is not None


def _refuse_if_internal(host: str, ip: str) -> None:
    addr = _internal_address(ip)
    if addr is not None:
        raise FetchError(f"refusing to fetch {host}: private or loopback address ({addr})")


def _same_origin(a: str, b: str) -> bool:
    sa, sb = urlsplit(a), urlsplit(b)
    return (sa.scheme, sa.hostname, sa.port) == (sb.scheme, sb.hostname, sb.port)


def _peer_ip(response: requests.Response) -> str | None:
    """The address the response really came from (urllib3 keeps the socket a few levels down)."""
    raw: Any = response.raw  # private attributes: typed loosely on purpose
    try:
        return str(raw._fp.fp.raw._sock.getpeername()[0])
    except (AttributeError, OSError, IndexError, TypeError):
        return None


def _read_file(url: str, options: FetchOptions, started: float) -> FetchResult:
    path = Path(unquote(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > options.max_body_bytes:
            raise FetchError(f"body larger than {options.max_body_bytes} bytes; cut off", status=None)
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
    return FetchResult(url=url, status=200, body=body, elapsed_s=time.monotonic() - started)


def _read_capped(response: requests.Response, limit: int, deadline: float) -> bytes:
    declared = _header_number(response.headers.get("Content-Length"))  # a bad one is ignored: the cap still holds
    if declared is not None and declared > limit:
        raise FetchError(f"body of {declared} bytes is over the {limit}-byte limit; not downloaded")
    chunks: list[bytes] = []
    total = 0
    raw = response.raw
    # urllib3's read1 returns whatever has arrived (decoded), so a drip-feeding server
    # cannot keep us inside one big blocking read past the deadline.
    while True:
        chunk = raw.read1(64 * 1024, decode_content=True)
        if not chunk:  # read1 keeps reading until it has decoded bytes, so empty means the end
            break
        total += len(chunk)
        if total > limit:
            raise FetchError(f"body over the {limit}-byte limit; cut off")
        if time.monotonic() > deadline:
            raise FetchError("server too slow: body not complete within the time limit")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(
    url: str,
    *,
    session: FeedSession | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    options: FetchOptions = FetchOptions(),
    accept: str = FEED_ACCEPT,
) -> FetchResult:
    """GET url, following at most options.max_redirects redirects.

    Sends the stored validators so an unchanged feed costs a 304 and no body.
    `session` (from make_session) shares connections between fetches; requests only
    go through its adapters and environment (no session headers, auth or hooks).
    Raises FetchError for network failures, HTTP errors (with status and
    Retry-After), oversize bodies and slow servers.
    """
    started = time.monotonic()
    if urlsplit(url).scheme == "file":
        return _read_file(url, options, started)
    own_session = session is None
    sess = session or make_session(1)
    try:
        result = _fetch_following(url, sess, etag, last_modified, options, accept, started, options.user_agent)
        return result
    except FetchError as exc:
        if exc.status == 403 and options.retry_403_as_browser and options.user_agent != BROWSER_USER_AGENT:
            return _fetch_following(url, sess, etag, last_modified, options, accept, started, BROWSER_USER_AGENT)
        raise
    finally:
        if own_session:
            sess.close()


def post_form(
    url: str,
    form: Mapping[str, str],
    *,
    session: FeedSession | None = None,
    options: FetchOptions = FetchOptions(),
    accept: str = "*/*",
) -> FetchResult:
    """POST a URL-encoded form, with every limit and guard of fetch(); a redirect in answer is an error
    (nothing is posted twice, nor anywhere else)."""
    started = time.monotonic()
    own_session = session is None
    sess = session or make_session(1)
    try:
        return _fetch_following(url, sess, None, None, options, accept, started, options.user_agent, form=form)
    finally:
        if own_session:
            sess.close()


def _fetch_following(
    url: str,
    session: FeedSession,
    etag: str | None,
    last_modified: str | None,
    options: FetchOptions,
    accept: str,
    started: float,
    user_agent: str,
    form: Mapping[str, str] | None = None,
) -> FetchResult:
    headers = {"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline_at = started + options.timeout_s * 3  # read timeout is per chunk; this bounds drip-feeding
    current = url
    all_permanent = True
    seen: set[str] = set()
    cookies: requests.cookies.RequestsCookieJar | None = None
    origin_is_internal = False  # where the listed URL itself answered from
    for hop in range(options.max_redirects + 1):
        if current in seen:
            raise FetchError(f"redirect loop at {current}")
        seen.add(current)
        if urlsplit(current).scheme not in ("http", "https"):
            raise FetchError(f"redirect to unsupported URL {current!r}")
        if hop > 0 and options.same_origin_only and not _same_origin(current, url):
            raise FetchError(f"refusing to follow a redirect to another site: {urlsplit(current).hostname}")
        guard_hop = not options.allow_private_hosts or (
            hop > 0 and not options.private_redirects
            and not (origin_is_internal and _same_origin(current, url))
        )
        if guard_hop:
            _check_host_allowed(current)
        # A read timeout is per socket read: the watchdog bounds a whole answer, headers and body, sent a
        # byte at a time (a chunk-size line, gzip blocks that decode to nothing keep one read1 waiting).
        with deadline(deadline_at) as watch:
            try:
                response = _send_retrying_dropped(session, current, headers, cookies, options, form)
            except requests.exceptions.RequestException as exc:
                raise _request_error(exc, options, cut_off=watch.fired) from None
            watch.reading(response)
            with response:
                try:
                    if watch.fired:  # cut mid-headers: http.client may take the end of the stream for their end
                        raise FetchError(_TOO_SLOW)
                    proxied = (hop == 0 or guard_hop) and _through_proxy(session, current)
                    if hop == 0 and not guard_hop:
                        # Through a proxy the peer is the proxy, not the origin: counted as public, the strict way.
                        peer = _peer_ip(response)
                        origin_is_internal = not proxied and (peer is None or _is_internal(peer))
                    if guard_hop and not proxied:
                        # The name was checked before connecting, but DNS may answer differently the second
                        # time (rebinding): check where the connection really went before reading anything.
                        # Through a proxy the peer is the proxy (often on a private address): the proxy
                        # resolves the name, so only the check before connecting applies.
                        peer = _peer_ip(response)
                        if peer is None:
                            raise FetchError(f"refusing to fetch {urlsplit(current).hostname}: cannot tell where it connected")
                        _refuse_if_internal(urlsplit(current).hostname or "", peer)
                    status = response.status_code
                    if "Set-Cookie" in response.headers:
                        # Kept for this fetch's redirects only (some sites set a cookie, then redirect
                        # to where it is checked); never shared between feeds.
                        cookies = cookies if cookies is not None else requests.cookies.RequestsCookieJar()
                        cookies.update(response.cookies)
                    if status in _REDIRECT_CODES:
                        if form is not None:
                            raise FetchError(f"HTTP {status} redirect in answer to a POST", status=status)
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError(f"HTTP {status} redirect without a Location", status=status)
                        all_permanent = all_permanent and status in _PERMANENT_CODES
                        current = _redirect_target(current, location, status)
                        continue
                    retry_after = parse_retry_after(response.headers.get("Retry-After"), options.clock())
                    common = {
                        "etag": _validator(response.headers.get("ETag")),
                        "last_modified": _validator(response.headers.get("Last-Modified")),
                        "content_type": _header_text(response.headers.get("Content-Type"), 1000) or None,
                        "permanent_redirect_to": current if (current != url and all_permanent) else None,
                        "max_age_s": parse_max_age(response.headers.get("Cache-Control")),
                        "retry_after_s": retry_after,
                    }
                    if status == 304:
                        return FetchResult(url=current, status=304, body=None, elapsed_s=time.monotonic() - started, **common)  # type: ignore[arg-type]
                    if status >= 400:
                        reason = _header_text(response.reason)
                        raise FetchError(f"HTTP {status} {reason}".strip(), status=status, retry_after_s=retry_after)
                    try:
                        body = _read_capped(response, options.max_body_bytes, deadline_at)
                    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                        if watch.fired:  # the watchdog hung up on a body read that never returned (a drip)
                            raise FetchError(_TOO_SLOW) from None
                        # read1 talks to urllib3 directly: bad gzip, a cut-off body or a reset arrive as its errors.
                        # A stall or a dropped connection mid-body may pass (an article is read again later); bad gzip will not.
                        passing = isinstance(exc, TimeoutError | ConnectionError | urllib3.exceptions.TimeoutError
                                             | urllib3.exceptions.ProtocolError)
                        raise FetchError(f"download failed: {_short_reason(exc)}", transient=passing) from None
                    if watch.fired:  # cut mid-body: what arrived may look like a whole (empty) answer
                        raise FetchError(_TOO_SLOW)
                    return FetchResult(url=current, status=status, body=body, elapsed_s=time.monotonic() - started, **common)  # type: ignore[arg-type]
                finally:
                    watch.finish()  # before the connection goes back to the pool: never cut it there
    raise FetchError(f"more than {options.max_redirects} redirects")


_TOO_SLOW = "server too slow: no complete answer within the time limit"


def _redirect_target(current: str, location: str, status: int) -> str:
    """The absolute URL a redirect's Location leads to; FetchError for one no URL should be made of
    (control characters, a broken IPv6 host, a port out of range)."""
    bad = FetchError(f"bad redirect Location {_header_text(location, 100)!r}", status=status)
    if _CONTROL_RE.search(location.strip()):
        raise bad
    try:
        target = urljoin(current, location.strip())
        urlsplit(target).port  # noqa: B018  (raises ValueError on a port out of range, as _same_origin would)
    except ValueError:
        raise bad from None
    return target


def _through_proxy(session: FeedSession, url: str) -> bool:
    """Does this URL's request go through a proxy (the environment's, unless no_proxy names the host)?"""
    return requests.utils.select_proxy(url, session.environment_for(_prepared_url(url)).proxies) is not None


def _request_error(exc: requests.exceptions.RequestException, options: FetchOptions, *, cut_off: bool) -> FetchError:
    if cut_off:
        return FetchError(_TOO_SLOW)
    if isinstance(exc, requests.exceptions.Timeout):
        return FetchError(f"timed out after {options.timeout_s:g}s", transient=True)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return FetchError("too many redirects")
    if isinstance(exc, requests.exceptions.SSLError):  # a ConnectionError too, but the site is up
        return _tls_error(exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return FetchError(f"connection failed: {_short_reason(exc)}", transient=True)
    return FetchError(f"request failed: {_short_reason(exc)}")


# OpenSSL's reasons when what answered an https:// URL is not TLS (a plain-HTTP server's answer).
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def _tls_error(exc: requests.exceptions.SSLError) -> FetchError:
    """A failed TLS handshake in words: the certificate's problem, or no TLS at all on that port."""
    cause = _ssl_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        # "self-signed certificate", "certificate has expired", "Hostname mismatch, ...": the same next time.
        return FetchError(f"TLS error: certificate verify failed: {cause.verify_message or cause.reason}")
    if cause is not None and cause.reason in _NOT_TLS_REASONS:
        return FetchError("TLS error: wrong version number (the server does not speak https on this port; "
                          "the address may need http://)")
    # A handshake cut short (EOF, reset) may pass.
    reason = (cause.reason or str(cause)) if cause is not None else _short_reason(exc)
    return FetchError(f"TLS error: {str(reason)[:200]}", transient=True)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    """The ssl module's error that requests and urllib3 wrap a few levels deep (args[0], .reason)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None or isinstance(seen, ssl.SSLError):
            return seen
        inner = seen.args[0] if seen.args else None
        if not isinstance(inner, BaseException):
            inner = getattr(seen, "reason", None)
        seen = inner if isinstance(inner, BaseException) else seen.__cause__
    return None


def _send_retrying_dropped(
    session: FeedSession,
    url: str,
    headers: dict[str, str],
    cookies: requests.cookies.RequestsCookieJar | None,
    options: FetchOptions,
    form: Mapping[str, str] | None = None,
) -> requests.Response:
    """_send, once more on a new connection if the server hung up before answering.

    A connection kept from the host's last feed may be closed by the server just as it is
    reused (idle keep-alive timeouts); the request never reached the publisher, and failing
    the feed for it would start a backoff for nothing. A server that always hangs up still
    fails, after two tries.
    """
    try:
        return _send(session, url, headers, cookies, options, form)
    except requests.exceptions.ConnectionError as exc:
        reason = exc.args[0] if exc.args else None
        inner = reason.args[-1] if isinstance(reason, urllib3.exceptions.ProtocolError) and reason.args else None
        if not isinstance(inner, ConnectionResetError | BrokenPipeError) or cut_off():  # RemoteDisconnected is a reset
            raise
    return _send(session, url, headers, cookies, options, form)


def _send(
    session: FeedSession,
    url: str,
    headers: dict[str, str],
    cookies: requests.cookies.RequestsCookieJar | None,
    options: FetchOptions,
    form: Mapping[str, str] | None = None,
) -> requests.Response:
    """One GET (a POST when a form is given) through the session's connection pool, without Session.request's per-call work.

    Session.request re-reads the environment (proxies, CA bundle, ~/.netrc on disk), re-parses
    the URL and merges cookie jars and hooks on every call: most of the CPU a conditional GET
    costs in Python, and a re-poll is a thousand of them under one GIL. Here the environment
    is read once per host (FeedSession) and the URL normalised once per URL; what is sent is
    the same.
    """
    prepared = requests.PreparedRequest()
    prepared.method = "GET" if form is None else "POST"
    prepared.url = _prepared_url(url)
    prepared.prepare_headers(headers)  # also refuses header values with line breaks
    if form is not None:
        prepared.prepare_body(data=dict(form), files=None)  # url-encoded, with its Content-Type and -Length
    env = session.environment_for(prepared.url)  # the normalised URL: IDNA hosts match no_proxy as requests does
    if "@" in urlsplit(url).netloc:
        # Credentials written in the feed's URL win over ~/.netrc (requests prefers netrc;
        # the URL in feeds.yml is the more specific of the two).
        prepared.prepare_auth(None, url)
    elif env.netrc_auth:
        prepared.prepare_auth(env.netrc_auth, url)
    if cookies:
        prepared.prepare_cookies(cookies)
    return session.get_adapter(url).send(
        prepared, stream=True, timeout=(options.connect_timeout_s, options.timeout_s),
        verify=env.verify, cert=session.cert, proxies=env.proxies,
    )


@functools.lru_cache(maxsize=8192)
def _prepared_url(url: str) -> str:
    """requests' normalised form of a URL (IDNA host, re-quoted path): the same feeds are
    fetched every cycle, so it is worked out once per URL, not once per request."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return str(prepared.url)


@dataclass(frozen=True)
class _Environment:
    """What requests would take from the environment for one host."""

    proxies: dict[str, str]
    verify: bool | str = True
    netrc_auth: tuple[str, str] | None = None

    @classmethod
    def read(cls, session: requests.Session, url: str) -> _Environment:
        verify: bool | str = True if session.verify is None else session.verify
        proxies = dict(session.proxies)
        if not session.trust_env:
            return cls(proxies=proxies, verify=verify)
        if verify is True:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        for key, value in requests.utils.get_environ_proxies(url, no_proxy=proxies.get("no_proxy")).items():
            proxies.setdefault(key, value)
        auth = requests.utils.get_netrc_auth(url)
        return cls(proxies=proxies, verify=verify, netrc_auth=(auth[0], auth[1]) if auth else None)


class FeedSession(requests.Session):
    """A requests session that reads the environment once per scheme and host, not per request."""

    def __init__(self) -> None:
        super().__init__()
        self._environments: dict[tuple[str, str], _Environment] = {}

    def environment_for(self, url: str) -> _Environment:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc.rpartition("@")[2])
        env = self._environments.get(key)
        if env is None:  # two threads may both read it: harmless, the answer is the same
            env = self._environments[key] = _Environment.read(self, f"{key[0]}://{key[1]}/")
        return env


def _short_reason(exc: BaseException) -> str:
    """requests nests the real reason a few levels deep; dig out one readable line."""
    text = str(exc)
    for marker in ("Read timed out", "Connection refused", "Name or service not known", "timed out",
                   "Connection reset", "Remote end closed connection", "IncompleteRead",
                   "Failed to resolve", "certificate verify failed"):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(exc).__name__

"""A fake Google News on 127.0.0.1: the article page and batchexecute, as the resolver uses them.

It knows articles by id (current-style ids, decodable only by asking it), hands each page a
signature and timestamp, and answers batchexecute only for a well-formed f.req carrying those.
Modes: 429 after N requests (with Retry-After), pages without a signature, a page that redirects
elsewhere, URLs of our choosing in the reply, length-prefixed (chunked) replies. Every request is
logged, so tests can prove what was (and was not) asked.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.localserver import LocalServer
from tracker.resolve.links import encode_google_id

BATCH_PATH = "/_/DotsSplashUi/data/batchexecute"


@dataclass
class Seen:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    ids: list[str] = field(default_factory=list)  # article ids in a batchexecute POST, in order


def current_id(url: str) -> str:
    """A current-style id (an opaque AU_yqL… token inside): only the server can say where it leads."""
    return encode_google_id("AU_yqL" + hashlib.sha256(url.encode()).hexdigest()[:48])


class FakeGoogleNews(LocalServer):
    def __init__(self) -> None:
        self.articles: dict[str, str] = {}  # id -> the URL batchexecute answers
        self.signatures: dict[str, tuple[str, int]] = {}
        self.requests: list[Seen] = []
        self.problems: list[str] = []  # why a POST was refused: a test asserts it stays empty
        self.rate_limit_after: int | None = None  # answer 429 once this many requests were answered
        self.retry_after: str | None = "120"
        self.no_signature: set[str] = set()
        self.page_redirect: str | None = None
        self.chunked = False
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._get(self)

            def do_POST(self) -> None:
                server._post(self)

        super().__init__(Handler)

    def add(self, url: str) -> str:
        """Register a story; returns the Google News link a search feed would carry for it."""
        article_id = current_id(url)
        self.articles[article_id] = url
        self.signatures[article_id] = (f"sig-{article_id[-10:]}", 1_700_000_000 + len(self.signatures))
        return f"{self.base_url}/rss/articles/{article_id}?oc=5"

    def posts(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST"]

    def _limited(self, handler: BaseHTTPRequestHandler) -> bool:
        with self._lock:
            answered = len(self.requests) - 1
        if self.rate_limit_after is not None and answered >= self.rate_limit_after:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            _send(handler, 429, b"Too Many Requests", "text/plain", headers)
            return True
        return False

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(Seen("GET", parts.path, parse_qs(parts.query)))
        if self._limited(handler):
            return
        prefix = "/rss/articles/"
        article_id = parts.path[len(prefix):] if parts.path.startswith(prefix) else ""
        if self.page_redirect:
            _send(handler, 302, b"", "text/plain", {"Location": self.page_redirect})
            return
        if article_id not in self.articles:
            _send(handler, 404, b"not found", "text/plain")
            return
        if article_id in self.no_signature:
            page = b"<html><body><form action='https://consent.example/'>Before you continue</form></body></html>"
        else:
            sig, ts = self.signatures[article_id]
            page = (f'<!doctype html><html><head><title>Google News</title></head><body><c-wiz jsrenderer="x">'
                    f'<div jscontroller="aLI87" data-n-a-sg="{sig}" data-n-a-ts="{ts}" data-n-a-id="{article_id}">'
                    f"</div></c-wiz><script>window.location = 'elsewhere';</script></body></html>").encode()
        _send(handler, 200, page, "text/html; charset=utf-8")

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode())
        seen = Seen("POST", parts.path, parse_qs(parts.query))
        with self._lock:
            self.requests.append(seen)
        if self._limited(handler):
            return
        if parts.path != BATCH_PATH:
            _send(handler, 404, b"not found", "text/plain")
            return
        rows = []
        try:
            (calls,) = json.loads(form["f.req"][0])
            for rpc, inner_text, nothing, request_id in calls:
                assert rpc == "Fbv4je" and nothing is None and isinstance(request_id, str), "envelope"
                verb, context, article_id, ts, sig = json.loads(inner_text)
                assert verb == "garturlreq" and isinstance(context, list) and isinstance(ts, int), "request"
                seen.ids.append(article_id)
                assert self.signatures.get(article_id) == (sig, ts), f"signature for {article_id}"
                payload = json.dumps(["garturlres", self.articles[article_id], 1])
                rows.append(["wrb.fr", "Fbv4je", payload, None, None, None, request_id])
        except (KeyError, ValueError, AssertionError, TypeError) as exc:
            self.problems.append(f"{type(exc).__name__}: {exc}")
            _send(handler, 400, b"bad request", "text/plain")
            return
        rows += [["di", 42], ["af.httprm", 41, "-4912", 7]]
        if self.chunked:
            chunks = [json.dumps([row]) for row in rows]
            body = ")]}'\n" + "".join(f"{len(c)}\n{c}\n" for c in chunks)
        else:
            body = ")]}'\n\n" + json.dumps(rows)
        _send(handler, 200, body.encode(), "application/json; charset=utf-8")


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
          headers: dict[str, str] | None = None) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


@contextmanager
def running_google() -> Iterator[FakeGoogleNews]:
    server = FakeGoogleNews().start()
    try:
        yield server
    finally:
        server.stop()

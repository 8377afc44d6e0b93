"""A real HTTP server on 127.0.0.1 for fetch and ingest tests.

Each test registers routes: a path maps to a Route (status, headers, body, delay,
or a callable for anything stateful). Requests are logged so tests can assert
what the client sent (conditional GET headers, User-Agent).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.localserver import LocalServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/rss+xml"})
    delay_s: float = 0.0  # before the response starts
    drip_s: float = 0.0  # pause between chunks of the body
    etag: str | None = None  # when set, answer If-None-Match with 304
    last_modified: str | None = None
    gzip: bool = False
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


def bad_gzip(handler: BaseHTTPRequestHandler) -> None:
    """Claims gzip, sends bytes that do not inflate: a body that breaks halfway through decoding."""
    body = b"\x1f\x8b\x08\x00garbage-not-deflate" * 50
    handler.send_response(200)
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]
    client_port: int = 0  # the same port twice: the client reused its connection


class FeedServer(LocalServer):
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server.requests.append(SeenRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                   self.client_address[1]))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                if route.delay_s:
                    time.sleep(route.delay_s)
                if route.handler is not None:
                    route.handler(self)
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                    if self.headers.get("If-None-Match") == route.etag:
                        self._send(304, {"ETag": route.etag}, b"")
                        return
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                    if self.headers.get("If-Modified-Since") == route.last_modified and not route.etag:
                        self._send(304, {}, b"")
                        return
                body = route.body
                if route.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self._send(route.status, headers, body, drip_s=route.drip_s)

            def _send(self, status: int, headers: dict[str, str], body: bytes, drip_s: float = 0.0) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if drip_s:
                        for i in range(0, len(body), 16):
                            self.wfile.write(body[i : i + 16])
                            self.wfile.flush()
                            time.sleep(drip_s)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        super().__init__(Handler)

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, route: Route | None = None, **kwargs: object) -> str:
        self.routes[path] = route or Route(**kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def running_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()

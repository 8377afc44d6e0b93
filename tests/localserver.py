"""The one way the tests' fake sites (feeds, Google News) serve: a threaded HTTP server on a free
port of 127.0.0.1, started and stopped alike, its clients' hang-ups kept off the test output."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-body is what several tests do on purpose


class LocalServer:
    """Serves a handler class; subclasses build theirs (closing over themselves) and call this."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = QuietServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

"""A local feed server for benchmarks: the scenario's feeds on 127.0.0.1 only.

Every response waits `latency_s` (default 50 ms, a typical publisher's time to first
byte) before it is sent, 304s included, so concurrency matters as it does on the
internet, and closes its connection, as a thousand publishers on as many hosts would
force (no connection is reused from one feed to the next, for any system measured). Feeds carry an ETag and a Last-Modified and answer conditional GETs with
304; `change(fraction)` publishes new stories on a share of the feeds (new version,
new validators). Bodies are rendered up front so the server spends its CPU on HTTP,
not on generating XML while a system is being measured.

Run on its own (for the multi-worker benchmark or by hand):
    python -m bench.feedserver --feeds 1000 --port 8765
then GET /_change?fraction=0.1 publishes on 10% of the feeds and /_stats counts requests.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bench.scenario import BASE_TIME, Scenario


@dataclass
class _Feed:
    version: int
    body: bytes
    etag: str
    last_modified: str


@dataclass
class Stats:
    full: int = 0  # 200 with a body
    not_modified: int = 0
    per_path: dict[str, int] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # hundreds of workers connect at once; the default 5 drops some


class BenchFeedServer:
    def __init__(self, scenario: Scenario, *, latency_s: float = 0.05, port: int = 0,
                 count_paths: bool = False) -> None:
        self.scenario = scenario
        self.latency_s = latency_s
        self.count_paths = count_paths
        self.stats = Stats()
        self._lock = threading.Lock()
        self._feeds: dict[str, _Feed] = {}
        for i in range(scenario.feeds):
            self._feeds[scenario.feed_path(i)] = self._make(i, 0)
        self.httpd = _Server(("127.0.0.1", port), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="bench-feeds")

    def _make(self, index: int, version: int) -> _Feed:
        modified = BASE_TIME + timedelta(hours=version)
        return _Feed(version, self.scenario.render(index, version), f'"f{index}-v{version}"',
                     format_datetime(modified, usegmt=True))

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def change(self, fraction: float = 0.1, seed: int = 1) -> list[int]:
        """Publish new stories on `fraction` of the feeds; returns their indexes."""
        n = self.scenario.feeds
        chosen = sorted(random.Random(seed).sample(range(n), max(1, round(n * fraction))))
        for i in chosen:
            path = self.scenario.feed_path(i)
            feed = self._make(i, self._feeds[path].version + 1)
            with self._lock:
                self._feeds[path] = feed
        return chosen

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()

    def _count(self, path: str, full: bool) -> None:
        with self._lock:
            if full:
                self.stats.full += 1
            else:
                self.stats.not_modified += 1
            if self.count_paths:
                self.stats.per_path[path] = self.stats.per_path.get(path, 0) + 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/_change":
                    fraction = float(parse_qs(parts.query).get("fraction", ["0.1"])[0])
                    self._send(200, {"Content-Type": "application/json"},
                               json.dumps(server.change(fraction)).encode())
                    return
                if parts.path == "/_stats":
                    s = server.stats
                    self._send(200, {"Content-Type": "application/json"}, json.dumps(
                        {"full": s.full, "not_modified": s.not_modified, "per_path": s.per_path}).encode())
                    return
                feed = server._feeds.get(parts.path)
                time.sleep(server.latency_s)
                if feed is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                validators = {"ETag": feed.etag, "Last-Modified": feed.last_modified}
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if (inm is not None and inm == feed.etag) or (inm is None and ims == feed.last_modified):
                    server._count(parts.path, full=False)
                    self._send(304, validators, b"")
                    return
                server._count(parts.path, full=True)
                self._send(200, {"Content-Type": "application/rss+xml; charset=utf-8", **validators}, feed.body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                # One connection per request: the feeds stand in for a thousand publishers on as
                # many hosts, where no connection could be reused from one feed to the next.
                self.close_connection = True
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Connection", "close")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def start(self) -> BenchFeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving(scenario: Scenario, *, latency_s: float = 0.05, count_paths: bool = False) -> Iterator[BenchFeedServer]:
    server = BenchFeedServer(scenario, latency_s=latency_s, count_paths=count_paths).start()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    server = BenchFeedServer(Scenario(feeds=args.feeds), latency_s=args.latency_ms / 1000, port=args.port,
                             count_paths=True)
    print(f"serving {args.feeds} feeds on {server.base_url}", flush=True)
    with suppress(KeyboardInterrupt):
        server.httpd.serve_forever()


if __name__ == "__main__":
    main()

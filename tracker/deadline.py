"""A deadline for a whole HTTP exchange, not one socket read at a time.

requests' read timeout applies to each read from the socket, so a server that sends its status
line and headers a byte every second never times out. Here one thread keeps a heap of deadlines;
when one passes before its request has its headers, it shuts that request's socket down, and
the blocked read ends at once. The connection pool tells the watch which connection its request
went out on (`WatchedAdapter`).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_RECHECK_S = 0.25  # a deadline that passed before the connection existed looks again this soon


class Watch:
    """One request's deadline and the connection it is on."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.sock: Any = None  # the answer's own socket, once the connection no longer names it
        self.done = False
        self.fired = False
        # Once done, the connection may go back to the pool and carry another request: never cut it then.
        self._lock = threading.Lock()

    def reading(self, response: Any) -> None:
        """The socket `response` (requests') reads its body from. An answer read until the server
        closes (no length) has it only there: http.client hands it over and drops its own."""
        fp = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
        if sock is not None:
            with self._lock:
                self.sock = sock

    def finish(self) -> None:
        with self._lock:
            self.done = True

    def cut(self) -> bool:
        """Shut the connection down (True); False when it has no socket yet (look again later)."""
        with self._lock:
            if self.done:
                return True
            sock = self.sock or getattr(self.connection, "sock", None)
            if sock is None:
                return False
            self.fired = True
            with contextlib.suppress(OSError):  # already closed: the request is over anyway
                sock.shutdown(socket.SHUT_RDWR)
            return True


class _Watchdog:
    def __init__(self) -> None:
        self._due: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, watch: Watch) -> None:
        with self._wake:
            sooner = not self._due or deadline < self._due[0][0]
            heapq.heappush(self._due, (deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            if sooner:  # else the thread already wakes earlier than this deadline: no context switch per fetch
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                if not self._due:
                    self._wake.wait()
                    continue
                deadline, _, watch = self._due[0]
                now = time.monotonic()
                if deadline > now:
                    self._wake.wait(deadline - now)
                    continue
                heapq.heappop(self._due)
                if not watch.cut():
                    heapq.heappush(self._due, (now + _RECHECK_S, next(self._order), watch))


_watchdog = _Watchdog()
_current = threading.local()


@contextmanager
def deadline(at: float) -> Iterator[Watch]:
    """Requests sent through a WatchedAdapter in this block, on this thread, are cut off at `at`
    (time.monotonic()) if still waiting then. `watch.fired` says whether that happened."""
    watch = Watch()
    _current.watch = watch
    _watchdog.arm(at, watch)
    try:
        yield watch
    finally:
        watch.finish()
        _current.watch = None


def cut_off() -> bool:
    """Did this thread's current deadline cut its request off? (Then a retry would be unwatched.)"""
    watch = getattr(_current, "watch", None)
    return watch is not None and watch.fired


class _WatchedHTTPPool(HTTPConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.connection = conn
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(HTTPSConnectionPool, _WatchedHTTPPool):  # HTTPS's TLS set-up, the same request hook
    pass


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, its connection pools telling the current deadline's watch their connection."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

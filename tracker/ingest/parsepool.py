"""Parse and match feed bodies on every core.

feedparser is pure Python (~10 ms for a 30-item feed) and holds the GIL, so one
process parses on one core however many fetch threads it has. Ingest hands bodies
to a small pool of processes instead. This module is what those processes import,
so it stays light: parse and match only, no HTTP, no database (each worker costs
~25 MB, not the ~60 MB the ingest runner's imports would; tracker/ingest/__init__.py
loads its names on first use for this reason).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tracker.errors import ParseError
from tracker.match import Matcher
from tracker.models import MatchedEntry, MatchItem, ParsedEntry
from tracker.normalize import canonical_url, clip_id_for
from tracker.parse import parse_feed


@dataclass(frozen=True)
class ParseOutcome:
    """Parse + match of one body; small and picklable (only matched entries travel back)."""

    matched: tuple[MatchedEntry, ...] = ()
    items_seen: int = 0
    title: str | None = None
    ttl_minutes: int | None = None
    problem: str | None = None
    alert: str | None = None  # ParsedFeed.alert: staff must hear about it
    error: str | None = None  # a ParseError's message (exceptions do not always survive pickling)
    item_dates: tuple[datetime, ...] = ()  # entry dates, for quiet-feed alerts
    match_cpu_s: float = field(default=0.0, compare=False)  # CPU spent matching: a measurement, not a result


def matched_entries(entries: Sequence[ParsedEntry], matcher: Matcher, *, keep_unmatched: bool = False) -> list[MatchedEntry]:
    """Only entries mentioning at least one member or campaign become clips; with keep_unmatched (search
    feeds, `enrich: all`) the others come back too, with no mentions, to have their article read."""
    out: dict[str, MatchedEntry] = {}
    for entry in entries:
        mentions = matcher.match(MatchItem(title=entry.title, summary=entry.summary, content=entry.content))
        if not mentions and not keep_unmatched:
            continue
        canonical = canonical_url(entry.link)
        clip_id = clip_id_for(canonical)
        if clip_id not in out or (mentions and not out[clip_id].mentions):  # the same story twice is one clip
            out[clip_id] = MatchedEntry(entry, canonical, clip_id, tuple(mentions))
    return list(out.values())


def parse_and_match(body: bytes, url: str, content_type: str | None, matcher: Matcher,
                    keep_unmatched: bool = False) -> ParseOutcome:
    try:
        parsed = parse_feed(body, url=url, content_type=content_type)
    except ParseError as exc:
        return ParseOutcome(error=str(exc))
    except Exception as exc:  # a parser surprise is this feed's failure, never the cycle's
        return ParseOutcome(error=f"parser failed: {type(exc).__name__}: {exc}")
    dates = tuple(e.published_at for e in parsed.entries if e.published_at is not None)
    started = time.thread_time()  # this thread's CPU only: other feeds parse beside it
    matched = tuple(matched_entries(parsed.entries, matcher, keep_unmatched=keep_unmatched))
    return ParseOutcome(
        matched=matched, items_seen=len(parsed.entries),
        title=parsed.title, ttl_minutes=parsed.ttl_minutes, problem=parsed.problem, alert=parsed.alert,
        item_dates=dates, match_cpu_s=time.thread_time() - started,
    )


def default_processes() -> int:
    """One parser process per usable core; none (parse in the fetch threads) on a single core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores if cores > 1 else 0


_worker_matcher: Matcher | None = None


def _init_worker(matcher: Matcher, ingest_alive: Any) -> None:
    global _worker_matcher
    _worker_matcher = matcher
    # Ctrl-C reaches the whole process group; ingest decides what stops, and in-flight parses finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_ingest, args=(ingest_alive,), daemon=True, name="exit-with-ingest").start()


def _exit_with_ingest(ingest_alive: Any) -> None:
    """Exit when the ingest process is gone. SIGKILL (the OOM killer, a supervisor's timeout)
    runs no cleanup, and the fork server outlives ingest while its workers live: without
    this, every killed cycle would leave a fork server and a parser per core behind."""
    with suppress(EOFError, OSError):
        ingest_alive.recv()  # nothing is ever sent: returns only by EOF, when ingest's end closes
    os._exit(1)


def _work(body: bytes, url: str, content_type: str | None, keep_unmatched: bool = False) -> ParseOutcome:
    assert _worker_matcher is not None, "parse worker started without a matcher"
    return parse_and_match(body, url, content_type, _worker_matcher, keep_unmatched)


def _ready() -> bool:
    return _worker_matcher is not None


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without re-running the parent's __main__ (the CLI: SQLAlchemy, click…).

    multiprocessing re-imports the main module in every spawned worker; ours need only
    this module, and the re-import costs ~1 s and ~35 MB per worker.
    """
    main = sys.modules["__main__"]
    saved: dict[str, object] = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)
        if "__spec__" not in saved:
            main.__dict__.pop("__spec__", None)


class ParsePool:
    """A process pool that parses and matches; the matcher is sent once per worker, not per feed."""

    def __init__(self, processes: int, matcher: Matcher) -> None:
        # forkserver, not fork: the ingest process has live threads (scheduler, lease renewer,
        # fetchers), and forking those can copy a held lock into the child.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        # Only this process holds the sending end: the workers see EOF when it dies.
        self._ingest_alive, self._alive_end = ctx.Pipe(duplex=False)
        self._executor = ProcessPoolExecutor(max_workers=processes, mp_context=ctx, initializer=_init_worker,
                                             initargs=(matcher, self._ingest_alive))
        with _main_module_hidden():
            # Workers start on demand, one per submit: start them all now, while __main__ is hidden.
            for fut in [self._executor.submit(_ready) for _ in range(processes)]:
                fut.result()

    def submit(self, body: bytes, url: str, content_type: str | None, keep_unmatched: bool = False) -> Future[ParseOutcome]:
        """Raises RuntimeError (BrokenProcessPool is one) when the pool can take no more work."""
        return self._executor.submit(_work, body, url, content_type, keep_unmatched)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._alive_end.close()
        self._ingest_alive.close()


__all__ = ["MatchedEntry", "ParseOutcome", "ParsePool", "default_processes", "matched_entries", "parse_and_match"]

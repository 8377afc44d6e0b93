"""Stand-ins that tests inject instead of patching production code."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tracker.errors import FetchError
from tracker.models import Article, ClipFilter, ClipView, MatchedEntry, StoreOutcome
from tracker.store import Store

# A fixed "now" for tests that only need some time: never today's date, so no test ages.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """A Clock tests move by hand; pass it wherever production code takes `clock=`."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime | None) -> None:
        assert when is not None
        self.now = when

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class StoreCrashingMidFeed(Store):
    """A Store that crashes while storing one feed, as a process dying mid-feed would: the real
    store_entries writes `after` of that feed's entries, then reading the next one raises, inside
    the feed's transaction. Every other feed is stored as usual."""

    def __init__(self, url: str, *, engine: Engine, feed_id: str, after: int) -> None:
        super().__init__(url, engine=engine)
        self.feed_id, self.after = feed_id, after
        self._sessions = threading.local()  # how many sessions this thread has open

    @contextmanager
    def session(self) -> Iterator[Session]:
        self._sessions.open = getattr(self._sessions, "open", 0) + 1
        try:
            with super().session() as s:
                yield s
        finally:
            self._sessions.open -= 1

    def store_entries(self, feed_id: str, entries: Sequence[MatchedEntry], now: datetime) -> StoreOutcome:
        if feed_id == self.feed_id:
            entries = _CrashingEntries(self, entries)
        return super().store_entries(feed_id, entries, now)


class _CrashingEntries(Sequence[MatchedEntry]):
    def __init__(self, store: StoreCrashingMidFeed, entries: Sequence[MatchedEntry]) -> None:
        self.store, self.entries = store, entries

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, i: int) -> MatchedEntry: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[MatchedEntry]: ...
    def __getitem__(self, i: int | slice) -> MatchedEntry | Sequence[MatchedEntry]:
        if isinstance(i, int) and i >= self.store.after:
            # Only a crash inside the transaction, after rows were written, proves anything.
            assert getattr(self.store._sessions, "open", 0) > 0, "entries read outside a transaction"
            raise RuntimeError(f"injected failure after {i} entries")
        return self.entries[i]


class ArticlesByUrl:
    """An ArticleReader serving ready-made Articles (what a page's extraction gave), no network; a url
    it does not know is an HTTP 404. Lets a test hand the store what no real page extraction would."""

    def __init__(self, articles: dict[str, Article]) -> None:
        self.articles = articles
        self.reads: list[str] = []

    def read(self, url: str, session: object = None) -> Article:
        self.reads.append(url)
        if url not in self.articles:
            raise FetchError(f"HTTP 404 ({url})", status=404)
        return self.articles[url]


class StoreReadingBeforeATakedown(Store):
    """The hourly ingest's export, slowed where the race is: it has read the approved clips and not yet
    written them. After its read it tells `read_done` and waits for `go_on` (at most `wait_s`: with the
    exports lock, the other writer cannot get past it until this one has written)."""

    def __init__(self, url: str, *, wait_s: float = 2.0) -> None:
        super().__init__(url)
        self.read_done = threading.Event()
        self.go_on = threading.Event()
        self.wait_s = wait_s

    def all_clips(self, f: ClipFilter = ClipFilter()) -> list[ClipView]:
        clips = super().all_clips(f)
        if not self.read_done.is_set():
            self.read_done.set()
            self.go_on.wait(self.wait_s)
        return clips

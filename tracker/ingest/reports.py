"""What ingest tells its caller: one FeedReport per feed, and the one tally over them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from tracker.syndication import StoriesReport

# FeedReport.skipped of a feed that a stop reached before its fetch: it is still to do.
STOPPED = "stopped"


@dataclass(frozen=True)
class FeedReport:
    feed_id: str
    name: str
    url: str
    ok: bool
    status: int | None = None
    error: str | None = None
    items_seen: int = 0
    matched: int = 0
    new_clips: int = 0
    skipped: str | None = None  # why the feed was not fetched (backoff, disabled, STOPPED)
    not_modified: bool = False
    problem: str | None = None  # parsed, but feedparser found the feed malformed
    articles_queued: int = 0  # items whose article waits to be read (README, "Search coverage")
    alert: str | None = None  # read, but staff must hear about it (ParsedFeed.alert)
    match_cpu_s: float = 0.0

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped

    @property
    def stopped(self) -> bool:
        """Not fetched because the cycle was stopped first (a shared cycle hands it back)."""
        return self.skipped == STOPPED


class RunCounts(TypedDict):
    """The counts an ingest_run row keeps."""

    feeds_ok: int
    feeds_failed: int
    feeds_skipped: int
    items_seen: int
    clips_new: int


@dataclass(frozen=True)
class FeedTally:
    """Counts over reports: of a whole cycle, of one worker's share, of one batch of claims."""

    feeds: tuple[FeedReport, ...]

    @property
    def feeds_ok(self) -> int:
        return sum(1 for f in self.feeds if f.ok and not f.skipped)

    @property
    def feeds_failed(self) -> int:
        return sum(1 for f in self.feeds if f.failed)

    @property
    def feeds_skipped(self) -> int:
        return sum(1 for f in self.feeds if f.skipped)

    @property
    def items_seen(self) -> int:
        return sum(f.items_seen for f in self.feeds)

    @property
    def new_clips(self) -> int:
        return sum(f.new_clips for f in self.feeds)

    @property
    def match_cpu_s(self) -> float:
        return sum(f.match_cpu_s for f in self.feeds)

    def run_counts(self) -> RunCounts:
        return RunCounts(
            feeds_ok=self.feeds_ok, feeds_failed=self.feeds_failed, feeds_skipped=self.feeds_skipped,
            items_seen=self.items_seen, clips_new=self.new_clips,
        )


@dataclass(frozen=True)
class ResolveReport:
    """What one cycle's resolve step did with the queue of search links."""

    resolved: int = 0
    merged: int = 0  # resolved into a clip an outlet's feed had already brought
    failed: int = 0  # given up on
    retry: int = 0  # failed this time, tried again later
    looked_up: int = 0  # requests sent to Google News
    backing_off_until: datetime | None = None
    error: str | None = None  # why the step stopped early (429, the service failing, the database)


@dataclass(frozen=True)
class ArticleReport:
    """What one cycle's article step did with the queue of articles to read."""

    read: int = 0  # articles of stored clips read
    new_clips: int = 0  # search items whose article named someone
    dropped: int = 0  # search items whose readable article names nobody
    unverified: int = 0  # search items kept unread: "unverified: found by the search, article unreadable"
    failed: int = 0  # unreadable (the reason is recorded per item)
    retry: int = 0  # a passing failure (timeout, connection, 429, 5xx): read again in a later cycle
    left: int = 0  # still waiting after this cycle (the budget, or their search link)
    error: str | None = None  # why the step stopped early (the database)

    @property
    def attempted(self) -> int:
        return self.read + self.new_clips + self.dropped + self.unverified + self.failed + self.retry


@dataclass(frozen=True, kw_only=True)
class CycleReport(FeedTally):
    run_id: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    export_error: str | None = None  # the cycle was stored, but settings.exports could not be written
    links: ResolveReport | None = None  # None: the resolve step did not run (stopped cycle)
    articles: ArticleReport | None = None  # None: the article step did not run (stopped cycle)
    stories: StoriesReport | None = None  # None: the stories step did not run (stopped cycle)


__all__ = ["STOPPED", "ArticleReport", "CycleReport", "FeedReport", "FeedTally", "ResolveReport", "RunCounts"]

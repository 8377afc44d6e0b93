"""Multi-worker cycles on PostgreSQL: claims with SKIP LOCKED, no feed twice, dead workers' feeds recovered."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes import FakeClock
from tests.feedserver import FeedServer
from tests.test_enrichment import HTML, page, story
from tests.test_enrichment import make_config as enrich_config
from tests.test_enrichment import rss as article_rss
from tests.test_feed_health import rss as ttl_rss
from tests.test_ingest import make_config, rss
from tracker.clock import system_clock
from tracker.ingest import Ingestor, run_locked_cycle
from tracker.ingest.lease import CYCLE_LEASE
from tracker.ingest.workers import WorkerReport, WorkersUnsupported, run_worker
from tracker.models import Config
from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _feeds(server: FeedServer, n: int, delay_s: float = 0.02) -> list[str]:
    paths = []
    for i in range(n):
        body = rss((f"Good Cause Eviction vote {i}", f"https://paper.example.com/{i}", "Council acts"),
                   (f"Weather {i}", f"https://paper.example.com/w{i}", "Sunny"))
        server.add(f"/feed{i}", body=body, delay_s=delay_s)
        paths.append(f"/feed{i}")
    return paths


def _hits(server: FeedServer, paths: list[str]) -> Counter[str]:
    seen = Counter(r.path for r in server.requests)
    return Counter({p: seen[p] for p in paths})


def _run_workers(config: Config, url: str, count: int, **kwargs: object) -> list[WorkerReport | None]:
    results: list[WorkerReport | None] = [None] * count
    errors: list[BaseException] = []

    def work(i: int) -> None:
        store = Store(url)  # each worker has its own engine and connections, as separate processes would
        try:
            results[i] = run_worker(config, store, owner=f"worker-{i}", **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_three_workers_fetch_every_feed_exactly_once(feed_server: FeedServer, pg_url: str, tmp_path: Path) -> None:
    paths = _feeds(feed_server, 40)
    config = make_config(feed_server, paths, tmp_path)
    Store(pg_url).close()  # migrate once up front, as a deployment would
    results = _run_workers(config, pg_url, 3, batch=3, poll_s=0.05)

    assert set(_hits(feed_server, paths).values()) == {1}  # every feed once, none twice
    reports = [r for r in results if r is not None]
    assert len(reports) == 3 and len({r.cycle_id for r in reports}) == 1  # one shared cycle
    assert sum(len(r.feeds) for r in reports) == 40
    assert sum(1 for r in reports if r.started_cycle) == 1
    assert sum(1 for r in reports if r.closed_cycle) == 1
    assert sum(1 for r in reports if r.feeds) >= 2  # the work really was shared

    store = Store(pg_url)
    try:
        run = store.recent_runs(1)[0]
        assert (run.outcome, run.feeds_ok, run.clips_new, run.items_seen) == ("ok", 40, 40, 80)
        assert len(store.all_clips()) == 40
        assert store.lease_holder(CYCLE_LEASE, system_clock()) is None  # the closing worker released it
    finally:
        store.close()


def test_dead_workers_claims_expire_and_another_worker_takes_them(
    feed_server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    paths = _feeds(feed_server, 12, delay_s=0.0)
    config = make_config(feed_server, paths, tmp_path)
    dead = Store(pg_url)
    try:
        now = system_clock()
        joined = dead.join_shared_cycle(config.all_feeds(), CYCLE_LEASE, timedelta(minutes=5), now,
                                        rejoin_within=timedelta(0), max_age=timedelta(hours=1))
        assert joined is not None
        cycle = joined[0]
        # Claims five feeds with a short expiry, then "dies": never fetches, never renews.
        claimed = dead.claim_feeds(cycle, "dead-worker", 5, timedelta(seconds=1), now)
        assert len(claimed) == 5
    finally:
        dead.close()

    [report] = _run_workers(config, pg_url, 1, batch=4, poll_s=0.1)
    assert report is not None and report.cycle_id == cycle and not report.started_cycle
    assert report.closed_cycle
    assert {f.feed_id for f in report.feeds} == {f.id for f in config.feeds}  # including the dead one's five
    assert set(_hits(feed_server, paths).values()) == {1}


def test_a_late_worker_joins_the_finished_cycle_instead_of_starting_another(
    feed_server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    paths = _feeds(feed_server, 4, delay_s=0.0)
    config = make_config(feed_server, paths, tmp_path)
    first = _run_workers(config, pg_url, 1, poll_s=0.05)[0]
    late = _run_workers(config, pg_url, 1, poll_s=0.05)[0]
    assert first is not None and late is not None
    assert late.already_done and late.cycle_id == first.cycle_id and not late.feeds
    assert set(_hits(feed_server, paths).values()) == {1}
    # With rejoining switched off the next cycle starts, and fetches every feed again.
    [again] = _run_workers(config, pg_url, 1, poll_s=0.05, rejoin_within=timedelta(0))
    assert again is not None and again.cycle_id > first.cycle_id and again.started_cycle
    assert set(_hits(feed_server, paths).values()) == {2}


def test_workers_stand_aside_while_a_single_process_cycle_holds_the_lease(
    feed_server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    config = make_config(feed_server, _feeds(feed_server, 2, delay_s=0.0), tmp_path)
    store = Store(pg_url)
    try:
        assert store.acquire_lease(CYCLE_LEASE, "plain-ingest", timedelta(minutes=5), system_clock())
        assert run_worker(config, store) is None
        store.release_lease(CYCLE_LEASE, "plain-ingest")
        report = run_worker(config, store, poll_s=0.05)
        assert report is not None and report.feeds_ok == 2
        # ...and a plain cycle skips while workers hold the cycle (none open now, so it runs).
        assert run_locked_cycle(config, store) is not None
    finally:
        store.close()


def test_sqlite_refuses_workers(tmp_path: Path, feed_server: FeedServer) -> None:
    config = make_config(feed_server, _feeds(feed_server, 1, delay_s=0.0), tmp_path)
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    try:
        with pytest.raises(WorkersUnsupported, match="PostgreSQL"):
            run_worker(config, store)
    finally:
        store.close()


def test_cli_worker_on_sqlite_falls_back_to_one_process(tmp_path: Path, feed_server: FeedServer) -> None:
    paths = _feeds(feed_server, 2, delay_s=0.0)
    feeds = "\n".join(f"  - url: {feed_server.url(p)}" for p in paths)
    (tmp_path / "feeds.yml").write_text(
        f"feeds:\n{feeds}\ncampaigns:\n  - name: Good Cause Eviction\n    keywords: [Good Cause Eviction]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "--config", str(tmp_path / "feeds.yml"),
         "--db", f"sqlite:///{tmp_path / 't.db'}", "ingest", "--worker", "-q"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "needs PostgreSQL" in result.stderr and "single process" in result.stderr
    assert set(_hits(feed_server, paths).values()) == {1}


def test_cli_workers_share_a_cycle_on_postgres(feed_server: FeedServer, pg_url: str, tmp_path: Path) -> None:
    paths = _feeds(feed_server, 20)
    feeds = "\n".join(f"  - url: {feed_server.url(p)}" for p in paths)
    (tmp_path / "feeds.yml").write_text(f"feeds:\n{feeds}\n")
    Store(pg_url).close()
    cmd = [sys.executable, "-m", "tracker.cli", "--config", str(tmp_path / "feeds.yml"), "--db", pg_url,
           "ingest", "--worker", "-q"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert set(_hits(feed_server, paths).values()) == {1}


def test_workers_read_the_articles_of_an_enrich_all_feed(feed_server: FeedServer, pg_url: str, tmp_path: Path) -> None:
    # `enrich: all` lives in feeds.yml only, not in the feed table a claim is read from.
    base = feed_server.base_url
    feed_server.add("/a/2", body=page("City news", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    feed_server.add("/quiet", body=article_rss(("City news", f"{base}/a/2"), title="Paper"))
    config = enrich_config(feed_server, tmp_path, searches=False,
                           feeds=[{"url": feed_server.url("/quiet"), "enrich": "all"}])
    store, clock = Store(pg_url), FakeClock()
    try:
        report = run_worker(config, store, owner="w1", clock=clock,
                            ingestor=Ingestor(config, store, clock=clock, parse_processes=0))
        assert report is not None and report.closed_cycle
        (clip,) = store.all_clips()
        assert clip.title == "City news" and clip.member_ids == ("kendra-brooks",)
    finally:
        store.close()


def test_workers_poll_a_feed_whose_hint_falls_due_seconds_into_the_cycle(
        feed_server: FeedServer, pg_url: str, tmp_path: Path) -> None:
    """As in one process (tracker.policy.is_due): an hourly <ttl> stored 4 s into a cycle is polled
    by the next hourly cycle; a 15-minute one due 2 minutes after a cycle starts waits (a tenth of
    its interval is 90 s), claimed and set aside for that cycle, not polled twice."""
    feed_server.add("/hourly", body=ttl_rss(ttl=60))
    feed_server.add("/quarter", body=ttl_rss(ttl=15))
    config = make_config(feed_server, ["/hourly", "/quarter"], tmp_path)
    store, clock = Store(pg_url), FakeClock()
    start = clock.now

    def cycle_at(offset: timedelta) -> WorkerReport:
        clock.set(start + offset)
        report = run_worker(config, store, owner="w1", clock=clock, due_only=True, rejoin_within=timedelta(0),
                            ingestor=Ingestor(config, store, clock=clock, parse_processes=0))
        assert report is not None and report.closed_cycle
        return report

    try:
        cycle_at(timedelta(seconds=4))
        assert _hits(feed_server, ["/hourly", "/quarter"]) == Counter({"/hourly": 1, "/quarter": 1})
        cycle_at(timedelta(minutes=13))  # /quarter is due at 15:04, 2 min on: beyond its 90 s
        assert _hits(feed_server, ["/hourly", "/quarter"]) == Counter({"/hourly": 1, "/quarter": 1})
        cycle_at(timedelta(hours=1))
        assert _hits(feed_server, ["/hourly", "/quarter"]) == Counter({"/hourly": 2, "/quarter": 2})
    finally:
        store.close()


def test_workers_poll_a_feed_whose_next_attempt_a_clock_ahead_set(
        feed_server: FeedServer, pg_url: str, tmp_path: Path) -> None:
    """A host's clock ran 30 days ahead for one cycle (NTP set it back): the failing feed's backoff was
    set from it. As in one process (tracker.policy.set_by_a_clock_ahead), the workers poll it now
    instead of leaving it frozen for the size of the jump."""
    from tracker.models import FetchOutcome

    feed_server.add("/f", body=ttl_rss(ttl=60))
    config = make_config(feed_server, ["/f"], tmp_path)
    store, clock = Store(pg_url), FakeClock()
    try:
        store.sync_feeds(config.all_feeds())
        (feed,) = config.feeds
        store.record_fetch(feed.id, FetchOutcome(ok=False, status=500, error="HTTP 500",
                                                 next_attempt_at=clock.now + timedelta(days=30, hours=1)),
                           clock.now + timedelta(days=30))
        report = run_worker(config, store, owner="w1", clock=clock, due_only=True, rejoin_within=timedelta(0),
                            ingestor=Ingestor(config, store, clock=clock, parse_processes=0))
        assert report is not None and report.closed_cycle
        assert _hits(feed_server, ["/f"]) == Counter({"/f": 1})
    finally:
        store.close()


def test_a_failed_closing_step_of_a_shared_cycle_is_written_on_its_run(feed_server: FeedServer, pg_url: str,
                                                                      tmp_path: Path) -> None:
    # The worker closing the cycle runs links, articles and stories: a step's failure must reach
    # `tracker status --check`, as in a one-process cycle.
    from typing import Any

    from tracker.errors import StorageError
    from tracker.health import health_report
    from tracker.store.runs import STEP_FAILED

    class ArticlesUnreachable(Store):
        def due_articles(self, limit: int) -> Any:
            raise StorageError("database error: the article queue is locked")

    paths = _feeds(feed_server, 3)
    config = make_config(feed_server, paths, tmp_path)
    store = ArticlesUnreachable(pg_url)
    try:
        report = run_worker(config, store, owner="worker-0")
        assert report is not None and report.closed_cycle
        (run,) = store.recent_runs(1)
        assert run.error is not None and run.error.startswith(STEP_FAILED) and "article queue is locked" in run.error
        assert "article queue is locked" in (health_report(store, system_clock()).last_run_problem or "")
    finally:
        store.close()


def test_waiting_out_googles_429_is_no_failed_step() -> None:
    from datetime import UTC, datetime

    from tracker.ingest.reports import ArticleReport, ResolveReport
    from tracker.ingest.runner import step_failures

    backing_off = ResolveReport(backing_off_until=datetime(2026, 12, 2, 18, tzinfo=UTC), error="HTTP 429: rate-limited")
    assert step_failures(backing_off, ArticleReport(), None) is None
    broken = ResolveReport(error="resolving links failed: StorageError: database error")
    assert step_failures(broken, ArticleReport(), None) == "a step failed: links: resolving links failed: StorageError: database error"

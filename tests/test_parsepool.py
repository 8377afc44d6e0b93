"""Parsing in a process pool gives exactly what parsing in the fetch threads gives, and no
feed is lost nor process left behind when a parser or ingest itself is killed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, Route
from tests.test_ingest import DATA, make_config, rss
from tracker.errors import StorageError
from tracker.ingest import FeedReport, Ingestor
from tracker.ingest.parsepool import ParsePool, parse_and_match
from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _clips(store: Store) -> list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    return sorted((c.canonical_url, c.member_ids, c.campaign_ids, c.feed_ids) for c in store.all_clips())


def test_pool_and_threads_store_the_same_clips(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = []
    for i in range(6):
        feed_server.add(f"/f{i}", body=(DATA / "city-desk.rss").read_bytes() if i % 2 else rss(
            (f"Good Cause Eviction vote {i}", f"https://paper.example.com/{i}", "Council acts")))
        paths.append(f"/f{i}")
    feed_server.add("/broken", body=b"<html><body>not a feed</body></html>", headers={"Content-Type": "text/html"})
    paths.append("/broken")
    config = make_config(feed_server, paths, tmp_path)
    results = {}
    for mode, processes in (("threads", 0), ("pool", 2)):
        if mode == "pool":
            # The parent's parser now fails: equal results prove the workers parsed, not a fallback.
            def parent_must_not_parse(*args: object) -> object:
                raise AssertionError("parsed in the parent, not in the pool")

            monkeypatch.setattr("tracker.ingest.steps.parse_and_match", parent_must_not_parse)
        store = Store(f"sqlite:///{tmp_path / mode}.db")
        ingestor = Ingestor(config, store, parse_processes=processes)
        ingestor.pool_min_feeds = 1  # use the pool even for this small cycle
        report = ingestor.run_cycle()
        results[mode] = (
            _clips(store), report.new_clips, report.items_seen,
            sorted((f.feed_id, f.ok, (f.error or "")[:20]) for f in report.feeds),
        )
        store.close()
    assert results["pool"] == results["threads"]
    assert results["pool"][1] > 0
    assert any(not ok for _, ok, _ in results["pool"][3])  # the HTML page is an error either way


def test_pool_matches_in_worker_processes() -> None:
    from tracker.match import compile_matcher
    from tracker.models import CampaignConfig, Term

    matcher = compile_matcher((), (CampaignConfig(id="gce", name="GCE", keywords=(Term("Good Cause Eviction"),)),))
    body = rss(("Good Cause Eviction passes", "https://x.example.com/1", "text"), ("Other", "https://x.example.com/2", ""))
    pool = ParsePool(2, matcher)
    try:
        remote = pool.submit(body, "https://x.example.com/feed", None).result(timeout=60)
    finally:
        pool.close()
    assert remote == parse_and_match(body, "https://x.example.com/feed", None, matcher)
    assert [m.clip_id for m in remote.matched] and remote.items_seen == 2


def _parse_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if type(p).__name__ == "ForkServerProcess"]


def test_a_killed_parse_process_costs_no_feed(feed_server: FeedServer, tmp_path: Path) -> None:
    """The OOM killer takes a parser mid-cycle: the bodies it had, and every later one, are parsed here."""
    feed_server.add("/fast", body=rss(("Good Cause Eviction first", "https://paper.example.com/fast", "")))
    paths = ["/fast"]
    for i in range(5):
        feed_server.add(f"/slow{i}", Route(body=rss((f"Good Cause Eviction {i}", f"https://paper.example.com/{i}", "")),
                                           delay_s=1.0))
        paths.append(f"/slow{i}")
    config = make_config(feed_server, paths, tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'kill.db'}")
    ingestor = Ingestor(config, store, parse_processes=2)
    ingestor.pool_min_feeds = 1
    killed: list[int] = []

    def kill_the_parsers(report: FeedReport, done: int, total: int) -> None:
        if not killed:  # the first feed is parsed; the other five are still being fetched
            for proc in _parse_processes():
                assert proc.pid is not None
                os.kill(proc.pid, signal.SIGKILL)
                killed.append(proc.pid)

    report = ingestor.run_cycle(progress=kill_the_parsers)
    assert len(killed) == 2
    assert sorted(f.feed_id for f in report.feeds) == sorted(f.id for f in config.feeds)
    assert all(f.ok for f in report.feeds), [f.error for f in report.feeds]
    assert report.new_clips == 6 and len(store.all_clips()) == 6
    store.close()


_INGEST_THAT_HANGS = textwrap.dedent("""
    import sys
    from tracker.config import parse_config
    from tracker.ingest import Ingestor
    from tracker.store import Store

    base, db, folder = sys.argv[1:4]
    data = {"settings": {"timeout_s": 120}, "feeds": [{"url": f"{base}/{p}"} for p in ("now", "never")]}
    ingestor = Ingestor(parse_config(data, folder + "/feeds.yml", folder), Store(db), parse_processes=2)
    ingestor.pool_min_feeds = 1
    ingestor.run_cycle()
""")


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as fh:
                    kids = {int(k) for k in fh.read().split()}
            except OSError:
                continue
            stack += list(kids - found)
            found |= kids
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the parse processes")
def test_parse_processes_exit_when_ingest_is_killed(feed_server: FeedServer, tmp_path: Path) -> None:
    """SIGKILL runs no cleanup; a scheduler killed now and then for months must not pile up processes."""
    feed_server.add("/now", body=rss(("Good Cause Eviction", "https://x.example.com/1", "")))
    feed_server.add("/never", Route(body=b"", delay_s=60))
    proc = subprocess.Popen([sys.executable, "-c", _INGEST_THAT_HANGS, feed_server.base_url,
                             f"sqlite:///{tmp_path / 'orphan.db'}", str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        tree: set[int] = set()
        while time.monotonic() < deadline:  # /now is parsed by then: the pool is up
            tree = _descendants(proc.pid)
            if len(feed_server.requests) == 2 and len(tree) >= 3:
                break
            time.sleep(0.1)
        assert len(tree) >= 3, tree  # the fork server and two parse processes (and a resource tracker)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in tree if _alive(pid)]


class _StoreFailingToRecordHealth(Store):
    """The database goes away mid-cycle (a restart, a lock held past the busy timeout): recording
    the first batch of fetch results fails, after the fetch threads have filled every parse slot."""

    def record_fetches(self, *args: object, **kwargs: object) -> None:
        time.sleep(1.0)  # meanwhile the fetch threads take every parse slot and wait for more
        raise StorageError("database is locked")


def test_a_database_error_mid_cycle_ends_the_cycle_instead_of_hanging_it(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fetch threads waiting for a parse slot used to wait for good once the loop that frees the
    slots had died; the pool's shutdown then waited for them, so the cycle (and its lease) never
    ended and the error was never reported."""
    paths = []
    for i in range(40):
        feed_server.add(f"/f{i}", body=rss((f"Good Cause Eviction vote {i}", f"https://paper.example.com/{i}", "x")))
        paths.append(f"/f{i}")
    config = make_config(feed_server, paths, tmp_path)
    monkeypatch.setattr("tracker.ingest.runner.HEALTH_FLUSH_S", 0.0)  # record after the first feed
    store = _StoreFailingToRecordHealth(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ingestor = Ingestor(config, store, parse_processes=2)
    ingestor.pool_min_feeds = 1
    ingestor.workers = 16  # more fetch threads than the pool's 8 parse slots
    outcome: list[BaseException | object] = []

    def cycle() -> None:
        try:
            outcome.append(ingestor.run_cycle())
        except BaseException as exc:  # the test reports what came out
            outcome.append(exc)

    worker = threading.Thread(target=cycle, daemon=True)
    worker.start()
    worker.join(timeout=60)
    try:
        assert not worker.is_alive(), "the cycle hung after the database error"
        (result,) = outcome
        assert isinstance(result, StorageError) and "database is locked" in str(result)
    finally:
        store.close()

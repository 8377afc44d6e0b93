"""Parsing in a process pool gives exactly what parsing in the fetch threads gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.test_ingest import DATA, make_config, rss
from tracker.ingest import Ingestor
from tracker.parsepool import ParsePool, parse_and_match
from tracker.store import Store


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

            monkeypatch.setattr("tracker.ingest.parse_and_match", parent_must_not_parse)
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

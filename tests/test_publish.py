"""Configured exports follow ingest and every review action."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.test_ingest import rss
from tracker.config import parse_config
from tracker.demo import seed_store
from tracker.ingest import run_locked_cycle
from tracker.models import ClipEdit, ClipStatus
from tracker.review import clear_position, edit_clip, move_published, set_status
from tracker.store import Store


def test_exports_regenerated_after_ingest_and_review(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/f", body=rss(("Good Cause Eviction win", "https://x.example.com/1", "")))
    config = parse_config(
        {
            "settings": {"exports": [{"format": "json", "path": "out/news.json"}, {"format": "rss", "path": "out/news.xml"}]},
            "feeds": [{"url": feed_server.url("/f")}],
            "campaigns": [{"id": "gce", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
        },
        str(tmp_path / "feeds.yml"),
        tmp_path,
    )
    out = tmp_path / "out" / "news.json"
    report = run_locked_cycle(config, store)
    assert report is not None and report.new_clips == 1
    assert json.loads(out.read_text())["items"] == []  # nothing approved yet, but the file exists
    assert (tmp_path / "out" / "news.xml").exists()

    (clip,) = store.all_clips()
    assert set_status(store, config, [clip.id], ClipStatus.APPROVED, "ana") == 1
    items = json.loads(out.read_text())["items"]
    assert [i["id"] for i in items] == [clip.id]
    assert items[0]["campaigns"] == [{"id": "gce", "name": "Good Cause Eviction"}]

    edit_clip(store, config, clip.id, ClipEdit(headline="Tenants win", image_credit="Photo: A. Person"), "ana")
    assert json.loads(out.read_text())["items"][0]["headline"] == "Tenants win"

    os.utime(out, ns=(10**9, 10**9))  # an old stamp: a rewrite, however quick, would change it
    inode = out.stat().st_ino
    run_locked_cycle(config, store)  # nothing new: the file is not rewritten
    assert out.stat().st_mtime_ns == 10**9 and out.stat().st_ino == inode

    set_status(store, config, [clip.id], ClipStatus.REJECTED, "ana")
    assert json.loads(out.read_text())["items"] == []


def test_generated_at_never_goes_back_when_the_newest_clip_is_unpublished(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    from datetime import timedelta

    from tracker.clock import system_clock

    items = [(f"Good Cause Eviction {i}", f"https://x.example.com/{i}", "") for i in range(2)]
    feed_server.add("/f", body=rss(*items))
    config = parse_config(
        {
            "settings": {"exports": [{"format": "json", "path": "out/news.json"}]},
            "feeds": [{"url": feed_server.url("/f")}],
            "campaigns": [{"id": "gce", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
        },
        str(tmp_path / "feeds.yml"),
        tmp_path,
    )
    run_locked_cycle(config, store)
    older, newer = sorted(store.all_clips(), key=lambda c: c.canonical_url)
    start = system_clock()
    store.set_status([older.id], ClipStatus.APPROVED, "ana", start - timedelta(days=2))
    store.set_status([newer.id], ClipStatus.APPROVED, "ana", start - timedelta(days=1))
    set_status(store, config, [], ClipStatus.APPROVED, "ana")  # regenerate
    out = tmp_path / "out" / "news.json"
    before = json.loads(out.read_text())["generated_at"]
    set_status(store, config, [newer.id], ClipStatus.NEW, "ana")  # unpublish the newest
    after = json.loads(out.read_text())
    assert [i["id"] for i in after["items"]] == [older.id]
    assert after["generated_at"] > before
    os.utime(out, ns=(10**9, 10**9))
    inode = out.stat().st_ino
    set_status(store, config, [], ClipStatus.APPROVED, "ana")  # nothing changed: same bytes
    assert out.stat().st_mtime_ns == 10**9 and out.stat().st_ino == inode


def test_reordering_and_clearing_a_position_reach_the_exports(store: Store, tmp_path: Path) -> None:
    seed_store(store, 80, now=NOW)
    config = parse_config({"settings": {"exports": [{"format": "json", "path": "out/news.json"}]}},
                          str(tmp_path / "feeds.yml"), tmp_path)
    out = tmp_path / "out" / "news.json"
    clock = FakeClock(NOW)
    before = [c for c in store.list_published(30) if not c.featured]
    third = before[2]
    assert move_published(store, config, third.id, -1, "ana", clock=clock)
    after = [c.id for c in store.list_published(30) if not c.featured]
    assert after[:3] == [before[0].id, third.id, before[1].id]
    exported = [i["id"] for i in json.loads(out.read_text())["items"]]
    assert [i for i in exported if i in after[:3]] == after[:3]  # the website shows the staff's order
    assert store.get_clip(third.id).position == 2 and store.history(third.id)[-1].action == "edit"
    assert not move_published(store, config, after[0], -1, "ana", clock=clock)  # already at the top
    assert not move_published(store, config, "no-such-clip", 1, "ana", clock=clock)

    clear_position(store, config, third.id, "ana", clock=clock)
    assert store.get_clip(third.id).position is None
    assert store.history(third.id)[-1].at == NOW

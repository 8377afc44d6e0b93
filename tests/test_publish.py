"""Configured exports follow ingest and every review action."""

from __future__ import annotations

import json
from pathlib import Path

from tests.feedserver import FeedServer
from tests.test_ingest import rss
from tracker.config import parse_config
from tracker.cycle import run_locked_cycle
from tracker.models import ClipEdit, ClipStatus
from tracker.review import edit_clip, set_status
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

    mtime = out.stat().st_mtime_ns
    run_locked_cycle(config, store)  # nothing new: the file is not rewritten
    assert out.stat().st_mtime_ns == mtime

    set_status(store, config, [clip.id], ClipStatus.REJECTED, "ana")
    assert json.loads(out.read_text())["items"] == []

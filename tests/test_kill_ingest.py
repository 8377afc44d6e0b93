"""kill -9 of a real `tracker ingest` at random points: nothing half-stored, no staff edit lost.

On SQLite and PostgreSQL: staff approve, edit and correct a few clips; then a seeded random
series of `python -m tracker.cli ingest` processes is SIGKILLed, each once the local feed
server has answered some of its requests. After every kill the store must pass an integrity
check, hold no partial clip (each clip exactly as a complete reference ingest of the same
feeds stores it, each feed's clips all there or none) and every staff edit as it was left.
A last clean ingest must leave the store equal to the reference. TRACKER_KILL_SEED
reproduces a failing series.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from tests.fakes import FakeClock
from tests.feedserver import FeedServer, Route
from tests.test_export_atomic import leftovers
from tests.test_ingest import REGISTRY
from tests.test_lease import finish, killing, start_tracker, wait_until
from tracker.config import load_config
from tracker.ingest import Ingestor
from tracker.models import ClipEdit, ClipStatus, ClipView
from tracker.review import edit_clip, set_status, set_targets
from tracker.store import Store

SEED = int(os.environ.get("TRACKER_KILL_SEED", "16"))
FEEDS = 10
PER_FEED = 30  # stories per feed; neighbouring feeds share 5, so some clips have two sources
KILLS = 8
EXPORT = "exports/in-the-news.json"

# What each story's text mentions, by story number mod 5 (names only in the description, so a
# changed title never changes a clip's mentions). The last one mentions nobody: not a clip.
TEXTS = (
    "Councilmember Kendra Brooks spoke in Philadelphia.",
    "Nicholas O'Rourke backs Good Cause Eviction.",
    "The House debated HF 3489 on prone restraints.",
    "Kendra Brooks of Philadelphia and Nicholas O'Rourke on Good Cause Eviction and SF 3534.",
    "Weather: sunny, then rain.",
)


def story_link(n: int) -> str:
    return f"https://paper{n % 3}.example.com/2025/story-{n}"


def feed_stories(f: int) -> range:
    return range(f * (PER_FEED - 5), f * (PER_FEED - 5) + PER_FEED)


def feed_body(f: int, version: int) -> bytes:
    items = "".join(
        # A new version of a feed retitles its stories: the stored titles follow, staff headlines stay.
        f"<item><title>Story {n}, version {version}</title>"
        # Tracking parameters are dropped from the canonical URL, kept in the link.
        f"<link>{story_link(n)}?utm_source=rss</link><guid>feed{f}-{n}</guid>"
        f"<description>{TEXTS[n % 5]}</description>"
        f"<pubDate>Mon, 24 Nov 2025 10:{n % 60:02d}:00 GMT</pubDate></item>"
        for n in feed_stories(f)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {f}</title>'
        f"<link>https://paper.example.com/</link><description>d</description>"
        f"<lastBuildDate>{version}</lastBuildDate>{items}</channel></rss>"
    ).encode()


def serve_feeds(server: FeedServer, version: list[int]) -> None:
    def handler_for(f: int) -> Callable[[BaseHTTPRequestHandler], None]:
        def handle(h: BaseHTTPRequestHandler) -> None:
            body = feed_body(f, version[0])
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        return handle

    for f in range(FEEDS):
        # Slow enough that a cycle lasts a second or so and kills land all through it.
        server.add(f"/feed{f}.xml", Route(handler=handler_for(f), delay_s=0.1))


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    data: dict[str, Any] = {
        # No article step: the children run outside the tests' DNS guard and these links name hosts that do
        # not exist; each lookup would be the resolver's time, not the storing this test kills.
        "settings": {"timeout_s": 10, "per_host_limit": 2, "workers": 4, "enrich_per_cycle": 0,
                     "exports": [{"format": "json", "path": EXPORT}]},
        "feeds": [{"id": f"feed-{f}", "url": server.url(f"/feed{f}.xml"), "name": f"Feed {f}"} for f in range(FEEDS)],
        **REGISTRY,
    }
    path = tmp_path / "feeds.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- what is checked after every kill


def integrity_problems(store: Store) -> list[str]:
    """What a crash must never leave: a damaged file, orphans, duplicates, a clip without its matches."""
    problems: list[str] = []
    checks = {
        "clip without a URL": "SELECT id FROM clip WHERE url IS NULL OR url = '' OR canonical_url IS NULL OR canonical_url = ''",
        "mention of a missing clip": "SELECT m.clip_id FROM mention m LEFT JOIN clip c ON c.id = m.clip_id WHERE c.id IS NULL",
        "source of a missing clip": "SELECT s.clip_id FROM clip_source s LEFT JOIN clip c ON c.id = s.clip_id WHERE c.id IS NULL",
        "duplicate clip id": "SELECT id FROM clip GROUP BY id HAVING COUNT(*) > 1",
        "duplicate canonical URL": "SELECT canonical_url FROM clip GROUP BY canonical_url HAVING COUNT(*) > 1",
        "duplicate mention": "SELECT clip_id FROM mention GROUP BY clip_id, kind, target_id HAVING COUNT(*) > 1",
        "feed clip with no mention": "SELECT id FROM clip c WHERE NOT c.manual AND NOT EXISTS "
                                     "(SELECT 1 FROM mention m WHERE m.clip_id = c.id)",
        "feed clip with no source": "SELECT id FROM clip c WHERE NOT c.manual AND NOT EXISTS "
                                    "(SELECT 1 FROM clip_source s WHERE s.clip_id = c.id)",
    }
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            result = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
            if result != ["ok"]:
                problems.append(f"integrity_check: {result[:5]}")
            if fk := list(conn.execute(text("PRAGMA foreign_key_check"))):
                problems.append(f"foreign_key_check: {fk[:5]}")
        for what, sql in checks.items():
            if rows := [r[0] for r in conn.execute(text(sql))]:
                problems.append(f"{what}: {rows[:5]}")
    return problems


def stored(c: ClipView) -> tuple[object, ...]:
    """What any complete ingest decides about a clip (the title follows the feed's latest version)."""
    return c.canonical_url, c.url, c.summary, c.mentions


def staff_part(c: ClipView) -> ClipView:
    """A clip minus what a later ingest may legitimately refresh (feed text, sources, update time, and the
    stories step's placement: a clip's story, outlet and other copies are filled in after it is stored)."""
    return replace(c, title="", summary="", image_url=None, feed_ids=(), source_links=(), updated_at=None,
                   story_id=None, primary=True, also_in=(), outlet_domain=None)


def at_version(store: Store, version: int) -> int:
    """Clips whose title the feeds' current version gave: how far a run has stored."""
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM clip WHERE title LIKE :t"),
                                {"t": f"%, version {version}"}).scalar_one())


def by_feed(clips: list[ClipView]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {f"feed-{f}": set() for f in range(FEEDS)}
    for c in clips:
        for feed_id in c.feed_ids:
            found[feed_id].add(c.id)
    return found


class Expectations:
    def __init__(self, reference: list[ClipView], staff: dict[str, ClipView], history: dict[str, list[Any]],
                 context: str) -> None:
        self.reference = {c.id: c for c in reference}
        self.reference_feeds = by_feed(reference)
        self.staff, self.history, self.context = staff, history, context

    def check(self, store: Store, when: str, *, complete: bool = False) -> None:
        where = f"{self.context}, {when}"
        assert integrity_problems(store) == [], where
        clips = {c.id: c for c in store.all_clips()}
        assert set(clips) <= set(self.reference), f"{where}: clips no complete ingest makes"
        for clip_id, clip in clips.items():
            ref = self.reference[clip_id]
            if clip_id in self.staff:
                assert staff_part(clip) == self.staff[clip_id], f"{where}: staff edit of {clip_id} changed"
                assert store.history(clip_id) == self.history[clip_id], f"{where}: audit trail of {clip_id} changed"
            else:
                assert stored(clip) == stored(ref), f"{where}: clip {clip_id} is partial or wrong"
            assert set(clip.feed_ids) <= set(ref.feed_ids), f"{where}: {clip_id} has sources no feed gives"
        # One transaction per feed: a feed's clips are all stored or none of them.
        for feed_id, ids in by_feed(list(clips.values())).items():
            assert ids in (set(), self.reference_feeds[feed_id]), (
                f"{where}: {feed_id} half stored ({len(ids)} of {len(self.reference_feeds[feed_id])} clips)"
            )
        if complete:
            assert set(clips) == set(self.reference), f"{where}: clips missing after a clean ingest"
            for clip_id, clip in clips.items():
                ref = self.reference[clip_id]
                assert (clip.title, clip.feed_ids) == (ref.title, ref.feed_ids), f"{where}: {clip_id} not up to date"


def stored_more(watcher: Store, version: int, more: int) -> Callable[[], bool]:
    before = at_version(watcher, version)
    return lambda: at_version(watcher, version) - before >= more


def requests_more(server: FeedServer, more: int) -> Callable[[], bool]:
    before = len(server.requests)
    return lambda: len(server.requests) - before >= more


def kill_when(proc: subprocess.Popen[str], progressed: Callable[[], bool], extra_s: float, what: str,
              *, every_s: float = 0.01) -> tuple[bool, int, str]:
    """SIGKILL the child extra_s after it has progressed that far, unless it has finished by then.

    Returns (killed, exit code, stderr).
    """
    with killing(proc):
        wait_until(what, lambda: progressed() or proc.poll() is not None, timeout=30, every_s=every_s)
        time.sleep(extra_s)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        rc, err = finish(proc)
    return killed, rc, err


def staff_edits(store: Store, config_path: Path) -> dict[str, ClipView]:
    """Approve, reject, edit, feature and correct clips of feed 0 as staff would (exports follow)."""
    config = load_config(config_path)
    clock = FakeClock()
    ids = sorted(c.id for c in store.all_clips() if "feed-0" in c.feed_ids)
    a, b, c, d = ids[:4]
    set_status(store, config, [a, d], ClipStatus.APPROVED, "ana", clock=clock)
    edit_clip(store, config, a, ClipEdit(headline="Staff headline", blurb="Staff blurb", image_credit="Staff"), "ana",
              clock=clock)
    set_status(store, config, [b], ClipStatus.REJECTED, "ben", clock=clock)
    before = store.get_clip(c)
    # Take one found match off and attach one the matcher did not find; no ingest may undo either.
    dropped = before.member_ids[:1] if before.member_ids else ()
    set_targets(store, config, c, [m for m in before.member_ids if m not in dropped],
                [*before.campaign_ids, "prone-restraints"] if "prone-restraints" not in before.campaign_ids
                else [i for i in before.campaign_ids if i != "prone-restraints"], "cy", clock=clock)
    edit_clip(store, config, d, ClipEdit(featured=True, position=1, outlet_display="Staff Outlet"), "dee", clock=clock)
    return {i: store.get_clip(i) for i in (a, b, c, d)}


# ---------------------------------------------------------------- the test


def test_kill_9_during_ingest_loses_nothing_and_keeps_staff_edits(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    backend = db_url.split(":", 1)[0]
    rng = random.Random(f"{SEED}-{backend}")
    context = f"seed {SEED} on {backend} (TRACKER_KILL_SEED={SEED} reproduces)"
    version = [0]
    serve_feeds(feed_server, version)
    config_path = write_config(tmp_path, feed_server)
    final_version = (KILLS - 1) // 2

    # Before any kill: three feeds stored cleanly, and staff at work on their clips.
    store = Store(db_url)
    try:
        report = Ingestor(load_config(config_path), store, parse_processes=0).run_cycle(
            feed_ids=["feed-0", "feed-1", "feed-2"])
        assert report.feeds_ok == 3
        staff = staff_edits(store, config_path)
        history = {i: store.history(i) for i in staff}

        version[0] = final_version  # the reference: every feed's last version, stored in one clean run
        reference_store = Store(f"sqlite:///{tmp_path / 'reference.db'}")
        try:
            Ingestor(load_config(config_path), reference_store, parse_processes=0).run_cycle()
            reference = reference_store.all_clips()
        finally:
            reference_store.close()
        assert len(reference) > 150 and any(len(c.feed_ids) == 2 for c in reference)
        expect = Expectations(reference, {i: staff_part(c) for i, c in staff.items()}, history, context)
        expect.check(store, "before any kill")
    finally:
        store.close()

    killed = mid_store = 0  # kills, and those that landed between two of a run's feed transactions
    watcher = Store(db_url)
    try:
        for round_ in range(2 * KILLS):  # a child that finishes before its kill does not count; bounded all the same
            if killed == KILLS:
                break
            # Every other round the feeds change: runs then rewrite every feed, in between they may skip them.
            version[0] = min(round_ // 2, final_version)
            before = at_version(watcher, version[0])
            if before < len(reference) and rng.random() < 0.6:
                # Mid-store: just after one of this run's feed transactions commits, likely inside the next.
                more = rng.randint(1, max(1, len(reference) - before - 1))
                point, progressed = f"{more} more clips at version {version[0]}", stored_more(watcher, version[0], more)
            else:
                # Anywhere from the first fetch to the export after the cycle.
                n = rng.randint(1, FEEDS)
                point, progressed = f"{n} requests", requests_more(feed_server, n)
            extra_s = rng.uniform(0.0, 0.1)
            proc = start_tracker(config_path, db_url, "ingest", "--quiet", "--wait-lock", "--lease-ttl", "0.5")
            was_killed, rc, err = kill_when(proc, progressed, extra_s, f"{context}: round {round_} to reach {point}")
            killed += was_killed
            assert rc in (0, -signal.SIGKILL), f"{context}: round {round_} exited {rc}: {err}"
            store = Store(db_url)
            try:
                mid_store += before < at_version(store, version[0]) < len(reference)
                expect.check(store, f"after kill {round_} ({point} + {extra_s:.2f} s)")
            finally:
                store.close()
    finally:
        watcher.close()
    assert killed == KILLS, f"{context}: only {killed} of {round_ + 1} processes were still running to be killed"
    assert mid_store, f"{context}: no kill landed while a run was storing feeds, so the test proved little"

    proc = start_tracker(config_path, db_url, "ingest", "--quiet", "--wait-lock", "--lease-ttl", "0.5")
    with killing(proc):
        rc, err = finish(proc)
    assert rc == 0, err
    store = Store(db_url)
    try:
        expect.check(store, "after a clean ingest", complete=True)
    finally:
        store.close()
    # A kill during the after-cycle export may leave a temp file; the clean run's export removes it.
    export = tmp_path / EXPORT
    assert leftovers(export.parent) == []

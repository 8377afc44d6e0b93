"""`tracker prune --older-than`: old rejected clips, old runs and dropped feeds go; nothing staff kept does.

SQLite and PostgreSQL; "now" is the injected FakeClock, handed to the CLI as click's obj.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes import NOW, FakeClock
from tracker.cli import cli
from tracker.models import (
    Article,
    ClipStatus,
    FeedConfig,
    FetchOutcome,
    MatchedEntry,
    Mention,
    ParsedEntry,
)
from tracker.normalize import canonical_url, clip_id_for
from tracker.store import Store

OLD = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=30)


def add_clip(store: Store, name: str, feed_id: str, at: datetime) -> str:
    link = f"https://news.example.org/{name}"
    canonical = canonical_url(link)
    entry = ParsedEntry(title=f"Kendra Brooks on {name}", link=link, guid=link, summary="", content="")
    mention = Mention("member", "kendra-brooks", "Kendra Brooks", "title", "Kendra Brooks")
    store.store_entries(feed_id, [MatchedEntry(entry, canonical, clip_id_for(canonical), (mention,))], at)
    return clip_id_for(canonical)


def run(store: Store, at: datetime, outcome: str = "ok") -> int:
    run_id = store.start_run("host:1:1", 1, at)
    if outcome != "running":
        store.finish_run(run_id, outcome=outcome, now=at + timedelta(minutes=1), feeds_ok=1, feeds_failed=0,
                         feeds_skipped=0, items_seen=1, clips_new=1)
    return run_id


@pytest.fixture
def history(store: Store) -> dict[str, str]:
    """Clips, runs and feeds on both sides of a 365-day cutoff."""
    store.sync_feeds([FeedConfig("kept-feed", "https://a.example/rss"), FeedConfig("dropped-feed", "https://b.example/rss"),
                      FeedConfig("dropped-with-clip", "https://c.example/rss")])
    for feed_id in ("kept-feed", "dropped-feed", "dropped-with-clip"):
        store.record_fetch(feed_id, FetchOutcome(ok=True, status=200), OLD)
    clips = {
        "old-rejected": add_clip(store, "old-rejected", "dropped-feed", OLD),
        "old-approved": add_clip(store, "old-approved", "dropped-with-clip", OLD),
        "old-new": add_clip(store, "old-new", "kept-feed", OLD),
        "recently-rejected": add_clip(store, "recently-rejected", "kept-feed", OLD),  # old clip, recent decision
        "new-rejected": add_clip(store, "new-rejected", "kept-feed", RECENT),
    }
    store.set_status([clips["old-rejected"]], ClipStatus.REJECTED, "maria", OLD + timedelta(days=1))
    store.set_status([clips["old-approved"]], ClipStatus.APPROVED, "maria", OLD + timedelta(days=1))
    store.set_status([clips["recently-rejected"]], ClipStatus.REJECTED, "maria", RECENT)
    store.set_status([clips["new-rejected"]], ClipStatus.REJECTED, "maria", RECENT)
    store.sync_feeds([FeedConfig("kept-feed", "https://a.example/rss")])  # the other two leave feeds.yml
    ids = {f"clip:{k}": v for k, v in clips.items()}
    ids["run:old"] = str(run(store, OLD))
    ids["run:recent"] = str(run(store, RECENT))
    ids["run:old-running"] = str(run(store, OLD, outcome="running"))
    return ids


def prune(store: Store, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", store.url, "prune", "--older-than", "365d", *args], obj=FakeClock(NOW))
    assert result.exit_code == 0, result.output
    return result.output


def clip_ids(store: Store) -> set[str]:
    return {c.id for c in store.list_clips(limit=100).clips}


def feed_ids(store: Store) -> set[str]:
    return {f.id for f in store.feed_health(include_inactive=True)}


def test_dry_run_says_what_would_go_and_changes_nothing(store: Store, history: dict[str, str]) -> None:
    before = (clip_ids(store), feed_ids(store), store.recent_runs(10))
    out = prune(store, "--dry-run")
    assert "would remove (dry run), older than 2025-11-24 12:00 UTC" in out
    assert "rejected clips          1  (with 1 mentions and 1 feed sources)" in out
    assert "ingest runs             1" in out and "removed feeds           1" in out
    assert (clip_ids(store), feed_ids(store), store.recent_runs(10)) == before


def test_prune_removes_only_old_rejected_clips_runs_and_dropped_feeds(store: Store, history: dict[str, str]) -> None:
    out = prune(store)
    assert out.startswith("removed, older than 2025-11-24 12:00 UTC")
    remaining = clip_ids(store)
    assert history["clip:old-rejected"] not in remaining
    # Never approved or unreviewed clips, nor one rejected recently or seen recently.
    for kept in ("old-approved", "old-new", "recently-rejected", "new-rejected"):
        assert history[f"clip:{kept}"] in remaining, kept
    runs = {str(r.id) for r in store.recent_runs(10)}
    assert history["run:old"] not in runs
    assert {history["run:recent"], history["run:old-running"]} <= runs  # a running run is never pruned
    # A dropped feed goes; one an approved clip came from stays, as does every configured feed.
    assert feed_ids(store) == {"kept-feed", "dropped-with-clip"}
    # The audit trail is kept, the pruned clip's included, unless asked.
    assert [e.action for e in store.history(history["clip:old-rejected"])] == ["rejected"]
    assert "audit entries           0  (kept;" in out


def test_include_audit_removes_only_entries_of_clips_that_are_gone(store: Store, history: dict[str, str]) -> None:
    out = prune(store, "--include-audit")
    assert "audit entries           1  (of clips that no longer exist)" in out
    assert store.history(history["clip:old-rejected"]) == []
    assert [e.action for e in store.history(history["clip:old-approved"])] == ["approved"]  # old, but its clip lives


def test_include_audit_keeps_the_history_of_outlet_edits(store: Store, history: dict[str, str]) -> None:
    # Outlet edits are audited under no clip: old as they are, they are not a deleted clip's history.
    from sqlalchemy import text

    from tracker.models import OutletEdit

    store.note_outlet_names({"inquirer.com": ("The Inquirer", "feed")})
    store.edit_outlet("inquirer.com", OutletEdit(tier="local"), "maria", NOW - timedelta(days=800))
    prune(store, "--include-audit")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit WHERE action = 'outlet'")).scalar_one() == 1


def test_a_second_prune_finds_nothing(store: Store, history: dict[str, str]) -> None:
    prune(store, "--include-audit")
    out = prune(store, "--include-audit")
    assert "rejected clips          0" in out and "ingest runs             0" in out and "audit entries           0" in out


@pytest.mark.parametrize("age", ["365", "0d", "1y", "soon"])
def test_an_age_must_be_days_or_weeks(tmp_path: Path, age: str) -> None:
    db = f"sqlite:///{tmp_path / 'never-opened.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "prune", "--older-than", age], obj=FakeClock(NOW))
    assert result.exit_code == 2 and "give days or weeks, like 365d or 52w" in result.output
    assert not (tmp_path / "never-opened.db").exists()  # refused before the database is touched


def test_finished_article_reads_go_waiting_ones_stay(store: Store) -> None:
    """The article queue: rows finished before the cutoff go unless a clip remains that they belong to
    (its row says where the item's link led); a row still waiting stays, however old, and so does one
    finished recently."""
    def item(name: str) -> MatchedEntry:
        link = f"https://news.example.org/{name}"
        entry = ParsedEntry(title=f"Story {name}", link=link, guid=link, summary="", content="")
        return MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), ())

    names = ["old-read", "old-dropped", "old-failed", "old-waiting", "recent-failed"]
    store.queue_articles("search", [item(n) for n in names], OLD, search_for="member:kendra-brooks")
    tasks = {t.url.rsplit("/", 1)[-1]: t for t in store.due_articles(10)}
    text = "Kendra Brooks said so. " * 20
    named = Article(url=tasks["old-read"].url, title="Read", outlet="News", image_url=None, published_at=None,
                    description="", text=text)
    mention = Mention("member", "kendra-brooks", "Kendra Brooks", "article", "Kendra Brooks")
    assert store.finish_article(tasks["old-read"], named, [mention], OLD) == "new_clip"
    nobody = replace(named, url=tasks["old-dropped"].url, text="Nothing here. " * 20)
    assert store.finish_article(tasks["old-dropped"], nobody, [], OLD) == "dropped"
    assert store.finish_article(tasks["old-failed"], None, [], OLD, reason="HTTP 403") == "unverified"
    assert store.finish_article(tasks["recent-failed"], None, [], RECENT, reason="HTTP 451") == "unverified"
    before = store.enrich_queue_status()
    assert (before.done, before.dropped, before.failed, before.waiting) == (1, 1, 2, 1)

    assert "article reads           1  (finished" in prune(store, "--dry-run")  # the dropped item's
    assert store.enrich_queue_status() == before
    assert "article reads           1  (finished" in prune(store)
    after = store.enrich_queue_status()
    assert (after.done, after.dropped, after.failed, after.waiting) == (1, 0, 2, 1)
    assert [t.url.rsplit("/", 1)[-1] for t in store.due_articles(10)] == ["old-waiting"]
    assert len(clip_ids(store)) == 3, "the clips the reads made stay (they are not rejected)"
    assert "article reads           0" in prune(store)


# ------------------------------------------------------------------ stories and moved clips (found by review)


def test_a_rejected_storys_untouched_copies_go_with_its_primary(store: Store) -> None:
    from tests.test_stories import config, put_wire
    from tracker import review
    from tracker.syndication import place_new_clips

    cfg = config()
    ids = put_wire(store)
    start = min(store.get_clip(i).first_seen_at for i in ids.values())
    place_new_clips(store, cfg, start + timedelta(hours=5))
    (story_id,) = {store.get_clip(i).story_id for i in ids.values()}
    review.review_story(store, cfg, story_id, ClipStatus.REJECTED, "maria", clock=FakeClock(start + timedelta(days=1)))
    report = store.prune(start + timedelta(days=35))
    assert report.rejected_clips == len(ids) and store.all_clips() == []  # no story left without a primary
    assert store.story_records([story_id]) == {}


def test_a_rejected_storys_copies_staff_tagged_or_corrected_stay(store: Store) -> None:
    from tests.test_stories import config, put_wire
    from tracker import review
    from tracker.models import ClipEdit
    from tracker.syndication import place_new_clips

    cfg = config()
    ids = put_wire(store)
    start = min(store.get_clip(i).first_seen_at for i in ids.values())
    place_new_clips(store, cfg, start + timedelta(hours=5))
    (story_id,) = {store.get_clip(i).story_id for i in ids.values()}
    copies = [i for i in ids.values() if not store.get_clip(i).primary]
    tagged, corrected = copies[:2]
    day = FakeClock(start + timedelta(hours=6))
    review.edit_clip(store, None, tagged, ClipEdit(tags=("keep",)), "maria", clock=day)
    review.set_targets(store, None, corrected, [], ["good-cause"], "maria", clock=day)
    review.review_story(store, cfg, story_id, ClipStatus.REJECTED, "maria", clock=FakeClock(start + timedelta(days=1)))
    store.prune(start + timedelta(days=35))
    assert {c.id for c in store.all_clips()} == {tagged, corrected}
    assert sum(c.primary for c in store.all_clips()) == 1  # the story keeps a primary


def test_a_pruned_clip_coming_back_is_a_story_of_its_own_never_in_its_old_one(store: Store) -> None:
    # The story was named after its first copy X; X rejected and pruned, its feed brings it back. It must
    # not become a second primary of the old, approved story (rejecting it then took the story down).
    from tests.test_stories import COPIES, config, put
    from tracker import review
    from tracker.syndication import place_new_clips

    cfg = config()
    x = put(store, *COPIES[0])
    y = put(store, *COPIES[1])
    start = store.get_clip(x).first_seen_at
    place_new_clips(store, cfg, start + timedelta(hours=5))
    old_story = store.story_of(x)
    assert old_story == x and store.story_of(y) == old_story
    day = FakeClock(start + timedelta(days=1))
    review.switch_primary(store, cfg, y, "maria", clock=day)
    review.review_story(store, cfg, old_story, ClipStatus.APPROVED, "maria", clock=day)
    review.set_status(store, cfg, [x], ClipStatus.REJECTED, "maria", clock=day)
    assert store.prune(start + timedelta(days=35)).rejected_clips == 1
    assert store.story_of(y) == y and store.get_clip(y).primary  # the story is named after a copy left
    put(store, *COPIES[0][:4], 40 * 24)  # the feed still carries X
    place_new_clips(store, cfg, start + timedelta(days=41))
    assert store.story_of(x) != store.story_of(y)
    review.review_story(store, cfg, store.story_of(x) or x, ClipStatus.REJECTED, "ana", clock=FakeClock(start + timedelta(days=41)))
    assert store.get_clip(y).status is ClipStatus.APPROVED and [c.id for c in store.list_published()] == [y]


def test_the_read_that_says_where_a_clip_moved_outlives_prune(store: Store) -> None:
    from tracker.models import Article

    link = "https://news.example.org/amp/story-123"
    entry = ParsedEntry(title="Kendra Brooks story", link=link, guid=link, summary="", content="")
    mention = Mention("member", "kendra-brooks", "Kendra Brooks", "title", "Kendra Brooks")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), (mention,))
    store.store_entries("paper", [item], OLD)
    store.queue_articles("paper", [item], OLD)
    (task,) = store.due_articles(1)
    page = Article(url=link, title="Kendra Brooks story", outlet="News", image_url=None, published_at=None,
                   description="", text="Kendra Brooks said so. " * 20, canonical_url="https://news.example.org/news/story-123")
    store.finish_article(task, page, [mention], OLD)
    (moved,) = store.all_clips()
    assert moved.url == "https://news.example.org/news/story-123"
    store.set_status([moved.id], ClipStatus.APPROVED, "maria", OLD)
    store.prune(NOW - timedelta(days=30))
    outcome = store.store_entries("paper", [item], NOW)  # the feed carries the old link again
    assert outcome.new_clips == 0 and [c.id for c in store.all_clips()] == [moved.id]


def test_old_search_lookups_of_no_clip_and_old_sent_records_go(store: Store) -> None:
    from tracker.store.tables import LinkResolutionRow, NotifyDeliveryRow

    with store.session() as s:
        for key, clip_id in (("https://news.google.com/rss/articles/A", None), ("https://news.google.com/rss/articles/B", None)):
            s.add(LinkResolutionRow(link_key=key, link=key, clip_id=clip_id, state="done", queued_at=OLD, finished_at=OLD,
                                    resolved_url="https://pub.example/a"))
        s.add(LinkResolutionRow(link_key="https://news.google.com/rss/articles/C", link="x", clip_id=None,
                                state="done", queued_at=RECENT, finished_at=RECENT))
        for at in (OLD, RECENT):
            s.add(NotifyDeliveryRow(channel="digest", name="daily", recipient="maria@example.org", item_key=f"s{at:%j}",
                                    status="sent", attempts=1, first_attempt_at=at, last_attempt_at=at, sent_at=at))
    said = prune(store)
    assert "search links            2" in said and "sent records            1" in said
    with store.session() as s:
        assert [r.link_key[-1] for r in s.query(LinkResolutionRow).all()] == ["C"]
        assert [r.last_attempt_at.year for r in s.query(NotifyDeliveryRow).all()] == [RECENT.year]

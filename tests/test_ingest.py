"""Ingest end to end, on SQLite and PostgreSQL, against feeds on a local HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.fakes import NOW, StoreCrashingMidFeed
from tests.feedserver import FeedServer, Route, bad_gzip
from tracker.config import parse_config
from tracker.ingest import Ingestor
from tracker.models import ClipFilter, ClipStatus, Config
from tracker.store import Store

DATA = Path(__file__).parent / "data" / "feeds"

REGISTRY: dict[str, Any] = {
    "members": [
        {"name": "Kendra Brooks", "require_any": ["Philadelphia", "Councilmember"]},
        {"name": "Nicholas O'Rourke"},
    ],
    "campaigns": [
        {"id": "prone-restraints", "name": "Prone restraints", "keywords": ["HF 3489", "SF 3534"]},
        {"id": "good-cause", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]},
    ],
}


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        f"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"
        for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def make_config(server: FeedServer, paths: list[str], tmp_path: Path) -> Config:
    data = {"feeds": [{"url": server.url(p), "name": p.strip("/")} for p in paths], **REGISTRY}
    return parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in ("clip", "mention", "clip_source")}


def test_ingest_creates_clips_with_mentions_and_is_idempotent(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/city", body=(DATA / "city-desk.rss").read_bytes())
    feed_server.add("/state", body=(DATA / "statehouse.atom").read_bytes())
    config = make_config(feed_server, ["/city", "/state"], tmp_path)
    report = Ingestor(config, store).run_cycle()
    assert report.outcome == "ok" and report.feeds_ok == 2
    assert report.items_seen == 5
    assert report.new_clips == 2  # only items that mention someone become clips
    clips = {c.canonical_url: c for c in store.all_clips()}
    council = clips["https://citydesk.example.com/2026/11/20/anti-collusion/"]  # utm_* dropped
    assert council.member_ids == ("kendra-brooks", "nicholas-orourke")
    assert council.status is ClipStatus.NEW
    assert council.image_url == "https://cdn.example.com/img/council-large.jpg"
    mention = next(m for m in council.mentions if m.target_id == "kendra-brooks")
    assert mention.field == "summary" and "Kendra Brooks" in mention.snippet
    prone = clips["https://statehouse.example.org/mn/prone-restraints"]
    assert prone.campaign_ids == ("prone-restraints",)

    before = counts(store)
    again = Ingestor(config, store).run_cycle()
    assert again.new_clips == 0
    assert counts(store) == before  # re-running adds nothing


def test_same_story_in_two_feeds_is_one_clip_with_both_sources(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    story = "Good Cause Eviction passes committee"
    feed_server.add("/a", body=rss((story, "https://paper.example.com/story?utm_source=a", "text")))
    feed_server.add("/b", body=rss((story, "https://PAPER.example.com/story#comments", "more text")))
    config = make_config(feed_server, ["/a", "/b"], tmp_path)
    report = Ingestor(config, store).run_cycle()
    assert report.new_clips == 1
    (clip,) = store.all_clips()
    assert len(clip.feed_ids) == 2
    assert clip.campaign_ids == ("good-cause",)


def test_one_bad_feed_never_stops_the_others(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/good", body=rss(("Good Cause Eviction rally", "https://x.example.com/1", "")))
    feed_server.add("/html", body=b"<!doctype html><html>no</html>", headers={"Content-Type": "text/html"})
    feed_server.add("/500", status=500)
    feed_server.add("/garbage", body=b"\x00\xff\xfe not xml at all")
    config = make_config(feed_server, ["/good", "/html", "/500", "/garbage", "/missing"], tmp_path)
    report = Ingestor(config, store, workers=2).run_cycle()
    assert report.outcome == "partial"
    assert report.feeds_ok == 1 and report.feeds_failed == 4
    assert report.new_clips == 1
    health = {h.name: h for h in store.feed_health()}
    assert health["html"].last_error is not None and "HTML page" in health["html"].last_error
    assert health["500"].last_status == 500 and health["500"].consecutive_failures == 1
    assert health["missing"].last_status == 404
    assert health["good"].last_error is None and health["good"].last_success_at is not None
    runs = store.recent_runs()
    assert runs[0].outcome == "partial" and runs[0].feeds_failed == 4 and runs[0].clips_new == 1


def test_crash_mid_feed_leaves_no_partial_clip_and_next_run_completes(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    items = [(f"Good Cause Eviction story {i}", f"https://x.example.com/{i}", "") for i in range(5)]
    feed_server.add("/feed", body=rss(*items))
    feed_server.add("/other", body=rss(("Kendra Brooks in Philadelphia", "https://y.example.com/1", "")))
    config = make_config(feed_server, ["/feed", "/other"], tmp_path)
    feed_id = config.feeds[0].id
    crashing = StoreCrashingMidFeed(store.url, engine=store.engine, feed_id=feed_id, after=3)  # after 3 rows
    report = Ingestor(config, crashing).run_cycle()
    failed = next(f for f in report.feeds if f.feed_id == feed_id)
    assert not failed.ok and "injected failure" in (failed.error or "")
    assert [c.canonical_url for c in store.all_clips()] == ["https://y.example.com/1"]  # none of the 3
    assert counts(store) == {"clip": 1, "mention": 1, "clip_source": 1}
    # Said on the feed, but the publisher answered: no backoff, it is polled again next cycle.
    health = next(h for h in store.feed_health() if h.id == feed_id)
    assert health.last_error and "storing failed" in health.last_error and health.next_attempt_at is None

    report = Ingestor(config, store).run_cycle()  # the body was not marked as seen: parsed again
    assert report.new_clips == 5
    assert store.count_clips() == 6


def test_staff_edits_and_status_survive_reingest(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    from tracker.models import ClipEdit

    route = Route(body=rss(("Good Cause Eviction vote", "https://x.example.com/1", "first")))
    feed_server.add("/feed", route)
    config = make_config(feed_server, ["/feed"], tmp_path)
    Ingestor(config, store).run_cycle()
    (clip,) = store.all_clips()
    store.set_status([clip.id], ClipStatus.APPROVED, "ana", NOW)
    store.edit_clip(clip.id, ClipEdit(headline="Our headline", blurb="Our blurb"), "ana", NOW)
    route.body = rss(("Good Cause Eviction vote (updated)", "https://x.example.com/1", "second"))
    Ingestor(config, store).run_cycle()
    (after,) = store.all_clips()
    assert after.title == "Good Cause Eviction vote (updated)"  # feed data refreshed
    assert after.display_headline == "Our headline" and after.display_blurb == "Our blurb"  # staff edits kept
    assert after.status is ClipStatus.APPROVED
    assert [h.action for h in store.history(clip.id)] == ["approved", "edit"]


def test_not_modified_feed_costs_no_parse(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/feed", body=rss(("Good Cause Eviction", "https://x.example.com/1", "")), etag='"e1"')
    config = make_config(feed_server, ["/feed"], tmp_path)
    Ingestor(config, store).run_cycle()
    report = Ingestor(config, store).run_cycle()
    (feed,) = report.feeds
    assert feed.ok and feed.not_modified and feed.items_seen == 0
    assert feed_server.hits("/feed")[1].headers.get("if-none-match") == '"e1"'


def test_a_cycle_of_unchanged_feeds_never_compiles_the_matcher(
    feed_server: FeedServer, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Compiling a registry of thousands of names is part of a re-poll's fixed cost; 304s need no matcher.
    feed_server.add("/feed", body=rss(("Good Cause Eviction", "https://x.example.com/1", "")), etag='"e1"')
    config = make_config(feed_server, ["/feed"], tmp_path)
    Ingestor(config, store).run_cycle()

    def refuse(*args: object) -> None:
        raise AssertionError("the matcher was compiled for a cycle that parsed nothing")

    monkeypatch.setattr("tracker.ingest.runner.compile_matcher", refuse)
    assert Ingestor(config, store).run_cycle().feeds[0].not_modified
    feed_server.routes["/feed"] = Route(body=rss(("Good Cause Eviction", "https://x.example.com/2", "")))
    with pytest.raises(AssertionError, match="compiled"):  # a changed feed does need it
        Ingestor(config, store).run_cycle()


def test_filters_and_pagination(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    items = [(f"Good Cause Eviction {i}", f"https://x.example.com/{i}", "") for i in range(7)]
    items.append(("Kendra Brooks, Philadelphia", "https://x.example.com/kb", ""))
    feed_server.add("/feed", body=rss(*items))
    Ingestor(make_config(feed_server, ["/feed"], tmp_path), store).run_cycle()
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_clips(limit=3, cursor=cursor)
        seen += [c.id for c in page.clips]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    assert store.count_clips(ClipFilter(member="kendra-brooks")) == 1
    assert store.count_clips(ClipFilter(campaign="good-cause")) == 7
    assert store.count_clips(ClipFilter(text="eviction 3")) == 1
    assert store.count_clips(ClipFilter(status=ClipStatus.APPROVED)) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_default_sqlite_is_wal_with_foreign_keys(tmp_path: Path, backend: str) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
    store.close()


def test_tag_filters(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    from tracker.models import ClipEdit

    feed_server.add("/mn", body=rss(("Good Cause Eviction in MN", "https://x.example.com/mn", "")))
    feed_server.add("/pa", body=rss(("Good Cause Eviction in PA", "https://x.example.com/pa", "")))
    data = {"feeds": [{"url": feed_server.url("/mn"), "tags": ["mn"]}, {"url": feed_server.url("/pa"), "tags": ["pa"]}],
            **REGISTRY}
    Ingestor(parse_config(data, str(tmp_path / "f.yml"), tmp_path), store).run_cycle()
    assert [c.canonical_url for c in store.all_clips(ClipFilter(feed_tag="mn"))] == ["https://x.example.com/mn"]
    pa = store.all_clips(ClipFilter(feed_tag="pa"))[0]
    store.edit_clip(pa.id, ClipEdit(tags=("housing",)), "ana", NOW)
    assert [c.id for c in store.all_clips(ClipFilter(tag="housing"))] == [pa.id]
    assert store.all_clips(ClipFilter(tag="hous")) == []  # whole tags only
    # LIKE's wildcards and JSON's escapes in a tag are literal: "a_b" is not "axb", a quote is a quote.
    mn = store.all_clips(ClipFilter(feed_tag="mn"))[0]
    store.edit_clip(mn.id, ClipEdit(tags=("a_b", 'say "no"', "50%")), "ana", NOW)
    store.edit_clip(pa.id, ClipEdit(tags=("axb", "50 percent")), "ana", NOW)
    assert [c.id for c in store.all_clips(ClipFilter(tag="a_b"))] == [mn.id]
    assert [c.id for c in store.all_clips(ClipFilter(tag='say "no"'))] == [mn.id]
    assert [c.id for c in store.all_clips(ClipFilter(tag="50%"))] == [mn.id]
    assert store.all_clips(ClipFilter(feed_tag="_a")) == []


def test_health_is_recorded_for_every_feed_when_batched(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """Health rows are written in batches; none may be lost, including the last partial batch."""
    paths = [f"/f{i}" for i in range(12)]
    for p in paths:
        feed_server.add(p, body=rss((f"Good Cause Eviction {p}", f"https://x.example.com{p}", "")), etag=f'"{p}"')
    config = make_config(feed_server, paths, tmp_path)
    Ingestor(config, store, workers=4).run_cycle()
    Ingestor(config, store, workers=4).run_cycle()  # all 304
    health = store.feed_health()
    assert len(health) == 12
    assert all(h.last_status == 304 and h.last_success_at is not None for h in health)
    assert store.count_clips() == 12


def test_popular_target_listing_matches_the_plain_listing(feed_server: FeedServer, tmp_path: Path) -> None:
    """On SQLite a very popular member's clips are listed by walking the sort index; same pages either way."""
    items = [(f"Kendra Brooks, Philadelphia {i}", f"https://x.example.com/{i}", "") for i in range(9)]
    items += [(f"Good Cause Eviction {i}", f"https://y.example.com/{i}", "") for i in range(4)]
    feed_server.add("/feed", body=rss(*items))
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    Ingestor(make_config(feed_server, ["/feed"], tmp_path), store).run_cycle()

    def pages(f: ClipFilter) -> list[list[str]]:
        out, cursor = [], None
        while True:
            page = store.list_clips(f, limit=4, cursor=cursor)
            out.append([c.id for c in page.clips])
            if (cursor := page.next_cursor) is None:
                return out

    plain = pages(ClipFilter(member="kendra-brooks"))
    store.popular_target_rows = 0  # every target counts as popular
    assert pages(ClipFilter(member="kendra-brooks")) == plain
    assert sum(len(p) for p in plain) == 9
    assert store.count_clips(ClipFilter(campaign="good-cause")) == 4
    store.close()


def test_hostile_entries_never_break_a_feed(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """NUL bytes, non-web links and absurdly long URLs are dropped or cleaned; the feed's good items land."""
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Good Cause Eviction ok</title><link>https://x.example.com/ok</link>"
        "<guid>g&#0;1</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"
        "<item><title>Good Cause Eviction js</title><link>javascript:alert(1)</link></item>"
        "<item><title>Good Cause Eviction mail</title><link>mailto:a@b.example</link></item>"
        "<item><title>Good Cause Eviction urn</title><link>urn:uuid:1234</link></item>"
        f"<item><title>Good Cause Eviction long</title><link>https://x.example.com/{'a' * 10000}</link></item>"
        "<item><title>Good Cause Eviction nul&#0;</title><link>https://x.example.com/nul</link>"
        "<description>text with a NUL &#0; inside</description></item>"
        "</channel></rss>"
    ).encode()
    feed_server.add("/f", body=body)
    report = Ingestor(make_config(feed_server, ["/f"], tmp_path), store).run_cycle()
    assert report.feeds_ok == 1, report.feeds[0].error
    urls = sorted(c.canonical_url for c in store.all_clips())
    assert urls == ["https://x.example.com/nul", "https://x.example.com/ok"]


def test_a_broken_body_fails_its_feed_not_the_cycle(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/good", body=rss(("Good Cause Eviction", "https://x.example.com/1", "")))
    feed_server.add("/bad", Route(handler=bad_gzip))
    report = Ingestor(make_config(feed_server, ["/good", "/bad"], tmp_path), store).run_cycle()
    assert report.outcome == "partial" and report.feeds_ok == 1 and report.feeds_failed == 1
    bad = next(h for h in store.feed_health() if h.name == "bad")
    assert bad.last_error is not None and "download failed" in bad.last_error


def test_changing_a_feed_url_starts_it_afresh(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/new", body=rss(("Good Cause Eviction", "https://x.example.com/1", "")))
    old = parse_config({"feeds": [{"url": feed_server.url("/old"), "id": "paper"}], **REGISTRY},
                       str(tmp_path / "f.yml"), tmp_path)
    for _ in range(3):
        Ingestor(old, store).run_cycle()
    (health,) = store.feed_health()
    assert health.consecutive_failures == 3 and health.next_attempt_at is not None
    new = parse_config({"feeds": [{"url": feed_server.url("/new"), "id": "paper"}], **REGISTRY},
                       str(tmp_path / "f.yml"), tmp_path)
    report = Ingestor(new, store).run_cycle(due_only=True)  # as the scheduler runs it
    assert report.feeds_ok == 1 and report.new_clips == 1  # not skipped for the old URL's backoff
    (health,) = store.feed_health()
    assert health.consecutive_failures == 0 and health.last_error is None


def test_future_dates_are_not_believed(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    body = rss(("Good Cause Eviction", "https://x.example.com/1", "")).replace(
        b"Mon, 23 Nov 2026 10:00:00 GMT", b"Fri, 01 Jan 2099 00:00:00 GMT")
    feed_server.add("/f", body=body)
    Ingestor(make_config(feed_server, ["/f"], tmp_path), store).run_cycle()
    (clip,) = store.all_clips()
    assert clip.published_at is not None and clip.published_at.year < 2099  # dated when first seen
    (health,) = store.feed_health()
    assert health.last_new_item_at is not None


def test_a_clip_inserted_by_another_worker_meanwhile_is_merged(store: Store, db_url: str) -> None:
    """Two workers storing the same new story at once: the loser retries and merges, no feed fails."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession

    from tracker.clock import system_clock
    from tracker.models import MatchedEntry, Mention, ParsedEntry
    from tracker.normalize import canonical_url, clip_id_for

    link = "https://x.example.com/race"
    canonical = canonical_url(link)
    item = MatchedEntry(ParsedEntry(title="Good Cause Eviction race", link=link, guid=link, summary="", content=""),
                        canonical, clip_id_for(canonical), (Mention("campaign", "good-cause", "x", "title", "x"),))
    other = Store(db_url)
    fired: list[bool] = []

    def other_worker_wins(session: OrmSession, *args: object) -> None:
        if not fired:
            fired.append(True)
            other.store_entries("feed-b", [item], system_clock())

    event.listen(OrmSession, "before_flush", other_worker_wins)
    try:
        outcome = store.store_entries("feed-a", [item], system_clock())
    finally:
        event.remove(OrmSession, "before_flush", other_worker_wins)
        other.close()
    assert fired and outcome.new_clips == 0  # the other worker created it; we merged
    (clip,) = store.all_clips()
    assert clip.feed_ids == ("feed-a", "feed-b")


def test_a_link_too_long_to_be_a_key_costs_its_item_not_the_feed(feed_server: FeedServer, db_url: str,
                                                                  tmp_path: Path) -> None:
    """900 CJK characters: under 2,000 characters, but 8,100 bytes once percent-encoded, past
    PostgreSQL's 2,704-byte index row. The feed's whole transaction failed there, every poll."""
    slug = "".join(chr(0x4E00 + (i * 37) % 20000) for i in range(900))
    feed_server.add("/f", body=rss(("Councilmember Kendra Brooks speaks", f"https://news.example.cn/a/{slug}", "x"),
                                   ("Councilmember Kendra Brooks votes", "https://news.example.cn/b/ordinary", "x")))
    store = Store(db_url)
    report = Ingestor(make_config(feed_server, ["/f"], tmp_path), store).run_cycle()
    assert report.feeds[0].ok and [c.url for c in store.all_clips()] == ["https://news.example.cn/b/ordinary"]
    store.close()


@pytest.mark.parametrize("own_feed_first", [True, False])
def test_the_publishers_own_feed_names_the_outlet_whichever_feed_came_first(store: Store, own_feed_first: bool) -> None:
    from tests.fakes import NOW
    from tracker.models import FeedConfig, MatchedEntry, Mention, ParsedEntry
    from tracker.normalize import canonical_url, clip_id_for

    store.sync_feeds([FeedConfig(id="inquirer", url="https://www.inquirer.com/arc/outboundfeeds/rss/"),
                      FeedConfig(id="wire", url="https://statehousewire.example/feed")])
    link = "https://www.inquirer.com/politics/brooks-rent-cap.html"
    mention = (Mention("member", "kendra-brooks", "Kendra Brooks", "title", ""),)

    def carry(feed_id: str, name: str) -> None:
        entry = ParsedEntry(title="Brooks on the rent cap", link=link, guid=link, summary="", content="", source_outlet=name)
        store.store_entries(feed_id, [MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), mention)], NOW)

    order = [("inquirer", "The Philadelphia Inquirer"), ("wire", "Statehouse Wire")]
    for feed_id, name in order if own_feed_first else reversed(order):
        carry(feed_id, name)
    (clip,) = store.all_clips()
    assert clip.outlet == "The Philadelphia Inquirer"

"""Configured exports follow ingest and every review action."""

from __future__ import annotations

import email.utils
import json
import os
from datetime import timedelta
from pathlib import Path

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.test_ingest import rss
from tests.test_search import add
from tracker.config import parse_config
from tracker.demo import seed_store
from tracker.ingest import run_locked_cycle
from tracker.models import (
    ClipEdit,
    ClipFilter,
    ClipStatus,
    ClipView,
    MatchedEntry,
    Mention,
    ParsedEntry,
    StoryPlacement,
)
from tracker.normalize import canonical_url, clip_id_for
from tracker.review import (
    clear_position,
    edit_clip,
    move_published,
    move_published_to,
    publish_warnings,
    set_status,
    status_undo,
    undo,
)
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
    # `tracker export` writes what the automatic export wrote, generated_at included.
    import yaml
    from click.testing import CliRunner

    from tracker.cli import cli

    (tmp_path / "feeds.yml").write_text(yaml.safe_dump({"feeds": [{"url": feed_server.url("/f")}]}), encoding="utf-8")
    db = store.engine.url.render_as_string(hide_password=False)
    manual = CliRunner().invoke(cli, ["--config", str(tmp_path / "feeds.yml"), "--db", db, "export", "--format", "json",
                                      "--out", "-"])
    assert manual.exit_code == 0, manual.output
    assert json.loads(manual.stdout)["generated_at"] == after["generated_at"]
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


def _website(store: Store) -> list[str]:
    """The website's whole order, read independently of the store's paging."""
    from tracker.export import select_for_export

    return [c.id for c in select_for_export(store.all_clips(ClipFilter(status=ClipStatus.APPROVED)))]


def test_published_page_numbers_clips_as_the_website_orders_them(store: Store) -> None:
    seed_store(store, 200, now=NOW)
    website = _website(store)
    first = store.published_page(offset=0, limit=25)
    second = store.published_page(offset=25, limit=25)
    assert first.total == first.published == len(website) > 50
    assert [c.id for c in first.clips + second.clips] == website[:50]
    assert first.numbers + second.numbers == tuple(range(1, 51))
    assert first.featured == sum(store.get_clip(i).featured for i in website)
    # a search keeps each hit's place on the whole website
    hits = store.published_page(ClipFilter(text="eviction"), limit=500)
    assert 0 < hits.total < len(website) and hits.published == len(website)
    assert [website[n - 1] for n in hits.numbers] == [c.id for c in hits.clips]
    assert all("eviction" in (c.title + c.summary).lower() for c in hits.clips)


def test_moving_across_a_page_boundary_and_undoing_it(store: Store, tmp_path: Path) -> None:
    seed_store(store, 200, now=NOW)
    config = parse_config({"settings": {"exports": [{"format": "json", "path": "out/news.json"}]}},
                          str(tmp_path / "feeds.yml"), tmp_path)
    clock = FakeClock(NOW)
    before = _website(store)
    featured = store.published_page(limit=1).featured
    # the 30th unfeatured clip, last on a page of 30, moves down past the boundary
    clip_id = before[featured + 29]
    record = move_published(store, config, clip_id, 1, "ana", clock=clock)
    after = _website(store)
    assert record and after.index(clip_id) == featured + 30
    assert after[featured + 29] == before[featured + 30]
    exported = [i["id"] for i in json.loads((tmp_path / "out" / "news.json").read_text())["items"]]
    assert exported == after
    assert undo(store, config, record, "ana", clock=clock).changed > 0
    assert _website(store) == before
    assert store.history(clip_id)[-1].user == "ana"


def test_move_to_a_place_by_number(store: Store) -> None:
    seed_store(store, 200, now=NOW)
    before = _website(store)
    featured = store.published_page(limit=1).featured
    last = before[-1]
    record = move_published_to(store, None, last, featured + 3, "ana", clock=FakeClock(NOW))
    after = _website(store)
    assert record and after.index(last) == featured + 2
    assert [i for i in after if i != last] == before[:-1]  # nothing else changed order
    # an unfeatured clip asked to go to place 1 stops below the featured ones
    assert move_published_to(store, None, last, 1, "ana", clock=FakeClock(NOW))
    assert _website(store).index(last) == featured
    assert move_published_to(store, None, last, 1, "ana", clock=FakeClock(NOW)) is None  # already there
    assert move_published_to(store, None, "no-such-clip", 1, "ana") is None


def test_moving_among_tied_positions_moves_only_the_two_clips(store: Store) -> None:
    # Ties are easy to make: two clips given "1" in the editor, a clip keeping its place when
    # unpublished and approved again. A move renumbers every clip that would tie into the new order.
    seed_store(store, 60, now=NOW)
    featured = store.published_page(limit=1).featured
    ids = _website(store)[featured:featured + 5]
    for clip_id in ids[:4]:
        store.edit_clip(clip_id, ClipEdit(position=1), "ana", NOW)
    tied = _website(store)[featured:featured + 5]
    assert set(tied[:4]) == set(ids[:4])
    assert move_published(store, None, tied[1], -1, "ana", clock=FakeClock(NOW))
    assert _website(store)[featured:featured + 5] == [tied[1], tied[0], *tied[2:]]
    assert move_published(store, None, tied[2], 1, "ana", clock=FakeClock(NOW))
    assert _website(store)[featured:featured + 5] == [tied[1], tied[0], tied[3], tied[2], tied[4]]


def test_the_published_list_is_what_the_website_shows(store: Store) -> None:
    # Approved but not on the website: a clip whose search link is not resolved yet, and a second
    # approved copy of a story (the website shows one per story). Numbers and moves follow the website.
    a = add(store, "a", "Clip a", at=NOW - timedelta(hours=1))
    copy = add(store, "copy", "Clip a, syndicated", at=NOW - timedelta(hours=2))
    b = add(store, "b", "Clip b", at=NOW - timedelta(hours=3))
    link = "https://news.google.com/rss/articles/CBMiXYZ"
    entry = ParsedEntry(title="Waiting for its link", link=link, guid=link, summary="", content="", source_outlet="P")
    waiting = clip_id_for(canonical_url(link))
    store.store_entries("search", [MatchedEntry(entry, canonical_url(link), waiting, (
        Mention("member", "kendra-brooks", "Kendra Brooks", "title", "Kendra Brooks"),), search_link=link, resolved=False)], NOW)
    store.place_clips([StoryPlacement(a, a, "news.example.org", new_story=True),
                       StoryPlacement(copy, a, "other.example.org")], NOW)
    store.set_status([a, copy, b, waiting], ClipStatus.APPROVED, "ana", NOW)
    website = _website(store)
    assert website == [a, b]
    page = store.published_page()
    assert page.published == page.total == 2 and [c.id for c in page.clips] == website and page.numbers == (1, 2)
    assert [c.id for c in store.list_published()] == website
    assert store.published_place(copy) is None and store.published_place(waiting) is None  # not on the website
    # "Up" on b passes a, not the hidden copy between them.
    assert move_published(store, None, b, -1, "ana", clock=FakeClock(NOW))
    assert _website(store) == [b, a] == [c.id for c in store.published_page().clips]
    assert move_published_to(store, None, a, 1, "ana", clock=FakeClock(NOW))
    assert _website(store) == [a, b]
    # A story whose primary is not approved stands in with its first approved copy, as the export does.
    p2, c2, c3 = (add(store, n, f"Story two, {n}", at=NOW - timedelta(hours=h)) for n, h in (("p2", 4), ("c2", 5), ("c3", 6)))
    store.place_clips([StoryPlacement(p2, p2, "x.example.org", new_story=True), StoryPlacement(c2, p2, "y.example.org"),
                       StoryPlacement(c3, p2, "z.example.org")], NOW)
    store.set_status([c2, c3], ClipStatus.APPROVED, "ana", NOW)
    assert _website(store) == [a, b, c2] == [c.id for c in store.published_page().clips]


def test_undo_restores_each_clips_own_status(store: Store) -> None:
    seed_store(store, 60, now=NOW)
    new = store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=2).clips
    rejected = store.list_clips(ClipFilter(status=ClipStatus.REJECTED), limit=1).clips
    ids = [c.id for c in new + rejected]
    record = status_undo(store, ids, ClipStatus.APPROVED)
    assert set_status(store, None, ids, ClipStatus.APPROVED, "ana", clock=FakeClock(NOW)) == 3
    assert undo(store, None, record, "ana", clock=FakeClock(NOW)).changed == 3
    assert [store.get_clip(i).status for i in ids] == [ClipStatus.NEW, ClipStatus.NEW, ClipStatus.REJECTED]
    assert [h.action for h in store.history(ids[2])][-2:] == ["approved", "rejected"]
    already = store.list_clips(ClipFilter(status=ClipStatus.APPROVED), limit=1).clips[0]
    assert not status_undo(store, [already.id], ClipStatus.APPROVED)  # nothing to take back


def test_publish_warnings(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tracker.models import Mention

    with_exports = parse_config({"settings": {"exports": [{"format": "html", "path": "x.html"}]}},
                                str(tmp_path / "feeds.yml"), tmp_path)
    csv_only = parse_config({"settings": {"exports": [{"format": "csv", "path": "x.csv"}]}},
                            str(tmp_path / "feeds.yml"), tmp_path)
    bare = ClipView(id="a", url="https://x.example/a", canonical_url="https://x.example/a", title="T", summary="",
                    outlet="X", published_at=None, first_seen_at=datetime(2026, 1, 1, tzinfo=UTC),
                    status=ClipStatus.NEW, image_url=None)
    assert len(publish_warnings(with_exports, bare)) == 2
    assert publish_warnings(csv_only, bare) == ["it names no member and no campaign"]
    good = ClipView(**{**vars(bare), "summary": "Okafor spoke.",
                       "mentions": (Mention(kind="member", target_id="okafor", term="Okafor", field="summary",
                                            snippet="Okafor spoke.", start=0, end=6),)})
    assert publish_warnings(with_exports, good) == []
    assert publish_warnings(None, replace_blurb(good)) == []


def replace_blurb(clip: ClipView) -> ClipView:
    from dataclasses import replace

    return replace(clip, summary="", blurb=None)


# ------------------------------------------------------------------ undo never overwrites a colleague (found by review)


def test_undo_leaves_a_clip_a_colleague_decided_since_as_they_left_it(store: Store) -> None:
    from tracker.models import Actor, Role
    from tracker.review import sealed, status_undo, undo

    ana, sam = Actor("ana", Role.EDITOR), Actor("sam", Role.EDITOR)
    seed_store(store, 60, now=NOW)
    x, y = _website(store)[3:5]
    record = status_undo(store, [x, y], ClipStatus.NEW)
    set_status(store, None, [x, y], ClipStatus.NEW, ana, clock=FakeClock(NOW))  # ana unpublishes two
    record = sealed(store, record)
    set_status(store, None, [x], ClipStatus.REJECTED, sam, clock=FakeClock(NOW))  # sam then rejects one
    result = undo(store, None, record, ana, clock=FakeClock(NOW))
    assert result.changed == 1 and result.left_alone == (x,)
    assert store.get_clip(x).status is ClipStatus.REJECTED and store.get_clip(y).status is ClipStatus.APPROVED


def test_undoing_a_move_moves_the_clip_back_and_keeps_a_colleagues_move_since(store: Store) -> None:
    from tracker.review import undo

    seed_store(store, 60, now=NOW)
    featured = store.published_page(limit=1).featured
    store.set_positions([(i, None) for i in _website(store)], "setup", NOW)
    rest = _website(store)[featured:]
    moved = rest[3]
    record = move_published_to(store, None, moved, featured + 1, "ana", clock=FakeClock(NOW))  # 4th to the top
    assert record is not None and record.moved == (moved, featured + 4)
    sams = _website(store)[featured:][5]
    move_published(store, None, sams, -1, "sam", clock=FakeClock(NOW))  # the 6th up one place
    result = undo(store, None, record, "ana", clock=FakeClock(NOW))
    after = _website(store)[featured:]
    assert result.changed > 0 and after.index(moved) == 3  # back at its place
    assert after.index(sams) == 4  # sam's clip where sam put it, not at the top
    assert [i for i in after if i not in (moved, sams)][:6] == [i for i in rest if i not in (moved, sams)][:6]


def test_clip_versions_and_positions_are_read_in_chunks(store: Store) -> None:
    # PostgreSQL takes at most 65,535 parameters a statement; a move near the end of a long published
    # list renumbers every clip above it.
    seed_store(store, 30, now=NOW)
    ids = _website(store)
    asked = [*ids, *(f"missing{i}" for i in range(70_000))]
    assert set(store.clip_versions(asked)) == set(ids)
    store.set_positions([(i, n) for n, i in enumerate(ids, start=1)], "setup", NOW)
    assert [store.get_clip(i).position for i in ids] == list(range(1, len(ids) + 1))


def test_undoing_a_move_nobody_followed_puts_every_position_back(store: Store) -> None:
    # A move pins the clips above the old place (positions 1..k); undone, none stays pinned, so a clip
    # approved afterwards comes first, as it would had the move never been made.
    from tracker.review import undo

    ids = [add(store, f"a{i}", f"Kendra Brooks story {i}", at=NOW + timedelta(minutes=i)) for i in range(8)]
    set_status(store, None, ids, ClipStatus.APPROVED, "ana", clock=FakeClock(NOW))
    before = _website(store)
    record = move_published_to(store, None, before[5], 1, "ana", clock=FakeClock(NOW))
    assert record is not None
    result = undo(store, None, record, "ana", clock=FakeClock(NOW))
    assert _website(store) == before and [store.get_clip(i).position for i in before] == [None] * 8
    assert result.changed == len(record.positions)
    fresh = add(store, "fresh", "Kendra Brooks newest story", at=NOW + timedelta(hours=5))
    set_status(store, None, [fresh], ClipStatus.APPROVED, "ana", clock=FakeClock(NOW))
    assert _website(store)[0] == fresh


def test_undoing_a_move_leaves_the_clip_where_a_colleague_put_it_since(store: Store) -> None:
    from tracker.review import undo

    ids = [add(store, f"a{i}", f"Kendra Brooks story {i}", at=NOW + timedelta(minutes=i)) for i in range(8)]
    set_status(store, None, ids, ClipStatus.APPROVED, "ana", clock=FakeClock(NOW))
    x = _website(store)[5]
    record = move_published_to(store, None, x, 1, "ana", clock=FakeClock(NOW))
    assert record is not None
    move_published_to(store, None, x, 3, "sam", clock=FakeClock(NOW))  # sam puts it third
    result = undo(store, None, record, "ana", clock=FakeClock(NOW))
    assert result.left_alone == (x,) and result.changed == 0 and _website(store).index(x) == 2


def test_an_export_that_read_before_a_takedown_never_lands_after_it(store: Store, tmp_path: Path) -> None:
    """The hourly ingest reads the approved clips; staff take one down and the dashboard writes the
    files; the ingest's export, slower, wrote last and put the clip back on the website for an hour.
    Reading and writing under one lock, the last writer is the last reader."""
    import threading

    from tests.fakes import StoreReadingBeforeATakedown
    from tracker.publish import regenerate_exports

    config = parse_config({"settings": {"exports": [{"format": "json", "path": "out/news.json"}]}},
                          str(tmp_path / "feeds.yml"), tmp_path)
    taken_down = add(store, "a", "Kendra Brooks on rents")
    kept = add(store, "b", "Kendra Brooks on transit")
    store.set_status([taken_down, kept], ClipStatus.APPROVED, "ana", NOW)
    ingest = StoreReadingBeforeATakedown(store.engine.url.render_as_string(hide_password=False))
    try:
        writer = threading.Thread(target=regenerate_exports, args=(config, ingest))
        writer.start()
        assert ingest.read_done.wait(10)
        set_status(store, config, [taken_down], ClipStatus.REJECTED, "ana", clock=FakeClock(NOW))  # writes too
        ingest.go_on.set()
        writer.join(10)
    finally:
        ingest.close()
    items = json.loads((tmp_path / "out" / "news.json").read_text())["items"]
    assert [i["id"] for i in items] == [kept]
    assert (tmp_path / "out" / ".media-tracker-exports.lock").exists()


def test_a_state_export_lists_the_clips_of_that_states_feeds(store: Store, tmp_path: Path) -> None:
    """feeds.yml's tags are its feeds' (`tags: [pa]`); an export with `tag: pa` had matched staff tags
    only, and wrote an empty page for the state while the dashboard's tag filter showed its clips."""
    from tracker.models import ClipFilter

    config = parse_config({
        "settings": {"exports": [{"format": "json", "path": "out/pa.json", "tag": "pa"}]},
        "feeds": [{"url": "https://paper.example.org/rss", "id": "paper", "tags": ["pa"]},
                  {"url": "https://other.example.org/rss", "id": "other", "tags": ["tx"]}],
    }, str(tmp_path / "feeds.yml"), tmp_path)
    from_pa = add(store, "a", "Kendra Brooks on rents")  # stored from feed "paper"
    store.set_status([from_pa], ClipStatus.APPROVED, "ana", NOW)
    store.sync_feeds(config.all_feeds())
    assert [c.id for c in store.all_clips(ClipFilter(any_tag="pa"))] == [from_pa]  # the dashboard's view
    set_status(store, config, [], ClipStatus.APPROVED, "ana", clock=FakeClock(NOW))  # regenerate
    assert [i["id"] for i in json.loads((tmp_path / "out" / "pa.json").read_text())["items"]] == [from_pa]
    config_tx = parse_config({
        "settings": {"exports": [{"format": "json", "path": "out/tx.json", "tag": "tx"}]},
        "feeds": [{"url": "https://paper.example.org/rss", "id": "paper", "tags": ["pa"]},
                  {"url": "https://other.example.org/rss", "id": "other", "tags": ["tx"]}],
    }, str(tmp_path / "feeds.yml"), tmp_path)
    set_status(store, config_tx, [], ClipStatus.APPROVED, "ana", clock=FakeClock(NOW))
    assert json.loads((tmp_path / "out" / "tx.json").read_text())["items"] == []


def test_each_files_time_is_its_own_and_never_goes_back(store: Store, tmp_path: Path) -> None:
    """A takedown elsewhere rewrote every file with the site's takedown time (a member file that never
    had a clip said 2027 instead of 1970), and a clip leaving a campaign's file took its time back."""
    from tracker.models import ClipEdit
    from tracker.review import edit_clip, set_targets

    config = parse_config({
        "settings": {"exports": [{"format": "json", "path": "out/all.json"},
                                 {"format": "rss", "path": "out/gce.xml", "campaign": "gce"},
                                 {"format": "json", "path": "out/gce.json", "campaign": "gce"},
                                 {"format": "json", "path": "out/nobody.json", "member": "nobody"}]},
        "members": [{"name": "Kendra Brooks"}, {"id": "nobody", "name": "Nemo Nobody"}],
        "campaigns": [{"id": "gce", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
    }, str(tmp_path / "feeds.yml"), tmp_path)
    out = tmp_path / "out"
    clock = FakeClock(NOW)
    older, newer, elsewhere = (add(store, n, f"Kendra Brooks on {n}") for n in ("a", "b", "c"))
    set_targets(store, config, older, member_ids=["kendra-brooks"], campaign_ids=["gce"], user="ana", clock=clock)
    clock.advance(hours=1)
    set_targets(store, config, newer, member_ids=["kendra-brooks"], campaign_ids=["gce"], user="ana", clock=clock)
    set_status(store, config, [older, newer, elsewhere], ClipStatus.APPROVED, "ana", clock=clock)

    def stamps() -> dict[str, str]:
        return {"gce": json.loads((out / "gce.json").read_text())["generated_at"],
                "nobody": json.loads((out / "nobody.json").read_text())["generated_at"],
                "rss": (out / "gce.xml").read_text().split("<lastBuildDate>")[1].split("<")[0]}

    before = stamps()
    assert before["nobody"] == "1970-01-01T00:00:00Z"
    for name in ("gce.json", "gce.xml", "nobody.json"):
        os.utime(out / name, ns=(10**9, 10**9))
    clock.advance(days=1)
    set_status(store, config, [elsewhere], ClipStatus.REJECTED, "ana", clock=clock)  # in all.json only
    assert stamps() == before
    assert all((out / n).stat().st_mtime_ns == 10**9 for n in ("gce.json", "gce.xml", "nobody.json"))
    # The newest campaign clip leaves the campaign: the file changes, and its time moves on, not back.
    clock.advance(days=1)
    edit_clip(store, config, newer, ClipEdit(headline="Kendra Brooks on b, edited"), "ana", clock=clock)
    edited = stamps()
    assert edited["gce"] > before["gce"]
    clock.advance(days=1)
    set_targets(store, config, newer, member_ids=["kendra-brooks"], campaign_ids=[], user="ana", clock=clock)
    after = stamps()
    assert [i["id"] for i in json.loads((out / "gce.json").read_text())["items"]] == [older]
    assert after["gce"] > edited["gce"]
    assert after["nobody"] == "1970-01-01T00:00:00Z"
    rss_times = [email.utils.parsedate_to_datetime(s["rss"]) for s in (before, edited, after)]
    assert rss_times == sorted(rss_times) and rss_times[2] > rss_times[1]


def test_a_first_export_folder_that_cannot_be_made_leaves_the_others_written(store: Store, tmp_path: Path) -> None:
    """The lock lives in the first export's folder; one that cannot be made (a file in its place) must not
    stop the other files, as each target failing on its own never did."""
    import pytest

    from tracker.errors import ExportError
    from tracker.publish import regenerate_exports

    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    config = parse_config({"settings": {"exports": [{"format": "json", "path": "afile/site.json"},
                                                    {"format": "json", "path": "ok/all.json"}]}},
                          str(tmp_path / "feeds.yml"), tmp_path)
    clip = add(store, "a", "Kendra Brooks on rents")
    store.set_status([clip], ClipStatus.APPROVED, "ana", NOW)
    with pytest.raises(ExportError, match="afile"):
        regenerate_exports(config, store)
    assert [i["id"] for i in json.loads((tmp_path / "ok" / "all.json").read_text())["items"]] == [clip]

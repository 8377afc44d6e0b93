"""Search links resolved across ingest cycles, against a fake Google News on 127.0.0.1: the two requests,
the queue kept in the database and worked in staff's order, the throttle, the back-off after a 429, the
late merge into an outlet's clip (SQLite and PostgreSQL), and the SSRF rules."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.gnewsserver import FakeGoogleNews, current_id
from tests.test_migrations import _upgrade_to
from tracker.cli import cli
from tracker.config import parse_config
from tracker.export import Registry
from tracker.fetch import FetchOptions
from tracker.ingest import Ingestor
from tracker.ingest.reports import CycleReport
from tracker.models import ClipEdit, ClipStatus, Config, staff_mention
from tracker.normalize import canonical_url, clip_id_for
from tracker.resolve.links import encode_google_id
from tracker.resolve.resolver import GoogleNewsResolver, Pacer
from tracker.store import Store
from tracker.store.engine import make_engine

REGISTRY: dict[str, Any] = {
    "members": [{"name": "Kendra Brooks"}, {"name": "Nicholas O'Rourke"}],
    "campaigns": [{"id": "good-cause", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
}


def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link.replace('&', '&amp;')}</link>"
        f"<description>Councilmember Kendra Brooks spoke.</description>"
        f"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"
        for title, link in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def make_config(server: FeedServer, google: FakeGoogleNews, paths: list[str], tmp_path: Path, **settings: Any) -> Config:
    data = {
        "settings": {"google_news_url": google.base_url, "allow_private_hosts": True,
                     "google_news_min_interval_s": 0, **settings},
        "feeds": [{"url": server.url(p), "id": p.strip("/"), "name": p.strip("/")} for p in paths],
        **REGISTRY,
    }
    return parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)


def cycle(config: Config, store: Store, clock: FakeClock, **kwargs: Any) -> CycleReport:
    return Ingestor(config, store, clock=clock, parse_processes=0, **kwargs).run_cycle()


def clip_for(url: str) -> str:
    return clip_id_for(canonical_url(url))


def test_search_links_resolve_to_the_publishers_url(feed_server: FeedServer, google: FakeGoogleNews, tmp_path: Path) -> None:
    stories = [f"https://paper{i}.example.com/2026/11/brooks-{i}?utm_source=gn" for i in range(3)]
    links = [google.add(url) for url in stories]
    old_style = f"{google.base_url}/rss/articles/{encode_google_id('https://old.example.org/brooks')}?oc=5"
    bing = "https://www.bing.com/news/apiclick.aspx?ref=FexRss&url=https%3a%2f%2fbing.example.net%2fbrooks&c=1"
    feed_server.add("/search", body=rss(*[(f"Brooks story {i}", link) for i, link in enumerate([*links, old_style, bing])]))
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    report = cycle(make_config(feed_server, google, ["/search"], tmp_path), store, FakeClock())

    urls = {c.url for c in store.all_clips()}  # clean: the tracking parameter is gone (issue #12.3)
    assert urls == {*(s.removesuffix("?utm_source=gn") for s in stories), "https://old.example.org/brooks",
                    "https://bing.example.net/brooks"}
    assert all(c.resolved for c in store.all_clips())
    assert report.links is not None and report.links.resolved == 3 and report.links.looked_up == 4
    gets = [r for r in google.requests if r.method == "GET"]
    assert sorted(r.path for r in gets) == sorted(f"/rss/articles/{current_id(u)}" for u in stories)
    assert all(r.query == {"hl": ["en-US"], "gl": ["US"], "ceid": ["US:en"]} for r in gets)
    (post,) = google.posts()  # many ids, one POST, in the form the fake accepts
    assert sorted(post.ids) == sorted(current_id(u) for u in stories) and google.problems == []
    assert [r.path for r in feed_server.requests] == ["/search"]  # no publisher page fetched
    history = store.history(clip_for(stories[0]))
    assert history[-1].user == "resolver" and links[0] in history[-1].detail
    store.close()


def test_the_queue_persists_across_cycles_in_staffs_order(feed_server: FeedServer, google: FakeGoogleNews,
                                                          store: Store, db_url: str, tmp_path: Path) -> None:
    stories = {name: google.add(f"https://{name}.example.com/story") for name in ("rejected", "candidate", "matched", "approved")}
    feed_server.add("/search", body=rss(*[(f"{name} Kendra Brooks", link) for name, link in stories.items()]))
    clock = FakeClock()
    report = cycle(make_config(feed_server, google, ["/search"], tmp_path, resolve_per_cycle=0), store, clock)
    assert report.new_clips == 4 and google.requests == []
    clips = {c.title.split()[0]: c for c in store.all_clips()}
    assert not any(c.resolved for c in clips.values()) and clips["approved"].url == stories["approved"]
    store.set_status([clips["approved"].id], ClipStatus.APPROVED, "ana", clock())
    store.set_status([clips["rejected"].id], ClipStatus.REJECTED, "ana", clock())
    store.set_clip_targets(clips["candidate"].id, [], [], "ana", clock())  # nothing matched on it any more

    order: list[str] = []
    for _ in range(4):  # one lookup a cycle, each cycle with a store opened afresh: the queue is in the database
        clock.advance(hours=1)
        again = Store(db_url)
        report = cycle(make_config(feed_server, google, ["/search"], tmp_path, resolve_per_cycle=1), again, clock)
        assert report.links is not None and report.links.resolved == 1
        resolved = {c.url.split("//")[1].split(".")[0] for c in again.all_clips() if c.resolved}
        order += sorted(resolved - set(order))
        again.close()
    assert order == ["approved", "matched", "candidate", "rejected"]
    approved = store.get_clip(clip_for("https://approved.example.com/story"))
    assert approved.status is ClipStatus.APPROVED and approved.resolved and approved.reviewed_by == "ana"
    assert store.resolve_queue_status(clock()).waiting == 0


@pytest.mark.parametrize("later", ["search", "outlet"])
def test_a_late_resolution_merges_into_the_outlets_clip_keeping_staff_edits(
    feed_server: FeedServer, google: FakeGoogleNews, store: Store, tmp_path: Path, later: str
) -> None:
    story = "https://www.inquirer.com/politics/brooks-good-cause-20261120.html"
    link = google.add(story)
    title = "Brooks pushes Good Cause Eviction; Nicholas O'Rourke joins"
    feed_server.add("/outlet", body=rss((title, story + "?utm_source=rss")))
    feed_server.add("/search", body=rss((f"{title} - The Inquirer", link)))
    clock = FakeClock()
    paths = ["/outlet", "/search"]
    cycle(make_config(feed_server, google, paths, tmp_path, resolve_per_cycle=0), store, clock)
    outlet_id, search_id = clip_for(story), clip_for(link)
    assert {c.id for c in store.all_clips()} == {outlet_id, search_id}  # not resolved yet: two clips

    # Staff work on both copies before the link is resolved; `later` says whose work came last.
    def on_outlet() -> None:  # li: a blurb and a credit, her headline, and Brooks confirmed by hand
        store.edit_clip(outlet_id, ClipEdit(blurb="Outlet blurb", image_credit="Photo: Inquirer",
                                            headline="Li's headline"), "li", clock())
        store.set_manual_mentions(outlet_id, [staff_mention("member", "kendra-brooks")], "li", clock())

    def on_search() -> None:  # maria: approved, her headline, featured, and both members taken off
        store.set_status([search_id], ClipStatus.APPROVED, "maria", clock())
        store.edit_clip(search_id, ClipEdit(headline="Maria's headline", featured=True), "maria", clock())
        store.set_clip_targets(search_id, [], ["good-cause"], "maria", clock())

    first, second = (on_outlet, on_search) if later == "search" else (on_search, on_outlet)
    first()
    clock.advance(minutes=5)
    second()

    clock.advance(hours=1)
    report = cycle(make_config(feed_server, google, paths, tmp_path), store, clock)
    assert report.links is not None and report.links.merged == 1
    (clip,) = store.all_clips()
    assert clip.id == outlet_id and clip.resolved and clip.feed_ids == ("outlet", "search")
    assert clip.status is ClipStatus.APPROVED and clip.reviewed_by == "maria"  # the only review
    assert (clip.blurb, clip.image_credit, clip.featured) == ("Outlet blurb", "Photo: Inquirer", True)
    assert clip.headline == ("Maria's headline" if later == "search" else "Li's headline")  # the later edit
    # O'Rourke: maria's removal beats the outlet copy's automatic match. Brooks: the later staff decision.
    assert clip.campaign_ids == ("good-cause",)
    assert clip.member_ids == (() if later == "search" else ("kendra-brooks",))
    actions = [(h.user, h.action) for h in store.history(clip.id)]
    assert {("li", "edit"), ("maria", "approved"), ("maria", "edit"), ("resolver", "resolve")} <= set(actions)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM clip")).scalar_one() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM mention WHERE clip_id = :i"), {"i": search_id}).scalar_one() == 0

    # The search feed keeps carrying the link: its item joins the merged clip, with no lookup and no new clip.
    feed_server.add("/search", body=rss((f"{title} - The Inquirer (updated)", link)))
    asked = len(google.requests)
    clock.advance(hours=1)
    cycle(make_config(feed_server, google, paths, tmp_path), store, clock)
    assert [c.id for c in store.all_clips()] == [outlet_id] and len(google.requests) == asked


def test_a_429_backs_the_whole_resolver_off_across_cycles(feed_server: FeedServer, google: FakeGoogleNews,
                                                         tmp_path: Path) -> None:
    links = [google.add(f"https://p.example.com/{i}") for i in range(3)]
    feed_server.add("/search", body=rss(*[(f"Kendra Brooks {i}", link) for i, link in enumerate(links)]))
    google.rate_limit_after, google.retry_after = 1, "120"
    db = f"sqlite:///{tmp_path / 't.db'}"
    store, clock = Store(db), FakeClock()
    config = make_config(feed_server, google, ["/search"], tmp_path)
    report = cycle(config, store, clock)
    assert report.links is not None and report.links.looked_up == 2  # the page, then the 429: nothing after it
    assert report.links.backing_off_until == NOW + timedelta(minutes=15)  # Retry-After (2 min) is shorter
    assert store.resolve_queue_status(clock()).waiting == 3  # no link is blamed for Google's limit

    clock.advance(minutes=10)
    asked = len(google.requests)
    cycle(config, Store(db), clock)  # the back-off is in the database: a new process respects it too
    assert len(google.requests) == asked
    status = json.loads(CliRunner().invoke(cli, ["--db", db, "status", "--json"], obj=clock).output)
    assert status["search_links"]["waiting"] == 3
    assert status["search_links"]["backing_off_until"] == "2026-11-24T12:15:00Z"

    clock.advance(minutes=10)
    google.retry_after = "7200"  # a longer Retry-After wins over the 30 minutes of a second 429
    report = cycle(config, store, clock)
    assert report.links is not None and report.links.backing_off_until == clock() + timedelta(hours=2)

    google.rate_limit_after = None
    clock.advance(hours=2, seconds=1)
    report = cycle(config, store, clock)
    assert report.links is not None and report.links.resolved == 3
    assert store.resolver_state().backoff_level == 0
    store.close()


def test_lookups_are_paced(feed_server: FeedServer, google: FakeGoogleNews, tmp_path: Path) -> None:
    links = [google.add(f"https://p.example.com/{i}") for i in range(3)]
    feed_server.add("/search", body=rss(*[(f"Kendra Brooks {i}", link) for i, link in enumerate(links)]))
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    config = make_config(feed_server, google, ["/search"], tmp_path)
    pacer = Pacer(2.5, monotonic=lambda: now[0], sleep=sleep)
    resolver = GoogleNewsResolver(google.base_url, FetchOptions(allow_private_hosts=True), pacer, batch_size=2)
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    cycle(config, store, FakeClock(), resolver=resolver)
    assert [r.method for r in google.requests] == ["GET", "GET", "POST", "GET", "POST"]
    assert sleeps == [2.5] * 4  # before every request but the first
    now[0] += 1.0  # a second has passed since the last lookup: the next one waits the rest
    pacer.wait()
    assert sleeps[-1] == 1.5
    store.close()


def test_failed_lookups_are_retried_then_given_up_and_shown(feed_server: FeedServer, google: FakeGoogleNews,
                                                           tmp_path: Path) -> None:
    link = google.add("https://p.example.com/consent")
    google.no_signature.add(current_id("https://p.example.com/consent"))
    gone = f"{google.base_url}/rss/articles/{current_id('https://unknown.example.com/')}"  # Google answers 404
    feed_server.add("/search", body=rss(("Kendra Brooks 1", link), ("Kendra Brooks 2", gone)))
    db = f"sqlite:///{tmp_path / 't.db'}"
    store, clock = Store(db), FakeClock()
    config = make_config(feed_server, google, ["/search"], tmp_path)
    base = ["--db", db]
    report = cycle(config, store, clock)
    assert report.links is not None and (report.links.retry, report.links.failed) == (1, 1)
    listed = json.loads(CliRunner().invoke(cli, [*base, "clips", "list", "--json"], obj=clock).output)
    assert [c["resolved"] for c in listed] == [False, False]
    for hours in (1, 2, 4, 8):  # retried later and later, then given up
        clock.advance(hours=hours)
        cycle(config, store, clock)
    status = store.resolve_queue_status(clock())
    assert (status.waiting, status.failed) == (0, 2)
    reasons = dict(status.failures)
    assert any("no signature" in r for r in reasons) and any("404" in r for r in reasons)
    text_list = CliRunner().invoke(cli, [*base, "clips", "list"], obj=clock).output
    assert text_list.count("link not resolved: ") == 2
    table = CliRunner().invoke(cli, [*base, "status"], obj=clock).output
    assert "Search links: 0 waiting, 0 resolved, 2 failed" in table
    store.close()


def test_waiting_links_are_shown_as_not_resolved_yet(feed_server: FeedServer, google: FakeGoogleNews, tmp_path: Path) -> None:
    feed_server.add("/search", body=rss(("Kendra Brooks", google.add("https://p.example.com/1"))))
    db = f"sqlite:///{tmp_path / 't.db'}"
    store, clock = Store(db), FakeClock()
    cycle(make_config(feed_server, google, ["/search"], tmp_path, resolve_per_cycle=0), store, clock)
    assert "(link not resolved yet)" in CliRunner().invoke(cli, ["--db", db, "clips", "list"], obj=clock).output
    from dashboard.ui import clip_card_html

    (clip,) = store.all_clips()
    assert "link not resolved yet" in clip_card_html(clip, Registry())  # the review queue's card
    assert "link not resolved yet" not in clip_card_html(replace(clip, resolved=True), Registry())
    store.close()


def test_the_resolver_never_fetches_what_google_answers_nor_leaves_its_origin(
    feed_server: FeedServer, google: FakeGoogleNews, tmp_path: Path
) -> None:
    trap = feed_server  # stands for an internal service: it must never see a request from the resolver
    trap.add("/secret", body=b"internal")
    internal = trap.url("/secret")
    links = [google.add("https://p.example.com/a"), google.add("https://p.example.com/b")]
    google.articles[current_id("https://p.example.com/a")] = internal  # Google "says" the story is internal
    google.articles[current_id("https://p.example.com/b")] = "http://169.254.169.254/latest/meta-data/"
    trap.add("/search", body=rss(("Kendra Brooks a", links[0]), ("Kendra Brooks b", links[1])))
    store, clock = Store(f"sqlite:///{tmp_path / 't.db'}"), FakeClock()
    # No article step: this test allows private hosts for its fake Google (test_enrichment.py has the
    # article step refusing internal addresses).
    config = make_config(trap, google, ["/search"], tmp_path, enrich_per_cycle=0)
    cycle(config, store, clock)
    assert {c.url for c in store.all_clips()} == {internal, "http://169.254.169.254/latest/meta-data/"}
    assert [r.path for r in trap.requests] == ["/search"]  # stored as the URL, never fetched

    def last_error() -> str:
        with store.engine.connect() as conn:
            return str(conn.execute(text("SELECT last_error FROM link_resolution WHERE state = 'waiting'")).scalar_one())

    # A page that redirects elsewhere is refused before anything is asked there.
    trap.add("/search", body=rss(("Kendra Brooks c", google.add("https://p.example.com/c"))))
    google.page_redirect = trap.url("/secret")
    cycle(config, store, clock)
    assert [r.path for r in trap.requests] == ["/search", "/search"]
    assert "refusing to follow a redirect to another site" in last_error()

    # Google's own base on a private address: refused unless allow_private_hosts.
    google.page_redirect = None
    asked = len(google.requests)
    strict = make_config(trap, google, ["/search"], tmp_path, allow_private_hosts=False, enrich_per_cycle=0)
    clock.advance(hours=3)
    report = cycle(strict, store, clock)
    assert len(google.requests) == asked and report.links is not None and report.links.retry == 1
    assert "private or loopback" in last_error()
    store.close()


# Upgrading step by step reflects the clip table, whose expression indexes SQLAlchemy cannot reflect.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_clips_stored_before_the_resolver_are_queued_by_the_migration(db_url: str) -> None:
    _upgrade_to(db_url, "0005")
    engine = make_engine(db_url, migrate=False)
    link = f"https://news.google.com/rss/articles/{current_id('https://p.example.com/x')}?oc=5"
    with engine.begin() as conn:
        for clip_id, url in (("g1", link), ("p1", "https://p.example.com/y")):
            conn.execute(text(
                "INSERT INTO clip (id, canonical_url, url, title, summary, content, author, published_raw, outlet, "
                "first_seen_at, updated_at, status, featured, tags, manual) VALUES "
                "(:id, :url, :url, 'Old clip', '', '', '', '', 'Paper', "
                "'2025-01-02 03:04:05', '2025-01-02 03:04:05', 'new', false, '[]', false)"), {"id": clip_id, "url": url})
    engine.dispose()
    store = Store(db_url)
    (task,) = store.due_resolutions(10, NOW)
    assert task.clip_id == "g1" and task.link == link
    assert not store.get_clip("g1").resolved and store.get_clip("p1").resolved
    store.close()


def test_the_worker_closing_a_shared_cycle_resolves_the_links_once(
    feed_server: FeedServer, google: FakeGoogleNews, pg_url: str, tmp_path: Path
) -> None:
    from tests.test_workers import _run_workers

    stories = [f"https://p{i}.example.com/story" for i in range(3)]
    paths = []
    for i, url in enumerate(stories):
        feed_server.add(f"/s{i}", body=rss((f"Kendra Brooks {i}", google.add(url))))
        paths.append(f"/s{i}")
    Store(pg_url).close()
    reports = _run_workers(make_config(feed_server, google, paths, tmp_path), pg_url, 2, batch=1, poll_s=0.05)
    assert sum(1 for r in reports if r is not None and r.closed_cycle) == 1
    store = Store(pg_url)
    assert {c.url for c in store.all_clips()} == set(stories)
    assert sorted(r.path for r in google.requests if r.method == "GET") == sorted(
        f"/rss/articles/{current_id(u)}" for u in stories)  # each link looked up once, by the closer alone
    store.close()


def test_a_search_item_matched_while_its_queued_link_waits_is_held_back_then_moved(
        feed_server: FeedServer, google: FakeGoogleNews, tmp_path: Path) -> None:
    """The item first names nobody (its link is queued with no clip); an hour later Google's summary
    names her, while the resolver has not looked the link up yet. The clip is stored under the search
    link: it must say so (never exported as the publisher's address) and move when the link resolves."""
    from tests.test_enrichment import HTML, page, story
    from tracker.export import export_clips

    article = f"{feed_server.base_url}/news/vote"
    feed_server.add("/news/vote", body=page("Vote today", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    link = google.add(article)

    def search_feed(summary: str) -> bytes:
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>S</title><item><title>Council votes today'
                f'</title><link>{link}</link><description>{summary}</description><pubDate>Mon, 23 Nov 2026 10:00:00 GMT'
                f'</pubDate></item></channel></rss>').encode()

    def config(**settings: Any) -> Config:
        data = {"settings": {"google_news_url": google.base_url, "allow_private_hosts": True,
                             "google_news_min_interval_s": 0, **settings},
                "feeds": [{"url": feed_server.url("/search"), "id": "search", "search_for": "member:kendra-brooks"}],
                **REGISTRY}
        return parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)

    store, clock = Store(f"sqlite:///{tmp_path / 't.db'}"), FakeClock()
    feed_server.add("/search", body=search_feed("Housing vote"))
    cycle(config(resolve_per_cycle=0), store, clock)
    assert store.all_clips() == []
    clock.advance(hours=1)
    feed_server.add("/search", body=search_feed("Councilmember Kendra Brooks of Philadelphia spoke."))
    cycle(config(resolve_per_cycle=0), store, clock)
    (waiting,) = store.all_clips()
    assert not waiting.resolved and "/rss/articles/" in waiting.url
    store.set_status([waiting.id], ClipStatus.APPROVED, "ana", clock())
    assert "/rss/articles/" not in export_clips("json", store.all_clips(), Registry()).decode()

    clock.advance(hours=1)
    cycle(config(), store, clock)
    (moved,) = store.all_clips()
    assert moved.url == article and moved.resolved and moved.status == ClipStatus.APPROVED
    store.close()


def test_a_link_resolved_to_an_address_whose_clip_moved_on_joins_that_clip(
        feed_server: FeedServer, google: FakeGoogleNews, tmp_path: Path) -> None:
    """The outlet's clip moved from /news/budget to its article's canonical /news/budget-vote. Google
    then resolves the search link to /news/budget: that is the moved clip, never a new one there
    (its page now refuses our reader, so no second reading would merge them)."""
    from tests.test_enrichment import HTML, page, story

    base = feed_server.base_url
    feed_server.add("/news/budget", body=page("Council passes housing budget", story(naming="Councilmember Kendra Brooks"),
                                              canonical=f"{base}/news/budget-vote"), headers=HTML)
    link = google.add(f"{base}/news/budget")
    title = "Kendra Brooks backs the budget in Philadelphia"

    def feed(*items: tuple[str, str]) -> bytes:
        body = "".join(f"<item><title>{t}</title><link>{u}</link><description>{t}</description></item>" for t, u in items)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>{body}</channel></rss>'.encode()

    feed_server.add("/outlet", body=feed((title, f"{base}/news/budget")))
    feed_server.add("/search", body=feed((title + " - Daily Example", link)))

    def config(**settings: Any) -> Config:
        data = {"settings": {"google_news_url": google.base_url, "allow_private_hosts": True,
                             "google_news_min_interval_s": 0, **settings},
                "feeds": [{"url": feed_server.url("/outlet"), "id": "outlet"},
                          {"url": feed_server.url("/search"), "id": "search", "search_for": "member:kendra-brooks"}],
                **REGISTRY}
        return parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)

    store, clock = Store(f"sqlite:///{tmp_path / 't.db'}"), FakeClock()
    cycle(config(resolve_per_cycle=0), store, clock)
    assert [c.url for c in store.all_clips() if c.resolved] == [f"{base}/news/budget-vote"]
    feed_server.add("/news/budget", status=403, body=b"blocked", headers=HTML)
    clock.advance(hours=1)
    cycle(config(), store, clock)
    (clip,) = store.all_clips()
    assert clip.url == f"{base}/news/budget-vote" and set(clip.feed_ids) == {"outlet", "search"}
    store.close()


def test_the_offline_demos_answers_file_stands_in_for_google(tmp_path: Path) -> None:
    import json as _json

    from tracker.models import ResolveTask
    from tracker.resolve.resolver import LinkOutcome, SampleLinksResolver

    known = current_id("https://pub.example/known")
    answers = tmp_path / "links.json"
    answers.write_text(_json.dumps({known: "https://pub.example/known"}), encoding="utf-8")
    resolver = SampleLinksResolver("https://news.google.com", FetchOptions(), str(answers))
    old_style = f"https://news.google.com/rss/articles/{encode_google_id('https://pub.example/old')}?oc=5"
    tasks = [ResolveTask(key=str(i), link=link, clip_id=None, attempts=0) for i, link in enumerate((
        f"https://news.google.com/rss/articles/{known}?oc=5", old_style,
        f"https://news.google.com/rss/articles/{current_id('https://pub.example/unknown')}?oc=5"))]
    seen: list[LinkOutcome] = []
    run = resolver.resolve(tasks, seen.append)
    assert [(o.url, o.permanent) for o in seen] == [("https://pub.example/known", False),
                                                     ("https://pub.example/old", False), (None, True)]
    assert run.looked_up == 2  # the old-style id is read offline, as always

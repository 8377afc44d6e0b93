"""The ingest's article step (issue #12.2): pages read through tracker.fetch from local servers, matched
on their text, unreadable search items kept unverified, the budget carried over, hostile pages and
internal addresses refused on every hop, and the contract `tracker clips list --json` gives scripts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlmodel import col

from tests.conftest import corpus_dir
from tests.fakes import FakeClock
from tests.feedserver import FeedServer, Route, running_server
from tests.gnewsserver import FakeGoogleNews, current_id
from tests.hostile import bomb, declared_50mb, drip, endless
from tracker.cli import cli
from tracker.config import parse_config
from tracker.enrich import ArticleReader, extract_article, fetch_page_meta
from tracker.errors import FetchError
from tracker.fetch import FetchOptions
from tracker.ingest import Ingestor
from tracker.ingest.reports import CycleReport
from tracker.models import ClipEdit, Config, MatchedEntry, Mention, ParsedEntry, Settings
from tracker.normalize import canonical_url, clip_id_for
from tracker.resolve.links import encode_google_id
from tracker.resolve.resolver import publisher_link
from tracker.review import edit_clip
from tracker.store import Store
from tracker.store.tables import EnrichmentRow

HTML = {"Content-Type": "text/html; charset=utf-8"}
FILLER = ("The committee heard two hours of testimony from residents, landlords and housing advocates, "
          "and members asked the housing department for figures on vacancies and rents across the city. ")
REGISTRY: dict[str, Any] = {
    "members": [{"id": "kendra-brooks", "name": "Kendra Brooks", "title": "Councilmember",
                 "jurisdiction": "Philadelphia", "require_any": ["Philadelphia"]}],
    "campaigns": [{"id": "good-cause", "name": "Good Cause Eviction", "keywords": ["good cause eviction"]}],
}


def page(title: str, paragraphs: list[str], *, canonical: str | None = None, image: str | None = None,
         credit: str | None = None, site: str = "The Daily Example") -> bytes:
    """An article page as publishers write them: navigation, a lead figure with a credit, the story."""
    head = [f"<title>{title} | {site}</title>", f'<meta property="og:title" content="{title}">',
            f'<meta property="og:site_name" content="{site}">',
            '<meta property="article:published_time" content="2026-11-23T09:30:00-05:00">']
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    figure = ""
    if image:
        head.append(f'<meta property="og:image" content="{image}">')
        figure = (f'<figure><img src="{image}" alt="">'
                  f'<figcaption>Residents at the hearing. <span class="credit">Photo: {credit}</span></figcaption></figure>')
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head>{''.join(head)}</head><body><nav>Home | News | Sports | Weather</nav>"
            f"<article><h1>{title}</h1><p class='byline'>By Sam Writer</p>{figure}{body}</article>"
            f"<footer>Copyright The Daily Example</footer></body></html>").encode()


def story(*, naming: str | None, at: int = 5) -> list[str]:
    """Seven paragraphs; the one at index `at` (the sixth by default) names `naming`."""
    paras = [FILLER * 2 for _ in range(7)]
    if naming:
        paras[at] = f"{naming} of Philadelphia said the bill would keep families housed. " + FILLER
    return paras


def rss(*items: tuple[str, str], title: str = "Search") -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link.replace('&', '&amp;')}</link><description>{t}</description>"
        f"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>" for t, link in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


def make_config(server: FeedServer, tmp_path: Path, *, feeds: list[dict[str, Any]] | None = None,
                searches: bool = True, **settings: Any) -> Config:
    data: dict[str, Any] = {
        "settings": {"allow_private_hosts": True, "google_news_min_interval_s": 0, "timeout_s": 2, **settings},
        "feeds": feeds or [],
        **REGISTRY,
    }
    if searches:
        data["searches"] = [{"template": server.url("/search?q={query}"), "for": ["members"]}]
    return parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)


def cycle(config: Config, store: Store, clock: FakeClock, **kwargs: Any) -> CycleReport:
    return Ingestor(config, store, clock=clock, parse_processes=0, **kwargs).run_cycle()


def clips_json(db_url: str, config_path: Path, clock: FakeClock) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(config_path), "--db", db_url, "clips", "list", "--json"], obj=clock)
    assert result.exit_code == 0, result.output
    return {c["headline"]: c for c in json.loads(result.output)}


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    path = tmp_path / "feeds.yml"
    path.write_text(json.dumps({"settings": {"allow_private_hosts": True}, **REGISTRY}), encoding="utf-8")
    return path


def test_search_items_are_matched_on_their_article(feed_server: FeedServer, db_url: str, tmp_path: Path) -> None:
    """The member named only in paragraph six is found; a page naming nobody drops its item; an unreadable
    page keeps its item for the member its search was for, unverified; the outlet's own copy and the
    search's are one clip, at the publisher's canonical, clean address."""
    base = feed_server.base_url
    budget = page("Council passes housing budget", story(naming="Councilmember Kendra Brooks"),
                  canonical=f"{base}/news/budget-vote", image=f"{base}/img/hearing.jpg", credit="Ana Lens")
    feed_server.add("/news/budget", body=budget, headers=HTML)
    feed_server.add("/news/budget-vote", body=budget, headers=HTML)
    feed_server.add("/news/weather", body=page("Snow expected", story(naming=None)), headers=HTML)
    feed_server.add("/news/paywalled", status=403, body=b"subscribe", headers=HTML)
    feed_server.add("/news/vote", body=page("Vote today", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    feed_server.add("/search", body=rss(
        ("Council passes housing budget", f"{base}/news/budget?utm_source=rss#comments"),
        ("Snow expected this weekend", f"{base}/news/weather"),
        ("Housing fight continues", f"{base}/news/paywalled?utm_medium=x"),
        ("Council votes today", f"{base}/news/vote"),
    ))
    # The outlet's feed carries the budget story at its canonical address, and its teaser names her.
    feed_server.add("/outlet", body=rss(("Kendra Brooks backs the budget in Philadelphia", f"{base}/news/budget-vote"),
                                        title="Daily Example"))
    config = make_config(feed_server, tmp_path, feeds=[{"url": feed_server.url("/outlet"), "id": "outlet"}])
    store, clock = Store(db_url), FakeClock()
    report = cycle(config, store, clock)

    assert report.articles is not None
    assert (report.articles.read, report.articles.new_clips, report.articles.dropped, report.articles.unverified) == (2, 1, 1, 1)
    assert report.new_clips == 1, "only the outlet's item matched on feed text alone"
    clips = {c.title: c for c in store.all_clips()}
    assert set(clips) == {"Kendra Brooks backs the budget in Philadelphia", "Council votes today", "Housing fight continues"}
    found = clips["Council votes today"]
    assert found.url == f"{base}/news/vote" and found.id == clip_id_for(canonical_url(found.url))
    (mention,) = found.mentions
    assert (mention.target_id, mention.field) == ("kendra-brooks", "article") and "Brooks" in mention.snippet
    assert not found.unverified and found.resolved
    # The search's copy of the budget story read its canonical address: it is the outlet's clip, once.
    budget_clip = clips["Kendra Brooks backs the budget in Philadelphia"]
    assert budget_clip.url == f"{base}/news/budget-vote" and set(budget_clip.feed_ids) == {"outlet", config.search_feeds[0].id}
    assert budget_clip.image_url == f"{base}/img/hearing.jpg" and budget_clip.display_image_credit == "Photo: Ana Lens"
    kept = clips["Housing fight continues"]
    assert kept.unverified and kept.member_ids == ("kendra-brooks",) and kept.mentions[0].field == "search"
    assert kept.url == f"{base}/news/paywalled"  # clean even when unread

    clock.advance(hours=1)
    cycle(config, store, clock)
    assert len(store.all_clips()) == 3
    assert len(feed_server.hits("/news/budget-vote")) == 1 and len(feed_server.hits("/news/vote")) == 1, "read once"

    status = store.enrich_queue_status()
    assert (status.done, status.dropped, status.failed, status.waiting) == (3, 1, 1, 0)
    assert status.failures and "403" in status.failures[0][0]

    out = clips_json(db_url, write_config(tmp_path, feed_server), clock)
    vote = out["Council votes today"]
    assert vote["url"] == f"{base}/news/vote" and vote["resolved"] is True and vote["unverified"] is False
    assert vote["members"] == ["kendra-brooks"] and vote["outlet"] == "The Daily Example"
    budget_json = out["Kendra Brooks backs the budget in Philadelphia"]
    assert budget_json["image_url"] == f"{base}/img/hearing.jpg"
    assert {s["link"] for s in budget_json["sources"]} == {f"{base}/news/budget?utm_source=rss#comments",
                                                           f"{base}/news/budget-vote"}
    assert out["Housing fight continues"]["unverified"] is True
    store.close()


def test_new_matched_clips_gain_the_article(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """An outlet's matched item: the article adds a campaign only its body names, and the image."""
    base = feed_server.base_url
    paras = story(naming="Councilmember Kendra Brooks", at=1)
    paras[4] = "Advocates said good cause eviction protections are next. " + FILLER
    feed_server.add("/a/1", body=page("Brooks on the budget", paras, image=f"{base}/i.jpg", credit="Lee"), headers=HTML)
    feed_server.add("/outlet", body=rss(("Kendra Brooks on the budget in Philadelphia", f"{base}/a/1"), title="Paper"))
    feed_server.add("/quiet", body=rss(("Weather in Philadelphia", f"{base}/a/2"), title="Paper"))
    config = make_config(feed_server, tmp_path, searches=False,
                         feeds=[{"url": feed_server.url("/outlet")}, {"url": feed_server.url("/quiet")}])
    report = cycle(config, store, FakeClock())
    (clip,) = store.all_clips()
    assert clip.member_ids == ("kendra-brooks",) and clip.campaign_ids == ("good-cause",)
    assert {m.field for m in clip.mentions} == {"title", "article"}
    assert clip.image_url == f"{base}/i.jpg"
    assert report.articles is not None and report.articles.read == 1
    assert feed_server.hits("/a/2") == [], "an outlet's unmatched item is not read without enrich: all"


def test_articles_not_queued_when_their_clips_were_stored_are_queued_the_next_time(
        feed_server: FeedServer, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clips commit, then queueing their articles fails (the database busy for a moment): the
    feed is reported failed and read again, and this time its clips, no longer new, are queued."""
    base = feed_server.base_url
    paras = story(naming="Councilmember Kendra Brooks", at=1)
    paras[4] = "Advocates said good cause eviction protections are next. " + FILLER
    feed_server.add("/a/1", body=page("Brooks on the budget", paras), headers=HTML)
    feed_server.add("/outlet", body=rss(("Kendra Brooks on the budget in Philadelphia", f"{base}/a/1"), title="Paper"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    queue = store.queue_articles

    def busy(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(store, "queue_articles", busy)
    report = cycle(config, store, FakeClock())
    assert "queueing articles failed" in (report.feeds[0].error or "")
    assert store.all_clips()[0].campaign_ids == () and feed_server.hits("/a/1") == []
    monkeypatch.setattr(store, "queue_articles", queue)
    report = cycle(config, store, FakeClock())
    assert report.articles is not None and report.articles.read == 1
    (clip,) = store.all_clips()
    assert clip.campaign_ids == ("good-cause",), "the article was read: its campaign is on the clip"
    cycle(config, store, FakeClock())
    assert len(feed_server.hits("/a/1")) == 1, "queued once: a later cycle does not read it again"


def test_enrich_all_reads_an_outlets_unmatched_items(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/2", body=page("City news", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    feed_server.add("/a/3", status=451, body=b"unavailable for legal reasons", headers=HTML)
    feed_server.add("/quiet", body=rss(("City news", f"{base}/a/2"), ("Other news", f"{base}/a/3"), title="Paper"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/quiet"), "enrich": "all"}])
    report = cycle(config, store, FakeClock())
    (clip,) = store.all_clips()
    assert clip.title == "City news" and clip.member_ids == ("kendra-brooks",)
    assert report.articles is not None and report.articles.failed == 1 and report.articles.unverified == 0, \
        "an outlet's unreadable item has no search to vouch for it: not kept"


def test_the_budget_carries_over_to_the_next_cycle(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    items = []
    for i in range(5):
        feed_server.add(f"/a/{i}", body=page(f"Story {i}", story(naming="Councilmember Kendra Brooks")), headers=HTML)
        items.append((f"Kendra Brooks in Philadelphia, part {i}", f"{base}/a/{i}"))
    feed_server.add("/outlet", body=rss(*items, title="Paper"), etag='"v1"')
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}],
                         enrich_per_cycle=2)
    clock = FakeClock()
    reads = []
    for _ in range(3):
        report = cycle(config, store, clock)
        assert report.articles is not None
        reads.append((report.articles.read, report.articles.left))
        clock.advance(hours=1)
    assert reads == [(2, 3), (2, 1), (1, 0)]
    assert all(len(feed_server.hits(f"/a/{i}")) == 1 for i in range(5))
    assert all((c.resolved and "article" in {m.field for m in c.mentions}) or c.mentions for c in store.all_clips())
    assert store.enrich_queue_status().done == 5


def test_passing_failures_are_read_again_in_later_cycles(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """A timeout, a 503 or a 429 waits for the next cycle (up to three reads); a 403 fails at once. A search
    item is kept unverified only once its reads are spent, and one that reads later is an ordinary clip."""
    base = feed_server.base_url
    named = page("Vote", story(naming="Councilmember Kendra Brooks"))
    feed_server.add("/a/slow", body=named, headers=HTML, delay_s=2.5)  # past timeout_s=1, then answers in time
    feed_server.add("/a/busy", status=503, body=b"busy", headers=HTML)
    feed_server.add("/a/down", status=503, body=b"down", headers=HTML)
    feed_server.add("/a/paywall", status=403, body=b"subscribe", headers=HTML)
    feed_server.add("/a/limited", status=429, body=b"slow down", headers=HTML)
    feed_server.add("/search", body=rss(("Slow", f"{base}/a/slow"), ("Busy", f"{base}/a/busy"),
                                        ("Down", f"{base}/a/down"), ("Paywall", f"{base}/a/paywall")))
    # An outlet's matched clip whose page answers 429 first.
    feed_server.add("/outlet", body=rss(("Kendra Brooks of Philadelphia speaks", f"{base}/a/limited"), title="Paper"))
    config = make_config(feed_server, tmp_path, feeds=[{"url": feed_server.url("/outlet"), "id": "outlet"}], timeout_s=1)
    clock = FakeClock()

    first = cycle(config, store, clock).articles
    assert first is not None and (first.retry, first.failed, first.unverified) == (4, 0, 1)
    assert {c.title for c in store.all_clips()} == {"Kendra Brooks of Philadelphia speaks", "Paywall"}
    assert first.left == 4, "the four passing failures wait"
    status = store.enrich_queue_status()
    assert (status.waiting, status.retrying, status.failed) == (4, 4, 1) and "403" in status.failures[0][0]

    for path in ("/a/slow", "/a/busy", "/a/limited"):
        feed_server.add(path, body=named, headers=HTML)
    clock.advance(hours=1)
    second = cycle(config, store, clock).articles
    assert second is not None and (second.read, second.new_clips, second.retry, second.unverified) == (1, 2, 1, 0)
    clips = {c.title: c for c in store.all_clips()}
    assert not clips["Slow"].unverified and clips["Slow"].mentions[0].field == "article"
    assert not clips["Busy"].unverified and store.enrich_queue_status().done == 3
    assert "Down" not in clips, "still being retried: not yet kept unverified"
    assert store.enrich_queue_status().retrying == 1

    clock.advance(hours=1)
    third = cycle(config, store, clock).articles
    assert third is not None and (third.retry, third.unverified, third.left) == (0, 1, 0)
    down = {c.title: c for c in store.all_clips()}["Down"]
    assert down.unverified and down.member_ids == ("kendra-brooks",)
    # The fetch layer asks once more as a browser on a 403, within the one read.
    assert len(feed_server.hits("/a/down")) == 3 and len(feed_server.hits("/a/paywall")) == 2
    reasons = dict(store.enrich_queue_status().failures)
    assert any("503" in r and "after 3 attempts" in r for r in reasons)
    clock.advance(hours=1)
    cycle(config, store, clock)
    assert len(feed_server.hits("/a/down")) == 3, "given up: never read again"


def test_internal_addresses_are_refused_on_every_hop(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """Article links come from feeds: an internal address is refused on the first hop (settings do not
    allow private hosts) and on a redirect hop (a page that hands on to another internal origin)."""
    with running_server() as internal:
        internal.add("/secret", body=page("Secret", story(naming="Councilmember Kendra Brooks")), headers=HTML)
        base = feed_server.base_url
        feed_server.add("/hop", status=302, headers={"Location": internal.url("/secret")})
        feed_server.add("/search", body=rss(("Direct", internal.url("/secret")), ("Via a redirect", f"{base}/hop")))
        strict = make_config(feed_server, tmp_path, allow_private_hosts=False)
        report = cycle(strict, store, FakeClock())
        assert internal.requests == [], "the first hop to an internal address is refused before connecting"
        assert feed_server.hits("/hop") == []
        assert report.articles is not None and report.articles.unverified == 2  # kept for staff, unread
        reasons = dict(store.enrich_queue_status().failures)
        assert any("private or loopback" in r for r in reasons)

        # The first hop allowed (a listed intranet), the redirect to another internal origin refused.
        feed_server.add("/search", body=rss(("Via a redirect again", f"{base}/hop?x=2")))
        relaxed = make_config(feed_server, tmp_path)
        reader = ArticleReader(relaxed.settings, options=FetchOptions(allow_private_hosts=True, private_redirects=False,
                                                                      timeout_s=2))
        clock = FakeClock()
        clock.advance(hours=2)
        cycle(relaxed, store, clock, articles=reader)
        assert len(feed_server.hits("/hop?x=2")) == 1 and internal.requests == []
        assert any("private or loopback" in r for r, _ in store.enrich_queue_status().failures)


def test_hostile_article_pages_fail_their_item_not_the_cycle(feed_server: FeedServer, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/big", Route(handler=declared_50mb))
    feed_server.add("/endless", Route(handler=endless))
    feed_server.add("/bomb", Route(handler=bomb("gzip")))
    # A byte every 0.25 s: far inside the 1.5 s read timeout even on a loaded machine, so only the
    # whole-answer limit (3 x timeout_s) stops it, a final failure (a read timeout would be retried).
    feed_server.add("/drip", Route(handler=drip))
    feed_server.add("/pdf", body=b"%PDF-1.7 " + b"x" * 5000, headers={"Content-Type": "application/pdf"})
    feed_server.add("/consent", status=302, headers={"Location": f"{base}/consent?continue=1"})
    feed_server.add("/consent?continue=1", body=page("Before you continue", story(naming=None)), headers=HTML)
    feed_server.add("/empty", body=b"<html><body><script>app()</script></body></html>", headers=HTML)
    feed_server.add("/good", body=page("Good", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    paths = ["big", "endless", "bomb", "drip", "pdf", "consent", "empty", "good"]
    feed_server.add("/outlet", body=rss(*[(f"Kendra Brooks of Philadelphia: {p}", f"{base}/{p}") for p in paths], title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}],
                         timeout_s=1, max_body_bytes=4 * 1024 * 1024)
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    report = cycle(config, store, FakeClock())
    assert report.outcome == "ok" and report.new_clips == len(paths)
    assert report.articles is not None and (report.articles.read, report.articles.failed) == (1, len(paths) - 1)
    with store.engine.connect() as conn:
        reasons = {key.rsplit("/", 1)[-1]: reason for key, reason in conn.execute(
            text("SELECT item_key, reason FROM enrichment WHERE state = 'failed'"))}
    assert "over the" in reasons["big"] and "over the" in reasons["endless"] and "over the" in reasons["bomb"]
    assert "too slow" in reasons["drip"]
    assert "not a web page" in reasons["pdf"] and "consent wall" in reasons["consent"]
    assert "empty extraction" in reasons["empty"]
    store.close()


CORPUS_PEOPLE = {  # page -> a person its body names (not in the feed item's title below)
    "newspaper4k__nj.com1.html": "Michael Doherty",
    "trafilatura__gothamist.com-plagues.html": "Marjorie Velazquez",
}


def test_corpus_article_pages_served_locally(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """Real publishers' pages (../shared/corpus/pages, read in place): the person named in the body is
    found by the article step; a JS redirect stub is unreadable, and its search item kept unverified."""
    pages = corpus_dir("pages")
    base = feed_server.base_url
    items = []
    for name in [*CORPUS_PEOPLE, "newspaper4k__google_meta_refresh.html"]:
        feed_server.add(f"/c/{name}", body=(pages / name).read_bytes(), headers=HTML)
        items.append((f"Story {len(items)}", f"{base}/c/{name}"))
    feed_server.add("/search", body=rss(*items))
    data = {"settings": {"allow_private_hosts": True, "timeout_s": 5},
            "searches": [{"template": feed_server.url("/search?q={query}"), "for": ["members"]}],
            "members": [{"id": "doherty", "name": "Michael Doherty"}, {"id": "velazquez", "name": "Marjorie Velazquez"}]}
    config = parse_config(data, str(tmp_path / "feeds.yml"), tmp_path)
    report = cycle(config, store, FakeClock())
    clips = store.all_clips()
    by_member = {m: c for c in clips for m in c.member_ids if not c.unverified}
    assert {"doherty", "velazquez"} <= set(by_member)
    assert by_member["velazquez"].display_image_credit == "Care of Throggs Neck Associates LLC"
    assert any(m.field == "article" for m in by_member["doherty"].mentions)
    assert by_member["doherty"].published_at is not None
    assert report.articles is not None and report.articles.unverified >= 1  # the redirect stub, for both searches


@pytest.mark.parametrize("name", ["newspaper4k__nj.com1.html", "trafilatura__bbc.com.52241221.html",
                                  "trafilatura__gothamist.com-plagues.html"])
def test_corpus_pages_give_text_and_metadata(name: str) -> None:
    body = (corpus_dir("pages") / name).read_bytes()
    article = extract_article(body, "https://publisher.example/story")
    assert len(article.text) > 500 and article.title and article.outlet
    assert "Home" not in article.text.splitlines()[0:1]


def test_a_canonical_on_another_site_is_not_believed(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/x", body=page("Syndicated", story(naming="Councilmember Kendra Brooks"),
                                      canonical="https://elsewhere.example.org/original"), headers=HTML)
    feed_server.add("/outlet", body=rss(("Kendra Brooks in Philadelphia", f"{base}/a/x"), title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    cycle(config, store, FakeClock())
    (clip,) = store.all_clips()
    assert clip.url == f"{base}/a/x"


def test_a_clip_moved_to_its_canonical_address_is_not_stored_again_when_its_feed_changes(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/1", body=page("Brooks on the budget", story(naming="Councilmember Kendra Brooks"),
                                      canonical=f"{base}/news/brooks-budget"), headers=HTML)
    item = ("Kendra Brooks on the budget in Philadelphia", f"{base}/a/1?utm_source=rss")
    feed_server.add("/outlet", body=rss(item, title="Paper"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    clock = FakeClock()
    cycle(config, store, clock)
    (clip,) = store.all_clips()
    assert clip.url == f"{base}/news/brooks-budget"
    # An hour later the outlet adds an item: the feed changed, and the old item, under its old link, is still in it.
    feed_server.add("/outlet", body=rss(("Kendra Brooks opens a library in Philadelphia", f"{base}/a/2"), item, title="Paper"))
    clock.advance(hours=1)
    cycle(config, store, clock)
    assert sorted(c.url for c in store.all_clips()) == [f"{base}/a/2", f"{base}/news/brooks-budget"]
    assert store.get_clip(clip.id).title == "Kendra Brooks on the budget in Philadelphia"
    assert feed_server.hits("/a/1") and len(feed_server.hits("/a/1")) == 1  # its article is not read again


def test_articles_redirected_to_the_front_page_are_not_merged_into_it(feed_server: FeedServer, store: Store,
                                                                      tmp_path: Path) -> None:
    # Expired articles redirect home (a common CMS habit); the home page's text is other stories.
    base = feed_server.base_url
    feed_server.add("/", body=page("The Daily Example", story(naming="Councilmember Kendra Brooks"),
                                   canonical=f"{base}/"), headers=HTML)
    feed_server.add("/a/1", status=302, headers={"Location": f"{base}/"})
    feed_server.add("/a/2", status=302, headers={"Location": f"{base}/"})
    feed_server.add("/outlet", body=rss(("Kendra Brooks backs the budget in Philadelphia", f"{base}/a/1"),
                                        ("Kendra Brooks opens a library in Philadelphia", f"{base}/a/2"), title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    report = cycle(config, store, FakeClock())
    clips = {c.title: c for c in store.all_clips()}
    assert sorted(clips) == ["Kendra Brooks backs the budget in Philadelphia", "Kendra Brooks opens a library in Philadelphia"]
    assert {c.url for c in clips.values()} == {f"{base}/a/1", f"{base}/a/2"}
    # The front page (which names her too) is not their article: no mention found in it.
    assert all("article" not in {m.field for m in c.mentions} for c in clips.values())
    assert report.articles is not None and report.articles.failed == 2
    with store.session() as s:
        reasons = list(s.execute(select(col(EnrichmentRow.reason))).scalars())
    assert len(reasons) == 2 and all("sent to the site's front page" in (r or "") for r in reasons)


def test_a_canonical_naming_the_front_page_is_not_believed(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    # Some sites state their home page as every page's canonical: believed, every clip would merge into one.
    base = feed_server.base_url
    for n in (1, 2):
        feed_server.add(f"/a/{n}", body=page(f"Story {n}", story(naming="Councilmember Kendra Brooks"),
                                             canonical=f"{base}/"), headers=HTML)
    feed_server.add("/outlet", body=rss(("Kendra Brooks on the budget in Philadelphia", f"{base}/a/1"),
                                        ("Kendra Brooks on the library in Philadelphia", f"{base}/a/2"), title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    cycle(config, store, FakeClock())
    assert sorted(c.url for c in store.all_clips()) == [f"{base}/a/1", f"{base}/a/2"]


def test_no_budget_reads_nothing_and_queues_nothing(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/search", body=rss(("Quiet item", f"{base}/a/q")))
    config = make_config(feed_server, tmp_path, enrich_per_cycle=0)
    report = cycle(config, store, FakeClock())
    assert report.articles is not None and report.articles.attempted == 0
    assert store.enrich_queue_status().waiting == 0 and store.all_clips() == []


def test_an_article_step_failure_is_reported_not_raised(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    class Broken(ArticleReader):
        def read(self, url: str, session: Any = None) -> Any:
            raise RuntimeError("library bug")

    base = feed_server.base_url
    feed_server.add("/outlet", body=rss(("Kendra Brooks in Philadelphia", f"{base}/a/z"), title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    report = cycle(config, store, FakeClock(), articles=Broken(config.settings))
    assert report.outcome == "ok" and report.articles is not None and report.articles.failed == 1
    assert "library bug" in store.enrich_queue_status().failures[0][0]
    assert replace(store.all_clips()[0]).member_ids == ("kendra-brooks",)


def test_add_by_url_decodes_a_google_news_link_first(feed_server: FeedServer, google: FakeGoogleNews) -> None:
    """Staff paste what they clicked: the Google News link becomes the publisher's page, read and clean."""
    base = feed_server.base_url
    feed_server.add("/news/story", body=page("Brooks at the hearing", story(naming="Councilmember Kendra Brooks")),
                    headers=HTML)
    settings = replace(Settings(), google_news_url=google.base_url, allow_private_hosts=True)
    current = google.add(f"{base}/news/story?utm_source=gn")
    old_style = f"{google.base_url}/rss/articles/{encode_google_id(f'{base}/news/story')}?oc=5"
    assert publisher_link(current, settings) == f"{base}/news/story?utm_source=gn"
    assert publisher_link(old_style, settings) == f"{base}/news/story"
    assert publisher_link(f"{base}/other", settings) == f"{base}/other"
    meta = fetch_page_meta(publisher_link(current, settings), settings)
    assert meta.url == f"{base}/news/story" and "Kendra Brooks" in meta.text
    with pytest.raises(FetchError, match="could not find where"):
        publisher_link(f"{google.base_url}/rss/articles/{current_id('https://unknown.example/x')}", settings)


def test_status_shows_the_article_queue(feed_server: FeedServer, db_url: str, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/1", status=403, body=b"no", headers=HTML)
    feed_server.add("/a/2", body=page("Two", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    feed_server.add("/outlet", body=rss(("Kendra Brooks in Philadelphia", f"{base}/a/1"),
                                        ("Kendra Brooks again in Philadelphia", f"{base}/a/2"), title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}],
                         enrich_per_cycle=1)
    store, clock = Store(db_url), FakeClock()
    cycle(config, store, clock)
    store.close()
    path = write_config(tmp_path, feed_server)
    result = CliRunner().invoke(cli, ["--config", str(path), "--db", db_url, "status", "--json"], obj=clock)
    assert result.exit_code == 0, result.output
    articles = json.loads(result.output)["articles"]
    assert (articles["waiting"], articles["failed"], articles["done"]) == (1, 1, 0)
    assert "403" in articles["failures"][0]["reason"]
    text_out = CliRunner().invoke(cli, ["--config", str(path), "--db", db_url, "status"], obj=clock).output
    assert "Articles: 1 waiting, 0 read, 1 unreadable" in text_out


def test_reading_the_same_page_twice_gives_the_same_text() -> None:
    """trafilatura's deduplication is a process-wide cache: on, the second reading came back empty."""
    body = page("Twice", story(naming="Councilmember Kendra Brooks"))
    first, second = (extract_article(body, "https://a.example/x") for _ in range(2))
    assert first.text and second.text == first.text


def test_an_unmatched_search_item_waits_for_its_link(feed_server: FeedServer, google: FakeGoogleNews, store: Store,
                                                     tmp_path: Path) -> None:
    """A current-style Google News link: resolved first, then its article read in the same cycle; one
    Google does not know is kept unverified with its Google link, shown as not resolved."""
    base = feed_server.base_url
    feed_server.add("/news/x", body=page("Hearing", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    known = google.add(f"{base}/news/x?utm_source=gn")
    unknown = f"{google.base_url}/rss/articles/{current_id('https://gone.example/y')}?oc=5"
    feed_server.add("/search", body=rss(("A hearing downtown", known), ("Another story", unknown)))
    config = make_config(feed_server, tmp_path, google_news_url=google.base_url)
    report = cycle(config, store, FakeClock())
    assert report.links is not None and report.links.resolved == 1 and report.links.failed == 1
    assert report.articles is not None and (report.articles.new_clips, report.articles.unverified) == (1, 1)
    clips = {c.title: c for c in store.all_clips()}
    read = clips["A hearing downtown"]
    assert read.url == f"{base}/news/x" and read.resolved and read.member_ids == ("kendra-brooks",)
    assert {s[1] for s in read.source_links} == {known}
    kept = clips["Another story"]
    assert kept.unverified and not kept.resolved and kept.url == unknown and kept.resolve_error


@pytest.mark.parametrize("canonical", [None, "/news/m-canonical"], ids=["at-its-link", "moved-to-its-canonical"])
def test_a_matched_search_clip_s_article_is_read_once_though_its_link_was_resolved_since(
        feed_server: FeedServer, google: FakeGoogleNews, store: Store, tmp_path: Path, canonical: str | None) -> None:
    """Queued under its Google link, read once resolved. The same item in the next reading of the
    feed maps to the publisher's page P, and (as storing it does) on to the address its article
    moved the clip to: it is not queued again under either."""
    base = feed_server.base_url
    body = page("Hearing", story(naming="Councilmember Kendra Brooks"), canonical=canonical and f"{base}{canonical}")
    feed_server.add("/news/m", body=body, headers=HTML)
    link = google.add(f"{base}/news/m")
    feed_server.add("/search", body=rss(("Kendra Brooks at a Philadelphia hearing", link)))
    config = make_config(feed_server, tmp_path, google_news_url=google.base_url)
    clock = FakeClock()
    cycle(config, store, clock)
    (clip,) = store.all_clips()
    assert clip.url == f"{base}{canonical or '/news/m'}" and len(feed_server.hits("/news/m")) == 1
    feed_server.add("/w", body=page("Weather", story(naming=None)), headers=HTML)
    feed_server.add("/search", body=rss(("Kendra Brooks at a Philadelphia hearing", link), ("Weather", f"{base}/w")))
    clock.advance(hours=2)
    report = cycle(config, store, clock)
    assert report.feeds[0].ok and not report.feeds[0].not_modified  # the feed was read again
    status = store.enrich_queue_status()
    assert (status.waiting, status.failed) == (0, 0), status.failures
    assert len(feed_server.hits("/news/m")) == 1


def test_an_unmatched_search_items_article_is_read_once_though_its_link_was_resolved_since(
        feed_server: FeedServer, google: FakeGoogleNews, store: Store, tmp_path: Path) -> None:
    """Queued under its Google link, resolved, read and dropped (it names nobody). The same item in
    the feed's next readings maps to the publisher's page: the same page, not read a second time."""
    base = feed_server.base_url
    feed_server.add("/news/snow", body=page("Snow expected", story(naming=None)), headers=HTML)
    link = google.add(f"{base}/news/snow")
    config = make_config(feed_server, tmp_path, google_news_url=google.base_url)
    clock = FakeClock()
    for i in range(3):  # the feed changes every time (another item): it is parsed each time
        feed_server.add("/search", body=rss(("Snow expected this weekend", link), (f"Other {i}", f"{base}/other{i}")))
        report = cycle(config, store, clock)
        assert report.feeds[0].ok and not report.feeds[0].not_modified
        clock.advance(hours=1)
    assert len(feed_server.hits("/news/snow")) == 1
    assert not [c for c in store.all_clips() if "snow" in c.url or "Snow" in c.title]


def test_a_clip_staff_added_from_its_page_is_not_read_again_when_a_feed_carries_it(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/1", body=page("Brooks on the budget", story(naming="Councilmember Kendra Brooks", at=1)),
                    headers=HTML)
    url = f"{base}/a/1"
    entry = ParsedEntry(title="Brooks on the budget", link=url, guid=url, summary="", content=FILLER)
    mention = Mention("member", "kendra-brooks", "Kendra Brooks", "title", "Kendra Brooks")
    store.add_manual_clip(MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)), (mention,)), "demo",
                          FakeClock()())
    feed_server.add("/outlet", body=rss(("Kendra Brooks on the budget in Philadelphia", url), title="Paper"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    cycle(config, store, FakeClock())
    assert feed_server.hits("/a/1") == [], "staff read the page when adding the clip"
    assert store.enrich_queue_status().waiting == 0


def test_a_clip_whose_article_was_read_is_not_read_again_after_prune(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """An older prune dropped finished queue rows (prune now keeps a remaining clip's); the clip's stored
    article text still says it was read."""
    base = feed_server.base_url
    feed_server.add("/a/1", body=page("Brooks", story(naming="Councilmember Kendra Brooks", at=1)), headers=HTML)
    feed_server.add("/outlet", body=rss(("Kendra Brooks on the budget in Philadelphia", f"{base}/a/1"), title="Paper"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    clock = FakeClock()
    cycle(config, store, clock)
    assert len(feed_server.hits("/a/1")) == 1
    clock.advance(days=40)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM enrichment"))
    assert store.enrich_queue_status().done == 0  # the row is gone
    feed_server.add("/outlet", body=rss(("Kendra Brooks on the budget in Philadelphia", f"{base}/a/1"),
                                        ("Weather", f"{base}/w"), title="Paper"))
    cycle(config, store, clock)
    assert len(feed_server.hits("/a/1")) == 1


def test_ingest_prints_the_article_step(feed_server: FeedServer, db_url: str, tmp_path: Path) -> None:
    base = feed_server.base_url
    feed_server.add("/a/1", body=page("One", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    feed_server.add("/a/2", body=page("Two", story(naming=None)), headers=HTML)
    feed_server.add("/search", body=rss(("Nobody here", f"{base}/a/1"), ("Nobody there", f"{base}/a/2"),
                                        ("Nor here", f"{base}/a/3")))
    path = tmp_path / "feeds.yml"
    path.write_text(json.dumps({
        "settings": {"allow_private_hosts": True, "enrich_per_cycle": 2},
        "searches": [{"template": feed_server.url("/search?q={query}"), "for": ["members"]}], **REGISTRY,
    }), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "--db", db_url, "ingest"], obj=FakeClock())
    assert result.exit_code == 0, result.output
    assert ("articles: 2 read, 1 new clips found only in the article, 1 items dropped (the article names "
            "nobody), 0 search items kept unverified, 0 unreadable, 0 to try again (timeout, connection, server "
            "busy); 1 waiting for the next cycle") in " ".join(result.output.split())


def test_an_xhtml_page_with_an_xml_declaration_is_read() -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<meta property="og:title" content="Café council"/></head><body><article>'
            + "".join(f"<p>{p}</p>" for p in story(naming="Councilmember Kendra Brooks")) + "</article></body></html>").encode()
    article = extract_article(body, "https://a.example/x")
    assert article.title == "Café council" and "Kendra Brooks" in article.text


def test_a_feeds_media_credit_is_the_image_credit_until_the_article_gives_one(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """media:credit (inside media:content, or on the item) is the clip's found credit; an article that
    credits its image replaces it; staff's edit beats both."""
    base = feed_server.base_url
    feed_server.add("/a/plain", body=page("Plain", story(naming="Councilmember Kendra Brooks")), headers=HTML)
    feed_server.add("/a/credited", body=page("Credited", story(naming="Councilmember Kendra Brooks"),
                                             image=f"{base}/img/c.jpg", credit="Ana Lens"), headers=HTML)
    feed_server.add("/a/gone", status=404, body=b"not found", headers=HTML)
    items = "".join(
        f"<item><title>Kendra Brooks of Philadelphia, {name}</title><link>{base}/a/{name}</link>"
        f'<media:content url="{base}/img/{name}.jpg" medium="image"><media:credit role="photographer">'
        f"Feed Photographer {name}</media:credit></media:content></item>" for name in ("plain", "credited"))
    items += (f"<item><title>Kendra Brooks of Philadelphia, gone</title><link>{base}/a/gone</link>"
              f'<media:thumbnail url="{base}/img/gone.jpg"/><media:credit>Wire Service</media:credit></item>')
    feed_server.add("/outlet", body=(
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>Paper</title>{items}</channel></rss>").encode())
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    clock = FakeClock()
    report = cycle(config, store, clock)
    assert report.articles is not None and (report.articles.read, report.articles.failed) == (2, 1)
    clips = {c.url.rsplit("/", 1)[-1]: c for c in store.all_clips()}
    assert clips["gone"].display_image_credit == "Wire Service", "no article read: the feed's credit"
    assert clips["plain"].display_image_credit == "Feed Photographer plain", "the article gives no credit"
    assert clips["plain"].display_image_url == f"{base}/img/plain.jpg"
    assert clips["credited"].display_image_credit == "Photo: Ana Lens", "the article's own credit wins"

    edit_clip(store, config, clips["plain"].id, ClipEdit(image_credit="Staff credit"), "ana", clock=clock)
    clock.advance(hours=1)
    cycle(config, store, clock)  # the feed again: its credit does not undo staff's
    assert store.get_clip(clips["plain"].id).display_image_credit == "Staff credit"


def test_a_page_whose_details_the_database_refuses_fails_its_item_not_the_queue(store: Store, tmp_path: Path) -> None:
    """The database refuses what one page gave (here a lone surrogate, which no extraction would
    give now; an index row too long was another way): that item fails, and the articles queued after
    it are read in the same cycle. Unrecorded, it stayed first in line and stopped the queue for good."""
    from tests.fakes import ArticlesByUrl
    from tracker.ingest.steps import enrich_step
    from tracker.match import compile_matcher
    from tracker.models import Article, MatchedEntry, Mention, ParsedEntry

    urls = [f"https://news.example.com/a/{name}" for name in ("poison", "good0", "good1")]
    clock = FakeClock()
    for url in urls:
        entry = ParsedEntry(title=f"Kendra Brooks story {url[-5:]}", link=url, guid=url, summary="", content="")
        item = MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)),
                            (Mention("member", "kendra-brooks", "Kendra Brooks", "title", ""),))
        store.store_entries("paper", [item], clock())
        store.queue_articles("paper", [item], clock())
        clock.advance(minutes=1)
    words = "Councilmember Kendra Brooks of Philadelphia spoke. " * 10
    reader = ArticlesByUrl({url: Article(url=url, title="T", outlet="Paper", published_at=None, description="",
                                         text=words, image_url="https://cdn.example/i\ud800.jpg" if "poison" in url else None)
                            for url in urls})
    registry = parse_config({**REGISTRY, "feeds": []}, str(tmp_path / "feeds.yml"), tmp_path)
    report = enrich_step(store, reader, lambda: compile_matcher(registry.members, registry.campaigns), budget=10,
                         clock=clock, threads=1)
    assert report.error is None and (report.read, report.failed, report.left) == (2, 1, 0)
    status = store.enrich_queue_status()
    assert status.waiting == 0 and any("could not be stored" in reason for reason, _n in status.failures)
    with store.engine.connect() as conn:
        read = dict(conn.execute(text("SELECT url, article <> '' FROM clip")).all())
    assert [bool(read[u]) for u in urls] == [False, True, True]


def test_a_second_search_finding_a_clip_already_queued_is_its_source_and_vouches_for_its_member(
        store: Store, tmp_path: Path) -> None:
    """Two members' searches find one story whose page cannot be read: the clip is kept unverified for
    the first, and the second search's next reading makes it a source and adds its member too."""
    from tests.fakes import ArticlesByUrl
    from tracker.ingest.steps import enrich_step
    from tracker.match import compile_matcher

    url = "https://news.example.com/a/paywalled"
    entry = ParsedEntry(title="Council hearing on rents", link=url, guid=url, summary="", content="")
    item = MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)), ())
    clock = FakeClock()
    store.queue_articles("search-brooks", [item], clock(), search_for="member:kendra-brooks")
    store.queue_articles("search-cause", [item], clock(), search_for="campaign:good-cause")
    registry = parse_config({**REGISTRY, "feeds": []}, str(tmp_path / "feeds.yml"), tmp_path)
    report = enrich_step(store, ArticlesByUrl({}), lambda: compile_matcher(registry.members, registry.campaigns),
                         budget=10, clock=clock, threads=1)
    assert report.unverified == 1
    clock.advance(hours=1)
    store.queue_articles("search-brooks", [item], clock(), search_for="member:kendra-brooks")
    store.queue_articles("search-cause", [item], clock(), search_for="campaign:good-cause")
    clip = store.get_clip(item.clip_id)
    assert clip.unverified and set(clip.feed_ids) == {"search-brooks", "search-cause"}
    assert clip.member_ids == ("kendra-brooks",) and clip.campaign_ids == ("good-cause",)


def test_a_step_that_fails_is_written_on_the_run_for_tracker_status(feed_server: FeedServer, db_url: str,
                                                                   tmp_path: Path) -> None:
    from tracker.errors import StorageError
    from tracker.health import health_report
    from tracker.store.runs import STEP_FAILED

    class ArticlesUnreachable(Store):
        def due_articles(self, limit: int) -> Any:
            raise StorageError("database error: the article queue is locked")

    store = ArticlesUnreachable(db_url)
    base = feed_server.base_url
    feed_server.add("/outlet", body=rss(("Kendra Brooks in Philadelphia", f"{base}/a/z"), title="P"))
    config = make_config(feed_server, tmp_path, searches=False, feeds=[{"url": feed_server.url("/outlet")}])
    clock = FakeClock()
    report = cycle(config, store, clock)
    assert report.outcome == "ok" and report.articles is not None and report.articles.error
    (run,) = store.recent_runs(1)
    assert run.error is not None and run.error.startswith(STEP_FAILED) and "article queue is locked" in run.error
    assert "article queue is locked" in (health_report(store, clock()).last_run_problem or "")
    store.close()


def test_an_aggregators_name_gives_way_to_the_site_the_article_names(store: Store) -> None:
    from tracker.models import Article, FeedConfig

    store.sync_feeds([FeedConfig(id="wire", url="https://statehousewire.example/feed"),
                      FeedConfig(id="inquirer", url="https://www.inquirer.com/arc/outboundfeeds/rss/")])
    clock = FakeClock()
    mention = Mention("member", "kendra-brooks", "Kendra Brooks", "title", "")
    for feed_id, link, name in (("wire", "https://boltsmag.org/rent-caps/", "Statehouse Wire"),
                                ("inquirer", "https://www.inquirer.com/brooks.html", "The Philadelphia Inquirer")):
        entry = ParsedEntry(title="Kendra Brooks story", link=link, guid=link, summary="", content="", source_outlet=name)
        item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), (mention,))
        store.store_entries(feed_id, [item], clock())
        store.queue_articles(feed_id, [item], clock())
    site = {"https://boltsmag.org/rent-caps/": "Bolts", "https://www.inquirer.com/brooks.html": "Inquirer.com"}
    for task in store.due_articles(10):
        page = Article(url=task.url, title="Kendra Brooks story", outlet=site[task.url], image_url=None,
                       published_at=None, description="", text="Kendra Brooks said so. " * 20)
        store.finish_article(task, page, [mention], clock())
    outlets = {c.url: c.outlet for c in store.all_clips()}
    assert outlets == {"https://boltsmag.org/rent-caps/": "Bolts",  # only the wire's feed carried it
                       "https://www.inquirer.com/brooks.html": "The Philadelphia Inquirer"}  # its own feed's name


def test_an_exclude_term_in_the_article_removes_a_match_found_on_feed_text(
        feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    """`exclude` applies anywhere in the item, and the item includes its article once read: the feed's
    "Chris Evans visits Boston" is no mention once the page says "Marvel". A rematch then agrees."""
    from tracker.rematch import rematch_store

    base = feed_server.base_url
    feed_server.add("/a/evans", body=page("Chris Evans visits Boston",
                                          ["The Marvel star Chris Evans toured his home town. " + FILLER] + [FILLER] * 3),
                    headers=HTML)
    feed_server.add("/outlet", body=rss(("Chris Evans visits Boston", f"{base}/a/evans"), title="Paper"))
    config = parse_config({
        "settings": {"allow_private_hosts": True, "timeout_s": 2},
        "feeds": [{"url": feed_server.url("/outlet")}],
        "members": [{"id": "chris-evans", "name": "Chris Evans", "exclude": ["Marvel"]}],
    }, str(tmp_path / "feeds.yml"), tmp_path)
    report = cycle(config, store, FakeClock())
    assert report.new_clips == 1 and report.articles is not None and report.articles.read == 1
    (clip,) = store.all_clips()
    assert clip.member_ids == () and clip.mentions == ()
    assert rematch_store(config, store).changes == ()


def test_reading_the_article_keeps_staff_attachments_and_removals_as_rematch_does(store: Store) -> None:
    """The article's full match replaces the automatic mentions only: a member staff attached stays, one
    staff removed is not brought back, and one the article's text excludes goes."""
    from tracker.models import Article

    clock = FakeClock()
    url = "https://news.example.com/a/hearing"
    entry = ParsedEntry(title="Hearing on rents", link=url, guid=url, summary="", content="")
    found = {target: Mention("member", target, target, "title", "") for target in ("brooks", "gauthier", "landau")}
    item = MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)), tuple(found.values()))
    store.store_entries("paper", [item], clock())
    store.queue_articles("paper", [item], clock())
    # staff: gauthier is not in it, o'rourke is
    store.set_clip_targets(item.clip_id, ["brooks", "landau", "orourke"], [], "ana", clock())
    (task,) = store.due_articles(10)
    article = Article(url=url, title="Hearing on rents", outlet="Paper", published_at=None, description="",
                      text="Kendra Brooks and Jamie Gauthier spoke. " * 10, image_url=None)
    # what the matcher found in the whole item: landau's exclude term is in the article
    store.finish_article(task, article, [found["brooks"], found["gauthier"]], clock(), excluded=[("member", "landau")])
    clip = store.get_clip(item.clip_id)
    assert clip.member_ids == ("brooks", "orourke")


def test_reading_the_article_keeps_what_another_feeds_text_found(feed_server: FeedServer, store: Store,
                                                                 tmp_path: Path) -> None:
    """The wire's summary names Brooks; the publisher's own feed, read later, names only the campaign,
    and its page is a teaser naming nobody. The clip stays Brooks's: the article adds what
    only it names and takes away only what its `exclude` terms rule out of the item's own text."""
    base = feed_server.base_url

    def feed(title: str, summary: str) -> bytes:
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><item>'
                f"<title>Council votes Thursday</title><link>{base}/a/vote</link><description>{summary}</description>"
                "<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>").encode()

    feed_server.add("/a/vote", body=page("Council votes Thursday",
                                         ["Subscribe to read more. The council will vote on rent control Thursday. "
                                          + FILLER] + [FILLER] * 3), headers=HTML)
    feed_server.add("/wire", body=feed("Wire", "Councilmember Kendra Brooks pushed the bill in Philadelphia."))
    feed_server.add("/own", body=feed("Paper", "The Good Cause Eviction vote is Thursday."))
    data: dict[str, Any] = {
        "settings": {"allow_private_hosts": True, "timeout_s": 2, "enrich_per_cycle": 0},
        "feeds": [{"url": feed_server.url("/wire"), "id": "wire"}],
        "members": [{"id": "kendra-brooks", "name": "Kendra Brooks"}],
        "campaigns": [{"id": "gce", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
    }
    clock = FakeClock()
    cycle(parse_config(data, str(tmp_path / "feeds.yml"), tmp_path), store, clock)  # no article read yet
    assert [c.member_ids for c in store.all_clips()] == [("kendra-brooks",)]
    data["settings"] = {"allow_private_hosts": True, "timeout_s": 2}
    data["feeds"].append({"url": feed_server.url("/own"), "id": "own"})
    clock.advance(hours=1)
    report = cycle(parse_config(data, str(tmp_path / "feeds.yml"), tmp_path), store, clock)
    assert report.articles is not None and report.articles.read == 1
    (clip,) = store.all_clips()
    assert (clip.member_ids, clip.campaign_ids) == (("kendra-brooks",), ("gce",))

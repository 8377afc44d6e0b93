"""Reading article pages for "add a clip by URL": metadata extraction (pure) and fetching (real server)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, Route
from tracker.demo import demo_config
from tracker.enrich import (
    add_clip_from_page,
    extract_article,
    extract_page_meta,
    fetch_article,
    fetch_page_meta,
    is_consent_wall,
    match_page,
    staff_mention,
    with_edits,
)
from tracker.errors import FetchError
from tracker.fetch import FetchOptions
from tracker.models import Settings
from tracker.store import Store

ARTICLE = (Path(__file__).parent / "data" / "enrich" / "article.html").read_bytes()


def test_open_graph_wins_and_urls_are_made_absolute() -> None:
    meta = extract_page_meta(ARTICLE, "https://daily.example/news/1")
    assert meta.title == "Council advances Okafor's good cause eviction bill"
    assert meta.outlet == "Example Daily"
    assert meta.image_url == "https://daily.example/images/council-hearing.jpg"
    assert meta.published_at == datetime(2024, 5, 14, 13, 30, tzinfo=UTC)
    assert meta.description == "Councilmember Renata Okafor's bill would stop arbitrary evictions & rent hikes."
    assert meta.author == "Jo Reporter"
    assert "introduced by Councilmember Renata Okafor" in meta.text
    assert "Home | News" not in meta.text, "navigation is not article text"


def test_json_ld_fills_in_when_open_graph_is_missing() -> None:
    page = b"""<html><head><title>Fallback title</title>
    <script type="application/ld+json">[{"@type": ["NewsArticle"], "headline": "LD headline",
      "datePublished": "2024-03-02T10:00:00Z", "image": [{"url": "https://cdn.example/a.jpg"}],
      "publisher": {"name": "The LD Times"}, "description": "From JSON-LD"}]</script>
    <script type="application/ld+json">{broken</script></head><body></body></html>"""
    meta = extract_page_meta(page, "https://www.ldtimes.example/a")
    assert (meta.title, meta.outlet, meta.image_url, meta.description) == (
        "LD headline", "The LD Times", "https://cdn.example/a.jpg", "From JSON-LD")
    assert meta.published_at == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)


def test_bare_page_falls_back_to_title_host_and_time_element() -> None:
    page = b"<html><head><title> Just a page </title></head><body><time datetime='2024-01-05'>Jan 5</time></body></html>"
    meta = extract_page_meta(page, "https://www.smallpaper.example/x")
    assert (meta.title, meta.outlet, meta.image_url) == ("Just a page", "smallpaper.example", None)
    assert meta.published_at is not None and meta.published_at.date().isoformat() == "2024-01-05"


def test_unsafe_image_schemes_are_dropped() -> None:
    page = b'<html><head><meta property="og:image" content="javascript:alert(1)"></head></html>'
    assert extract_page_meta(page, "https://a.example/").image_url is None


@pytest.mark.parametrize("body", [b"", b"\x00\x01binary", b"<<<not html"])
def test_garbage_never_raises(body: bytes) -> None:
    meta = extract_page_meta(body, "https://a.example/")
    assert meta.outlet == "a.example"


def test_fetch_respects_allow_private_hosts(feed_server: FeedServer) -> None:
    url = feed_server.add("/article", Route(body=ARTICLE, headers={"Content-Type": "text/html"}))
    with pytest.raises(FetchError, match="private or loopback"):
        fetch_page_meta(url, Settings())
    meta = fetch_page_meta(url, Settings(allow_private_hosts=True))
    assert meta.outlet == "Example Daily"
    assert meta.image_url == feed_server.url("/images/council-hearing.jpg")
    assert feed_server.hits("/article")[0].headers["accept"].startswith("text/html")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://a.example/x", "not a url", "javascript:alert(1)"])
def test_only_web_addresses(url: str) -> None:
    with pytest.raises(FetchError, match="not a web address"):
        fetch_page_meta(url, Settings(allow_private_hosts=True))


def test_http_errors_are_fetch_errors(feed_server: FeedServer) -> None:
    url = feed_server.add("/gone", Route(status=404, body=b"no"))
    with pytest.raises(FetchError, match="404"):
        fetch_page_meta(url, Settings(allow_private_hosts=True))


def test_matching_and_adding_a_manual_clip(tmp_path: Path) -> None:
    meta = extract_page_meta(ARTICLE, "https://daily.example/news/1?utm_source=x")
    config = demo_config()
    found = match_page(config, meta)
    assert {(m.kind, m.target_id) for m in found} == {("member", "renata-okafor"), ("campaign", "good-cause-eviction")}
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    try:
        clip, created = add_clip_from_page(store, meta, user="maria", mentions=[*found, staff_mention("member", "grace-huang")])
        assert created and clip.manual and clip.status.value == "new"
        assert clip.canonical_url == "https://daily.example/news/1"
        assert set(clip.member_ids) == {"renata-okafor", "grace-huang"}
        assert clip.outlet == "Example Daily" and clip.image_url == "https://daily.example/images/council-hearing.jpg"
        history = store.history(clip.id)
        assert (history[0].user, history[0].action) == ("maria", "add")
        again, created_again = add_clip_from_page(store, meta, user="maria")
        assert not created_again and again.id == clip.id
    finally:
        store.close()


@pytest.mark.parametrize("content_type", ["image/png", "application/pdf", "application/octet-stream"])
def test_non_html_responses_are_refused(feed_server: FeedServer, content_type: str) -> None:
    url = feed_server.add("/file", Route(body=b"\x89PNG\r\n" + b"\0" * 1000, headers={"Content-Type": content_type}))
    with pytest.raises(FetchError, match="not a web page"):
        fetch_page_meta(url, Settings(allow_private_hosts=True))


def test_staff_clip_text_survives_a_feed_carrying_the_same_story(tmp_path: Path) -> None:
    from tracker.models import MatchedEntry, ParsedEntry
    from tracker.normalize import canonical_url, clip_id_for

    meta = extract_page_meta(ARTICLE, "https://daily.example/news/1")
    meta = with_edits(meta, title="Staff headline", description="Staff blurb")
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    try:
        clip, _ = add_clip_from_page(store, meta, user="maria", mentions=[staff_mention("member", "grace-huang")])
        feed_entry = ParsedEntry(title="SEO title | Site", link="https://daily.example/news/1?utm_source=rss",
                                 guid="g", summary="Subscribe now!", content="", image_url="https://daily.example/logo.png")
        mention = staff_mention("campaign", "good-cause-eviction")
        canonical = canonical_url(feed_entry.link)
        store.store_entries("some-feed", [MatchedEntry(feed_entry, canonical, clip_id_for(canonical), (mention,))],
                            clip.first_seen_at)
        after = store.get_clip(clip.id)
        assert (after.title, after.summary) == ("Staff headline", "Staff blurb")
        assert after.image_url == clip.image_url
        assert set(after.campaign_ids) == {"good-cause-eviction"}  # the feed's match still counts
        assert after.feed_ids == ("some-feed",)
    finally:
        store.close()


def test_adding_an_already_tracked_article_attaches_the_chosen_members(tmp_path: Path) -> None:
    meta = extract_page_meta(ARTICLE, "https://daily.example/news/1")
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    try:
        first, created = add_clip_from_page(store, meta, user="maria", mentions=[staff_mention("member", "renata-okafor")])
        again, created_again = add_clip_from_page(store, meta, user="omar", mentions=[staff_mention("member", "grace-huang")])
        assert created and not created_again and again.id == first.id
        assert set(again.member_ids) == {"renata-okafor", "grace-huang"}
        assert [(h.user, h.action) for h in store.history(first.id)] == [("maria", "add"), ("omar", "tag")]
    finally:
        store.close()


# ------------------------------------------------------------------ real-world article pages, read in place


def test_corpus_pages_yield_metadata() -> None:
    from tests.conftest import corpus_dir

    pages = sorted(corpus_dir("pages").glob("*.html"))
    assert len(pages) >= 30
    redirects = {"google_meta_refresh", "ap_meta_refresh"}  # not articles: a redirect stub, an index page
    for path in pages:
        body = path.read_bytes()
        meta = extract_page_meta(body, "https://example.com/article")
        if any(r in path.name for r in redirects):
            continue
        assert meta.title, path.name
        if re.search(rb"""property=["']og:image["'][^>]*content=["']https?://""", body):
            assert meta.image_url and meta.image_url.startswith(("http://", "https://")), path.name
        assert meta.published_at is None or meta.published_at.utcoffset() is not None
        assert "Â" not in meta.title and "â€" not in meta.title, f"{path.name}: decoded with the wrong charset"


def test_corpus_article_matches_a_member_named_only_in_the_body() -> None:
    from tests.conftest import corpus_dir
    from tracker.config import parse_config

    path = next(corpus_dir("pages").glob("*gothamist*"))
    meta = extract_page_meta(path.read_bytes(), "https://gothamist.com/news/rezoning")
    # Configured without the accent; the page writes "Velázquez".
    config = parse_config({"members": [{"name": "Marjorie Velazquez", "require_any": ["Bronx"]}]}, "t.yml")
    found = match_page(config, meta)
    assert [m.target_id for m in found] == ["marjorie-velazquez"]
    assert "Velázquez" in found[0].snippet
    other = parse_config({"members": [{"name": "Marjorie Velazquez", "require_any": ["Brooklyn Heights"]}]}, "t.yml")
    assert match_page(other, meta) == []


@pytest.mark.parametrize(
    ("body", "declared", "expected"),
    [
        (b"<html><head><title>x</title>" + b" " * 3000 + b'<meta charset="UTF-8"></head></html>', None, "utf-8"),
        ('<html><head><meta charset="windows-1252"><title>Caf\xe9</title>'.encode("latin-1"), None, "cp1252"),
        ("<html><title>Café</title></html>".encode(), None, "utf-8"),
        ("<html><title>Café</title></html>".encode("cp1252"), None, "cp1252"),
        (b"<html></html>", "iso-8859-1", "iso8859-1"),
        (b'<meta charset="no-such-charset">', None, "utf-8"),
    ],
)
def test_page_charset(body: bytes, declared: str | None, expected: str) -> None:
    from tracker.enrich import page_charset

    assert page_charset(body, declared) == expected


def test_late_meta_charset_is_honoured() -> None:
    body = ("<html><head>" + "<!-- padding -->" * 200 + '<meta charset="UTF-8"><title>Guns and\u00a0drones</title>'
            "</head><body></body></html>").encode()
    assert extract_page_meta(body, "https://a.example/x").title == "Guns and drones"


# ------------------------------------------------------------------ hostile and unusual pages (found by review)


def test_an_image_address_with_characters_no_database_stores_is_dropped() -> None:
    for bad in ("\\ud800", "\\u0000"):
        ld = '<script type="application/ld+json">{"@type":"NewsArticle","image":"https://cdn.example/i' + bad + '.jpg"}</script>'
        meta = extract_article(f"<html><head>{ld}</head><body><p>x</p></body></html>".encode(), "https://p.example/a")
        assert meta.image_url in (None, "https://cdn.example/i.jpg")


def test_broken_addresses_and_deep_json_ld_never_raise() -> None:
    deep = '<script type="application/ld+json">' + "[" * 5000 + "]" * 5000 + "</script>"
    broken = '<meta property="og:image" content="https://[cdn.example/i.jpg"><link rel="canonical" href="https://[x">'
    meta = extract_article(f"<html><head><title>T</title>{deep}{broken}</head><body></body></html>".encode(),
                           "https://p.example/a")
    assert meta.title == "T" and meta.image_url is None and meta.canonical_url is None


def test_page_details_are_held_to_a_feeds_limits() -> None:
    huge = "x" * 9000
    head = (f'<meta property="og:site_name" content="{huge}"><meta name="author" content="{huge}">'
            f'<meta property="og:title" content="{huge}"><meta property="og:description" content="{"y " * 6000}">')
    meta = extract_article(f"<html><head>{head}</head><body></body></html>".encode(), "https://p.example/a")
    assert len(meta.outlet) <= 200 and len(meta.author) <= 200 and len(meta.title) <= 500
    assert len(meta.description) <= 5000


@pytest.mark.parametrize("article_first", [True, False])
def test_the_article_node_wins_over_the_page_node_whatever_their_order(article_first: bool) -> None:
    nodes = ['{"@type": "WebPage", "author": {"name": "The Site"}}',
             '{"@type": "NewsArticle", "author": {"name": "J. Reporter"}, "headline": "Story"}']
    graph = ", ".join(reversed(nodes) if article_first else nodes)
    ld = f'<script type="application/ld+json">{{"@graph": [{graph}]}}</script>'
    meta = extract_article(f"<html><head>{ld}</head><body></body></html>".encode(), "https://p.example/a")
    assert meta.author == "J. Reporter" and meta.title == "Story"


@pytest.mark.parametrize(("codec", "declared"), [("euc_kr", "EUC-KR"), ("euc_jp", "EUC-JP"), ("iso2022_jp", "ISO-2022-JP"),
                                                 ("cp874", "windows-874"), ("cp932", "windows-31j")])
def test_pages_in_east_asian_and_thai_encodings_are_read(codec: str, declared: str) -> None:
    text = {"euc_kr": "시의회가 임대료 상한을 통과시켰다", "euc_jp": "市議会は家賃の上限を可決した",
            "iso2022_jp": "市議会は家賃の上限を可決した", "cp874": "สภาเมืองผ่านเพดานค่าเช่า",
            "cp932": "市議会は家賃の上限を可決した"}[codec]
    body = (f"<html><head><title>{text}</title></head><body><p>{text}</p></body></html>").encode(codec)
    meta = extract_article(body, "https://p.example/a", declared)
    assert meta.title == text


@pytest.mark.parametrize(("url", "wall"), [
    ("https://consent.yahoo.com/v2/collectConsent?sessionId=3", True),
    ("https://consent.google.com/ml?continue=x", True),
    ("https://www.example.com/gdpr?next=/a", True),
    ("https://www.example.com/news/consent-decree-signed", False),
    ("https://www.consentnews.example/a", False),
])
def test_consent_walls_are_known_by_host_and_path(url: str, wall: bool) -> None:
    assert is_consent_wall(url) is wall


def test_a_page_with_too_many_tags_is_refused_quickly(feed_server: FeedServer) -> None:
    import time

    feed_server.add("/big", body=b"<html><body>" + b"<div>x</div>" * 60_000 + b"</body></html>",
                    headers={"Content-Type": "text/html"})
    started = time.monotonic()
    with pytest.raises(FetchError, match="too large to read"):
        fetch_article(feed_server.url("/big"), FetchOptions(allow_private_hosts=True))
    assert time.monotonic() - started < 10  # trafilatura alone took minutes on pages like it


@pytest.mark.parametrize(("a", "b", "same"), [
    ("https://www.inquirer.com/a", "https://amp.inquirer.com/b", True),
    ("https://www.bbc.co.uk/a", "https://bbc.co.uk/b", True),
    ("https://x.co.uk/a", "https://y.co.uk/b", False),
    ("https://alice.substack.com/p/a", "https://bob.substack.com/p/b", False),  # tenants of one platform
    ("https://alice.substack.com/p/a", "https://alice.substack.com/p/b", True),
    ("https://alice.blogspot.com/a", "https://bob.blogspot.com/b", False),
    ("https://alice.wordpress.com/a", "https://www.wordpress.com/b", False),
    ("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b", True),
    ("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b", False),
])
def test_a_page_speaks_for_its_own_site_only(a: str, b: str, same: bool) -> None:
    from tracker.enrich import same_site

    assert same_site(a, b) is same


def test_a_page_built_by_script_is_read_from_its_json_ld_article_body() -> None:
    # trafilatura finds only a caption on such a page (scmp.com's); the page states its text itself.
    import json

    body_text = "Councilmember Kendra Brooks said the rent cap would pass. " * 10
    ld = json.dumps({"@type": "NewsArticle", "headline": "Rent cap", "articleBody": body_text})
    page_html = (f'<html><head><script type="application/ld+json">{ld}</script></head>'
                 '<body><div id="app"><figure><figcaption>A photo</figcaption></figure></div></body></html>')
    meta = extract_article(page_html.encode(), "https://p.example/a")
    assert "Kendra Brooks said the rent cap" in meta.text and len(meta.text) >= 200


def test_corpus_script_built_page_and_credit_label() -> None:
    from tests.conftest import corpus_dir

    pages = corpus_dir("pages")
    scmp = extract_article((pages / "trafilatura__scmp.com.playbook.html").read_bytes(), "https://www.scmp.com/a")
    assert len(scmp.text) > 4000
    nyt = extract_article((pages / "trafilatura__nytimes.com.blackouts.html").read_bytes(), "https://www.nytimes.com/a")
    assert nyt.image_credit == "Rich Pedroncelli/Associated Press"

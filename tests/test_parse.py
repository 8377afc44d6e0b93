"""Parsing: golden feeds written for this project, and every real-world feed in the corpus."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import corpus_dir
from tracker.errors import ParseError
from tracker.models import ParsedFeed
from tracker.parse import parse_feed

DATA = Path(__file__).parent / "data" / "feeds"
GOLDEN = ["city-desk.rss", "statehouse.atom", "news-search.xml", "latin1.rss", "truncated.xml", "media-credit.rss"]


def _as_json(feed: ParsedFeed) -> dict[str, Any]:
    data = asdict(feed)
    data["entries"] = list(data["entries"])
    for entry in data["entries"]:
        entry["published_at"] = entry["published_at"].isoformat() if entry["published_at"] else None
        entry["related"] = [list(pair) for pair in entry["related"]]  # JSON has no tuples
    return data


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_feed(name: str) -> None:
    parsed = parse_feed((DATA / name).read_bytes(), url=f"https://example.com/{name}")
    expected_path = DATA / f"{name}.expected.json"
    actual = _as_json(parsed)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip("golden file rewritten; run again without UPDATE_GOLDEN to check it")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))


def test_rss_details() -> None:
    feed = parse_feed((DATA / "city-desk.rss").read_bytes())
    first = feed.entries[0]
    assert feed.title == "City Desk & Hall"
    assert feed.ttl_minutes == 90
    # HTML is reduced to text, entities decoded, inline tags do not split words
    assert first.summary == "Councilmember Kendra Brooks and Councilmember Nicholas O’Rourke backed the bill. Tenants cheered."
    assert first.image_url == "https://cdn.example.com/img/council-large.jpg"  # widest media:content
    assert first.published_at is not None and first.published_at.isoformat() == "2026-11-20T14:30:00+00:00"
    assert first.published_raw == "Fri, 20 Nov 2026 09:30:00 -0500"
    assert first.author == "Pat Reporter"
    assert feed.entries[1].image_url == "https://cdn.example.com/img/budget.png"  # image enclosure
    assert feed.entries[2].image_url == "https://cdn.example.com/img/thumb.jpg"  # media:thumbnail
    assert feed.entries[2].published_at is None
    assert len(feed.entries) == 3  # the item without a link is not a clip


def test_media_credit_is_the_images_credit() -> None:
    """Inside media:content or on the item; a photographer's before an author's; none without an image."""
    credits = [e.image_credit for e in parse_feed((DATA / "media-credit.rss").read_bytes()).entries]
    assert credits == ["Ana Lens / Staff Photographer", "Photograph: O'Reilly & Sons/Wire", "Pat Photo", None]
    assert parse_feed((DATA / "city-desk.rss").read_bytes()).entries[0].image_credit is None


def test_atom_dates_are_utc_and_content_is_text() -> None:
    feed = parse_feed((DATA / "statehouse.atom").read_bytes())
    entry = feed.entries[0]
    assert entry.published_at is not None
    assert entry.published_at.utcoffset() is not None and entry.published_at.utcoffset().total_seconds() == 0
    assert entry.published_at.isoformat() == "2026-11-21T14:04:05+00:00"
    assert "Erin Murphy" in entry.content and "<p>" not in entry.content
    assert feed.entries[1].published_at is not None  # falls back to <updated>


def test_search_feed_outlet_from_source_and_title_suffix_dropped() -> None:
    entry = parse_feed((DATA / "news-search.xml").read_bytes()).entries[0]
    assert entry.source_outlet == "Albany Times Example"
    assert entry.title == "Local electeds demand Good Cause Eviction"


def test_undeclared_latin1_charset_is_read() -> None:
    entry = parse_feed((DATA / "latin1.rss").read_bytes()).entries[0]
    assert entry.title == "Notícias da Câmara"
    assert "José María" in entry.summary


def test_broken_feed_yields_what_it_could_and_records_problem() -> None:
    feed = parse_feed((DATA / "truncated.xml").read_bytes())
    assert feed.problem
    assert [e.link for e in feed.entries] == ["https://trunc.example.com/1"]


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01garbage", (DATA / "not-a-feed.html").read_bytes()])
def test_not_a_feed_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body)


def test_html_page_error_says_so() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed((DATA / "not-a-feed.html").read_bytes())


# ------------------------------------------------------------------ real-world corpus, read in place


def _corpus_feeds() -> list[Path]:
    root = Path(os.environ.get("TRACKER_CORPUS", str(Path(__file__).resolve().parents[2] / "shared" / "corpus")))
    return sorted((root / "feeds").glob("*")) if (root / "feeds").is_dir() else []


# Captured feeds that are not well-formed XML: they must not raise, but may yield nothing.
_MALFORMED = {"dylanharris", "kroy", "oscard0m", "codearcana", "uolNoticias"}


@pytest.mark.parametrize("path", _corpus_feeds() or [None], ids=lambda p: p.name if p else "corpus-missing")
def test_corpus_feed(path: Path | None) -> None:
    if path is None:
        corpus_dir("feeds")  # skips locally, fails in CI
        pytest.fail("corpus/feeds exists but holds no feeds")
    try:
        feed = parse_feed(path.read_bytes(), url="https://example.com/feed")
    except ParseError:
        pytest.fail(f"{path.name}: ParseError on a real feed")
    malformed = any(m in path.name for m in _MALFORMED)
    if not malformed:
        assert feed.entries, f"{path.name}: no entries from a well-formed feed"
    for entry in feed.entries:
        assert entry.link.startswith(("http://", "https://")), entry.link
        if entry.published_at is not None:
            assert entry.published_at.utcoffset() is not None
            assert entry.published_at.utcoffset().total_seconds() == 0
    if not malformed:
        dated = [e for e in feed.entries if e.published_at is not None]
        # illegally-nested has ghost items; everything else dates every entry
        assert len(dated) >= len(feed.entries) // 2, f"{path.name}: most entries undated"


def test_corpus_images_found_where_feeds_have_them() -> None:
    feeds = corpus_dir("feeds")
    for name in ("bbcnews-world", "guardian", "foreignpolicy", "iconv"):
        path = next(feeds.glob(f"*{name}*"))
        entries = parse_feed(path.read_bytes()).entries
        assert any(e.image_url for e in entries), name


def test_corpus_google_news_outlets() -> None:
    path = next(corpus_dir("feeds").glob("*google_news*"))
    entries = parse_feed(path.read_bytes()).entries
    assert len(entries) == 92
    assert all(e.source_outlet for e in entries)
    assert not any(e.title.endswith(f" - {e.source_outlet}") for e in entries)


def test_search_feed_summary_that_only_repeats_the_headline_is_dropped() -> None:
    entry = parse_feed((DATA / "news-search.xml").read_bytes()).entries[0]
    assert entry.summary == ""


# ------------------------------------------------------------------ problems a person can act on


def _rss(items: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
            f"<link>https://t.example/</link>{items}</channel></rss>").encode()


def test_an_oversized_feed_keeps_the_newest_items_and_says_how_many_were_left() -> None:
    from tracker.parse import MAX_ENTRIES_PER_FEED

    n = MAX_ENTRIES_PER_FEED + 500
    # Oldest first in the document: "the first 1,000" would be the oldest ones.
    items = "".join(
        f"<item><title>t{i}</title><link>https://t.example/{i}</link>"
        f"<pubDate>{(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)):%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for i in range(n)
    )
    feed = parse_feed(_rss(items))
    assert len(feed.entries) == MAX_ENTRIES_PER_FEED
    assert {e.link for e in feed.entries} == {f"https://t.example/{i}" for i in range(500, n)}
    assert feed.alert == f"{n:,} items in the feed; only the newest {MAX_ENTRIES_PER_FEED:,} were read"


def test_a_feed_whose_items_have_no_links_is_a_problem_not_a_quiet_feed() -> None:
    feed = parse_feed(_rss("<item><title>a</title></item><item><title>b</title><link>mailto:x@y.z</link></item>"))
    assert feed.entries == () and feed.alert == "none of the 2 items has a web link to clip"
    # One odd item among good ones is not flagged.
    assert parse_feed(_rss("<item><title>a</title></item><item><title>b</title>"
                           "<link>https://t.example/b</link></item>")).alert is None
    assert parse_feed(_rss("")).alert is None  # an empty, well-formed feed is just quiet


def test_a_malformed_feed_that_yields_nothing_says_it_is_broken() -> None:
    feed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>x &amp')
    assert feed.entries == ()
    assert feed.alert is not None and feed.alert.startswith("broken feed: no items could be read (")
    assert feed.problem is not None and feed.problem in feed.alert  # feedparser's reason, in words


def test_a_one_line_billion_laughs_is_not_expanded() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 7))  # 3 million characters: under expat's own limit
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]>'
            # 40 KB of ordinary text keeps the ratio under expat's amplification limit, which
            # alone would stop a small document.
            f'<rss version="2.0"><channel><title>T</title><description>{"news " * 8000}</description>'
            '<item><title>&lol6;</title>'
            "<link>https://t.example/1</link></item></channel></rss>").encode()
    started = time.monotonic()
    feed = parse_feed(body)
    assert time.monotonic() - started < 2
    # Titles are cut to 500 characters anyway: what must not happen is the expansion itself
    # (expat would stop it past its amplification limit, after doing the work).
    assert feed.entries and all("lollol" not in e.title for e in feed.entries)
    assert "amplification" not in (feed.problem or "")


def test_a_json_feed_with_a_byte_order_mark_is_read() -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T",
                       "items": [{"id": "1", "url": "https://ex.org/a", "title": "Hello"}]}).encode()
    (entry,) = parse_feed(b"\xef\xbb\xbf" + body).entries
    assert entry.title == "Hello" and entry.link == "https://ex.org/a"


def test_an_iso_offset_without_a_colon_keeps_its_minutes() -> None:
    # feedparser reads +0530 as +05:00; India's, Nepal's and Newfoundland's feeds would be 30 minutes off.
    entries = "".join(
        f'<entry><title>{n}</title><link href="https://x.example/{n}"/><id>{n}</id><updated>{stamp}</updated></entry>'
        for n, stamp in (("in", "2025-06-10T04:00:00+0530"), ("np", "2025-06-10T04:00:00+0545"),
                         ("nl", "2025-06-10T04:00:00-0330"), ("utc", "2025-06-10T04:00:00Z")))
    body = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>{entries}</feed>'
    got = {e.title: e.published_at for e in parse_feed(body.encode()).entries}
    assert got == {"in": datetime(2025, 6, 9, 22, 30, tzinfo=UTC), "np": datetime(2025, 6, 9, 22, 15, tzinfo=UTC),
                   "nl": datetime(2025, 6, 10, 7, 30, tzinfo=UTC), "utc": datetime(2025, 6, 10, 4, 0, tzinfo=UTC)}

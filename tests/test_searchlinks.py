"""Search links, offline: which links are Google News or Bing redirects, the old Google ids that carry
the publisher's URL (golden cases built byte by byte), Google's page and batchexecute formats, and the
real Google News search feed of the corpus."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import corpus_dir
from tracker.parse import parse_feed
from tracker.resolve.google import Signed, batch_form, page_url, read_batch_reply, read_signature
from tracker.resolve.links import (
    BING_NEWS,
    GOOGLE_NEWS,
    decode_bing_link,
    decode_google_id,
    encode_google_id,
    google_article_id,
    search_link,
)

BASE = "https://news.google.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# Built by hand from the protobuf layout (08 13 = field 1 is 19; 22 = field 4, bytes; d2 01 = field 26),
# not with encode_google_id, so the decoder is checked against the format rather than against itself.
SHORT = "https://example.org/a"
_PREFIX = "https://www.example-paper.com/news/2026/11/20/council-votes-on-rent-"
LONG = _PREFIX + "x" * (200 - len(_PREFIX) - 5) + ".html"  # 200 bytes: a length past 127 takes two bytes
GOLDEN = [
    (_b64(b"\x08\x13\x22" + bytes([len(SHORT)]) + SHORT.encode()), SHORT),
    # a 2-byte varint length (LONG is 200 bytes: c8 01), then the AMP copy in field 26
    (_b64(b"\x08\x13\x22\xc8\x01" + LONG.encode() + b"\xd2\x01\x05https"), LONG),
    # field 26 before field 4, and a varint field after: the walk finds field 4 wherever it is
    (_b64(b"\x08\x13\xd2\x01\x02ab\x22" + bytes([len(SHORT)]) + SHORT.encode() + b"\x28\x01"), SHORT),
    ("CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", SHORT),  # the first case written out, padding dropped as Google does
]


@pytest.mark.parametrize(("article_id", "url"), GOLDEN)
def test_old_google_ids_decode_offline(article_id: str, url: str) -> None:
    assert len(LONG) == 200
    assert decode_google_id(article_id) == url
    link = search_link(f"{BASE}/rss/articles/{article_id}?oc=5", BASE)
    assert link is not None and link.engine == GOOGLE_NEWS and link.publisher_url == url and not link.needs_lookup


def test_encoding_an_id_gives_the_golden_bytes() -> None:
    assert encode_google_id(SHORT) == GOLDEN[3][0]
    assert decode_google_id(encode_google_id(LONG, amp_url=LONG + ".amp")) == LONG


@pytest.mark.parametrize("target", [
    b"AU_yqLPkgjwN7GM6bkL34fQ49DTO0FOo6HZTEfXEFQiR2hNr1SG",  # a current id: a token, not a URL
    b"javascript:alert(1)", b"ftp://example.org/x", b"https://", b"https://exa mple.org/", b"\xff\xfe",
])
def test_ids_without_a_web_url_need_a_lookup(target: str) -> None:
    article_id = _b64(b"\x08\x13\x22" + bytes([len(target)]) + target)
    assert decode_google_id(article_id) is None
    link = search_link(f"{BASE}/articles/{article_id}", BASE)
    assert link is not None and link.needs_lookup


@pytest.mark.parametrize("article_id", ["!!!!not-base64", "CBMi", "AAAAAAAAAAAA", _b64(b"\x08\x13\x22\x7fshort")])
def test_unreadable_ids_are_not_decoded(article_id: str) -> None:
    assert decode_google_id(article_id) is None


@pytest.mark.parametrize(("link", "base", "is_google"), [
    (f"{BASE}/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ?oc=5", BASE, True),
    (f"{BASE}/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", BASE, True),
    (f"{BASE}/read/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ?hl=en-US&gl=US&ceid=US%3Aen", BASE, True),
    ("https://NEWS.google.com:443/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", BASE, True),
    ("http://news.google.com/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", BASE, False),  # scheme differs
    ("https://news.google.com:8443/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", BASE, False),  # port
    ("https://news.google.com.evil.example/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", BASE, False),
    (f"{BASE}/rss/search?q=%22Kendra+Brooks%22", BASE, False),  # a search, not an article
    (f"{BASE}/rss/articles/CBMiFW/../../x", BASE, False),
    ("http://127.0.0.1:8080/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", "http://127.0.0.1:8080", True),
    ("http://127.0.0.1:8081/rss/articles/CBMiFWh0dHBzOi8vZXhhbXBsZS5vcmcvYQ", "http://127.0.0.1:8080", False),
])
def test_a_google_news_link_is_one_on_the_configured_base(link: str, base: str, is_google: bool) -> None:
    assert (google_article_id(link, base) is not None) is is_google


def test_bing_news_links_decode_offline() -> None:
    link = ("https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=6748B0D2&url=https%3a%2f%2f"
            "www.gothamist.com%2fnews%2fgood-cause%3fa%3d1%26b%3d2&c=1234&mkt=en-us")
    found = search_link(link, BASE)
    assert found is not None and found.engine == BING_NEWS
    assert found.publisher_url == "https://www.gothamist.com/news/good-cause?a=1&b=2"
    assert decode_bing_link("https://www.bing.com/news/apiclick.aspx?url=javascript%3aalert(1)") is None
    assert search_link("https://www.bing.com/news/apiclick.aspx?tid=1", BASE) is None  # nothing to decode
    assert search_link("https://evil.example/news/apiclick.aspx?url=https%3a%2f%2fa.example%2f", BASE) is None


def test_the_real_google_news_feed_links_are_recognised() -> None:
    path = corpus_dir("feeds") / "monument-watch__google_news.xml"
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    feed = parse_feed(path.read_bytes())
    assert len(feed.entries) == 92
    links = [search_link(e.link, BASE) for e in feed.entries]
    assert all(link is not None and link.engine == GOOGLE_NEWS for link in links)
    # Every one is a current-style id (an AU_yqL… token): only Google can say where it leads.
    assert all(link is not None and link.needs_lookup for link in links)
    first = links[0]
    assert first is not None
    raw = base64.urlsafe_b64decode(first.article_id + "=" * (-len(first.article_id) % 4))
    assert raw.startswith(b"\x08\x13\x22") and raw[5:11] == b"AU_yqL"
    assert page_url(BASE, first.article_id, feed.entries[0].link).startswith(
        f"{BASE}/rss/articles/{first.article_id}?hl=en-US&gl=US&ceid=US%3Aen")


def test_the_article_page_signature() -> None:
    page = (b"<html><body><c-wiz><div jscontroller='x' data-n-a-sg='AZ5r3e' data-n-a-ts='1733300000'>"
            b"</div></c-wiz></body></html>")
    assert read_signature("id1", page) == Signed("id1", "AZ5r3e", "1733300000")
    # An attribute elsewhere on the page (not the c-wiz's div) is not taken for it.
    assert read_signature("id1", b"<html><div jscontroller='x' data-n-a-sg='a' data-n-a-ts='1'></div></html>") is None
    assert read_signature("id1", b"") is None
    assert read_signature("id1", b"\x00\xff binary") is None


def test_batchexecute_form_and_replies() -> None:
    form = batch_form([Signed("ID1", "sig1", "17"), Signed("ID2", "sig2", "x18")])
    (calls,) = json.loads(form["f.req"])
    assert [c[0] for c in calls] == ["Fbv4je", "Fbv4je"] and [c[2:] for c in calls] == [[None, "1"], [None, "2"]]
    inner = json.loads(calls[0][1])
    assert inner[0] == "garturlreq" and inner[2:] == ["ID1", 17, "sig1"] and isinstance(inner[1], list)

    def row(url: str, request_id: str | None) -> list[object]:
        return ["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1]), None, None, None, request_id]

    plain = ")]}'\n\n" + json.dumps([row("https://b.example/2", "2"), row("https://a.example/1", "1"), ["di", 9]])
    assert read_batch_reply(plain.encode(), 2) == {0: "https://a.example/1", 1: "https://b.example/2"}
    chunks = [json.dumps([row("https://a.example/1", "1")]), json.dumps([["di", 9]])]
    chunked = ")]}'\n" + "".join(f"{len(c)}\n{c}\n" for c in chunks)
    assert read_batch_reply(chunked.encode(), 1) == {0: "https://a.example/1"}
    by_order = ")]}'\n" + json.dumps([row("https://a.example/1", None), row("https://b.example/2", None)])
    assert read_batch_reply(by_order.encode(), 2) == {0: "https://a.example/1", 1: "https://b.example/2"}
    hostile = ")]}'\n" + json.dumps([row("javascript:alert(1)", "1"), row("https://b.example/2", "2")])
    assert read_batch_reply(hostile.encode(), 2) == {1: "https://b.example/2"}
    assert read_batch_reply(plain.encode()[:40], 2) == {}  # cut off: nothing, no exception
    assert read_batch_reply(b"<html>sorry</html>", 1) == {}


def test_two_search_links_to_one_story_keep_every_mention() -> None:
    # A Bing feed lists one story twice; only the second item's text named the member.
    from tracker.ingest.steps import PollResult, links_step
    from tracker.models import FeedConfig, FeedState, MatchedEntry, Mention, ParsedEntry
    from tracker.normalize import canonical_url, clip_id_for

    def bing(title: str, mentions: tuple[Mention, ...]) -> MatchedEntry:
        link = ("https://www.bing.com/news/apiclick.aspx?ref=FexRss&url=https%3a%2f%2fwww.gothamist.com%2fnews%2f"
                f"good-cause&c={len(title)}")
        entry = ParsedEntry(title=title, link=link, guid=link, summary="", content="", source_outlet="Gothamist")
        return MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), mentions)

    brooks = Mention("member", "kendra-brooks", "Kendra Brooks", "title", "Kendra Brooks")
    poll = PollResult(FeedConfig(id="bing", url="https://www.bing.com/news/search?q=x&format=rss", kind="search"),
                      FeedState("bing", "https://www.bing.com/news/search?q=x&format=rss", None, None, None, 0, None, None,
                                None, None),
                      entries=(bing("Good cause eviction passes", ()), bing("Kendra Brooks on good cause eviction", (brooks,))))
    (item,) = links_step(poll, BASE).entries
    assert item.entry.link == "https://www.gothamist.com/news/good-cause" and item.mentions == (brooks,)


def test_a_search_link_wrapping_another_is_the_inner_one_never_a_publishers_address() -> None:
    from urllib.parse import quote

    from tracker.resolve.links import encode_google_id, search_link

    base = "https://news.google.com"
    inner = f"{base}/rss/articles/{encode_google_id('https://pub.example/a')}?oc=5"
    nested = search_link(f"{base}/rss/articles/{encode_google_id(inner)}?oc=5", base)
    assert nested is not None and nested.publisher_url == "https://pub.example/a"
    bing = search_link("https://www.bing.com/news/apiclick.aspx?url=" + quote(inner, safe=""), base)
    assert bing is not None and bing.publisher_url == "https://pub.example/a"
    # A current-style Google id inside Bing's link: Google must be asked, as for the id alone.
    token = f"{base}/rss/articles/CBMiTOKENTOKENTOKEN?oc=5"
    wrapped = search_link("https://www.bing.com/news/apiclick.aspx?url=" + quote(token, safe=""), base)
    assert wrapped is not None and wrapped.needs_lookup and wrapped.article_id == "CBMiTOKENTOKENTOKEN"
    twice = search_link("https://www.bing.com/news/apiclick.aspx?url="
                        + quote("https://www.bing.com/news/apiclick.aspx?url=https%3a%2f%2fx.example%2fa", safe=""), base)
    assert twice is not None and twice.publisher_url == "https://x.example/a"
    # Another region's Google News: unreadable here, and still no publisher's address.
    regional = "https://news.google.co.uk/rss/articles/CBMiTOKEN?oc=5"
    other = search_link("https://www.bing.com/news/apiclick.aspx?url=" + quote(regional, safe=""), base)
    assert other is not None and other.needs_lookup

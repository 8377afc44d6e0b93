"""URL canonicalisation, HTML to text, dates to UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.normalize import (
    canonical_url,
    clean_url,
    clip_id_for,
    html_to_text,
    parse_date,
    to_utc,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/Story?utm_source=rss&utm_medium=x", "https://www.example.com/News/Story"),
        ("https://example.com/a?id=7&utm_campaign=z&fbclid=abc#comments", "https://example.com/a?id=7"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),  # order does not split a story
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?gclid=1&mc_cid=2&mc_eid=3", "https://example.com/a"),
        ("https://example.com/search?q=good+cause", "https://example.com/search?q=good+cause"),
        ("  https://example.com/caf%C3%A9  ", "https://example.com/caf%C3%A9"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_same_story_same_clip_id() -> None:
    a = canonical_url("https://www.inquirer.com/politics/x.html?utm_source=twitter")
    b = canonical_url("https://www.inquirer.com/politics/x.html#top")
    assert clip_id_for(a) == clip_id_for(b)
    assert clip_id_for(a) != clip_id_for(canonical_url("https://www.inquirer.com/politics/y.html"))


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Kendra <b>Brooks</b></p>", "Kendra Brooks"),
        ("Brook<b>s</b>", "Brooks"),  # inline markup without space is not a word boundary
        ("<p>one</p><p>two</p>", "one two"),  # block markup is
        ("O&#8217;Rourke &amp; co&nbsp;op", "O’Rourke & co op"),
        ("<script>alert(1)</script>Hello<style>p{}</style>", "Hello"),
        ("line\n\n  break\t\there", "line break here"),
        ("", ""),
        ("a\x00b\x07c", "abc"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@given(st.text())
def test_html_to_text_never_raises(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Fri, 20 Nov 2026 09:30:00 -0500", "2026-11-20T14:30:00+00:00"),
        ("2026-11-20T09:30:00-05:00", "2026-11-20T14:30:00+00:00"),
        ("2026-11-20T14:30:00Z", "2026-11-20T14:30:00+00:00"),
        ("2026-11-20", "2026-11-20T00:00:00+00:00"),
    ],
)
def test_parse_date_to_utc(raw: str, iso: str) -> None:
    parsed = parse_date(raw)
    assert parsed is not None and parsed.isoformat() == iso


@pytest.mark.parametrize("raw", ["", None, "yesterday", "32 Foo 2026"])
def test_parse_date_rejects_garbage(raw: str | None) -> None:
    assert parse_date(raw) is None


def test_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert to_utc(datetime(2026, 1, 1, 7, tzinfo=eastern)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert to_utc(datetime(2026, 1, 1, 7)).tzinfo is UTC


def test_limit_text_cuts_at_a_word_near_the_limit_and_marks_it() -> None:
    from tracker.normalize import limit_text

    assert limit_text("short", 10) == "short"
    cut = limit_text("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("word…")
    assert limit_text("x" * 100, 10) == "x" * 9 + "…"  # no space near: a hard cut


def test_a_hostile_feed_entry_is_cut_to_the_documented_limits() -> None:
    from tracker.normalize import (
        MAX_ARTICLE_CHARS,
        MAX_HEADLINE_CHARS,
        MAX_NAME_CHARS,
        MAX_SUMMARY_CHARS,
    )
    from tracker.parse import parse_feed

    huge = "A" * 1_000_000
    body = (f'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>{huge}</title><item><title>{huge}</title><link>https://h.example/1</link>"
            f"<description>{huge}</description><content:encoded>{huge} more</content:encoded>"
            f"<author>{huge}</author></item></channel></rss>").encode()
    started = time.monotonic()
    entry = parse_feed(body).entries[0]
    # feedparser's author e-mail regex is quadratic: an uncut 1 MB <author> took minutes.
    assert time.monotonic() - started < 10
    assert len(entry.title) == MAX_HEADLINE_CHARS and entry.title.endswith("…")
    assert len(entry.summary) == MAX_SUMMARY_CHARS
    assert len(entry.content) <= MAX_ARTICLE_CHARS
    assert len(entry.author) <= MAX_NAME_CHARS and len(entry.source_outlet) <= MAX_NAME_CHARS


def test_form_feed_and_vertical_tab_separate_words() -> None:
    # Word's manual line break (\x0b) and HTML's form feed are white space, not nothing.
    from tracker.normalize import clean_text

    assert clean_text("Kendra\x0bBrooks\x0cwins\x1fnow") == "Kendra Brooks wins now"
    assert html_to_text("<p>Kendra\x0cBrooks</p>") == "Kendra Brooks"
    assert clean_text("a\x00b\x1bc\x7f") == "abc"  # other controls still go


def test_escapes_of_pages_not_in_utf8_are_kept_byte_for_byte() -> None:
    # A Latin-1 or Windows-1251 site's links: decoding their escapes as UTF-8 turned every such byte
    # into U+FFFD, a broken link on the website and two different articles one clip.
    assert canonical_url("https://x.example/caf%E9") != canonical_url("https://x.example/caf%E8")
    assert canonical_url("https://x.example/caf%e9") == "https://x.example/caf%E9"
    assert clean_url("https://x.example/s?q=S%E3o+Paulo&utm_source=rss") == "https://x.example/s?q=S%E3o+Paulo"
    assert canonical_url("https://x.example/s?q=S%E3o&utm_source=rss") == "https://x.example/s?q=S%E3o"
    # UTF-8 written raw or escaped is one link, as before.
    assert canonical_url("https://x.example/café?q=é") == canonical_url("https://x.example/caf%C3%A9?q=%C3%A9")
    assert canonical_url("https://x.example/café?q=é") == "https://x.example/caf%C3%A9?q=%C3%A9"


def test_clean_url_keeps_the_parameters_it_does_not_drop_as_written() -> None:
    assert (clean_url("https://x.example/a?text=Rent%20cap&utm_medium=rss&b=a+b")
            == "https://x.example/a?text=Rent%20cap&b=a+b")

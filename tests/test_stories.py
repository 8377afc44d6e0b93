"""Syndication stories: near-duplicates found with MinHash LSH, the primary copy, outlet identity."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.fakes import NOW
from tracker.config import parse_config
from tracker.errors import ConfigError
from tracker.models import ClipFilter, ClipStatus, Config, MatchedEntry, Mention, ParsedEntry
from tracker.normalize import canonical_url, clip_id_for
from tracker.report import ReportRequest, build_report
from tracker.store import Store
from tracker.stories import outlet_domain, sign, similarity, story_text
from tracker.stories.outlets import same_outlet_name
from tracker.stories.signature import (
    CONTAINMENT_SAME,
    JACCARD_SAME,
    MIN_CONTAINED_SHINGLES,
    same_story,
)
from tracker.syndication import outlets, place_new_clips, stories_between, story

WIRE = (
    "Philadelphia Councilmember Kendra Brooks on Tuesday introduced legislation that would cap annual rent "
    "increases for tenants in buildings with more than four units, a proposal housing advocates have pushed "
    "for years. The bill would limit increases to the rate of inflation plus two percent and create an office "
    "to hear tenant complaints. Landlord groups said the measure would discourage new construction and raise "
    "costs for small owners. Brooks said the city cannot wait for Harrisburg to act while rents rise faster "
    "than wages. The council's housing committee is expected to hold a hearing on the bill next month, and "
    "the mayor's office said it was reviewing the proposal."
)
LOCAL = (
    "In Germantown, where rents rose 14 percent last year according to a neighborhood survey, tenants "
    "organized by the local association packed a church basement on Monday night to hear about the plan."
)
OTHER = (
    "Councilmember Kendra Brooks joined striking sanitation workers outside the Municipal Services Building "
    "on Tuesday, calling on the administration to return to the bargaining table. The union says its members "
    "have gone without a raise for three years while trash collection routes grew longer. Brooks told the "
    "crowd that essential workers kept the city running through the pandemic and deserve a fair contract."
)
# (feed, host, headline, text, hours after NOW): one wire story, five outlets, headlines edited.
COPIES = [
    ("apnews", "https://apnews.com/article/rent-cap-1", "Philadelphia council member proposes rent cap", WIRE, 0),
    ("usnews", "https://www.usnews.com/news/best-states/pennsylvania/articles/rent-cap",
     "Philadelphia Council Member Proposes Rent Cap - US News", WIRE, 1),
    ("wral", "https://www.wral.com/story/philly-rent-cap/", "Philly lawmaker wants to cap rent increases",
     WIRE, 2),
    ("inquirer", "https://m.inquirer.com/politics/philadelphia/kendra-brooks-rent-cap.html",
     "Kendra Brooks's rent cap bill: what Germantown tenants should know", WIRE.replace("Philadelphia ", "", 1) + " " + LOCAL, 3),
    ("newsday", "https://www.newsday.com/news/nation/rent-cap-philadelphia", "Rent cap proposed in Philadelphia",
     WIRE[: WIRE.index("Landlord")], 4),
]


def config(**extra: object) -> Config:
    data: dict[str, object] = {
        "feeds": [
            {"url": "https://apnews.com/feed", "id": "apnews", "tags": ["national"]},
            {"url": "https://www.usnews.com/rss", "id": "usnews"},
            {"url": "https://www.wral.com/rss", "id": "wral", "tags": ["nc"]},
            {"url": "https://www.inquirer.com/arc/outboundfeeds/rss/", "id": "inquirer", "tags": ["pa"],
             "name": "The Philadelphia Inquirer"},
            {"url": "https://www.newsday.com/rss", "id": "newsday", "tags": ["ny"]},
        ],
        "members": [{"name": "Kendra Brooks", "jurisdiction": "Philadelphia", "state": "PA"}],
    }
    data.update(extra)
    return parse_config(data)


def put(store: Store, feed: str, url: str, title: str, text: str, hours: float, *, outlet: str = "",
        summary_only: bool = False, base: datetime = NOW) -> str:
    at = base + timedelta(hours=hours)
    canonical = canonical_url(url)
    summary = text if summary_only else text[:200]
    entry = ParsedEntry(title=title, link=url, guid=url, summary=summary, content="" if summary_only else text,
                        published_at=at, source_outlet=outlet or feed)
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="summary", snippet="")
    store.store_entries(feed, [MatchedEntry(entry, canonical, clip_id_for(canonical), (mention,))], at)
    return clip_id_for(canonical)


def put_wire(store: Store, base: datetime = NOW) -> dict[str, str]:
    return {feed: put(store, feed, url, title, text, hours, base=base) for feed, url, title, text, hours in COPIES}


# ------------------------------------------------------------------ thresholds, both sides (pure)


def test_an_edited_wire_copy_with_a_local_paragraph_is_the_same_story() -> None:
    a = sign(story_text("Philadelphia council member proposes rent cap", WIRE))
    b = sign(story_text("Kendra Brooks's rent cap bill: what Germantown tenants should know", WIRE + " " + LOCAL))
    assert a is not None and b is not None
    jaccard, contained = similarity(a, b)
    assert same_story(jaccard, contained, min(a.shingles, b.shingles))
    assert jaccard >= JACCARD_SAME


def test_a_feed_summary_against_the_full_article_is_the_same_story_by_containment() -> None:
    short = sign(story_text("Rent cap proposed in Philadelphia", WIRE[:260]))
    full = sign(story_text("Philadelphia council member proposes rent cap", WIRE + " " + LOCAL))
    assert short is not None and full is not None
    jaccard, contained = similarity(short, full)
    assert jaccard < JACCARD_SAME <= CONTAINMENT_SAME <= contained  # Jaccard alone would split them
    assert same_story(jaccard, contained, min(short.shingles, full.shingles))


def test_two_stories_about_one_member_on_one_day_are_apart() -> None:
    a = sign(story_text("Brooks proposes rent cap", WIRE))
    b = sign(story_text("Brooks joins striking sanitation workers", OTHER))
    assert a is not None and b is not None
    jaccard, contained = similarity(a, b)
    assert not same_story(jaccard, contained, min(a.shingles, b.shingles))
    assert jaccard < JACCARD_SAME / 2 and contained < CONTAINMENT_SAME / 2


def test_a_headline_alone_proves_nothing_by_containment() -> None:
    a = sign("Kendra Brooks")
    b = sign(story_text("Brooks proposes rent cap", WIRE))
    assert a is not None and b is not None and a.shingles < MIN_CONTAINED_SHINGLES
    assert not same_story(*similarity(a, b), min(a.shingles, b.shingles))


# ------------------------------------------------------------------ outlet identity (pure)


@pytest.mark.parametrize("url", [
    "https://www.inquirer.com/politics/x.html", "https://m.inquirer.com/politics/x.html",
    "https://amp.inquirer.com/politics/x.html", "https://inquirer.com/x",
    "https://www-inquirer-com.cdn.ampproject.org/c/s/www.inquirer.com/politics/x.html",
    "https://www-inquirer-com.cdn.ampproject.org/",
    "https://www.google.com/amp/s/www.inquirer.com/politics/x.html",
])
def test_every_host_of_one_publisher_is_one_outlet(url: str) -> None:
    assert outlet_domain(url) == "inquirer.com"


def test_registrable_domains_follow_the_public_suffix_list() -> None:
    assert outlet_domain("https://www.bbc.co.uk/news/1") == "bbc.co.uk"
    assert outlet_domain("https://news.theguardian.co.uk/a") == "theguardian.co.uk"
    assert outlet_domain("https://www-the--record-com.cdn.ampproject.org/x") == "the-record.com"
    assert outlet_domain("https://www.inquirer.com/") != outlet_domain("https://www.enquirer.com/")


def test_outlet_names_match_across_feed_titles() -> None:
    assert same_outlet_name("Inquirer", "The Philadelphia Inquirer")
    assert same_outlet_name("the philadelphia inquirer", "The Philadelphia Inquirer")
    assert not same_outlet_name("Enquirer", "The Philadelphia Inquirer")
    assert not same_outlet_name("", "The Philadelphia Inquirer")


def test_outlets_section_is_validated() -> None:
    c = config(outlets=[{"domain": "https://www.Inquirer.com/", "name": "The Philadelphia Inquirer",
                         "state": "pa", "place": "Philadelphia", "tier": "local"}])
    assert c.outlets[0].domain == "www.inquirer.com" and c.outlets[0].state == "PA"
    for bad, words in (({"domain": "inquirer.com", "tier": "city"}, "tier"),
                       ({"domain": "inquirer.com", "state": "Pennsylvania"}, "state"),
                       ({"domain": "not a domain"}, "domain"),
                       ({"domain": "inquirer.com", "colour": "blue"}, "colour")):
        with pytest.raises(ConfigError, match=words):
            config(outlets=[bad])


# ------------------------------------------------------------------ stories in the store (both backends)


def test_one_wire_story_in_five_feeds_is_one_story_whose_primary_is_the_members_local_outlet(store: Store) -> None:
    ids = put_wire(store)
    report = place_new_clips(store, config(), NOW + timedelta(hours=5))
    assert (report.placed, report.stories_new, report.joined) == (5, 1, 4)
    clips = store.all_clips()
    assert len({c.story_id for c in clips}) == 1
    primary = [c for c in clips if c.primary]
    # The Inquirer is the only Pennsylvania outlet (its feed is tagged pa), though it ran fourth.
    assert [c.id for c in primary] == [ids["inquirer"]]
    assert primary[0].outlet_domain == "inquirer.com"
    assert sorted(c.url for c in primary[0].also_in) == sorted(url for _, url, *_ in COPIES if "inquirer" not in url)
    # The review queue shows one card for the story.
    assert [c.id for c in store.all_clips(ClipFilter(status=ClipStatus.NEW, primary_only=True))] == [ids["inquirer"]]
    [s] = stories_between(store, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert s.primary.id == ids["inquirer"] and len(s.copies) == 5 and len(s.outlets) == 5


def test_without_a_local_outlet_the_earliest_copy_is_primary(store: Store) -> None:
    ids = put_wire(store)
    place_new_clips(store, config(feeds=[]), NOW + timedelta(hours=5))
    assert [c.id for c in store.all_clips() if c.primary] == [ids["apnews"]]


def test_an_outlets_preset_place_beats_a_state_tag(store: Store) -> None:
    ids = put_wire(store)
    c = config(outlets=[{"domain": "newsday.com", "place": "Philadelphia"}])  # wrong, but staff said so
    place_new_clips(store, c, NOW + timedelta(hours=5))
    assert [x.id for x in store.all_clips() if x.primary] == [ids["newsday"]]


def test_two_stories_about_one_member_stay_two(store: Store) -> None:
    a = put(store, "inquirer", "https://www.inquirer.com/rent-cap", "Brooks proposes rent cap", WIRE, 0)
    b = put(store, "inquirer", "https://www.inquirer.com/strike", "Brooks joins striking workers", OTHER, 1)
    report = place_new_clips(store, config(), NOW + timedelta(hours=2))
    assert report.stories_new == 2
    assert store.get_clip(a).story_id != store.get_clip(b).story_id
    assert store.get_clip(a).primary and store.get_clip(b).primary and not store.get_clip(a).also_in


def test_a_late_copy_joins_an_approved_story_without_changing_it(store: Store) -> None:
    first = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    place_new_clips(store, config(), NOW)
    store.set_status([first], ClipStatus.APPROVED, "ana", NOW)
    # The member's local outlet runs it a day later: it joins, but the approved copy stays primary.
    late = put(store, "inquirer", *COPIES[3][1:3], COPIES[3][3], 24)
    report = place_new_clips(store, config(), NOW + timedelta(hours=25))
    assert report.joined == 1
    kept, joined = store.get_clip(first), store.get_clip(late)
    assert kept.story_id == joined.story_id == first
    assert kept.primary and kept.status is ClipStatus.APPROVED and kept.reviewed_by == "ana"
    assert not joined.primary and joined.status is ClipStatus.NEW
    assert [c.url for c in kept.also_in] == [joined.url]
    assert store.all_clips(ClipFilter(status=ClipStatus.NEW, primary_only=True)) == []


def test_an_unreviewed_story_takes_a_late_local_copy_as_primary(store: Store) -> None:
    first = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    place_new_clips(store, config(), NOW)
    late = put(store, "inquirer", *COPIES[3][1:3], COPIES[3][3], 24)
    place_new_clips(store, config(), NOW + timedelta(hours=25))
    assert store.get_clip(late).primary and not store.get_clip(first).primary


def test_switching_the_primary_moves_the_approval_and_is_kept(store: Store) -> None:
    ids = put_wire(store)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    story_id = store.get_clip(ids["apnews"]).story_id
    assert story_id is not None
    store.set_status([ids["inquirer"]], ClipStatus.APPROVED, "ana", NOW)
    assert store.switch_primary(story_id, ids["apnews"], "ben", NOW + timedelta(hours=6))
    ap, inq = store.get_clip(ids["apnews"]), store.get_clip(ids["inquirer"])
    assert ap.primary and ap.status is ClipStatus.APPROVED
    assert not inq.primary and inq.status is ClipStatus.NEW
    assert story(store, story_id).primary_by == "ben"
    # A copy joining later does not undo staff's choice, even one from the member's own city.
    put(store, "inquirer", "https://www.inquirer.com/rent-cap-update", COPIES[3][2] + " (updated)", COPIES[3][3], 30)
    place_new_clips(store, config(), NOW + timedelta(hours=31))
    assert [c.id for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary] == [ids["apnews"]]
    assert len(store.all_clips(ClipFilter(story_id=story_id))) == 6


def test_approved_copies_are_never_merged_under_each_other(store: Store) -> None:
    """The one-off build over a database staff already worked on: each approved copy stays a card."""
    a = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    b = put(store, "inquirer", *COPIES[3][1:3], COPIES[3][3], 1)
    store.set_status([a, b], ClipStatus.APPROVED, "ana", NOW)
    place_new_clips(store, config(), NOW + timedelta(hours=2))
    ca, cb = store.get_clip(a), store.get_clip(b)
    assert ca.story_id != cb.story_id and ca.primary and cb.primary


def test_copies_outside_the_window_start_a_new_story(store: Store) -> None:
    a = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    place_new_clips(store, config(), NOW)
    b = put(store, "usnews", *COPIES[1][1:3], WIRE, 24 * 15)
    place_new_clips(store, config(), NOW + timedelta(days=15, hours=1))
    assert store.get_clip(a).story_id != store.get_clip(b).story_id


def test_a_first_build_keeps_copies_further_apart_than_the_window_apart(store: Store) -> None:
    # `tracker stories build` after an upgrade places months of clips in one batch: the same text
    # two months apart (a notice run again) is two stories; three days apart, one.
    a = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    b = put(store, "usnews", *COPIES[1][1:3], WIRE, 24 * 60)
    c = put(store, "wral", *COPIES[2][1:3], WIRE, 24 * 63)
    place_new_clips(store, config(), NOW + timedelta(days=64))
    assert store.get_clip(a).story_id != store.get_clip(b).story_id
    assert store.get_clip(b).story_id == store.get_clip(c).story_id


THIRD = (
    "Councilmember Kendra Brooks asked the school district on Thursday to publish air quality readings for "
    "every classroom before the winter break, after parents in three neighbourhoods reported broken heaters "
    "and windows that would not close. The district said an inspection schedule would be released next week."
)


@pytest.mark.parametrize("per_target", [2, None])
def test_candidates_are_each_members_newest_clips(store: Store, per_target: int | None) -> None:
    """The trade-off of the cap: a late copy of a story its member has had `per_target` newer clips since
    is not compared with it, and starts a story of its own; uncapped, it joins."""
    first = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    place_new_clips(store, config(), NOW, per_target=per_target)
    put(store, "inquirer", "https://www.inquirer.com/strike", "Brooks joins striking workers", OTHER, 1)
    put(store, "inquirer", "https://www.inquirer.com/schools", "Brooks asks for classroom air data", THIRD, 2)
    place_new_clips(store, config(), NOW + timedelta(hours=2), per_target=per_target)
    late = put(store, "usnews", *COPIES[1][1:3], WIRE, 3)
    report = place_new_clips(store, config(), NOW + timedelta(hours=3), per_target=per_target)
    assert report.joined == (0 if per_target == 2 else 1)
    assert (store.get_clip(late).story_id == first) is (per_target is None)
    # Within the cap the late copy finds its story: the cap counts the member's newest clips.
    again = put(store, "wral", *COPIES[2][1:3], WIRE, 4)
    place_new_clips(store, config(), NOW + timedelta(hours=4), per_target=per_target)
    assert store.get_clip(again).story_id == store.get_clip(late).story_id


def test_outlets_are_one_per_domain_with_counts_and_staff_edits(store: Store) -> None:
    put_wire(store)  # the Inquirer's copy came on m.inquirer.com, from a feed called "inquirer"
    put(store, "inquirer-politics", "https://www.inquirer.com/strike", "Brooks joins striking workers", OTHER, 1,
        outlet="The Philadelphia Inquirer")
    put(store, "inquirer-amp", "https://www-inquirer-com.cdn.ampproject.org/c/s/www.inquirer.com/budget",
        "Council passes budget with Brooks amendment on tenant office",
        "City Council approved a six billion dollar spending plan on Thursday after adding an amendment from "
        "Kendra Brooks that funds a tenant legal office for two years, over objections from the finance director.", 2,
        outlet="Inquirer")
    c = config()
    place_new_clips(store, c, NOW + timedelta(hours=5))
    found = {o.domain: o for o in outlets(store, c)}
    assert found["inquirer.com"].clips == 3 and found["inquirer.com"].stories == 3
    assert not any("inquirer" in d for d in found if d != "inquirer.com")
    assert found["inquirer.com"].name == "The Philadelphia Inquirer"  # the listed feed's name, not "Inquirer"
    assert (found["inquirer.com"].state, found["inquirer.com"].state_source) == ("PA", "feed tags")
    assert (found["apnews.com"].state, found["apnews.com"].state_source) == ("", "unknown")
    from tracker.models import OutletEdit
    from tracker.syndication import edit_outlet

    edit_outlet(store, "apnews.com", OutletEdit(name="The Associated Press", tier="national", state="NY"), "ana", NOW)
    ap = {o.domain: o for o in outlets(store, c)}["apnews.com"]
    assert (ap.name, ap.tier, ap.state, ap.state_source, ap.edited_by) == ("The Associated Press", "national", "NY",
                                                                           "staff", "ana")
    with pytest.raises(ConfigError):
        edit_outlet(store, "apnews.com", OutletEdit(tier="city"), "ana", NOW)


def test_a_search_link_not_resolved_yet_joins_its_story_with_no_outlet(store: Store) -> None:
    ids = put_wire(store)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    gid = put(store, "search-brooks", "https://news.google.com/rss/articles/CBMiXYZ?oc=5",
              "Philly rent cap plan - The Philadelphia Tribune", WIRE, 6, outlet="The Philadelphia Tribune")
    place_new_clips(store, config(), NOW + timedelta(hours=7))
    g = store.get_clip(gid)
    assert g.story_id == store.get_clip(ids["apnews"]).story_id and g.outlet_domain == ""


# ------------------------------------------------------------------ the upgrade of a database with clips


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")  # 0004/0005 batch-copy tables next to clip
def test_upgrading_a_database_with_clips_builds_their_stories_once(db_url: str) -> None:
    """0006 → 0009 keeps every clip, mention and decision; the first stories step then places them all
    (the one-off build) and a second finds nothing left to do."""
    from sqlalchemy import text

    from tests.test_migrations import _upgrade_to
    from tracker.store.engine import make_engine

    _upgrade_to(db_url, "0006")
    engine = make_engine(db_url, migrate=False)
    with engine.begin() as conn:
        for i, (_feed, url, title, body, hours) in enumerate(COPIES):
            at = (NOW + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")
            status = "approved" if i == 0 else "new"
            conn.execute(text(
                "INSERT INTO clip (id, canonical_url, url, title, summary, content, author, published_raw, outlet, "
                "published_at, first_seen_at, updated_at, status, featured, tags, manual) VALUES "
                "(:id, :url, :url, :title, :summary, :content, '', '', 'Paper', :at, :at, :at, :status, false, '[]', false)"),
                {"id": f"c{i}", "url": url, "title": title, "summary": body[:200], "content": body, "at": at,
                 "status": status})
            conn.execute(text(
                "INSERT INTO mention (clip_id, kind, target_id, term, field, snippet, hit_start, hit_end, manual, "
                "suppressed) VALUES (:id, 'member', 'kendra-brooks', 'Kendra Brooks', 'summary', '', 0, 0, false, false)"),
                {"id": f"c{i}"})
    engine.dispose()

    store = Store(db_url)  # upgrades to 0009
    try:
        before = store.all_clips()
        assert len(before) == 5 and all(c.story_id is None and c.primary and c.member_ids for c in before)
        report = place_new_clips(store, config(), NOW + timedelta(days=30))
        assert (report.placed, report.stories_new) == (5, 1)
        after = {c.id: c for c in store.all_clips()}
        # The approved copy was staff's choice: it stays the one the website links.
        assert [i for i, c in after.items() if c.primary] == ["c0"] and after["c0"].status is ClipStatus.APPROVED
        assert len(after["c0"].also_in) == 4
        assert place_new_clips(store, config(), NOW + timedelta(days=30)).placed == 0
    finally:
        store.close()


# ------------------------------------------------------------------ what staff and the website see


def test_the_export_has_one_item_per_story_with_its_other_copies(store: Store) -> None:
    import json

    import jsonschema

    from tracker.export import json_schema
    from tracker.export.json_writer import render_json
    from tracker.export.registry import Registry, SiteInfo
    from tracker.export.select import select_for_export
    from tracker.review import review_story

    ids = put_wire(store)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    story_id = store.get_clip(ids["apnews"]).story_id
    assert story_id is not None
    assert review_story(store, None, story_id, ClipStatus.APPROVED, "ana", clock=lambda: NOW) == 1
    assert store.get_clip(ids["inquirer"]).status is ClipStatus.APPROVED
    assert store.get_clip(ids["apnews"]).status is ClipStatus.NEW  # linked, not published on its own
    chosen = select_for_export(store.all_clips())
    document = json.loads(render_json(chosen, Registry.from_config(config()), SiteInfo()))
    jsonschema.validate(document, json_schema())
    [item] = document["items"]
    assert item["id"] == ids["inquirer"]
    assert sorted(c["url"] for c in item["also_in"]) == sorted(u for _, u, *_ in COPIES if "inquirer" not in u)
    # A second approved copy (from the CLI, say) still makes one item: the primary.
    store.set_status([ids["apnews"]], ClipStatus.APPROVED, "ana", NOW)
    assert [c.id for c in select_for_export(store.all_clips())] == [ids["inquirer"]]

    # A copy found through a Google News search whose link is not resolved yet, and a copy staff
    # rejected as not belonging: neither is listed to the website (a redirect must never be published).
    link = "https://news.google.com/rss/articles/CBMiRENTCAP?oc=5"
    entry = ParsedEntry(title="Philly lawmaker wants to cap rent increases", link=link, guid=link, summary=WIRE[:300],
                        content=WIRE, published_at=NOW + timedelta(hours=6), source_outlet="WRAL")
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="summary", snippet="")
    waiting = clip_id_for(canonical_url(link))
    store.store_entries("search-brooks", [MatchedEntry(entry, canonical_url(link), waiting, (mention,), search_link=link,
                                                       resolved=False)], NOW + timedelta(hours=6))
    place_new_clips(store, config(), NOW + timedelta(hours=7))
    assert store.get_clip(waiting).story_id == story_id
    rejected = next(i for f, i in ids.items() if f not in ("inquirer", "apnews"))
    store.set_status([rejected], ClipStatus.REJECTED, "ana", NOW)
    [item] = json.loads(render_json(select_for_export(store.all_clips()), Registry.from_config(config()), SiteInfo()))["items"]
    listed = {c["url"] for c in item["also_in"]}
    assert "news.google.com" not in " ".join(listed) and store.get_clip(rejected).url not in listed
    assert store.get_clip(ids["apnews"]).url in listed
    assert {c.clip_id for c in store.get_clip(ids["inquirer"]).also_in} >= {waiting, rejected}  # staff still see them


def test_cli_lists_clips_with_their_story_and_stories_with_their_outlets(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    import yaml
    from click.testing import CliRunner

    from tests.fakes import FakeClock
    from tracker.cli import cli

    db = f"sqlite:///{tmp_path / 't.db'}"
    cfg = tmp_path / "feeds.yml"
    cfg.write_text(yaml.safe_dump({
        "feeds": [{"url": "https://www.inquirer.com/feed", "tags": ["pa"]}],
        "members": [{"name": "Kendra Brooks", "jurisdiction": "Philadelphia", "state": "PA"}],
    }), encoding="utf-8")
    store = Store(db)
    ids = put_wire(store)
    store.close()
    clock = FakeClock(NOW + timedelta(hours=5))
    run = CliRunner()
    base = ["--config", str(cfg), "--db", db]
    assert run.invoke(cli, [*base, "stories", "build"], obj=clock).exit_code == 0
    out = run.invoke(cli, [*base, "clips", "list", "--json"], obj=clock)
    assert out.exit_code == 0, out.output
    clips = {c["id"]: c for c in json.loads(out.output)}
    assert len({c["story"] for c in clips.values()}) == 1
    assert [i for i, c in clips.items() if c["primary"]] == [ids["inquirer"]]
    assert len(clips[ids["apnews"]]["also_in"]) == 4 and clips[ids["inquirer"]]["url"] in clips[ids["apnews"]]["also_in"]
    listed = json.loads(run.invoke(cli, [*base, "stories", "list", "--json"], obj=clock).output)
    assert len(listed) == 1 and listed[0]["primary"] == ids["inquirer"] and len(listed[0]["outlets"]) == 5
    text = run.invoke(cli, [*base, "stories", "list"], obj=clock).output
    assert "apnews.com" in text and "* " in text
    from tracker.models import Role
    from tracker.users import UsersFile

    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    UsersFile().add("ana", "long enough password", role=Role.EDITOR)  # --user acts with ana's role
    switched = run.invoke(cli, [*base, "stories", "primary", ids["apnews"], "--user", "ana"], obj=clock)
    assert switched.exit_code == 0 and "primary" in switched.output
    again = json.loads(run.invoke(cli, [*base, "clips", "list", "--json"], obj=clock).output)
    assert [c["id"] for c in again if c["primary"]] == [ids["apnews"]]
    edited = run.invoke(cli, [*base, "outlets", "edit", "apnews.com", "--tier", "national"], obj=clock)
    assert edited.exit_code == 0, edited.output
    bad = run.invoke(cli, [*base, "outlets", "edit", "apnews.com", "--state", "Narnia"], obj=clock)
    assert bad.exit_code != 0 and "state must be a US state code" in str(bad.exception)
    outlets_out = json.loads(run.invoke(cli, [*base, "outlets", "list", "--json"], obj=clock).output)
    assert {o["domain"]: o["tier"] for o in outlets_out}["apnews.com"] == "national"


def test_an_ingest_cycle_places_its_new_clips_in_stories(feed_server, store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tracker.ingest import Ingestor

    paths = []
    for feed, url, title, body, _hours in COPIES:
        item = (f"<item><title>{title}</title><link>{url}</link><description>{body}</description>"
                "<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate></item>")
        feed_server.add(f"/{feed}.xml", body=f'<?xml version="1.0"?><rss version="2.0"><channel><title>{feed}</title>'
                        f"{item}</channel></rss>".encode())
        paths.append(feed)
    c = parse_config({
        "feeds": [{"url": feed_server.url(f"/{p}.xml"), "id": p, "tags": ["pa"] if p == "inquirer" else []}
                  for p in paths],
        "members": [{"name": "Kendra Brooks", "jurisdiction": "Philadelphia", "state": "PA"}],
        "outlets": [{"domain": "inquirer.com", "state": "PA", "place": "Philadelphia", "tier": "local"}],
    }, str(tmp_path / "feeds.yml"), tmp_path)
    from tests.fakes import FakeClock

    report = Ingestor(c, store, clock=FakeClock(NOW), parse_processes=0).run_cycle()
    assert report.new_clips == 5 and report.stories is not None
    assert (report.stories.placed, report.stories.stories_new) == (5, 1)
    primary = [x for x in store.all_clips() if x.primary]
    assert [x.outlet_domain for x in primary] == ["inquirer.com"]


# ------------------------------------------------------------------ Google News hints


def test_google_news_descriptions_list_the_other_outlets_of_a_story() -> None:
    from tests.conftest import corpus_dir
    from tracker.parse import parse_feed

    body = (corpus_dir("feeds") / "monument-watch__google_news.xml").read_bytes()
    entries = parse_feed(body, url="https://news.google.com/rss/search?q=monument").entries
    listed = [e for e in entries if len(e.related) > 1]
    assert listed, "the corpus has clustered items"
    first = listed[0]
    # Its own headline and outlet lead the list; the others are other outlets' copies.
    assert first.related[0] == (first.title, first.source_outlet)
    assert len({outlet for _, outlet in first.related}) == len(first.related)
    single = [e for e in entries if len(e.related) == 1]
    assert all(e.related[0][0] == e.title for e in single)


def test_a_search_item_joins_the_story_its_list_names(store: Store) -> None:
    ap = put(store, "apnews", COPIES[0][1], "Philadelphia council member proposes rent cap", WIRE, 0)
    place_new_clips(store, config(), NOW)
    # Google's own item: its headline is another outlet's, its description lists the AP copy.
    gid = clip_id_for(canonical_url("https://news.google.com/rss/articles/CBMiABC?oc=5"))
    entry = ParsedEntry(
        title="Rent cap bill would limit increases to inflation", link="https://news.google.com/rss/articles/CBMiABC?oc=5",
        guid="CBMiABC", summary="Rent cap bill would limit increases to inflation Philly Voice "
                                "Philadelphia council member proposes rent cap AP News",
        content="", published_at=NOW + timedelta(hours=1), source_outlet="Philly Voice",
        related=(("Rent cap bill would limit increases to inflation", "Philly Voice"),
                 ("Philadelphia council member proposes rent cap", "AP News")))
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="title", snippet="")
    store.store_entries("search-brooks", [MatchedEntry(entry, canonical_url(entry.link), gid, (mention,))], NOW)
    report = place_new_clips(store, config(), NOW + timedelta(hours=2))
    assert report.joined == 1
    assert store.get_clip(gid).story_id == store.get_clip(ap).story_id
    # Without the hint the texts alone would not have joined them.
    lone = put(store, "other", "https://example.com/x", "Rent cap bill would limit increases to inflation", "", 3)
    place_new_clips(store, config(), NOW + timedelta(hours=4))
    assert store.get_clip(lone).story_id == store.get_clip(ap).story_id  # named by the search item's list too


def test_the_index_places_new_clips_against_the_window_and_each_other() -> None:
    from tracker.stories import NewClip, StoryIndex
    from tracker.stories.index import Candidate

    wire = sign(story_text("Philadelphia council member proposes rent cap", WIRE))
    local = sign(story_text("Kendra Brooks's rent cap bill", WIRE + " " + LOCAL))
    other = sign(story_text("Brooks joins striking sanitation workers", OTHER))
    other_copy = sign(story_text("Brooks backs sanitation strike", OTHER))
    assert wire and local and other and other_copy
    index = StoryIndex([NewClip("n-local", local), NewClip("n-other", other), NewClip("n-other-2", other_copy),
                        NewClip("n-hinted", None, "rent cap proposal heads to committee")])
    index.offer(Candidate("w-wire", "s-wire", wire, "", ("rent cap proposal heads to committee",)))
    index.offer(Candidate("w-unrelated", "s-unrelated", sign("City budget passes after long debate over parks and pools")))
    assert index.place(0).story_id == "s-wire"
    index.placed(0, "s-wire")
    assert index.place(1).story_id is None  # nothing like it in the window: a story of its own
    index.placed(1, "n-other")
    assert index.place(2).story_id == "n-other"  # the copy that came in the same batch
    index.placed(2, "n-other")
    hinted = index.place(3)
    assert hinted.story_id == "s-wire" and hinted.by_hint  # a search item's list named its headline
    assert index.place(0, exclude=frozenset({"s-wire"})).story_id is None


def test_a_resolved_search_copy_keeps_its_story_and_gets_its_outlet(store: Store) -> None:
    ap = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    link = "https://news.google.com/rss/articles/CBMiRENTCAP?oc=5"
    entry = ParsedEntry(title="Philly lawmaker wants to cap rent increases", link=link, guid=link, summary=WIRE[:300],
                        content=WIRE, published_at=NOW + timedelta(hours=1), source_outlet="WRAL")
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="summary", snippet="")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), (mention,), search_link=link,
                        resolved=False)
    store.store_entries("search-brooks", [item], NOW)
    place_new_clips(store, config(), NOW + timedelta(hours=2))
    story_id = store.get_clip(ap).story_id
    assert store.get_clip(item.clip_id).story_id == story_id and store.get_clip(item.clip_id).outlet_domain == ""
    done = store.resolve_link(item.canonical_url, "https://www.wral.com/story/philly-rent-cap/", NOW + timedelta(hours=3))
    assert done is not None and not done.merged
    report = place_new_clips(store, config(), NOW + timedelta(hours=4))
    assert report.renamed == 1 and report.placed == 0
    moved = store.get_clip(done.clip_id)
    assert moved.story_id == story_id and moved.outlet_domain == "wral.com"


def test_a_copy_joining_or_leaving_a_published_story_moves_generated_at(store: Store) -> None:
    # The primary's website item gains (or loses) an `also_in` entry: the export's bytes change, and its
    # generated_at (RSS lastBuildDate) must say so, or a site that checks it misses the change.
    import json

    from tracker.export import Registry, export_clips

    def generated() -> str:
        doc = json.loads(export_clips("json", store.all_clips(), Registry.from_config(config()),
                                      changed_at=store.last_unpublished_at()))
        return str(doc["generated_at"])

    first = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    place_new_clips(store, config(), NOW + timedelta(hours=1))
    store.set_status([first], ClipStatus.APPROVED, "ana", NOW + timedelta(hours=1))
    before = generated()
    copy = put(store, "usnews", *COPIES[1][1:3], WIRE, 5)
    place_new_clips(store, config(), NOW + timedelta(hours=6))
    assert store.get_clip(copy).story_id == store.get_clip(first).story_id
    joined = generated()
    assert joined > before
    store.set_status([copy], ClipStatus.REJECTED, "ana", NOW + timedelta(hours=7))  # leaves also_in
    assert generated() > joined


# ------------------------------------------------------------------ corrections that held (found by review)


def _copies(store: Store, story_id: str | None) -> list[tuple[str, str, bool]]:
    return [(c.id, c.status.value, c.primary) for c in store.all_clips(ClipFilter(story_id=story_id))]


def test_a_copy_staff_rejected_never_becomes_the_primary_when_another_joins(store: Store) -> None:
    a = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    b = put(store, "usnews", *COPIES[1][1:3], WIRE, 1)
    place_new_clips(store, config(), NOW + timedelta(hours=2))
    story_id = store.get_clip(a).story_id
    store.set_status([b], ClipStatus.REJECTED, "ana", NOW + timedelta(hours=3))  # "does not belong"
    put(store, "wral", *COPIES[2][1:3], WIRE, 4)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    assert not store.get_clip(b).primary
    queue = [c.id for c in store.all_clips(ClipFilter(status=ClipStatus.NEW, primary_only=True))]
    assert [c for c in queue if store.get_clip(c).story_id == story_id], _copies(store, story_id)


def test_coverage_leaves_out_a_rejected_storys_copies_unless_staff_approved_one(store: Store) -> None:
    ids = put_wire(store)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    primary = next(c for c in store.all_clips() if c.primary)
    assert {row[0] for row in store.coverage_rows()} == set(ids.values())
    store.set_status([primary.id], ClipStatus.REJECTED, "ana", NOW + timedelta(hours=6))
    # The four other copies are still new (the queue never shows them), but rejected with their story.
    assert sum(c.status is ClipStatus.NEW for c in store.all_clips()) == 4
    assert store.coverage_rows() == [] and store.outlet_counts() == {}
    assert store.coverage_rows(NOW - timedelta(days=1)) == [] and store.outlet_counts(NOW - timedelta(days=1)) == {}
    report = build_report(config(), store, ReportRequest(start=(NOW - timedelta(days=1)).date(),
                                                        end=(NOW + timedelta(days=1)).date()), NOW)
    assert report.stories == ()  # the coverage report leaves them out too
    approved = ids["apnews"]  # staff approved this copy on its own: it counts
    store.set_status([approved], ClipStatus.APPROVED, "ana", NOW + timedelta(hours=7))
    assert {row[0] for row in store.coverage_rows()} == {approved}
    assert store.outlet_counts() == {"apnews.com": (1, 1)}
    report = build_report(config(), store, ReportRequest(start=(NOW - timedelta(days=1)).date(),
                                                        end=(NOW + timedelta(days=1)).date()), NOW)
    assert [s.primary.id for s in report.stories] == [approved]


def test_a_primary_search_copy_resolved_to_a_copy_of_its_own_story_leaves_that_copy_primary(store: Store) -> None:
    link = "https://news.google.com/rss/articles/CBMiRENTCAP?oc=5"
    entry = ParsedEntry(title="Philadelphia council member proposes rent cap - AP News", link=link, guid=link,
                        summary=WIRE[:300], content=WIRE, published_at=NOW, source_outlet="AP News")
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="summary", snippet="")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), (mention,), search_link=link,
                        resolved=False)
    store.store_entries("search-brooks", [item], NOW)
    place_new_clips(store, config(), NOW + timedelta(hours=1))
    store.set_status([item.clip_id], ClipStatus.APPROVED, "ana", NOW + timedelta(hours=1))
    ap = put(store, "apnews", *COPIES[0][1:3], WIRE, 1)
    place_new_clips(store, config(), NOW + timedelta(hours=2))
    story_id = store.get_clip(ap).story_id
    assert story_id == store.get_clip(item.clip_id).story_id and store.get_clip(item.clip_id).primary
    done = store.resolve_link(item.canonical_url, COPIES[0][1], NOW + timedelta(hours=3))
    assert done is not None and done.merged and done.clip_id == ap
    kept = store.get_clip(ap)
    assert kept.primary and kept.status is ClipStatus.APPROVED
    assert [c.id for c in store.all_clips(ClipFilter(status=ClipStatus.APPROVED, primary_only=True))] == [ap]


def test_make_primary_on_a_copy_approved_on_its_own_keeps_it_on_the_website(store: Store) -> None:
    from tracker.export import select_for_export

    ids = put_wire(store)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    story_id = store.get_clip(ids["apnews"]).story_id
    primary = next(c for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary)
    other = next(i for i in ids.values() if i != primary.id and store.get_clip(i).story_id == story_id)
    store.set_status([other], ClipStatus.APPROVED, "ana", NOW + timedelta(hours=6))
    assert [c.id for c in select_for_export(store.all_clips())] == [other]  # the stand-in copy
    store.switch_primary(story_id, other, "ana", NOW + timedelta(hours=7))
    assert store.get_clip(other).status is ClipStatus.APPROVED and store.get_clip(other).primary
    assert [c.id for c in select_for_export(store.all_clips())] == [other]


def test_a_primary_rejected_as_not_belonging_stays_rejected_when_another_copy_is_made_primary(store: Store) -> None:
    ids = put_wire(store)
    place_new_clips(store, config(), NOW + timedelta(hours=5))
    story_id = store.get_clip(ids["apnews"]).story_id
    wrong = next(c for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary)
    right = next(i for i in ids.values() if i != wrong.id and store.get_clip(i).story_id == story_id)
    store.set_status([wrong.id], ClipStatus.REJECTED, "ana", NOW + timedelta(hours=6))
    store.switch_primary(story_id, right, "ana", NOW + timedelta(hours=7))
    assert store.get_clip(wrong.id).status is ClipStatus.REJECTED
    assert store.get_clip(right).status is ClipStatus.NEW and store.get_clip(right).primary


def test_make_primary_keeps_the_story_s_place_and_feature_on_the_website(store: Store) -> None:
    # An editor may make another copy primary; only an admin may reorder or feature the website.
    from tests.fakes import FakeClock
    from tracker.export import select_for_export
    from tracker.models import Actor, ClipEdit, Role
    from tracker.review import edit_clip, switch_primary

    ids = put_wire(store)
    others = [put(store, "inquirer", f"https://www.inquirer.com/other-{i}", f"Other story {i}", OTHER + str(i) * 40, 10 + i)
              for i in range(3)]
    place_new_clips(store, config(), NOW + timedelta(hours=20))
    story_id = store.get_clip(ids["apnews"]).story_id
    primary = next(c for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary)
    copy = next(i for i in ids.values() if i != primary.id and store.get_clip(i).story_id == story_id)
    store.set_status([primary.id, *others], ClipStatus.APPROVED, "maria", NOW + timedelta(hours=21))
    edit_clip(store, None, primary.id, ClipEdit(featured=True), "maria", clock=FakeClock(NOW + timedelta(hours=21)))
    before = [c.id for c in select_for_export(store.all_clips())]
    assert before[0] == primary.id
    switch_primary(store, None, copy, Actor("sam", Role.EDITOR), clock=FakeClock(NOW + timedelta(hours=22)))
    after = [c.id for c in select_for_export(store.all_clips())]
    assert after == [copy, *before[1:]] and store.get_clip(copy).featured and not store.get_clip(primary.id).featured


def test_a_weekly_notice_does_not_chain_into_one_story_beyond_the_window(store: Store) -> None:
    boiler = ("Councilmember Kendra Brooks holds community office hours every week for residents of the district "
              "to bring questions about housing, trash pickup, property taxes and city services. Staff from the "
              "office will be available to help with applications and referrals. No appointment is needed and "
              "interpretation is available on request. ")
    ids = []
    for week in range(6):
        ids.append(put(store, "inquirer", f"https://www.inquirer.com/office-hours-week-{week}",
                       f"Brooks office hours week {week}", boiler + f"This week: library branch {week}, Thursday.",
                       24 * 7 * week))
        place_new_clips(store, config(), NOW + timedelta(days=7 * week, hours=1))
    stories = [store.get_clip(i).story_id for i in ids]
    assert stories[0] == stories[1]  # a week apart: within the 14-day window, alike: one story
    assert stories[0] != stories[3] and len(set(stories)) >= 3


def test_a_search_items_headline_list_ties_copies_within_the_window_only(store: Store) -> None:
    head = "Philadelphia City Council approves budget"
    old = put(store, "inquirer", "https://www.inquirer.com/budget-2026", head, WIRE, 0)
    link = "https://news.google.com/rss/articles/CBMiA?oc=5"
    entry = ParsedEntry(title="Council passes spending plan after late-night session", link=link, guid=link,
                        summary="", content="", published_at=NOW + timedelta(days=60), source_outlet="Philly Voice",
                        related=(("Council passes spending plan after late-night session", "X"), (head, "Inquirer")))
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="title", snippet="")
    late = clip_id_for(canonical_url(link))
    store.store_entries("search-brooks", [MatchedEntry(entry, canonical_url(link), late, (mention,))], NOW + timedelta(days=60))
    place_new_clips(store, config(), NOW + timedelta(days=61))  # one batch, as a first build is
    assert store.get_clip(old).story_id != store.get_clip(late).story_id


@pytest.mark.parametrize("resolved_before_placing", [True, False])
def test_the_primary_does_not_depend_on_when_a_search_copys_link_was_resolved(store: Store,
                                                                             resolved_before_placing: bool) -> None:
    # The member's local outlet's copy arrives as a search link: once its outlet is known it is primary,
    # whether the resolver found it before or after the stories step placed the copy.
    inquirer = "https://www.inquirer.com/politics/philadelphia/kendra-brooks-rent-cap.html"
    ap = put(store, "apnews", *COPIES[0][1:3], WIRE, 0)
    place_new_clips(store, config(), NOW + timedelta(minutes=30))
    link = "https://news.google.com/rss/articles/CBMiINQ?oc=5"
    entry = ParsedEntry(title="Philadelphia council member proposes rent cap - The Philadelphia Inquirer", link=link,
                        guid=link, summary=WIRE[:300], content=WIRE, published_at=NOW + timedelta(hours=1),
                        source_outlet="The Philadelphia Inquirer")
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="summary", snippet="")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), (mention,), search_link=link,
                        resolved=False)
    store.store_entries("search-brooks", [item], NOW + timedelta(hours=1))
    if resolved_before_placing:
        store.resolve_link(item.canonical_url, inquirer, NOW + timedelta(hours=1, minutes=10))
    place_new_clips(store, config(), NOW + timedelta(hours=2))
    if not resolved_before_placing:
        store.resolve_link(item.canonical_url, inquirer, NOW + timedelta(hours=2, minutes=10))
        place_new_clips(store, config(), NOW + timedelta(hours=3))
    story_id = store.get_clip(ap).story_id
    assert [c.outlet_domain for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary] == ["inquirer.com"]


def test_a_generic_headline_on_a_search_items_list_ties_only_clips_of_one_member(store: Store) -> None:
    # "City Council approves budget" is every city's headline: on a Philadelphia member's search item's
    # list it must not pull that item into a Pittsburgh member's story (whatever else is in the cycle).
    two = parse_config({"feeds": [{"url": "https://www.inquirer.com/rss", "id": "inquirer"}],
                        "members": [{"name": "Kendra Brooks", "jurisdiction": "Philadelphia", "state": "PA"},
                                    {"name": "Erika Strassburger", "jurisdiction": "Pittsburgh", "state": "PA"}]})

    def add(feed: str, url: str, title: str, summary: str, hours: float, member: str,
            related: tuple[tuple[str, str], ...] = ()) -> str:
        entry = ParsedEntry(title=title, link=url, guid=url, summary=summary, content="",
                            published_at=NOW + timedelta(hours=hours), source_outlet=feed, related=related)
        mention = Mention(kind="member", target_id=member, term=member, field="title", snippet="")
        store.store_entries(feed, [MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)), (mention,))],
                            NOW + timedelta(hours=hours))
        return clip_id_for(canonical_url(url))

    pittsburgh = add("postgazette", "https://www.post-gazette.com/budget", "City Council approves budget",
                     "Pittsburgh City Council approved a $700 million budget after Councilmember Erika Strassburger "
                     "won funding for two recreation centers.", 0, "erika-strassburger")
    place_new_clips(store, two, NOW + timedelta(hours=1))
    search = add("search-brooks", "https://news.google.com/rss/articles/CBMiPHL?oc=5",
                 "Philadelphia passes budget with Brooks's rent office", "", 2, "kendra-brooks",
                 related=(("Philadelphia passes budget with Brooks's rent office", "Inquirer"),
                          ("City Council approves budget", "Philadelphia Tribune")))
    add("postgazette", "https://www.post-gazette.com/parks", "Strassburger pushes for park repairs",
        "Councilmember Erika Strassburger asked the parks department for a repair schedule.", 2, "erika-strassburger")
    place_new_clips(store, two, NOW + timedelta(hours=3))
    assert store.get_clip(search).story_id != store.get_clip(pittsburgh).story_id


@pytest.mark.parametrize("other_city_first", [True, False])
def test_a_hint_finds_the_clip_of_its_own_member_among_others_of_that_headline(store: Store,
                                                                              other_city_first: bool) -> None:
    two = parse_config({"members": [{"name": "Kendra Brooks", "jurisdiction": "Philadelphia", "state": "PA"},
                                    {"name": "Ed Gainey", "jurisdiction": "Pittsburgh", "state": "PA"}]})

    def add(feed: str, url: str, title: str, text: str, hours: float, member: str,
            related: tuple[tuple[str, str], ...] = ()) -> str:
        at = NOW + timedelta(hours=hours)
        entry = ParsedEntry(title=title, link=url, guid=url, summary=text[:200], content=text, published_at=at,
                            source_outlet=feed, related=related)
        mention = Mention(kind="member", target_id=member, term=member, field="summary", snippet="")
        store.store_entries(feed, [MatchedEntry(entry, canonical_url(url), clip_id_for(canonical_url(url)), (mention,))], at)
        return clip_id_for(canonical_url(url))

    docs = [("pgh-post", "https://pgh.example/council-budget", "Pittsburgh council voted to approve a spending plan "
             "for bus lanes and park repairs; Mayor Ed Gainey praised the vote. " * 3, "ed-gainey"),
            ("phl-paper", "https://phl.example/council-budget", "Philadelphia lawmakers approved the city budget after "
             "weeks of talks over rental assistance, said Kendra Brooks. " * 3, "kendra-brooks")]
    if not other_city_first:
        docs.reverse()
    placed = {member: add(feed, url, "City Council approves budget", text, hour, member)
              for hour, (feed, url, text, member) in enumerate(docs)}
    place_new_clips(store, two, NOW + timedelta(hours=3))
    item = add("search-kendra", "https://news.example/kendra-budget", "Kendra Brooks hails budget deal",
               "Kendra Brooks hails budget deal", 4, "kendra-brooks", related=(("City Council approves budget", "Philly"),))
    add("search-ed", "https://news.example/gainey-chief", "Ed Gainey names new police chief",
        "Ed Gainey names new police chief", 4, "ed-gainey")  # the other member has a clip in the same cycle
    place_new_clips(store, two, NOW + timedelta(hours=5))
    assert store.story_of(item) == store.story_of(placed["kendra-brooks"])

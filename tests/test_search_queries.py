"""Generated searches: a member's name and aliases with the place, a campaign's keywords and query in
the engines' syntax, split past the query-length limit, and feed ids that stay put when nothing changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest

from tracker.config import (
    SEARCH_QUERY_MAX_CHARS,
    SEARCH_QUERY_MAX_WORDS,
    feed_id_for_url,
    parse_config,
    search_queries_for_campaign,
    search_queries_for_member,
)
from tracker.models import CampaignConfig, MemberConfig, Term
from tracker.query import engine_query, parse_query

GOOGLE = "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"
BING = "https://www.bing.com/news/search?q={query}&format=rss"


def test_a_members_query_ors_the_name_and_aliases_with_the_place() -> None:
    brooks = MemberConfig("kendra-brooks", "Kendra Brooks", jurisdiction="Philadelphia",
                          aliases=("Councilmember Brooks", "Councilmember Kendra Brooks", "kendra brooks"))
    # "Councilmember Kendra Brooks" is found by the search for "Kendra Brooks": only the new alias is added.
    assert search_queries_for_member(brooks) == ('("Kendra Brooks" OR "Councilmember Brooks") Philadelphia',)
    assert search_queries_for_member(MemberConfig("x", "Ana Ruiz")) == ('"Ana Ruiz"',)


@pytest.mark.parametrize(("query", "engine"), [
    ('"good cause" NEAR/3 evict*', '"good cause" evict'),
    ("(tenant* OR renter*) NEAR/5 union NOT \"Soviet Union\"", '(tenant OR renter) union -"Soviet Union"'),
    ("rent OR tenant union", "rent OR (tenant union)"),  # Google binds OR tighter: the group keeps our meaning
    ("rent NOT (car OR truck)", "rent -car -truck"),
    ("rent NOT (rent-a-car lease)", "rent"),  # a NOT of a group cannot be said: left out (wider, never narrower)
    ("\"Death Star\" AND (law OR bill)", '"Death Star" (law OR bill)'),
    ("O'Rourke AND AT&T", "\"O'Rourke\" \"AT&T\""),
])
def test_campaign_queries_in_the_engines_syntax(query: str, engine: str) -> None:
    assert engine_query(parse_query(query)) == engine


def test_a_campaigns_query_is_its_keywords_or_its_query() -> None:
    campaign = CampaignConfig("gce", "Good Cause Eviction", query='"good cause" NEAR/3 evict*',
                              keywords=(Term("Good Cause Eviction"), Term("S305", match_case=True), Term("A4454")))
    assert search_queries_for_campaign(campaign) == (
        '"Good Cause Eviction" OR "S305" OR "A4454" OR ("good cause" evict)',)


def _words(query: str) -> int:
    return len(query.replace("(", " ").replace(")", " ").split())


def test_long_queries_are_split_into_several_feeds_within_the_limit() -> None:
    aliases = tuple(f"Councilmember Number {i} Brooks" for i in range(12))
    member = MemberConfig("kb", "Kendra Brooks", aliases=aliases, jurisdiction="Philadelphia")
    campaign = CampaignConfig("big", "Big", keywords=tuple(Term(f"housing bill number {i}") for i in range(30)),
                              query="(rent OR lease) NEAR/2 freeze OR \"rent stabilization\"")
    for target, queries in (("member", search_queries_for_member(member)),
                            ("campaign", search_queries_for_campaign(campaign))):
        assert len(queries) > 1, target
        assert all(_words(q) <= SEARCH_QUERY_MAX_WORDS and len(q) <= SEARCH_QUERY_MAX_CHARS for q in queries)
        joined = " ".join(queries)
        phrases = [member.name, *aliases] if target == "member" else [k.text for k in campaign.keywords]
        assert all(joined.count(f'"{p}"') == 1 for p in phrases)  # every alternative once
    assert all(q.endswith(" Philadelphia") for q in search_queries_for_member(member))
    assert search_queries_for_campaign(campaign)[-1].endswith('((rent OR lease) freeze) OR "rent stabilization"')

    data: dict[str, Any] = {"searches": [{"template": GOOGLE}], "members": [
        {"id": "kb", "name": "Kendra Brooks", "aliases": list(aliases), "jurisdiction": "Philadelphia"}]}
    feeds = parse_config(data).search_feeds
    assert len(feeds) == len(search_queries_for_member(member)) and len({f.id for f in feeds}) == len(feeds)
    assert {f.search_for for f in feeds} == {"member:kb"} and feeds[0].name == f"Search: Kendra Brooks (1/{len(feeds)})"


def test_feed_ids_stay_the_same_where_the_query_did_not_change() -> None:
    """Ids are hashes of the URL: a member without new aliases and a campaign of up to three keywords and
    no query generate the query they always did, so their feeds keep their health and history."""
    data: dict[str, Any] = {
        "searches": [{"template": GOOGLE}, {"template": BING}],
        "members": [{"name": "Kendra Brooks", "jurisdiction": "Philadelphia",
                     "aliases": ["Councilmember Kendra Brooks"]}],
        "campaigns": [{"id": "eats", "name": "EATS Act", "keywords": ["EATS Act", "Ending Agricultural Trade Suppression Act"]}],
    }
    feeds = {(f.search_for, f.url.split("?")[0]): f for f in parse_config(data).search_feeds}
    before = {  # the queries of the earlier generator, written out
        "member:kendra-brooks": '"Kendra Brooks" Philadelphia',
        "campaign:eats": '"EATS Act" OR "Ending Agricultural Trade Suppression Act"',
    }
    for (target, _), feed in feeds.items():
        template = GOOGLE if "news.google.com" in feed.url else BING
        old_url = template.replace("{query}", quote_plus(before[target]))
        assert feed.url == old_url and feed.id == feed_id_for_url(old_url)
    assert len(feeds) == 4

"""The editor's history as sentences (tracker.history) and feed errors in words (tracker.health)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tracker.health import explain_error
from tracker.history import describe_history
from tracker.models import Actor, AuditEntry, ClipStatus, ClipView, Role
from tracker.store import Store

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CLIP = ClipView(id="c1", url="https://x.example/a", canonical_url="https://x.example/a", title="Council votes",
                summary="The council voted.", outlet="The Paper", published_at=None, first_seen_at=AT,
                status=ClipStatus.APPROVED, image_url=None)


def entry(user: str, action: str, detail: str) -> AuditEntry:
    return AuditEntry(clip_id="c1", user=user, action=action, at=AT, detail=detail)


def test_history_reads_as_sentences_with_old_and_new_values() -> None:
    lines = describe_history([
        entry("maria", "approved", "new -> approved"),
        entry("maria", "edit", json.dumps({"headline": "Council passes eviction bill"})),
        entry("sam", "edit", json.dumps({"headline": "Eviction bill passes", "featured": True})),
        entry("sam", "edit", json.dumps({"headline": None})),
        entry("maria", "edit", json.dumps({"position": 3})),
        entry("maria", "tag", "+member:okafor -campaign:gce"),
        entry("maria", "approved", "approved -> new"),
    ], CLIP, {"member:okafor": "Renata Okafor", "campaign:gce": "Good Cause Eviction"})
    assert lines == [
        "maria published it.",
        "maria changed the headline from “Council votes” to “Council passes eviction bill”.",
        "sam changed the headline from “Council passes eviction bill” to “Eviction bill passes” and featured it.",
        "sam reset the headline to the feed's “Council votes”.",
        "maria moved it to place 3 of the published order.",
        "maria added Renata Okafor and removed Good Cause Eviction.",
        "maria unpublished it (back to the review queue).",
    ]
    assert not any("{" in line for line in lines)


def test_history_never_shows_raw_json_even_for_odd_rows() -> None:
    lines = describe_history([entry("x", "edit", "not json"), entry("x", "edit", json.dumps({"blurb": "A" * 200}))],
                             CLIP, {})
    assert lines[0] == "x edited it."
    assert lines[1].startswith("x changed the blurb from “The council voted.” to “AAA") and lines[1].endswith("…”.")


def test_a_primary_switch_and_an_article_address_read_as_sentences(store: Store) -> None:
    # The real rows switch_primary writes, on both copies of an approved story.
    from tests.test_stories import config, put_wire
    from tracker.review import switch_primary
    from tracker.syndication import place_new_clips

    ids = put_wire(store)
    place_new_clips(store, config(), AT)
    store.set_status([ids["inquirer"]], ClipStatus.APPROVED, "ana", AT)
    versions = {k: store.get_clip(v).version for k, v in ids.items()}
    assert switch_primary(store, None, ids["apnews"], Actor("ben", Role.EDITOR), clock=lambda: AT)
    old, new = store.get_clip(ids["inquirer"]), store.get_clip(ids["apnews"])
    assert describe_history(store.history(old.id), old, {})[-1] == (
        "ben unpublished it (back to the review queue), as another copy of the story is the one the website links now.")
    assert describe_history(store.history(new.id), new, {})[-2:] == [
        "ben published it, as the copy of the story the website links.",
        "ben made this copy the one the website links for its story.",
    ]
    assert {h.role for h in store.history(new.id) if h.user == "ben"} == {"editor"}
    assert new.version > versions["apnews"] and old.version > versions["inquirer"]  # decisions: open edits are stale
    moved = describe_history([entry("enrich", "canonical", "the article gives its own address: a -> b (was clip x)")],
                             CLIP, {})
    assert moved == ["The article reader moved it to the address the article gives for itself."]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("feed parser failed: SAXParseException: <unknown>:1:0: not well-formed (invalid token)", "not a readable feed"),
        ("fetch failed: ConnectionError: HTTPSConnectionPool(host='x', port=443): Max retries exceeded",
         "could not connect"),
        ("timed out after 20s", "took too long"),
        ("fetch failed: ReadTimeout: HTTPSConnectionPool read timed out", "took too long"),
        ("HTTP 503 Service Unavailable", "server had a problem"),
        ("HTTP 404 Not Found", "no longer exists"),
        ("HTTP 410 Gone", "removed this feed for good"),
        ("HTTP 403 Forbidden", "refuses"),
        ("cannot resolve nosuch.example: Name or service not known", "could not be found"),
        ("not a feed: the server sent an HTML page", "sends a web page"),
    ],
)
def test_feed_errors_in_plain_words(raw: str, words: str) -> None:
    text = explain_error(raw)
    assert words in text.lower()
    assert "Exception" not in text and "Error" not in text and "HTTPS" not in text
    assert text[0].isupper() and text.endswith(".")


def test_unknown_errors_pass_through() -> None:
    assert explain_error("something new and strange") == "something new and strange"
    assert explain_error(None) == "unknown error"

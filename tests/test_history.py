"""The editor's history as sentences (tracker.history) and feed errors in words (tracker.health)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tracker.health import explain_error
from tracker.history import describe_history
from tracker.models import AuditEntry, ClipStatus, ClipView

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

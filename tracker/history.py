"""A clip's audit trail told as sentences ("maria changed the headline from … to …"), for the editor.

Pure: audit entries and the clip's feed values in, lines out. An edit's audit row holds only the
new values, so the old ones are found by replaying the trail from the feed's values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.models import AuditEntry, ClipView

_FIELDS = {
    "headline": "the headline", "blurb": "the blurb", "image_override_url": "the image",
    "image_credit": "the image credit", "image_alt": "the image's alt text", "outlet_display": "the outlet name",
}
_STATUS = {
    ("new", "approved"): "published it", ("rejected", "approved"): "published it (it had been rejected)",
    ("new", "rejected"): "rejected it", ("approved", "rejected"): "took it off the website and rejected it",
    ("approved", "new"): "unpublished it (back to the review queue)",
    ("rejected", "new"): "put it back in the review queue",
}
_QUOTE_LIMIT = 80


def _quote(value: Any) -> str:
    text = " ".join(str(value).split())
    return f"“{text if len(text) <= _QUOTE_LIMIT else text[:_QUOTE_LIMIT - 1] + '…'}”"


def _feed_values(clip: ClipView) -> dict[str, Any]:
    return {"headline": clip.title, "blurb": clip.summary, "image_override_url": clip.image_url,
            "outlet_display": clip.outlet, "image_credit": None, "image_alt": None}


def _edit_phrases(changes: Mapping[str, Any], state: dict[str, Any], feed: Mapping[str, Any]) -> list[str]:
    phrases = []
    for attr, value in changes.items():
        if attr == "featured":
            phrases.append("featured it" if value else "stopped featuring it")
        elif attr == "position":
            phrases.append(f"moved it to place {value} of the published order" if value is not None
                           else "took it out of the hand-set order (back among the newest)")
        elif attr == "tags":
            phrases.append("set the tags to " + ", ".join(value) if value else "removed all tags")
        elif attr in _FIELDS:
            name = _FIELDS[attr]
            old = state.get(attr) if state.get(attr) is not None else feed.get(attr)
            if value is None:
                phrases.append(f"reset {name} to the feed's" + (f" {_quote(feed[attr])}" if feed.get(attr) else ""))
            elif old:
                phrases.append(f"changed {name} from {_quote(old)} to {_quote(value)}")
            else:
                phrases.append(f"set {name} to {_quote(value)}")
        else:
            phrases.append(f"changed {attr.replace('_', ' ')} to {_quote(value)}")
        state[attr] = value
    return phrases


def _targets_phrase(detail: str, names: Mapping[str, str]) -> str:
    added: list[str] = []
    removed: list[str] = []
    attached: list[str] = []
    for token in detail.replace(",", " ").split():
        sign, key = (token[0], token[1:]) if token[0] in "+-−" else ("", token)
        name = names.get(key, key.split(":", 1)[-1])
        (added if sign == "+" else removed if sign else attached).append(name)
    parts = []
    if added or attached:
        parts.append("added " + ", ".join(added + attached))
    if removed:
        parts.append("removed " + ", ".join(removed))
    return " and ".join(parts) or "changed its members and campaigns"


def _join(phrases: Sequence[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def describe_history(entries: Sequence[AuditEntry], clip: ClipView, names: Mapping[str, str]) -> list[str]:
    """One sentence per audit entry, oldest first. `names` maps 'member:id' / 'campaign:id' to names."""
    feed = _feed_values(clip)
    state: dict[str, Any] = {}
    lines = []
    for e in entries:
        who = e.user or "someone"
        if e.action in ("new", "approved", "rejected"):
            before, _, after = e.detail.partition(" -> ")
            after, _, why = after.partition(" (")  # a reason in brackets: a story's primary switched
            phrase = _STATUS.get((before.strip(), after.strip() or e.action), e.action + " it")
            if why.startswith("primary of story"):
                phrase += ", as the copy of the story the website links"
            elif why.startswith("a linked copy now"):
                phrase += ", as another copy of the story is the one the website links now"
            lines.append(f"{who} {phrase}.")
        elif e.action == "edit":
            try:
                changes = json.loads(e.detail or "{}")
            except ValueError:
                changes = None
            if not isinstance(changes, dict) or not changes:
                lines.append(f"{who} edited it.")
                continue
            lines.append(f"{who} {_join(_edit_phrases(changes, state, feed))}.")
        elif e.action == "tag":
            lines.append(f"{who} {_targets_phrase(e.detail, names)}.")
        elif e.action == "add":
            lines.append(f"{who} added this clip by hand" + (f" from {e.detail}." if e.detail else "."))
        elif e.action == "primary":
            lines.append(f"{who} made this copy the one the website links for its story.")
        elif e.action == "canonical":
            lines.append("The article reader moved it to the address the article gives for itself"
                         + (", and merged it with the clip already stored there." if "merged with" in e.detail else "."))
        elif e.action == "resolve":
            merged = "merged with" in e.detail
            lines.append("The link resolver found the publisher's address for the search link"
                         + (", and merged it with the clip already stored for it." if merged else "."))
        else:
            lines.append(f"{who}: {e.action}" + (f" ({e.detail})." if e.detail else "."))
    return lines

"""Syndication stories and outlet identity, the pure part: no database, no clock, no network.

    signature   normalised title + text → word shingles → a MinHash signature (bytes to store)
    index       an LSH index over a batch of new clips, the window's stored signatures streamed
                through it, and where each new clip belongs (a story of the window, or a new one)
    outlets     one outlet per registrable domain; its state; which copy of a story is primary
    hints       the other outlets a Google News item lists for the same story

tracker.syndication wires these to the Store; the ingest step and the CLI call it.
"""

from __future__ import annotations

from tracker.stories.index import Candidate, NewClip, StoryIndex
from tracker.stories.outlets import (
    Copy,
    choose_primary,
    name_key,
    outlet_domain,
    outlet_state,
)
from tracker.stories.signature import (
    CONTAINMENT_SAME,
    JACCARD_SAME,
    NUM_PERM,
    Signature,
    sign,
    similarity,
    story_text,
)

__all__ = [
    "CONTAINMENT_SAME",
    "JACCARD_SAME",
    "NUM_PERM",
    "Candidate",
    "Copy",
    "NewClip",
    "Signature",
    "StoryIndex",
    "choose_primary",
    "name_key",
    "outlet_domain",
    "outlet_state",
    "sign",
    "similarity",
    "story_text",
]

"""The story seam: digests, alerts and reports count stories, not copies of one article.

A story is one article however many outlets syndicated it: the clips sharing a story id (the
stories step, tracker.syndication). A clip not placed in a story yet (stored this cycle, before the
stories step ran) is its own story, keyed by its id; digests hold a fresh one back until it is
placed (settled), and once placed, what was delivered under that id still counts
(Story.delivery_keys), so the story does not reach the same recipient twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.models import ClipView

if TYPE_CHECKING:
    from tracker.store import Store


@dataclass(frozen=True)
class Story:
    id: str  # the delivery log's key: a story reaches a recipient once, whichever copy carried it
    primary: ClipView  # the copy shown (headline, outlet, link)
    clips: tuple[ClipView, ...]  # every copy given, primary first
    # The story's other copies in the store (outside the clips given: older than a lookback).
    other_copy_ids: tuple[str, ...] = ()

    @property
    def delivery_keys(self) -> tuple[str, ...]:
        """Every key this story may have been delivered under: its own id, and each copy's id (a copy
        sent before the stories step placed it went out as a story of its own)."""
        return tuple(dict.fromkeys((self.id, *(c.id for c in self.clips), *self.other_copy_ids)))

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(sorted({m for c in self.clips for m in c.member_ids}))

    @property
    def campaign_ids(self) -> tuple[str, ...]:
        return tuple(sorted({c_id for c in self.clips for c_id in c.campaign_ids}))

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.display_outlet for c in self.clips if c.display_outlet))

    @property
    def at(self) -> datetime:
        """When the story ran: its first copy's publication (else first-seen) time."""
        return min(c.published_at or c.first_seen_at for c in self.clips)

    @property
    def first_seen_at(self) -> datetime:
        return min(c.first_seen_at for c in self.clips)


def group_stories(clips: Iterable[ClipView]) -> list[Story]:
    """Clips -> stories, in the order of each story's first clip; the primary copy first (the one
    the website links), else the first given."""
    groups: dict[str, list[ClipView]] = {}
    for clip in clips:
        groups.setdefault(clip.story_id or clip.id, []).append(clip)
    stories = []
    for story_id, copies in groups.items():
        primary = next((c for c in copies if c.primary), copies[0])
        stories.append(Story(id=story_id, primary=primary, clips=(primary, *(c for c in copies if c is not primary))))
    return stories


def story_ids(stories: Sequence[Story]) -> list[str]:
    return [s.id for s in stories]


def with_copy_ids(stories: Sequence[Story], copy_ids: Mapping[str, Sequence[str]]) -> list[Story]:
    """The stories, each knowing all its copies' ids (Store.story_clip_ids), not only those given:
    a copy sent on its own last week still makes its story delivered."""
    return [replace(s, other_copy_ids=tuple(i for i in copy_ids.get(s.id, ()) if i not in {c.id for c in s.clips}))
            for s in stories]


def settled(stories: Sequence[Story], placed_by: datetime) -> list[Story]:
    """The stories without a clip the stories step may still place: a clip not placed yet and first
    seen after `placed_by` is held back (it may be a new copy of a story already sent, and placing
    comes minutes after storing); one first seen earlier goes as a story of its own, so a stories
    step that keeps failing never hides it for good."""
    return [s for s in stories if not all(c.story_id is None and c.first_seen_at > placed_by for c in s.clips)]


def undelivered(stories: Sequence[Story], delivered: Iterable[str]) -> list[Story]:
    """The stories none of whose keys was delivered."""
    done = set(delivered)
    return [s for s in stories if done.isdisjoint(s.delivery_keys)]


def changed_stories(store: Store, since: datetime) -> list[Story]:
    """The stories of the clips first seen or reviewed since `since` (digests, new-story alerts),
    each knowing every copy it has in the store, so what went out under a copy's id counts."""
    stories = group_stories(store.clips_changed_since(since))
    return with_copy_ids(stories, store.story_clip_ids([s.id for s in stories]))

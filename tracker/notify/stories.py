"""The story seam: digests, alerts and reports count stories, not copies of one article.

A story is one article however many outlets syndicated it. Until clips carry a story id
(the stories issue, #13), each clip is its own story, keyed by the clip's id; `group_stories`
is the one place that changes when they do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tracker.models import ClipView


@dataclass(frozen=True)
class Story:
    id: str  # the delivery log's key: a story reaches a recipient once, whichever copy carried it
    primary: ClipView  # the copy shown (headline, outlet, link)
    clips: tuple[ClipView, ...]  # every copy, primary first

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
    """Clips -> stories, in the clips' order. Today: one story per clip (see the module docstring)."""
    return [Story(id=clip.id, primary=clip, clips=(clip,)) for clip in clips]


def story_ids(stories: Sequence[Story]) -> list[str]:
    return [s.id for s in stories]

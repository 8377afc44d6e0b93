"""Digests, alerts and reports count stories: the copies sharing a story id are one, primary first."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import NOW
from tracker.models import ClipStatus, ClipView
from tracker.notify.stories import group_stories


def _clip(clip_id: str, story: str | None, *, primary: bool, hours: int = 0) -> ClipView:
    return ClipView(id=clip_id, url=f"https://{clip_id}.example/a", canonical_url=f"https://{clip_id}.example/a",
                    title=f"Headline {clip_id}", summary="", outlet=clip_id, published_at=None,
                    first_seen_at=NOW + timedelta(hours=hours), status=ClipStatus.NEW, image_url=None,
                    story_id=story, primary=primary)


def test_copies_of_one_story_are_one_with_the_primary_first() -> None:
    clips = [_clip("wire", "s1", primary=False), _clip("other", "s2", primary=True, hours=1),
             _clip("local", "s1", primary=True, hours=2), _clip("unplaced", None, primary=True, hours=3)]
    stories = group_stories(clips)
    assert [s.id for s in stories] == ["s1", "s2", "unplaced"]
    first = stories[0]
    assert first.primary.id == "local" and [c.id for c in first.clips] == ["local", "wire"]
    assert first.outlets == ("local", "wire")
    assert first.first_seen_at == NOW


def test_a_story_whose_primary_is_not_among_the_clips_shows_its_first_copy() -> None:
    (story,) = group_stories([_clip("a", "s", primary=False), _clip("b", "s", primary=False, hours=1)])
    assert story.primary.id == "a" and len(story.clips) == 2

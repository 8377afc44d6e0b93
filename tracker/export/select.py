"""Which approved clips go to the website, in the order the website shows them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tracker.errors import ConfigError
from tracker.export.sanitize import as_utc
from tracker.models import ClipStatus, ClipView


def _order(clip: ClipView) -> tuple[bool, bool, int, float, str]:
    published = as_utc(clip.published_at or clip.first_seen_at).timestamp()
    return (
        not clip.featured,  # featured first
        clip.position is None,  # staff-ordered before unordered
        clip.position if clip.position is not None else 0,
        -published,  # newest first
        clip.id,  # ties never depend on input order: stable files
    )


def _tagged(clip: ClipView, tag: str, feed_tags: Mapping[str, Sequence[str]]) -> bool:
    return tag in clip.tags or any(tag in feed_tags.get(feed_id, ()) for feed_id in clip.feed_ids)


def select_for_export(
    clips: Sequence[ClipView],
    *,
    campaign: str | None = None,
    member: str | None = None,
    tag: str | None = None,
    limit: int | None = None,
    feed_tags: Mapping[str, Sequence[str]] | None = None,
) -> list[ClipView]:
    """Approved clips matching every given filter, featured → position → newest → id.

    `tag` is a staff tag on the clip or a tag of a feed it came from (`feed_tags`: feed id → its
    tags in feeds.yml), as the dashboard's tag filter reads it: a state's page (`tag: pa`) lists
    the clips of that state's feeds.

    A clip whose link is still a search engine's redirect ("link not resolved yet") waits: the website
    must link the publisher, not Google, and a redirect link published once stays in readers' feeds and
    caches. It appears in the next export after the resolver finds its address (README, "Search coverage").
    """
    if limit is not None and limit < 0:
        raise ConfigError(f"export limit must be 0 or more, got {limit}")
    chosen = [
        clip
        for clip in clips
        if clip.status == ClipStatus.APPROVED
        and clip.resolved
        and (campaign is None or campaign in clip.campaign_ids)
        and (member is None or member in clip.member_ids)
        and (tag is None or _tagged(clip, tag, feed_tags or {}))
    ]
    chosen.sort(key=lambda c: (not c.primary, _order(c)))
    # One item per story: its primary when approved (approving a story approves that copy), else the
    # first approved copy; the others are listed under it as also_in.
    seen: set[str] = set()
    unique = []
    for clip in chosen:
        if clip.story_id is not None:
            if clip.story_id in seen:
                continue
            seen.add(clip.story_id)
        unique.append(clip)
    unique.sort(key=_order)
    return unique if limit is None else unique[:limit]

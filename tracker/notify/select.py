"""Pure: which stories a digest's or webhook's filter keeps, and the section each goes under."""

from __future__ import annotations

from collections.abc import Iterable

from tracker.models import ClipStatus, Config, NotifyFilter
from tracker.notify.stories import Story


def chapter_members(config: Config, chapters: Iterable[str]) -> set[str]:
    """Members whose chapter or state is one of `chapters` (case-insensitive)."""
    wanted = {c.casefold() for c in chapters}
    return {m.id for m in config.members if {m.chapter.casefold(), m.state.casefold()} & wanted}


def keeps(config: Config, f: NotifyFilter, story: Story) -> bool:
    """A story passes when its status is wanted and it is about a wanted member, campaign or chapter
    (the lists are alternatives: any one of them is enough; no list at all keeps every story)."""
    # Rejected is never among the statuses a filter may name (config allows new and approved only).
    if not any(c.status in f.statuses and c.status != ClipStatus.REJECTED for c in story.clips):
        return False
    if not (f.members or f.campaigns or f.chapters):
        return bool(story.member_ids or story.campaign_ids)
    members = set(f.members) | chapter_members(config, f.chapters)
    return bool(members & set(story.member_ids)) or bool(set(f.campaigns) & set(story.campaign_ids))


def section_of(config: Config, f: NotifyFilter, story: Story) -> tuple[str, str]:
    """(campaign name, member name) a story is listed under once: the first campaign and member it is
    about, preferring those the filter names, in feeds.yml's order; "" where it has none."""
    def first(ids: tuple[str, ...], preferred: tuple[str, ...], order: list[tuple[str, str]]) -> str:
        for wanted_first in (True, False):
            for target_id, name in order:
                if target_id in ids and (not wanted_first or target_id in preferred):
                    return name
        return ""

    campaigns = [(c.id, c.name) for c in config.campaigns]
    members = [(m.id, m.name) for m in config.members]
    preferred_members = tuple(f.members) + tuple(sorted(chapter_members(config, f.chapters)))
    return (first(story.campaign_ids, f.campaigns, campaigns), first(story.member_ids, preferred_members, members))

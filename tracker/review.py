"""Staff decisions on clips (status, edits, matches, the published order): the one code path for the
CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError, NotFoundError
from tracker.models import ClipEdit, ClipFilter, ClipStatus, ClipView, Config
from tracker.publish import regenerate_exports
from tracker.store import Store


def set_status(store: Store, config: Config | None, clip_ids: Sequence[str], status: ClipStatus, user: str,
               *, clock: Clock = system_clock) -> int:
    """Approve, reject or reset clips (audited); regenerates exports when anything changed."""
    changed = store.set_status(clip_ids, status, user, clock())
    try:
        # Even when nothing changed: repeating an approval is how staff retry a failed export,
        # and unchanged files are left untouched.
        regenerate_exports(config, store)
    except ExportError as exc:
        exc.changed = changed
        raise
    return changed


def edit_clip(store: Store, config: Config | None, clip_id: str, edit: ClipEdit, user: str,
              *, clock: Clock = system_clock) -> ClipView:
    """Staff edits; never overwritten by later ingests. Exports follow when the clip is live."""
    clip = store.edit_clip(clip_id, edit, user, clock())
    if clip.status is ClipStatus.APPROVED:
        regenerate_exports(config, store)
    return clip


def set_targets(
    store: Store, config: Config | None, clip_id: str, member_ids: Sequence[str], campaign_ids: Sequence[str],
    user: str, *, clock: Clock = system_clock,
) -> ClipView:
    """Correct a clip's matches: its members/campaigns become exactly these (audited), and stay so
    through later ingests and rematches. Exports follow when the clip is live."""
    if config is not None:
        current = store.get_clip(clip_id)
        # Ids already on the clip may have left feeds.yml since; only new ones must be configured.
        for kind, wanted, have, known in (
            ("member", member_ids, current.member_ids, {m.id for m in config.members}),
            ("campaign", campaign_ids, current.campaign_ids, {c.id for c in config.campaigns}),
        ):
            unknown = sorted(set(wanted) - set(have) - known)
            if unknown:
                raise NotFoundError(f"no {kind} {unknown[0]!r} in {config.path}")
    store.set_clip_targets(clip_id, member_ids, campaign_ids, user, clock())
    clip = store.get_clip(clip_id)
    if clip.status is ClipStatus.APPROVED:
        regenerate_exports(config, store)  # an ExportError here leaves the saved correction in place
    return clip


def clear_position(store: Store, config: Config | None, clip_id: str, user: str,
                   *, clock: Clock = system_clock) -> None:
    """Take a clip out of the hand-set order: it goes back among the newest (audited)."""
    store.clear_position(clip_id, user, clock())
    regenerate_exports(config, store)


def move_published(store: Store, config: Config | None, clip_id: str, offset: int, user: str,
                   *, limit: int = 30, clock: Clock = system_clock) -> bool:
    """Move a published clip up (-1) or down (+1) among clips of the same kind (featured or not),
    within the first `limit` the Published list shows; False when there was nothing to move.

    The moved clip and those above it get explicit positions 1..k, so the website's order
    (featured → position → newest) shows exactly the list staff see.
    """
    clips = store.list_published(limit)
    index = next((i for i, c in enumerate(clips) if c.id == clip_id), None)
    if index is None:
        return False
    group = [c for c in clips if c.featured == clips[index].featured]
    gi = next(i for i, c in enumerate(group) if c.id == clip_id)
    target = gi + offset
    if not 0 <= target < len(group):
        return False
    group[gi], group[target] = group[target], group[gi]
    changed = False
    for pos, c in enumerate(group[: max(gi, target) + 1], start=1):
        if c.position != pos:
            store.edit_clip(c.id, ClipEdit(position=pos), user, clock())
            changed = True
    if changed:
        regenerate_exports(config, store)  # once for the whole move; the clips are all published
    return changed


def switch_primary(store: Store, config: Config | None, clip_id: str, user: str,
                   *, clock: Clock = system_clock) -> bool:
    """Staff choose which copy of a story the website links; the story's review moves to it (audited)
    and later copies never take it back. Exports follow."""
    story_id = store.story_of(clip_id)
    if story_id is None:
        raise NotFoundError(f"clip {clip_id!r} is not in a story yet (run `tracker stories build`)")
    changed = store.switch_primary(story_id, clip_id, user, clock())
    if changed:
        regenerate_exports(config, store)
    return changed


def review_story(store: Store, config: Config | None, story_id: str, status: ClipStatus, user: str,
                 *, clock: Clock = system_clock) -> int:
    """Approve or reject a story: its primary copy, which is what the website shows; the other copies
    stay linked to it (listed as `also_in`)."""
    primary = [c.id for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary]
    if not primary:
        raise NotFoundError(f"no story {story_id!r}")
    return set_status(store, config, primary, status, user, clock=clock)

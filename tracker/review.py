"""Staff decisions on clips (status, edits, matches, the published order): the one code path for the
CLI and the dashboard. Each checks the user's role first (tracker.roles) and records it in the audit."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError, NotFoundError
from tracker.models import Actor, ClipEdit, ClipStatus, ClipView, Config
from tracker.publish import regenerate_exports
from tracker.roles import Permission, require
from tracker.store import Store


def set_status(store: Store, config: Config | None, clip_ids: Sequence[str], status: ClipStatus, user: Actor | str,
               *, clock: Clock = system_clock) -> int:
    """Approve, reject or reset clips (audited); regenerates exports when anything changed."""
    actor = require(user, Permission.REVIEW)
    changed = store.set_status(clip_ids, status, actor.name, clock(), role=actor.role.value)
    try:
        # Even when nothing changed: repeating an approval is how staff retry a failed export,
        # and unchanged files are left untouched.
        regenerate_exports(config, store)
    except ExportError as exc:
        exc.changed = changed
        raise
    return changed


def edit_clip(store: Store, config: Config | None, clip_id: str, edit: ClipEdit, user: Actor | str,
              *, expected_version: int | None = None, clear_position: bool = False,
              clock: Clock = system_clock) -> ClipView:
    """Staff edits; never overwritten by later ingests. Exports follow when the clip is live.

    expected_version is the clip's version when the editor opened it: if someone has changed the
    clip since, the save is refused (StaleEditError) rather than overwriting their change.
    """
    actor = require(user, Permission.EDIT)
    current = store.get_clip(clip_id)
    # Compared with the clip the editor opened: when that is stale, the store refuses the save as stale,
    # rather than this blaming the role for a featured flag someone else changed meanwhile.
    opened_current = expected_version is None or expected_version == current.version
    changes_order = (edit.featured is not None and edit.featured != current.featured) or (
        (edit.position is not None and edit.position != current.position) or bool(clear_position and current.position)
    )
    if opened_current and changes_order:
        require(actor, Permission.PUBLISH_ORDER)
    clip = store.edit_clip(clip_id, edit, actor.name, clock(), role=actor.role.value,
                           expected_version=expected_version, clear_position=clear_position)
    if clip.status is ClipStatus.APPROVED:
        regenerate_exports(config, store)
    return clip


def set_targets(
    store: Store, config: Config | None, clip_id: str, member_ids: Sequence[str], campaign_ids: Sequence[str],
    user: Actor | str, *, clock: Clock = system_clock,
) -> ClipView:
    """Correct a clip's matches: its members/campaigns become exactly these (audited), and stay so
    through later ingests and rematches. Exports follow when the clip is live."""
    actor = require(user, Permission.EDIT)
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
    store.set_clip_targets(clip_id, member_ids, campaign_ids, actor.name, clock(), role=actor.role.value)
    clip = store.get_clip(clip_id)
    if clip.status is ClipStatus.APPROVED:
        regenerate_exports(config, store)  # an ExportError here leaves the saved correction in place
    return clip


def clear_position(store: Store, config: Config | None, clip_id: str, user: Actor | str,
                   *, clock: Clock = system_clock) -> None:
    """Take a clip out of the hand-set order: it goes back among the newest (audited)."""
    actor = require(user, Permission.PUBLISH_ORDER)
    store.clear_position(clip_id, actor.name, clock(), role=actor.role.value)
    regenerate_exports(config, store)


def move_published(store: Store, config: Config | None, clip_id: str, offset: int, user: Actor | str,
                   *, limit: int = 30, clock: Clock = system_clock) -> bool:
    """Move a published clip up (-1) or down (+1) among clips of the same kind (featured or not),
    within the first `limit` the Published list shows; False when there was nothing to move.

    The moved clip and those above it get explicit positions 1..k, so the website's order
    (featured → position → newest) shows exactly the list staff see.
    """
    actor = require(user, Permission.PUBLISH_ORDER)
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
            store.edit_clip(c.id, ClipEdit(position=pos), actor.name, clock(), role=actor.role.value)
            changed = True
    if changed:
        regenerate_exports(config, store)  # once for the whole move; the clips are all published
    return changed

"""Staff decisions on clips (status, edits, matches, the published order): the one code path for the
CLI and the dashboard. Each checks the user's role first (tracker.roles) and records it in the audit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError, NotFoundError
from tracker.models import (
    Actor,
    ClipEdit,
    ClipFilter,
    ClipStatus,
    ClipView,
    Config,
    Undo,
    UndoResult,
)
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


def status_undo(store: Store, clip_ids: Sequence[str], status: ClipStatus) -> Undo:
    """Read before a status change: what `undo` needs to put these clips back as they are now."""
    before = []
    for clip_id in dict.fromkeys(clip_ids):
        current = store.get_clip(clip_id).status
        if current is not status:
            before.append((clip_id, current))
    return Undo(statuses=tuple(before))


def sealed(store: Store, record: Undo) -> Undo:
    """The record, knowing each clip's version right after the decision: read at once after it."""
    ids = [i for i, _ in record.statuses] + [i for i, _ in record.positions]
    return replace(record, versions=tuple((i, v) for i, (v, _s) in store.clip_versions(ids).items())) if ids else record


def undo(store: Store, config: Config | None, record: Undo, user: Actor | str,
         *, clock: Clock = system_clock) -> UndoResult:
    """Take a decision back (audited as ordinary changes by `user`); exports follow once. Undoing
    needs the rights the decision needed: review for statuses, publish order for a move.

    Never over a colleague: a status is put back only on clips nobody changed after the decision
    (the others are left as they were left, and listed), and a move is undone by moving the clip
    back to its place, so moves made since are kept (putting every position back would undo them)."""
    actor = require(user, Permission.REVIEW)
    if record.moved or record.positions:
        require(actor, Permission.PUBLISH_ORDER)
    after = dict(record.versions)
    current = store.clip_versions([i for i, _ in record.statuses] + [i for i, _ in record.positions])
    if record.moved and not (all(current.get(i, (None,))[0] == v for i, v in after.items())
                             and not store.order_changed_since(record.order_mark)):
        return _move_back(store, config, record, actor, clock, current)
    now = clock()
    left: list[str] = []
    by_status: dict[ClipStatus, list[str]] = {}
    for clip_id, status in record.statuses:
        if clip_id not in current or (clip_id in after and current[clip_id][0] != after[clip_id]):
            left.append(clip_id)
        elif current[clip_id][1] is not status:
            by_status.setdefault(status, []).append(clip_id)
    changed = 0
    for status, ids in by_status.items():
        changed += store.set_status(ids, status, actor.name, now, role=actor.role.value)
    positions_moved: list[str] = []
    if record.positions:  # the order untouched since the move: every position exactly as it was
        positions_moved = [i for i, _ in record.positions]  # each one the move changed, unchanged since
        changed += store.set_positions(record.positions, actor.name, now, role=actor.role.value)
    try:
        regenerate_exports(config, store)
    except ExportError as exc:
        exc.changed = changed
        raise
    moved = [i for ids in by_status.values() for i in ids] + positions_moved
    return UndoResult(changed, tuple(left), tuple((i, moved.count(i)) for i in dict.fromkeys(moved)))


def _move_back(store: Store, config: Config | None, record: Undo, actor: Actor, clock: Clock,
               current: dict[str, tuple[int, ClipStatus]]) -> UndoResult:
    """Someone changed the order after the move: the clip goes back to its place among what they made
    of it, unless they moved (or changed) that clip too, or it is no longer published."""
    assert record.moved is not None
    clip_id, number = record.moved
    if current.get(clip_id, (None,))[0] != dict(record.versions).get(clip_id) or store.published_place(clip_id) is None:
        return UndoResult(0, (clip_id,))
    try:
        back = move_published_to(store, config, clip_id, number, actor, clock=clock)
    except ExportError as exc:  # moved back all the same: say how much
        exc.changed = len(exc.record.positions) if isinstance(exc.record, Undo) else 0
        raise
    moved = tuple((i, 1) for i, _ in back.positions) if back else ()
    return UndoResult(len(moved), (), moved)


def publish_warnings(config: Config | None, clip: ClipView) -> list[str]:
    """Pure: why staff might not want this clip on the website yet, in words (empty when fine).

    Asked once before publishing: a clip naming no member or campaign is usually a stray match,
    and a card without a blurb looks broken where the website shows blurbs."""
    problems = []
    if not clip.member_ids and not clip.campaign_ids:
        problems.append("it names no member and no campaign")
    shows_blurbs = config is not None and any(e.format in ("json", "rss", "html") for e in config.settings.exports)
    if shows_blurbs and not clip.display_blurb.strip():
        problems.append("it has no blurb, and the website shows one under each headline")
    return problems


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
    user: Actor | str, *, clock: Clock = system_clock, expected_version: int | None = None,
) -> ClipView:
    """Correct a clip's matches: its members/campaigns become exactly these (audited), and stay so
    through later ingests and rematches. Exports follow when the clip is live. With
    expected_version, a correction over someone else's later change raises StaleEditError."""
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
    store.set_clip_targets(clip_id, member_ids, campaign_ids, actor.name, clock(), role=actor.role.value,
                           expected_version=expected_version)
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
                   *, clock: Clock = system_clock) -> Undo | None:
    """Move a published clip up (-1) or down (+1) among clips of the same kind (featured or not),
    across page boundaries; None when there was nothing to move, else what undoes the move."""
    actor = require(user, Permission.PUBLISH_ORDER)
    place = store.published_place(clip_id)
    if place is None:
        return None
    _featured, index, size = place
    if not 0 <= index + offset < size:
        return None
    return _move(store, config, clip_id, index + offset, actor, clock)


def move_published_to(store: Store, config: Config | None, clip_id: str, number: int, user: Actor | str,
                      *, clock: Clock = system_clock) -> Undo | None:
    """Put a published clip at place `number` of the website's list (1 = top), or as near as its
    kind allows: featured clips stay above the rest. None when it did not move."""
    actor = require(user, Permission.PUBLISH_ORDER)
    place = store.published_place(clip_id)
    if place is None:
        return None
    featured, index, size = place
    featured_count = size if featured else store.featured_on_website()
    target = number - 1 if featured else number - 1 - featured_count
    target = min(max(target, 0), size - 1)
    if target == index:
        return None
    return _move(store, config, clip_id, target, actor, clock)


def _move(store: Store, config: Config | None, clip_id: str, target: int, actor: Actor, clock: Clock) -> Undo | None:
    """The moved clip and every clip above its old and new place get explicit positions 1..k, so
    the website's order (featured → position → newest) shows exactly the list staff see. Clips
    below whose positions would tie with or jump into 1..k (two clips given "1") join the k."""
    place = store.published_place(clip_id)
    if place is None:
        return None
    featured, index, _size = place
    k = max(index, target) + 1
    fetch = k + 1
    while True:
        order = store.published_order(featured, fetch)
        while k < len(order) and (position := order[k][1]) is not None and position <= k:
            k += 1
        if k < len(order) or len(order) < fetch:
            break
        fetch *= 2  # the ties run on past what was read
    order = order[:k]
    before = dict(order)
    ids = [i for i, _ in order]
    ids.insert(target, ids.pop(index))
    changes = [(cid, pos) for pos, cid in enumerate(ids, start=1) if before[cid] != pos]
    if not changes:
        return None
    store.set_positions(changes, actor.name, clock(), role=actor.role.value)
    number = index + 1 + (0 if featured else store.featured_on_website())  # its place on the website before
    record = sealed(store, Undo(positions=tuple((cid, before[cid]) for cid, _ in changes), moved=(clip_id, number),
                                order_mark=store.audit_mark()))
    try:
        regenerate_exports(config, store)  # once for the whole move; the clips are all published
    except ExportError as exc:
        exc.record = record  # the move is saved: the caller still offers its Undo
        raise
    return record


def switch_primary(store: Store, config: Config | None, clip_id: str, user: Actor | str,
                   *, clock: Clock = system_clock) -> bool:
    """Staff choose which copy of a story the website links; the story's review moves to it (audited)
    and later copies never take it back. Exports follow."""
    actor = require(user, Permission.REVIEW)
    story_id = store.story_of(clip_id)
    if story_id is None:
        raise NotFoundError(f"clip {clip_id!r} is not in a story yet (run `tracker stories build`)")
    changed = store.switch_primary(story_id, clip_id, actor.name, clock(), role=actor.role.value)
    if changed:
        regenerate_exports(config, store)
    return changed


def review_story(store: Store, config: Config | None, story_id: str, status: ClipStatus, user: Actor | str,
                 *, clock: Clock = system_clock) -> int:
    """Approve or reject a story: its primary copy, which is what the website shows; the other copies
    stay linked to it (listed as `also_in`)."""
    primary = [c.id for c in store.all_clips(ClipFilter(story_id=story_id)) if c.primary]
    if not primary:
        raise NotFoundError(f"no story {story_id!r}")
    return set_status(store, config, primary, status, user, clock=clock)

"""Staff decisions on clips: the one code path for the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError, NotFoundError
from tracker.models import ClipEdit, ClipStatus, ClipView, Config
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

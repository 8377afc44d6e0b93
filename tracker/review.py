"""Staff decisions on clips: the one code path for the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.errors import ExportError
from tracker.models import ClipEdit, ClipStatus, ClipView, Config
from tracker.normalize import utcnow
from tracker.publish import regenerate_exports
from tracker.store import Store


def set_status(store: Store, config: Config | None, clip_ids: Sequence[str], status: ClipStatus, user: str) -> int:
    """Approve, reject or reset clips (audited); regenerates exports when anything changed."""
    changed = store.set_status(clip_ids, status, user, utcnow())
    try:
        # Even when nothing changed: repeating an approval is how staff retry a failed export,
        # and unchanged files are left untouched.
        regenerate_exports(config, store)
    except ExportError as exc:
        exc.changed = changed
        raise
    return changed


def edit_clip(store: Store, config: Config | None, clip_id: str, edit: ClipEdit, user: str) -> ClipView:
    """Staff edits; never overwritten by later ingests. Exports follow when the clip is live."""
    clip = store.edit_clip(clip_id, edit, user, utcnow())
    if clip.status is ClipStatus.APPROVED:
        regenerate_exports(config, store)
    return clip

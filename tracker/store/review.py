"""The review part of the Store: staff decisions on clips and their audit trail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, select
from sqlmodel import col

from tracker.errors import NotFoundError
from tracker.models import AuditEntry, ClipEdit, ClipStatus, ClipView, Mention, staff_mention
from tracker.store.base import StoreBase, mention_row
from tracker.store.tables import AuditRow, ClipRow, MentionRow


class ReviewMixin(StoreBase):
    """Staff decisions on clips (status, edits, positions, attached targets), each one audited."""

    if TYPE_CHECKING:  # ClipsMixin's, beside this one in Store
        def get_clip(self, clip_id: str) -> ClipView: ...

    def set_status(self, clip_ids: Sequence[str], status: ClipStatus, user: str, now: datetime) -> int:
        """Approve/reject/reset clips; every change is audited. Unknown ids raise NotFoundError."""
        with self.session() as s:
            rows = s.execute(select(ClipRow).where(col(ClipRow.id).in_(list(clip_ids)))).scalars().all()
            missing = set(clip_ids) - {r.id for r in rows}
            if missing:
                raise NotFoundError(f"no clip {sorted(missing)[0]!r}")
            changed = 0
            for row in rows:
                if row.status == status.value:
                    continue
                s.add(AuditRow(clip_id=row.id, user=user, action=status.value, at=now,
                               detail=f"{row.status} -> {status.value}"))
                row.status = status.value
                row.reviewed_by = user
                row.reviewed_at = now
                row.updated_at = now
                changed += 1
            return changed

    def edit_clip(self, clip_id: str, edit: ClipEdit, user: str, now: datetime) -> ClipView:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            changes = {}
            for attr, value in vars(edit).items():
                if value is None:
                    continue
                new_value = list(value) if attr == "tags" else value
                if attr != "featured" and attr != "position" and attr != "tags" and value == "":
                    new_value = None  # clearing a field returns it to the feed's value
                if getattr(row, attr) != new_value:
                    changes[attr] = new_value
                    setattr(row, attr, new_value)
            if changes:
                row.updated_at = now
                s.add(AuditRow(clip_id=clip_id, user=user, action="edit", at=now,
                               detail=json.dumps(changes, ensure_ascii=False, sort_keys=True)))
        return self.get_clip(clip_id)

    def clear_position(self, clip_id: str, user: str, now: datetime) -> None:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            if row.position is not None:
                row.position = None
                row.updated_at = now
                s.add(AuditRow(clip_id=clip_id, user=user, action="edit", at=now, detail='{"position": null}'))

    def set_positions(self, positions: Sequence[tuple[str, int | None]], user: str, now: datetime) -> int:
        """Set several clips' place in the published order in one transaction (each change audited,
        as an edit of its position); returns how many changed."""
        wanted = dict(positions)
        changed = 0
        with self.session() as s:
            rows = s.execute(select(ClipRow).where(col(ClipRow.id).in_(list(wanted)))).scalars().all()
            missing = set(wanted) - {r.id for r in rows}
            if missing:
                raise NotFoundError(f"no clip {sorted(missing)[0]!r}")
            for row in rows:
                if row.position == wanted[row.id]:
                    continue
                row.position = wanted[row.id]
                row.updated_at = now
                s.add(AuditRow(clip_id=row.id, user=user, action="edit", at=now,
                               detail=json.dumps({"position": row.position})))
                changed += 1
        return changed

    def set_manual_mentions(self, clip_id: str, mentions: Sequence[Mention], user: str, now: datetime) -> None:
        """Staff attach members/campaigns by hand; rematching keeps these."""
        with self.session() as s:
            if s.get(ClipRow, clip_id) is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            # Staff removals (suppressed rows) stay: replacing the attached set must not bring them back.
            s.execute(delete(MentionRow).where(and_(col(MentionRow.clip_id) == clip_id, col(MentionRow.manual).is_(True),
                                                    col(MentionRow.suppressed).is_(False))))
            s.flush()
            auto = {(m.kind, m.target_id): m for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()}
            for m in mentions:
                existing = auto.get((m.kind, m.target_id))
                if existing is not None:
                    existing.manual = True
                    existing.suppressed = False
                else:
                    s.add(mention_row(clip_id, m, manual=True))
            s.add(AuditRow(clip_id=clip_id, user=user, action="tag", at=now,
                           detail=", ".join(f"{m.kind}:{m.target_id}" for m in mentions)))

    def set_clip_targets(
        self, clip_id: str, members: Sequence[str], campaigns: Sequence[str], user: str, now: datetime
    ) -> tuple[list[str], list[str]]:
        """Staff correct a clip's matches: the visible members/campaigns become exactly these.

        Added targets are manual mentions; removed ones stay as suppressed rows, so later
        ingests and rematches keep them off the clip. Returns (added, removed) as 'kind:id'.
        """
        wanted = {("member", i) for i in members} | {("campaign", i) for i in campaigns}
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            have = {
                (m.kind, m.target_id): m
                for m in s.execute(select(MentionRow).where(col(MentionRow.clip_id) == clip_id)).scalars()
            }
            visible = {key for key, m in have.items() if not m.suppressed}
            added, removed = sorted(wanted - visible), sorted(visible - wanted)
            for kind, target in added:
                existing = have.get((kind, target))
                if existing is None:
                    s.add(mention_row(clip_id, staff_mention(kind, target), manual=True))
                else:  # removed earlier: shown again, with the evidence it had
                    existing.manual, existing.suppressed = True, False
            for key in removed:
                have[key].manual, have[key].suppressed = True, True
            if added or removed:
                row.updated_at = now
                detail = " ".join([f"+{k}:{t}" for k, t in added] + [f"-{k}:{t}" for k, t in removed])
                s.add(AuditRow(clip_id=clip_id, user=user, action="tag", at=now, detail=detail))
        return [f"{k}:{t}" for k, t in added], [f"{k}:{t}" for k, t in removed]

    def last_unpublished_at(self) -> datetime | None:
        """When an approved clip last left the website (unpublished or rejected): exports'
        generated_at must not go back in time when the newest clip is taken down."""
        with self.session() as s:
            at = s.execute(
                select(func.max(col(AuditRow.at))).where(col(AuditRow.detail).like("approved -> %"))
            ).scalar_one()
        if isinstance(at, str):  # SQLite hands max() back as text
            at = datetime.fromisoformat(at)
        return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at

    def history(self, clip_id: str) -> list[AuditEntry]:
        with self.session() as s:
            rows = s.execute(select(AuditRow).where(col(AuditRow.clip_id) == clip_id).order_by(col(AuditRow.at), col(AuditRow.id))).scalars()
            return [AuditEntry(clip_id=r.clip_id, user=r.user, action=r.action, at=r.at, detail=r.detail) for r in rows]

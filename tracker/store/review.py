"""The review part of the Store: staff decisions on clips and their audit trail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.errors import NotFoundError, StaleEditError
from tracker.models import AuditEntry, ClipEdit, ClipStatus, ClipView, Mention, staff_mention
from tracker.store.base import StoreBase, mention_row, touch_primaries
from tracker.store.tables import AuditRow, ClipRow, MentionRow

_BATCH = 500  # ids a statement names at once (PostgreSQL takes at most 65,535 parameters)


class ReviewMixin(StoreBase):
    """Staff decisions on clips (status, edits, positions, attached targets), each one audited."""

    if TYPE_CHECKING:  # ClipsMixin's, beside this one in Store
        def get_clip(self, clip_id: str) -> ClipView: ...

    def set_status(self, clip_ids: Sequence[str], status: ClipStatus, user: str, now: datetime,
                   *, role: str | None = None) -> int:
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
                s.add(AuditRow(clip_id=row.id, user=user, role=role, action=status.value, at=now,
                               detail=f"{row.status} -> {status.value}"))
                row.version = ClipRow.version + 1  # in SQL: two decisions at once both count
                row.status = status.value
                row.reviewed_by = user
                row.reviewed_at = now
                row.updated_at = now
                changed += 1
            if changed:  # a copy's decision changes its story's primary on the website (its also_in)
                touch_primaries(s, (r.story_id for r in rows if r.story_id is not None and not r.story_primary), now)
            return changed

    def edit_clip(self, clip_id: str, edit: ClipEdit, user: str, now: datetime, *, role: str | None = None,
                  expected_version: int | None = None, clear_position: bool = False) -> ClipView:
        """Staff edits, audited. With expected_version (the version the editor opened), a save that
        would change a clip someone has changed since is refused with StaleEditError."""
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            changes: dict[str, Any] = {}
            for attr, value in vars(edit).items():
                if value is None:
                    continue
                new_value = list(value) if attr == "tags" else value
                if attr != "featured" and attr != "position" and attr != "tags" and value == "":
                    new_value = None  # clearing a field returns it to the feed's value
                if getattr(row, attr) != new_value:
                    changes[attr] = new_value
            if clear_position and row.position is not None:
                changes["position"] = None
            if changes:
                self._claim_version(s, row, expected_version)
                for attr, value in changes.items():
                    setattr(row, attr, value)
                row.updated_at = now
                s.add(AuditRow(clip_id=clip_id, user=user, role=role, action="edit", at=now,
                               detail=json.dumps(changes, ensure_ascii=False, sort_keys=True)))
        return self.get_clip(clip_id)

    @staticmethod
    def _claim_version(s: Session, row: ClipRow, expected: int | None) -> None:
        """Bump the clip's version in one compare-and-set UPDATE: of two saves from the same version,
        exactly one wins, on SQLite and PostgreSQL alike; the other is told who changed the clip."""
        query = update(ClipRow).where(col(ClipRow.id) == row.id)
        if expected is not None:
            query = query.where(col(ClipRow.version) == expected)
        claimed = s.execute(query.values(version=ClipRow.version + 1).execution_options(synchronize_session=False))
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            last = s.execute(
                select(AuditRow).where(col(AuditRow.clip_id) == row.id).order_by(col(AuditRow.at).desc(),
                                                                                col(AuditRow.id).desc()).limit(1)
            ).scalars().first()
            by = f" ({last.user or 'someone'}, {last.at:%Y-%m-%d %H:%M} UTC)" if last is not None else ""
            raise StaleEditError(f"this clip changed since you opened it{by}: reload it to see the change, "
                                 "then make yours again")
        s.refresh(row, ["version"])

    def clear_position(self, clip_id: str, user: str, now: datetime, *, role: str | None = None) -> None:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            if row.position is not None:
                row.position = None
                row.updated_at = now
                row.version = ClipRow.version + 1
                s.add(AuditRow(clip_id=clip_id, user=user, role=role, action="edit", at=now,
                               detail='{"position": null}'))

    def staff_tags(self) -> list[str]:
        """The tags staff have given clips, read from the audit trail of their edits (a few thousand
        rows, where reading every clip's tags took 0.65 s at a million clips). A tag since taken off
        every clip may still be listed; filtering by it finds nothing."""
        found: set[str] = set()
        with self.session() as s:
            rows = s.execute(select(col(AuditRow.detail)).where(col(AuditRow.action) == "edit",
                                                                 col(AuditRow.detail).like('%"tags"%')))
            for detail in rows.scalars():
                try:
                    tags = json.loads(detail or "{}").get("tags")
                except (ValueError, AttributeError):
                    continue
                if isinstance(tags, list):
                    found.update(t for t in tags if isinstance(t, str) and t.strip())
        return sorted(found)

    def clip_versions(self, clip_ids: Sequence[str]) -> dict[str, tuple[int, ClipStatus]]:
        """Each existing clip's version and status (a clip gone is left out)."""
        ids = list(dict.fromkeys(clip_ids))
        found: dict[str, tuple[int, ClipStatus]] = {}
        with self.session() as s:
            for i in range(0, len(ids), _BATCH):
                for clip_id, version, status in s.execute(select(col(ClipRow.id), col(ClipRow.version), col(ClipRow.status))
                                                          .where(col(ClipRow.id).in_(ids[i:i + _BATCH]))).all():
                    found[clip_id] = (int(version), ClipStatus(status))
        return found

    def audit_mark(self) -> int:
        """The history's last entry: what a later question asks "since" of."""
        with self.session() as s:
            return int(s.execute(select(func.max(col(AuditRow.id)))).scalar_one() or 0)

    def order_changed_since(self, mark: int) -> bool:
        """Has anyone set a position in the published order after the history's entry `mark`?"""
        with self.session() as s:
            return s.execute(select(col(AuditRow.id)).where(
                col(AuditRow.id) > mark, col(AuditRow.action) == "edit", col(AuditRow.detail).like('%"position"%'),
            ).limit(1)).first() is not None

    def set_positions(self, positions: Sequence[tuple[str, int | None]], user: str, now: datetime,
                      *, role: str | None = None) -> int:
        """Set several clips' place in the published order in one transaction (each change audited,
        as an edit of its position); returns how many changed."""
        wanted = dict(positions)
        changed = 0
        ids = list(wanted)
        with self.session() as s:
            # In chunks: PostgreSQL takes at most 65,535 parameters a statement, and a move near the end
            # of a long published list renumbers every clip above it.
            rows = [r for i in range(0, len(ids), _BATCH)
                    for r in s.execute(select(ClipRow).where(col(ClipRow.id).in_(ids[i:i + _BATCH]))).scalars().all()]
            missing = set(wanted) - {r.id for r in rows}
            if missing:
                raise NotFoundError(f"no clip {sorted(missing)[0]!r}")
            for row in rows:
                if row.position == wanted[row.id]:
                    continue
                row.position = wanted[row.id]
                row.updated_at = now
                row.version = ClipRow.version + 1
                s.add(AuditRow(clip_id=row.id, user=user, role=role, action="edit", at=now,
                               detail=json.dumps({"position": row.position})))
                changed += 1
        return changed

    def set_manual_mentions(self, clip_id: str, mentions: Sequence[Mention], user: str, now: datetime,
                            *, role: str | None = None) -> None:
        """Staff attach members/campaigns by hand; rematching keeps these."""
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            row.version = ClipRow.version + 1
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
            s.add(AuditRow(clip_id=clip_id, user=user, role=role, action="tag", at=now,
                           detail=", ".join(f"{m.kind}:{m.target_id}" for m in mentions)))

    def set_clip_targets(
        self, clip_id: str, members: Sequence[str], campaigns: Sequence[str], user: str, now: datetime,
        *, role: str | None = None, expected_version: int | None = None,
    ) -> tuple[list[str], list[str]]:
        """Staff correct a clip's matches: the visible members/campaigns become exactly these.

        Added targets are manual mentions; removed ones stay as suppressed rows, so later
        ingests and rematches keep them off the clip. Returns (added, removed) as 'kind:id'.
        With expected_version (the version the editor opened), a correction over someone else's
        later change is refused (StaleEditError), as a save of the clip's fields is.
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
                if expected_version is not None:
                    self._claim_version(s, row, expected_version)
                else:
                    row.version = ClipRow.version + 1
                detail = " ".join([f"+{k}:{t}" for k, t in added] + [f"-{k}:{t}" for k, t in removed])
                s.add(AuditRow(clip_id=clip_id, user=user, role=role, action="tag", at=now, detail=detail))
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
            return [AuditEntry(clip_id=r.clip_id, user=r.user, action=r.action, at=r.at, detail=r.detail, role=r.role)
                    for r in rows]

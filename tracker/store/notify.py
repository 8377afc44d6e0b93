"""The notify part of the Store: the delivery log of digests and webhook alerts, and the clips they pick from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from tracker.models import ClipView, DeliveryView
from tracker.store.base import StoreBase
from tracker.store.tables import ClipRow, NotifyDeliveryRow
from tracker.store.types import UTCDateTime

SENT = "sent"
FAILED = "failed"
_MAX_ERROR_CHARS = 500


def _delivery_view(row: NotifyDeliveryRow) -> DeliveryView:
    return DeliveryView(
        channel=row.channel, name=row.name, recipient=row.recipient, item_key=row.item_key, status=row.status,
        attempts=row.attempts, last_attempt_at=row.last_attempt_at, sent_at=row.sent_at, error=row.error,
    )


def _still_owed() -> ColumnElement[bool]:
    """A failed item still owed to its recipient: no send of the same digest or webhook has reached
    that recipient since the item last failed. A later send left it out (the digest's filter no
    longer keeps it, or it aged out): it is owed no more."""
    sent = aliased(NotifyDeliveryRow)
    last_sent = select(func.max(col(sent.sent_at))).where(
        col(sent.channel) == col(NotifyDeliveryRow.channel), col(sent.name) == col(NotifyDeliveryRow.name),
        col(sent.recipient) == col(NotifyDeliveryRow.recipient), col(sent.status) == SENT,
    ).scalar_subquery()
    return and_(col(NotifyDeliveryRow.status) == FAILED,
                or_(last_sent.is_(None), col(NotifyDeliveryRow.last_attempt_at) >= last_sent))


class NotifyMixin(StoreBase):
    """What was sent to whom: a story or an alert reaches each recipient once."""

    if TYPE_CHECKING:  # ClipsMixin's, beside this one in Store
        def _views(self, s: Session, rows: Sequence[ClipRow]) -> list[ClipView]: ...

    def clips_changed_since(self, since: datetime) -> list[ClipView]:
        """Clips first seen or reviewed at or after `since`, oldest first (a digest's candidates)."""
        with self.session() as s:
            rows = s.execute(
                select(ClipRow)
                .where(or_(col(ClipRow.first_seen_at) >= since, col(ClipRow.reviewed_at) >= since))
                .order_by(col(ClipRow.first_seen_at), col(ClipRow.id))
            ).scalars().all()
            return self._views(s, rows)

    def delivered_keys(self, channel: str, recipient: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` this recipient already has (sent; failed ones are still owed)."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.session() as s:
            for i in range(0, len(wanted), 500):  # stay under both databases' bind-parameter limits
                found.update(s.execute(
                    select(col(NotifyDeliveryRow.item_key)).where(
                        col(NotifyDeliveryRow.channel) == channel, col(NotifyDeliveryRow.recipient) == recipient,
                        col(NotifyDeliveryRow.status) == SENT, col(NotifyDeliveryRow.item_key).in_(wanted[i:i + 500]),
                    )
                ).scalars())
        return found

    def record_deliveries(self, channel: str, name: str, recipient: str, keys: Iterable[str], now: datetime,
                          *, error: str | None = None) -> None:
        """Log one send of these items to one recipient: sent (error None) or failed with its error.

        A failure never turns an item already sent back into owed."""
        status = SENT if error is None else FAILED
        error = error[:_MAX_ERROR_CHARS] if error else None
        with self.session() as s:
            for key in dict.fromkeys(keys):
                row = s.execute(select(NotifyDeliveryRow).where(
                    col(NotifyDeliveryRow.channel) == channel, col(NotifyDeliveryRow.recipient) == recipient,
                    col(NotifyDeliveryRow.item_key) == key,
                )).scalar_one_or_none()
                if row is None:
                    row = NotifyDeliveryRow(channel=channel, name=name, recipient=recipient, item_key=key,
                                            status=status, attempts=0, first_attempt_at=now, last_attempt_at=now)
                    s.add(row)
                elif row.status == SENT:
                    continue
                row.name, row.attempts, row.last_attempt_at = name, row.attempts + 1, now
                row.status, row.error = status, error
                if error is None:
                    row.sent_at = now

    def sent_since(self, channel: str, name: str, since: datetime) -> int:
        """Items this digest or webhook delivered since `since` (a webhook's hourly budget)."""
        with self.session() as s:
            return int(s.execute(
                select(func.count()).select_from(NotifyDeliveryRow).where(
                    col(NotifyDeliveryRow.channel) == channel, col(NotifyDeliveryRow.name) == name,
                    col(NotifyDeliveryRow.status) == SENT, col(NotifyDeliveryRow.sent_at) >= since,
                )
            ).scalar_one())

    def last_sent_at(self, channel: str, name: str, recipient: str) -> datetime | None:
        """When this digest last reached this recipient."""
        return self._when(func.max(NotifyDeliveryRow.sent_at), channel, name, recipient, SENT)

    def first_failed_at(self, channel: str, name: str, recipient: str) -> datetime | None:
        """The first attempt among the items still owed to this recipient after a failed send.

        An item a later send left out is owed no more (_still_owed): counting it would stretch every
        later digest's look-back to the maximum, for good."""
        return self._when(func.min(NotifyDeliveryRow.first_attempt_at), channel, name, recipient, FAILED,
                          _still_owed())

    def _when(self, aggregate: Any, channel: str, name: str, recipient: str, status: str,
              *conditions: ColumnElement[bool]) -> datetime | None:
        with self.session() as s:
            value = s.execute(
                select(type_coerce(aggregate, UTCDateTime())).where(
                    col(NotifyDeliveryRow.channel) == channel, col(NotifyDeliveryRow.name) == name,
                    col(NotifyDeliveryRow.recipient) == recipient, col(NotifyDeliveryRow.status) == status,
                    *conditions,
                )
            ).scalar_one_or_none()
            if isinstance(value, str):  # SQLite may hand an aggregate of a timestamp back as text
                value = datetime.fromisoformat(value)
            return None if value is None else UTCDateTime().process_result_value(value, self.engine.dialect)

    def recent_deliveries(self, channel: str | None = None, name: str | None = None, *,
                          limit: int = 50, status: str | None = None) -> list[DeliveryView]:
        """The newest attempts first (the Notifications page)."""
        query = select(NotifyDeliveryRow)
        if channel is not None:
            query = query.where(col(NotifyDeliveryRow.channel) == channel)
        if name is not None:
            query = query.where(col(NotifyDeliveryRow.name) == name)
        if status is not None:
            query = query.where(col(NotifyDeliveryRow.status) == status)
        query = query.order_by(col(NotifyDeliveryRow.last_attempt_at).desc(), col(NotifyDeliveryRow.id).desc())
        with self.session() as s:
            return [_delivery_view(r) for r in s.execute(query.limit(limit)).scalars()]

    def owed_failures(self, limit: int = 50) -> list[DeliveryView]:
        """Failed items still owed (the next send retries them), the newest attempt first."""
        query = select(NotifyDeliveryRow).where(_still_owed()).order_by(
            col(NotifyDeliveryRow.last_attempt_at).desc(), col(NotifyDeliveryRow.id).desc())
        with self.session() as s:
            return [_delivery_view(r) for r in s.execute(query.limit(limit)).scalars()]

    def count_owed_failures(self) -> int:
        """How many failed items are still owed, all of them (the page lists only the newest)."""
        with self.session() as s:
            return int(s.execute(select(func.count()).select_from(NotifyDeliveryRow).where(_still_owed())).scalar_one())

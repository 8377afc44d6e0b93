"""The Store's base: one engine, a session per call, and the helpers its parts share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from tracker.errors import StorageError
from tracker.models import Mention
from tracker.store.engine import is_read_only, make_engine, resolve_db_url
from tracker.store.tables import ClipRow, MentionRow


class StoreBase:
    """One database. Thread-safe: every method opens its own session."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.url = resolve_db_url(url)
        self.engine = engine or make_engine(self.url)
        self.read_only = is_read_only(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except IntegrityError:
                session.rollback()
                raise  # callers that race on inserts (leases) decide what a duplicate means
            except DBAPIError as exc:  # locked, read-only, not a database, NUL in text…: one line, no traceback
                session.rollback()
                if self.read_only and "readonly" in str(exc.orig or exc):
                    raise StorageError(f"the database is read-only here ({self.url}): this command needs to write "
                                       "to it; run it as a user who may write the file and its folder") from None
                raise StorageError(f"database error: {str(exc.orig or exc).strip().splitlines()[0]}") from None
            except BaseException:
                session.rollback()
                raise


def mention_row(clip_id: str, m: Mention, manual: bool = False) -> MentionRow:
    return MentionRow(
        clip_id=clip_id, kind=m.kind, target_id=m.target_id, term=m.term, field=m.field,
        snippet=m.snippet, hit_start=m.start, hit_end=m.end, manual=manual,
    )


def touch_primaries(s: Session, story_ids: Iterable[str], now: datetime) -> None:
    """The primaries of these stories changed on the website (a copy joined or left their `also_in`):
    their last change is now, so the exports' generated_at moves with them."""
    ids = sorted(set(story_ids))
    if ids:
        s.execute(update(ClipRow).where(col(ClipRow.story_id).in_(ids), col(ClipRow.story_primary).is_(True))
                  .values(updated_at=now))

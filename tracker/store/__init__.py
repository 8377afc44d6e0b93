"""Storage: SQLModel tables, engines and the Store the rest of tracker calls.

The Store is one object to its callers and one file per domain to its maintainers, as
lemon24/reader's _storage/ is: each part below is a mixin over StoreBase, which owns the
engine and hands out sessions. Records going in and out of it live in tracker.models.
"""

from __future__ import annotations

from tracker.store.clips import ClipsMixin
from tracker.store.demo import DemoMixin
from tracker.store.engine import make_engine, resolve_db_url
from tracker.store.enrich import EnrichMixin
from tracker.store.feeds import FeedsMixin
from tracker.store.maintenance import MaintenanceMixin
from tracker.store.notify import NotifyMixin
from tracker.store.resolve import ResolveMixin
from tracker.store.review import ReviewMixin
from tracker.store.runs import RunsMixin
from tracker.store.stories import StoriesMixin


class Store(FeedsMixin, EnrichMixin, ClipsMixin, ReviewMixin, RunsMixin, ResolveMixin, StoriesMixin, DemoMixin,
            MaintenanceMixin, NotifyMixin):
    """One database. Thread-safe: every method opens its own session."""


__all__ = ["Store", "make_engine", "resolve_db_url"]

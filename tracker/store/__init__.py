"""Storage: SQLModel tables, engines and the Store the rest of tracker calls.

Records that cross into and out of the store (FeedState, ClipFilter, ClipPage…) live in tracker.models.
"""

from __future__ import annotations

from tracker.store.engine import DEFAULT_DB_URL, make_engine, resolve_db_url
from tracker.store.repo import Store

__all__ = ["DEFAULT_DB_URL", "Store", "make_engine", "resolve_db_url"]

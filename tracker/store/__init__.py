"""Storage: SQLModel tables, engines and the queries the rest of tracker calls."""

from __future__ import annotations

from tracker.store.engine import DEFAULT_DB_URL, make_engine, resolve_db_url
from tracker.store.repo import (
    ClipFilter,
    ClipPage,
    EntryToStore,
    FeedState,
    FetchOutcome,
    Store,
    StoreOutcome,
)

__all__ = [
    "DEFAULT_DB_URL",
    "ClipFilter",
    "ClipPage",
    "EntryToStore",
    "FeedState",
    "FetchOutcome",
    "Store",
    "StoreOutcome",
    "make_engine",
    "resolve_db_url",
]

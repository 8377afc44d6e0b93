"""Storage: SQLModel tables, engines and the queries the rest of tracker calls."""

from __future__ import annotations

from tracker.store.engine import make_engine, resolve_db_url
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

"""Ingest: fetch → parse → match → store, one cycle at a time.

    steps.py      each stage of one feed's poll as a named function
    runner.py     Ingestor: runs the steps over a cycle's feeds (threads, a parse pool)
    reports.py    what a cycle tells its caller: FeedReport, CycleReport, the one tally
    parsepool.py  what the parse processes import: parse and match only
    lease.py      one cycle at a time: the database lease, and what follows a cycle
    workers.py    one cycle shared by several processes (PostgreSQL)
    scheduler.py  a locked cycle per tick, for months

The names below are imported on first use: the parse processes import
tracker.ingest.parsepool, and so this package, and must not pay for requests and
SQLAlchemy (~40 MB and ~0.6 s each).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.ingest.lease import run_locked_cycle
    from tracker.ingest.reports import CycleReport, FeedReport
    from tracker.ingest.runner import Ingestor

_HOME = {
    "CycleReport": "tracker.ingest.reports",
    "FeedReport": "tracker.ingest.reports",
    "Ingestor": "tracker.ingest.runner",
    "run_locked_cycle": "tracker.ingest.lease",
}


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


__all__ = ["CycleReport", "FeedReport", "Ingestor", "run_locked_cycle"]

"""One ingest cycle shared by several worker processes, on one host or many (PostgreSQL).

Each `tracker ingest --worker` joins the open shared cycle (or starts one), then claims
small batches of feeds with `SELECT … FOR UPDATE SKIP LOCKED`, fetches/parses/matches/
stores them like a normal cycle, and marks them done. A claim carries an expiry that
the worker renews while it lives; a killed worker's claims run out and the others take
those feeds. When nothing is left to claim and no claim is in flight, the cycle is
closed (by exactly one worker, which also regenerates the exports).

Guarantees: in normal operation every feed is fetched exactly once per cycle. A worker
that stalls longer than the claim TTL without renewing (it is presumed dead) may see its
feeds fetched again by another: at-least-once, never lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError, TrackerError
from tracker.ingest.lease import CYCLE_LEASE, LEASE_TTL
from tracker.ingest.runner import FeedReport, FeedTally, Ingestor, default_owner
from tracker.models import Config
from tracker.store import Store

log = logging.getLogger(__name__)

CLAIM_TTL = timedelta(minutes=5)
# A late worker joins a cycle finished this recently (and finds nothing to do) rather than
# starting a second one: workers started by cron on many hosts do not start in the same second.
REJOIN_WITHIN = timedelta(minutes=10)
MAX_CYCLE_AGE = timedelta(hours=6)


class WorkersUnsupported(TrackerError):
    """Shared cycles need PostgreSQL's row locks (SKIP LOCKED); SQLite has one writer anyway."""


@dataclass(frozen=True)
class WorkerReport(FeedTally):
    cycle_id: int
    owner: str
    feeds: tuple[FeedReport, ...]
    started_cycle: bool  # this worker opened the cycle
    closed_cycle: bool  # this worker saw it finished and closed it
    already_done: bool = False  # joined a cycle that had just finished: nothing to do


class _Renewer(threading.Thread):
    """Keeps this worker's claims and the cycle's lease alive while it works."""

    def __init__(self, store: Store, cycle: int, owner: str, claim_ttl: timedelta, lease_ttl: timedelta,
                 clock: Clock) -> None:
        super().__init__(daemon=True, name="claim-renewer")
        self.store, self.cycle, self.owner = store, cycle, owner
        self.claim_ttl, self.lease_ttl = claim_ttl, lease_ttl
        self.clock = clock
        self.every_s = max(0.05, min(claim_ttl, lease_ttl).total_seconds() / 3)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                now = self.clock()
                self.store.renew_claims(self.cycle, self.owner, self.claim_ttl, now)
                self.store.renew_lease(CYCLE_LEASE, f"workers:{self.cycle}", self.lease_ttl, now)
            except Exception:  # a database blip must not kill the worker; the next renewal retries
                continue


def run_worker(
    config: Config,
    store: Store,
    *,
    owner: str | None = None,
    batch: int | None = None,
    claim_ttl: timedelta = CLAIM_TTL,
    lease_ttl: timedelta = LEASE_TTL,
    due_only: bool = False,
    rejoin_within: timedelta = REJOIN_WITHIN,
    max_cycle_age: timedelta = MAX_CYCLE_AGE,
    poll_s: float = 1.0,
    stop: threading.Event | None = None,
    progress: Callable[[FeedReport, int, int], None] | None = None,
    ingestor: Ingestor | None = None,
    clock: Clock = system_clock,
) -> WorkerReport | None:
    """Work on the shared cycle until it is done; None when a single-process cycle is running.

    Raises WorkersUnsupported on anything but PostgreSQL.
    """
    if store.dialect != "postgresql":
        raise WorkersUnsupported(
            f"--worker needs PostgreSQL (row claims with SKIP LOCKED); this database is {store.dialect}"
        )
    owner = owner or default_owner()
    runner = ingestor or Ingestor(config, store)
    # Small batches spread the work evenly and bound what a dying worker leaves behind.
    batch = batch or max(4, runner.workers * 2)
    joined = store.join_shared_cycle(
        config.all_feeds(), CYCLE_LEASE, lease_ttl, clock(), rejoin_within=rejoin_within, max_age=max_cycle_age
    )
    if joined is None:
        return None
    cycle, started, done = joined
    if done:
        return WorkerReport(cycle, owner, (), started_cycle=False, closed_cycle=False, already_done=True)
    reports: list[FeedReport] = []
    renewer = _Renewer(store, cycle, owner, claim_ttl, lease_ttl, clock)
    renewer.start()
    try:
        while not (stop is not None and stop.is_set()):
            claimed = store.claim_feeds(cycle, owner, batch, claim_ttl, clock(), due_only=due_only)
            if not claimed:
                in_flight, earliest = store.claims_in_flight(cycle)
                if in_flight == 0:
                    break
                # Others are still working (or died holding claims): wait for them or their expiry.
                wait_s = poll_s if earliest is None else min(poll_s, max(0.05, (earliest - clock()).total_seconds()))
                time.sleep(wait_s)
                continue
            done_reports = runner.poll_feeds(claimed, stop=stop, progress=progress)
            fetched = [r.feed_id for r in done_reports if r.skipped != "stopped"]
            unfetched = [f.id for f, _ in claimed if f.id not in set(fetched)]
            store.finish_claims(cycle, owner, fetched)
            store.finish_claims(cycle, owner, unfetched, done=False)  # stopped: hand them back
            kept = [r for r in done_reports if r.skipped != "stopped"]
            reports += kept
            store.add_to_run(
                cycle, feeds_ok=sum(1 for r in kept if r.ok and not r.skipped),
                feeds_failed=sum(1 for r in kept if not r.ok and not r.skipped),
                feeds_skipped=sum(1 for r in kept if r.skipped), items_seen=sum(r.items_seen for r in kept),
                clips_new=sum(r.new_clips for r in kept),
            )
    finally:
        renewer.stopped.set()
    closed = False
    if not (stop is not None and stop.is_set()):
        closed = store.finish_shared_cycle(cycle, clock())
        if closed:
            store.release_lease(CYCLE_LEASE, f"workers:{cycle}")
            from tracker.publish import regenerate_exports

            try:
                regenerate_exports(config, store)
            except ExportError as exc:
                log.warning("%s", exc)  # clips are stored; the next cycle or publish retries the files
    return WorkerReport(cycle, owner, tuple(reports), started_cycle=started, closed_cycle=closed)


__all__ = ["CLAIM_TTL", "WorkerReport", "WorkersUnsupported", "run_worker"]

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

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tracker.clock import Clock, system_clock
from tracker.errors import TrackerError
from tracker.ingest.lease import (
    CYCLE_LEASE,
    LEASE_TTL,
    MAX_CYCLE_AGE,
    Claims,
    LeaseRenewer,
    after_cycle,
    close_abandoned_runs,
)
from tracker.ingest.reports import FeedReport, FeedTally
from tracker.ingest.runner import Ingestor, default_owner
from tracker.ingest.steps import feed_is_due
from tracker.models import Config
from tracker.policy import DUE_SLACK, LONGEST_WAIT
from tracker.store import Store

CLAIM_TTL = timedelta(minutes=5)
# A late worker joins a cycle finished this recently (and finds nothing to do) rather than
# starting a second one: workers started by cron on many hosts do not start in the same second.
REJOIN_WITHIN = timedelta(minutes=10)


class WorkersUnsupported(TrackerError):
    """Shared cycles need PostgreSQL's row locks (SKIP LOCKED); SQLite has one writer anyway."""


@dataclass(frozen=True, kw_only=True)
class WorkerReport(FeedTally):
    cycle_id: int
    owner: str
    started_cycle: bool  # this worker opened the cycle
    closed_cycle: bool  # this worker saw it finished and closed it
    already_done: bool = False  # joined a cycle that had just finished: nothing to do
    export_error: str | None = None  # the closer's: the cycle was stored, but settings.exports could not be written


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
    close_abandoned_runs(store, clock)  # single-process runs that died; shared ones are resumed below
    runner = ingestor or Ingestor(config, store, clock=clock)
    # Small batches spread the work evenly and bound what a dying worker leaves behind.
    batch = batch or max(4, runner.workers * 2)
    joined = store.join_shared_cycle(
        config.all_feeds(), CYCLE_LEASE, lease_ttl, clock(), rejoin_within=rejoin_within, max_age=max_cycle_age
    )
    if joined is None:
        return None
    cycle, started, done = joined
    if done:
        return WorkerReport((), cycle_id=cycle, owner=owner, started_cycle=False, closed_cycle=False,
                            already_done=True)
    reports: list[FeedReport] = []
    # A claim carries what the feed table holds; settings only feeds.yml has (`enrich: all`) come from it.
    configured = {f.id: f for f in config.all_feeds()}
    renew_every_s = max(0.05, min(claim_ttl, lease_ttl).total_seconds() / 3)
    with LeaseRenewer(store, f"workers:{cycle}", lease_ttl, renew_every_s, clock,
                      claims=Claims(cycle, owner, claim_ttl)):
        while not (stop is not None and stop.is_set()):
            now = clock()
            taken = [(configured.get(feed.id, feed), state) for feed, state in store.claim_feeds(
                cycle, owner, batch, claim_ttl, now, due_only=due_only, due_within=DUE_SLACK,
                ahead_beyond=LONGEST_WAIT + DUE_SLACK)]
            claimed = [(feed, state) for feed, state in taken if not due_only or feed_is_due(state, now)]
            if len(claimed) < len(taken):  # within the slack but not due: done for this cycle, unpolled
                polled_now = {f.id for f, _ in claimed}
                store.finish_claims(cycle, owner, [f.id for f, _ in taken if f.id not in polled_now])
            if not taken:
                in_flight, earliest = store.claims_in_flight(cycle)
                if in_flight == 0:
                    break
                # Others are still working (or died holding claims): wait for them or their expiry.
                wait_s = poll_s if earliest is None else min(poll_s, max(0.05, (earliest - clock()).total_seconds()))
                time.sleep(wait_s)
                continue
            if not claimed:
                continue
            # A stop cancels queued fetches (no report) or reaches them before their fetch (a STOPPED one).
            polled = runner.poll_feeds(claimed, stop=stop, progress=progress)
            share = FeedTally(tuple(r for r in polled if not r.stopped))
            fetched = [r.feed_id for r in share.feeds]
            store.finish_claims(cycle, owner, fetched)
            fetched_ids = set(fetched)
            unfetched = [f.id for f, _ in claimed if f.id not in fetched_ids]
            store.finish_claims(cycle, owner, unfetched, done=False)  # stopped: hand them back
            reports += share.feeds
            store.add_to_run(cycle, **share.run_counts())
    closed = False
    export_error: str | None = None
    if not (stop is not None and stop.is_set()):
        closed = store.finish_shared_cycle(cycle, clock())
        if closed:
            # The closer alone resolves search links and reads the articles, still holding the cycle's
            # lease: one resolver at a time, and each article read once.
            with LeaseRenewer(store, f"workers:{cycle}", lease_ttl, renew_every_s, clock):
                failed = runner.close_steps(stop)
            if failed:  # on the run, for `tracker status --check`, as a one-process cycle does
                store.note_run_error(cycle, failed)
            store.release_lease(CYCLE_LEASE, f"workers:{cycle}")
            export_error = after_cycle(config, store, cycle)  # written on the run too, as a one-process cycle's
    return WorkerReport(tuple(reports), cycle_id=cycle, owner=owner, started_cycle=started, closed_cycle=closed,
                        export_error=export_error)


__all__ = ["CLAIM_TTL", "WorkerReport", "WorkersUnsupported", "run_worker"]

"""The runs' part of the Store: ingest runs, leases, and the cycle shared by workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from tracker.errors import NotFoundError
from tracker.models import FeedConfig, IngestRunView
from tracker.store.base import StoreBase
from tracker.store.tables import IngestRunRow, LeaseRow
from tracker.store.types import UTCDateTime

# The ingest_run owner that marks a cycle shared by `tracker ingest --worker` processes.
SHARED_RUN_OWNER = "workers"
# The lease that lets one ingest cycle run at a time (tracker.ingest.lease holds and renews it).
STEP_FAILED = "a step failed: "  # how a run's note starts when its links, articles, stories or exports step failed
CYCLE_LEASE = "ingest-cycle"
LEASE_TTL = timedelta(minutes=5)  # how long a lease outlives its holder's last renewal
# A lease taken or renewed further ahead of this clock than this was written by a clock that ran ahead
# (a forward jump NTP later set back): it is void, not held for the size of the jump. Hosts kept in
# sync by NTP differ by milliseconds; one lease TTL of leeway spares a host that drifts a little.
LEASE_CLOCK_AHEAD = LEASE_TTL
_SHARED_CYCLE_LOCK = 734127002  # pg_advisory_xact_lock key: one worker at a time decides the cycle


def lease_is_void(acquired_at: datetime, expires_at: datetime, now: datetime) -> bool:
    """Pure: has a lease run out (its expiry passed), or was it written by a clock ahead of ours? Its
    holder keeps `acquired_at` at most its own now when it renews, so a live holder's is never ahead."""
    return expires_at < now or acquired_at > now + LEASE_CLOCK_AHEAD


def run_is_live(run: IngestRunView, lease_owner: str | None) -> bool:
    """Pure: is a 'running' run's process still at work? Only while it holds the cycle lease:
    a process that was killed, crashed or ran out of disk stops renewing it, and it expires.
    The workers of a shared cycle hold the lease as "workers:<run id>"."""
    if run.outcome != "running" or lease_owner is None:
        return False
    return lease_owner == (f"{SHARED_RUN_OWNER}:{run.id}" if run.owner == SHARED_RUN_OWNER else run.owner)


class RunsMixin(StoreBase):
    """Ingest runs, the leases that let one cycle run at a time, and the shared cycle of workers."""

    if TYPE_CHECKING:  # FeedsMixin's, beside this one in Store
        def sync_feeds(self, feeds: Sequence[FeedConfig]) -> None: ...

    # ------------------------------------------------------------ ingest runs

    def start_run(self, owner: str, feeds_total: int, now: datetime) -> int:
        with self.session() as s:
            row = IngestRunRow(started_at=now, owner=owner, feeds_total=feeds_total, outcome="running")
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def finish_run(self, run_id: int, *, outcome: str, now: datetime, feeds_ok: int, feeds_failed: int,
                   feeds_skipped: int, items_seen: int, clips_new: int, error: str | None = None) -> None:
        with self.session() as s:
            row = s.get(IngestRunRow, run_id)
            if row is None:
                raise NotFoundError(f"no ingest run {run_id}")
            row.finished_at = now
            row.outcome = outcome
            row.feeds_ok, row.feeds_failed, row.feeds_skipped = feeds_ok, feeds_failed, feeds_skipped
            row.items_seen, row.clips_new, row.error = items_seen, clips_new, error

    def recent_runs(self, limit: int = 10) -> list[IngestRunView]:
        with self.session() as s:
            rows = s.execute(select(IngestRunRow).order_by(col(IngestRunRow.id).desc()).limit(limit)).scalars()
            return [_run_view(r) for r in rows]

    def interrupt_dead_runs(self, now: datetime, reason: str) -> list[IngestRunView]:
        """Mark runs left 'running' by a process that no longer holds the cycle lease as interrupted.

        Safe while another cycle runs: its run is live (its owner holds the lease). The runs are
        read before the lease, and a run starts only after its lease is taken, so a cycle starting
        meanwhile is never mistaken for a dead one. Shared cycles are left to their workers, who
        resume them (tracker.ingest.workers).
        """
        with self.session() as s:
            running = [_run_view(r) for r in s.execute(
                select(IngestRunRow).where(col(IngestRunRow.outcome) == "running",
                                           col(IngestRunRow.owner) != SHARED_RUN_OWNER)
            ).scalars()]
            if not running:
                return []
            lease = s.get(LeaseRow, CYCLE_LEASE)
            holder = lease.owner if lease is not None and not lease_is_void(lease.acquired_at, lease.expires_at,
                                                                            now) else None
            closed = []
            for run in running:
                if run_is_live(run, holder):
                    continue
                # Only if still running: a stalled process that finishes after all keeps its own outcome.
                if s.connection().execute(
                    update(IngestRunRow).where(col(IngestRunRow.id) == run.id, col(IngestRunRow.outcome) == "running")
                    .values(outcome="interrupted", finished_at=now, error=reason)
                ).rowcount:
                    closed.append(replace(run, outcome="interrupted", finished_at=now, error=reason))
            return closed

    # ------------------------------------------------------------ leases (one cycle at a time)

    def acquire_lease(self, name: str, owner: str, ttl: timedelta, now: datetime, *,
                      replacing: str | None = None) -> bool:
        """Take the named lease if it is free, expired (lease_is_void), already ours, or held by
        `replacing` (a holder the caller knows is dead). Atomic on both databases."""
        expires = now + ttl
        takeable = [col(LeaseRow.owner) == owner, col(LeaseRow.expires_at) < now,
                    col(LeaseRow.acquired_at) > now + LEASE_CLOCK_AHEAD]
        if replacing is not None:
            takeable.append(col(LeaseRow.owner) == replacing)
        with self.session() as s:
            taken = s.connection().execute(
                update(LeaseRow)
                .where(and_(col(LeaseRow.name) == name, or_(*takeable)))
                .values(owner=owner, acquired_at=now, expires_at=expires)
            ).rowcount
            if taken:
                return True
        try:
            with self.session() as s:
                if s.get(LeaseRow, name) is not None:
                    return False
                s.add(LeaseRow(name=name, owner=owner, acquired_at=now, expires_at=expires))
            return True
        except IntegrityError:
            return False  # another process inserted it first

    def renew_lease(self, name: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        # acquired_at comes back to now if it was taken while this clock ran ahead: a live lease is never void.
        acquired = case((col(LeaseRow.acquired_at) > now, literal(now, UTCDateTime())), else_=col(LeaseRow.acquired_at))
        with self.session() as s:
            return bool(
                s.connection().execute(
                    update(LeaseRow).where(and_(col(LeaseRow.name) == name, col(LeaseRow.owner) == owner))
                    .values(expires_at=now + ttl, acquired_at=acquired)
                ).rowcount
            )

    def release_lease(self, name: str, owner: str) -> None:
        with self.session() as s:
            s.execute(delete(LeaseRow).where(and_(col(LeaseRow.name) == name, col(LeaseRow.owner) == owner)))

    def lease_holder(self, name: str, now: datetime) -> tuple[str, datetime] | None:
        with self.session() as s:
            row = s.get(LeaseRow, name)
            if row is None or lease_is_void(row.acquired_at, row.expires_at, now):
                return None
            return row.owner, row.expires_at

    # ------------------------------------------------------------ multi-worker cycles (PostgreSQL)
    # Several `tracker ingest --worker` processes share one cycle: an ingest_run row owned by
    # SHARED_RUN_OWNER is the cycle, feed rows are claimed with FOR UPDATE SKIP LOCKED, and
    # the cycle holds the ordinary ingest-cycle lease (owner "workers:<id>") so a plain
    # `tracker ingest` or the scheduler does not run a second cycle beside it.

    def join_shared_cycle(
        self,
        feeds: Sequence[FeedConfig],
        lease: str,
        lease_ttl: timedelta,
        now: datetime,
        *,
        rejoin_within: timedelta,
        max_age: timedelta,
    ) -> tuple[int, bool, bool] | None:
        """The shared cycle to work on: (run id, created by this call, already finished).

        Joins the open cycle, or one finished less than rejoin_within ago (a late worker then
        has nothing to do instead of starting a second cycle), else starts one and syncs the
        feed table. None when a single-process cycle holds the lease. PostgreSQL only.
        """
        with self.session() as s:
            # Workers starting together must agree on one cycle: serialise this decision.
            s.execute(select(func.pg_advisory_xact_lock(_SHARED_CYCLE_LOCK)))
            latest = s.execute(
                select(IngestRunRow).where(col(IngestRunRow.owner) == SHARED_RUN_OWNER)
                .order_by(col(IngestRunRow.id).desc()).limit(1)
            ).scalars().first()
            if latest is not None and latest.id is not None:
                if latest.outcome == "running" and latest.started_at > now - max_age:
                    if not self.acquire_lease(lease, f"workers:{latest.id}", lease_ttl, now):
                        return None
                    return latest.id, False, False
                if latest.outcome == "running":  # every worker of it died long ago
                    latest.outcome, latest.finished_at = "failed", now
                    latest.error = "abandoned: no worker finished it"
                elif latest.finished_at is not None and latest.started_at > now - rejoin_within:
                    return latest.id, False, True
            row = IngestRunRow(started_at=now, owner=SHARED_RUN_OWNER, feeds_total=len(feeds), outcome="running")
            s.add(row)
            s.flush()
            assert row.id is not None
            if not self.acquire_lease(lease, f"workers:{row.id}", lease_ttl, now):
                s.delete(row)
                return None
            self.sync_feeds(feeds)  # still under the advisory lock: others wait until feeds exist
            return row.id, True, False

    def add_to_run(self, run_id: int, *, feeds_ok: int, feeds_failed: int, feeds_skipped: int,
                   items_seen: int, clips_new: int) -> None:
        """Add one worker's batch to the shared run's counts (atomic increments, no lost updates)."""
        with self.session() as s:
            s.execute(update(IngestRunRow).where(col(IngestRunRow.id) == run_id).values(
                feeds_ok=IngestRunRow.feeds_ok + feeds_ok, feeds_failed=IngestRunRow.feeds_failed + feeds_failed,
                feeds_skipped=IngestRunRow.feeds_skipped + feeds_skipped,
                items_seen=IngestRunRow.items_seen + items_seen, clips_new=IngestRunRow.clips_new + clips_new,
            ))

    def note_step_failure(self, run_id: int, step: str, error: str) -> None:
        """A step that failed once its run was closed (the exports), added to the run's note as the
        closing steps' are ("a step failed: exports: …"), for `tracker status --check`. A failed run's
        own error is kept: it says more."""
        failure = f"{step}: {error}"
        with self.session() as s:
            row = s.get(IngestRunRow, run_id)
            if row is None:
                return
            if row.error is None:
                row.error = (STEP_FAILED + failure)[:1000]
            elif row.error.startswith(STEP_FAILED):
                row.error = f"{row.error}; {failure}"[:1000]

    def note_run_error(self, run_id: int, error: str) -> None:
        """What went wrong after a run was closed (a shared cycle's closing steps), unless it has a note."""
        with self.session() as s:
            row = s.get(IngestRunRow, run_id)
            if row is not None and row.error is None:
                row.error = error[:1000]

    def finish_shared_cycle(self, run_id: int, now: datetime) -> bool:
        """Close the shared run; True for the one worker whose call closed it."""
        with self.session() as s:
            outcome = case((col(IngestRunRow.feeds_failed) > 0, "partial"), else_="ok")
            return bool(s.connection().execute(
                update(IngestRunRow).where(col(IngestRunRow.id) == run_id, col(IngestRunRow.outcome) == "running")
                .values(outcome=outcome, finished_at=now)
            ).rowcount)


def _run_view(r: IngestRunRow) -> IngestRunView:
    return IngestRunView(
        id=r.id or 0, started_at=r.started_at, finished_at=r.finished_at, outcome=r.outcome,
        feeds_total=r.feeds_total, feeds_ok=r.feeds_ok, feeds_failed=r.feeds_failed, feeds_skipped=r.feeds_skipped,
        items_seen=r.items_seen, clips_new=r.clips_new, owner=r.owner, error=r.error,
    )

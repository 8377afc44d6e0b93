"""One cycle at a time, across processes and hosts: a lease row in the database; and what follows a cycle.

The lease has an owner and an expiry; the holder renews it while it works (LeaseRenewer), so a
killed process's lease simply runs out and the next cycle proceeds (at once on the dead process's
own host, where its pid is seen to be gone). The workers of a shared
cycle (tracker.ingest.workers) hold the same lease, renewed with their feed claims by the
same renewer, and close their cycle with the same after-cycle step.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from types import TracebackType

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError, TrackerError
from tracker.ingest.reports import CycleReport, FeedReport
from tracker.ingest.runner import Ingestor, default_owner
from tracker.models import Config
from tracker.publish import NOT_WRITTEN, regenerate_exports
from tracker.store import Store
from tracker.store.runs import CYCLE_LEASE, LEASE_TTL

RENEW_EVERY_S = 60.0
# A cycle still going after this long is stuck (on a lock, a hung socket), not working: its holder
# stops renewing the lease and stops the cycle, so the next one can run. Generous: a cycle of
# thousands of feeds takes minutes, the article and Google News steps add at most an hour or so.
MAX_CYCLE_AGE = timedelta(hours=6)
# How often a stop's wait looks at the caller's event (a SIGTERM): well inside systemd's stop timeout.
STOP_POLL_S = 0.1
ABANDONED = ("the process running it stopped without finishing (killed, crashed, or out of disk space); "
             "marked interrupted by the next ingest")

log = logging.getLogger(__name__)


class _CycleStop(threading.Event):
    """Set by the caller (shutdown) or by the renewer when the lease is lost.

    Looking through to the caller's event keeps one object for the cycle to honour without touching
    the caller's event: is_set() asks both, and wait() (the Google News pause) wakes for either.
    """

    def __init__(self, outer: threading.Event | None) -> None:
        super().__init__()
        self.outer = outer

    def is_set(self) -> bool:
        return super().is_set() or (self.outer is not None and self.outer.is_set())

    def wait(self, timeout: float | None = None) -> bool:
        # The caller's event cannot wake ours: wait in short slices and look at both between them.
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = STOP_POLL_S if deadline is None else min(STOP_POLL_S, deadline - time.monotonic())
            if left <= 0:
                return False
            super().wait(left)
        return True


@dataclass(frozen=True)
class Claims:
    """A shared-cycle worker's feed claims, renewed with the lease."""

    cycle: int
    owner: str
    ttl: timedelta


class LeaseRenewer:
    """Keeps the cycle lease (and a worker's feed claims) alive while its holder works: `with renewer:`.

    A database blip is retried at the next renewal. When another process has taken the lease
    over, `lost` is set and renewing ends, so the holder stops rather than run beside it; the
    workers of a shared cycle pass no `lost`: their claims, not the lease, keep their feeds apart.
    Past `max_age_s` renewing ends too (and `lost` is set): a cycle stuck that long must not hold
    the lease for good.
    """

    def __init__(
        self,
        store: Store,
        holder: str,
        ttl: timedelta,
        every_s: float,
        clock: Clock,
        *,
        lost: threading.Event | None = None,
        claims: Claims | None = None,
        max_age_s: float = MAX_CYCLE_AGE.total_seconds(),
    ) -> None:
        self.store, self.holder, self.ttl, self.every_s, self.clock = store, holder, ttl, every_s, clock
        self.lost, self.claims, self.max_age_s = lost, claims, max_age_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, daemon=True, name="claim-renewer" if claims else "lease-renewer"
        )

    def __enter__(self) -> LeaseRenewer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopped.set()

    def _run(self) -> None:
        give_up_at = time.monotonic() + self.max_age_s  # monotonic: a clock jump neither shortens nor stretches it
        while not self._stopped.wait(self.every_s):
            if time.monotonic() > give_up_at:
                log.warning("%s has held the ingest lease for over %s: no longer renewing it; stopping this cycle",
                            self.holder, timedelta(seconds=round(self.max_age_s)))
                if self.lost is not None:
                    self.lost.set()
                return
            try:
                now = self.clock()
                if self.claims is not None:
                    self.store.renew_claims(self.claims.cycle, self.claims.owner, self.claims.ttl, now)
                still_ours = self.store.renew_lease(CYCLE_LEASE, self.holder, self.ttl, now)
            except Exception:  # a database blip must not kill the cycle; the next renewal retries
                continue
            if not still_ours and self.lost is not None:
                # Another process took over an expired lease: stop rather than run two cycles at once.
                log.warning("lost the ingest lease to another process; stopping this cycle")
                self.lost.set()
                return


def after_cycle(config: Config, store: Store, run_id: int) -> str | None:
    """Regenerate settings.exports once a cycle's clips are stored; the problem, if the files could not be written.

    The clips stay stored either way: the next cycle or publish retries the files. A failure is
    written on the run ("a step failed: exports: …"), so `tracker status --check` fails until they are.
    """
    try:
        regenerate_exports(config, store)
    except ExportError as exc:
        log.warning("%s", exc)
        try:
            store.note_step_failure(run_id, "exports", str(exc).removeprefix(NOT_WRITTEN))
        except TrackerError as note_failed:  # the warning above still says it; the clips are stored
            log.warning("could not note the export failure on run %s: %s", run_id, note_failed)
        return str(exc)
    return None


def dead_here(owner: str) -> bool:
    """Is `owner` (default_owner's "host:pid:thread") a process of this host that no longer exists?

    Then its lease is free at once: after a kill -9 or an OOM kill, the restarted scheduler does not
    skip its first cycle waiting for the dead one's lease to expire. A pid of another host, a shared
    cycle's "workers:<id>", or a pid that exists (even one reused since) keeps the lease to its expiry.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) in (0, os.getpid()):
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, as another user's
        return False
    return False


def take_lease(store: Store, owner: str, ttl: timedelta, clock: Clock) -> bool:
    """Take the cycle lease if it is free, expired, or held by a process of this host that died;
    a dead process's runs left 'running' are then marked interrupted at once."""
    now = clock()
    if store.acquire_lease(CYCLE_LEASE, owner, ttl, now):
        return True
    holder = store.lease_holder(CYCLE_LEASE, now)
    if holder is None or not dead_here(holder[0]):
        return False
    if not store.acquire_lease(CYCLE_LEASE, owner, ttl, now, replacing=holder[0]):
        return False
    log.warning("took the ingest lease of %s: that process no longer exists on this host", holder[0])
    close_abandoned_runs(store, clock)
    return True


def close_abandoned_runs(store: Store, clock: Clock = system_clock) -> int:
    """Mark runs left 'running' by a process that died (kill -9, a crash, a full disk) as interrupted.

    Called as every ingest starts, before it takes the lease (a skipped one too): a run whose
    process no longer holds the lease can never finish, and must not show as running forever.
    """
    closed = store.interrupt_dead_runs(clock(), ABANDONED)
    for run in closed:
        log.warning("ingest run %s (%s, started %s) was left unfinished by a process that died: marked interrupted",
                    run.id, run.owner, f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC")
    return len(closed)


def run_locked_cycle(
    config: Config,
    store: Store,
    *,
    due_only: bool = False,
    feed_ids: Sequence[str] | None = None,
    progress: Callable[[FeedReport, int, int], None] | None = None,
    stop: threading.Event | None = None,
    wait: bool = False,
    wait_timeout_s: float = 3600.0,
    on_wait: Callable[[str], None] | None = None,
    owner: str | None = None,
    ttl: timedelta = LEASE_TTL,
    renew_every_s: float = RENEW_EVERY_S,
    ingestor: Ingestor | None = None,
    clock: Clock = system_clock,
) -> CycleReport | None:
    """Run a cycle if no other process is running one; None when skipped.

    With wait=True, wait (up to wait_timeout_s) for the other cycle to finish.
    Exports configured in settings.exports are regenerated after the cycle.
    """
    owner = owner or default_owner()
    close_abandoned_runs(store, clock)
    deadline = time.monotonic() + wait_timeout_s
    told = False
    while not take_lease(store, owner, ttl, clock):
        if not wait or time.monotonic() > deadline or (stop is not None and stop.is_set()):
            return None
        if on_wait and not told:
            holder = store.lease_holder(CYCLE_LEASE, clock())
            on_wait(f"waiting for the cycle held by {holder[0] if holder else 'another process'}…")
            told = True
        time.sleep(min(1.0, max(0.05, ttl.total_seconds() / 4)))
    cycle_stop = _CycleStop(stop)
    # Renew well inside the TTL so one slow renewal does not let the lease lapse.
    renewer = LeaseRenewer(store, owner, ttl, min(renew_every_s, ttl.total_seconds() / 3), clock, lost=cycle_stop)
    try:
        with renewer:
            runner = ingestor or Ingestor(config, store, clock=clock)
            report = runner.run_cycle(
                due_only=due_only, owner=owner, progress=progress, stop=cycle_stop, feed_ids=feed_ids
            )
    finally:
        store.release_lease(CYCLE_LEASE, owner)
    export_error = after_cycle(config, store, report.run_id)
    return replace(report, export_error=export_error) if export_error else report


__all__ = [
    "ABANDONED", "CYCLE_LEASE", "LEASE_TTL", "MAX_CYCLE_AGE", "Claims", "LeaseRenewer", "after_cycle",
    "close_abandoned_runs", "dead_here", "run_locked_cycle", "take_lease",
]

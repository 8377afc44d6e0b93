"""One cycle at a time, across processes and hosts: a lease row in the database.

The lease has an owner and an expiry; the holder renews it while it works, so a
killed process's lease simply runs out and the next cycle proceeds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from tracker.clock import Clock, system_clock
from tracker.errors import ExportError
from tracker.ingest.runner import CycleReport, FeedReport, Ingestor, default_owner
from tracker.models import Config
from tracker.store import Store

CYCLE_LEASE = "ingest-cycle"
LEASE_TTL = timedelta(minutes=5)
RENEW_EVERY_S = 60.0
ABANDONED = "abandoned: the process running it stopped without finishing (its lease expired)"

log = logging.getLogger(__name__)


class _CycleStop(threading.Event):
    """Set by the caller (shutdown) or by the renewer when the lease is lost.

    Ingestor only asks is_set(), so looking through to the caller's event keeps
    one object for it to honour without touching the caller's event.
    """

    def __init__(self, outer: threading.Event | None) -> None:
        super().__init__()
        self.outer = outer

    def is_set(self) -> bool:
        return super().is_set() or (self.outer is not None and self.outer.is_set())


class _Renewer(threading.Thread):
    def __init__(self, store: Store, owner: str, ttl: timedelta, every_s: float, lost: threading.Event,
                 clock: Clock) -> None:
        super().__init__(daemon=True, name="lease-renewer")
        self.store, self.owner, self.ttl, self.every_s, self.lost = store, owner, ttl, every_s, lost
        self.clock = clock
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                still_ours = self.store.renew_lease(CYCLE_LEASE, self.owner, self.ttl, self.clock())
            except Exception:  # a database blip must not kill the cycle; the next renewal retries
                continue
            if not still_ours:
                # Another process took over an expired lease: stop rather than run two cycles at once.
                log.warning("lost the ingest lease to another process; stopping this cycle")
                self.lost.set()
                return


def close_abandoned_runs(store: Store, clock: Clock = system_clock) -> int:
    """Mark runs left 'running' by a dead process as failed, so status does not show them forever.

    Only called while holding the lease: no other cycle can be running then.
    """
    closed = 0
    for run in store.recent_runs(50):
        if run.outcome != "running":
            continue
        store.finish_run(
            run.id, outcome="failed", now=clock(), feeds_ok=run.feeds_ok, feeds_failed=run.feeds_failed,
            feeds_skipped=run.feeds_skipped, items_seen=run.items_seen, clips_new=run.clips_new, error=ABANDONED,
        )
        closed += 1
    return closed


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
    deadline = time.monotonic() + wait_timeout_s
    told = False
    while not store.acquire_lease(CYCLE_LEASE, owner, ttl, clock()):
        if not wait or time.monotonic() > deadline or (stop is not None and stop.is_set()):
            return None
        if on_wait and not told:
            holder = store.lease_holder(CYCLE_LEASE, clock())
            on_wait(f"waiting for the cycle held by {holder[0] if holder else 'another process'}…")
            told = True
        time.sleep(min(1.0, max(0.05, ttl.total_seconds() / 4)))
    cycle_stop = _CycleStop(stop)
    # Renew well inside the TTL so one slow renewal does not let the lease lapse.
    renewer = _Renewer(store, owner, ttl, min(renew_every_s, ttl.total_seconds() / 3), cycle_stop, clock)
    renewer.start()
    try:
        if close_abandoned_runs(store, clock):
            log.warning("closed ingest runs left unfinished by a process that died")
        runner = ingestor or Ingestor(config, store, clock=clock)
        report = runner.run_cycle(
            due_only=due_only, owner=owner, progress=progress, stop=cycle_stop, feed_ids=feed_ids
        )
    finally:
        renewer.stopped.set()
        store.release_lease(CYCLE_LEASE, owner)
    from tracker.publish import regenerate_exports

    try:
        regenerate_exports(config, store)
    except ExportError as exc:
        log.warning("%s", exc)  # the clips are stored; the next cycle or publish retries the files
        return replace(report, export_error=str(exc))
    return report

"""One cycle at a time, across processes and hosts: a lease row in the database.

The lease has an owner and an expiry; the holder renews it while it works, so a
killed process's lease simply runs out and the next cycle proceeds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from tracker.ingest import CycleReport, FeedReport, Ingestor, default_owner
from tracker.models import Config
from tracker.normalize import utcnow
from tracker.store import Store

CYCLE_LEASE = "ingest-cycle"
LEASE_TTL = timedelta(minutes=5)
RENEW_EVERY_S = 60.0


class _Renewer(threading.Thread):
    def __init__(self, store: Store, owner: str, ttl: timedelta, every_s: float) -> None:
        super().__init__(daemon=True, name="lease-renewer")
        self.store, self.owner, self.ttl, self.every_s = store, owner, ttl, every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                self.store.renew_lease(CYCLE_LEASE, self.owner, self.ttl, utcnow())
            except Exception:  # a database blip must not kill the cycle; the next renewal retries
                continue


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
) -> CycleReport | None:
    """Run a cycle if no other process is running one; None when skipped.

    With wait=True, wait (up to wait_timeout_s) for the other cycle to finish.
    Exports configured in settings.exports are regenerated after the cycle.
    """
    owner = owner or default_owner()
    deadline = time.monotonic() + wait_timeout_s
    told = False
    while not store.acquire_lease(CYCLE_LEASE, owner, ttl, utcnow()):
        if not wait or time.monotonic() > deadline or (stop is not None and stop.is_set()):
            return None
        if on_wait and not told:
            holder = store.lease_holder(CYCLE_LEASE, utcnow())
            on_wait(f"waiting for the cycle held by {holder[0] if holder else 'another process'}…")
            told = True
        time.sleep(1.0)
    renewer = _Renewer(store, owner, ttl, renew_every_s)
    renewer.start()
    try:
        runner = ingestor or Ingestor(config, store)
        report = runner.run_cycle(due_only=due_only, owner=owner, progress=progress, stop=stop, feed_ids=feed_ids)
    finally:
        renewer.stopped.set()
        store.release_lease(CYCLE_LEASE, owner)
    from tracker.publish import regenerate_exports

    regenerate_exports(config, store)
    return report

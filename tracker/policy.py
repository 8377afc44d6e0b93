"""When to try a feed next: a pure decision from what happened and when.

Never gives up on a feed: backoff is capped at one try a day, so a feed that
comes back is picked up again without anyone noticing it was gone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

BACKOFF_BASE = timedelta(minutes=30)
BACKOFF_CAP = timedelta(hours=24)
# Publishers' caching hints are honoured, but a feed is never left alone longer than this.
MAX_MIN_INTERVAL = timedelta(hours=12)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None = None
    consecutive_failures: int = 0  # before this attempt
    retry_after_s: float | None = None
    max_age_s: int | None = None
    ttl_minutes: int | None = None


@dataclass(frozen=True)
class Decision:
    next_attempt_at: datetime | None  # None: every cycle
    min_interval_s: int | None
    disable_reason: str | None = None


def backoff_delay(failures: int, rng: random.Random) -> timedelta:
    """30 min, 1 h, 2 h … capped at 24 h, with ±10 % jitter so feeds do not retry in lockstep."""
    exponent = min(max(failures, 1) - 1, 16)
    delay = min(BACKOFF_BASE * (2**exponent), BACKOFF_CAP)
    return delay * rng.uniform(0.9, 1.1) if delay < BACKOFF_CAP else delay


def decide(attempt: Attempt, now: datetime, rng: random.Random) -> Decision:
    if attempt.ok:
        hints = [s for s in (attempt.max_age_s, attempt.ttl_minutes * 60 if attempt.ttl_minutes else None) if s]
        min_interval = min(max(hints), int(MAX_MIN_INTERVAL.total_seconds())) if hints else None
        return Decision(
            next_attempt_at=now + timedelta(seconds=min_interval) if min_interval else None,
            min_interval_s=min_interval,
        )
    if attempt.status == 410:
        # Gone means gone, but still look once a day in case it was a mistake.
        return Decision(now + BACKOFF_CAP, None, disable_reason="HTTP 410 Gone: the publisher removed this feed")
    delay = backoff_delay(attempt.consecutive_failures + 1, rng)
    if attempt.retry_after_s is not None:
        delay = max(delay, timedelta(seconds=min(attempt.retry_after_s, BACKOFF_CAP.total_seconds())))
    return Decision(next_attempt_at=now + delay, min_interval_s=None)

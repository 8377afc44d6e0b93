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
GONE_REASON = "HTTP 410 Gone: the publisher removed this feed"
# A feed's next attempt counts from when its answer was stored, seconds to minutes after its cycle
# started; the next cycle starts on the clock. Without slack, a feed asking for an hour
# (<ttl>60</ttl>) stored at 10:00:04 would wait for the 12:00 cycle, not 11:00.
DUE_SLACK = timedelta(minutes=5)
# Nothing here sets a next attempt further ahead than a day: backoff, Retry-After and a gone feed's look
# are capped at BACKOFF_CAP, publishers' hints at MAX_MIN_INTERVAL. One further ahead was set by a clock
# that ran ahead (a forward jump NTP later set back): the feed is due, not frozen for the size of the jump.
LONGEST_WAIT = max(BACKOFF_CAP, MAX_MIN_INTERVAL)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None = None
    consecutive_failures: int = 0  # before this attempt
    retry_after_s: float | None = None
    max_age_s: int | None = None
    ttl_minutes: int | None = None
    # The interval learnt from an earlier full response: a 304 or an unchanged body
    # carries no <ttl>, and forgetting it would poll a slow feed every cycle.
    known_min_interval_s: int | None = None


@dataclass(frozen=True)
class Decision:
    next_attempt_at: datetime | None  # None: every cycle
    min_interval_s: int | None
    disable_reason: str | None = None


def backoff_delay(failures: int, rng: random.Random) -> timedelta:
    """30 min, 1 h, 2 h … capped at 24 h, with ±10 % jitter so feeds do not retry in lockstep.

    At the cap the jitter only shortens the delay: "at worst one try a day" holds exactly.
    """
    exponent = min(max(failures, 1) - 1, 16)
    delay = BACKOFF_BASE * (2**exponent)
    if delay >= BACKOFF_CAP:
        return BACKOFF_CAP * rng.uniform(0.9, 1.0)
    jittered: timedelta = delay * rng.uniform(0.9, 1.1)
    return min(jittered, BACKOFF_CAP)


def min_interval(attempt: Attempt) -> int | None:
    """The longest of the publisher's hints (max-age, <ttl>), at most MAX_MIN_INTERVAL. An answer not
    parsed (304, same bytes) cannot repeat its <ttl>: the interval known before counts beside its
    max-age, so a 304's short max-age does not undo a feed's 3-hour <ttl>."""
    ttl_s = attempt.ttl_minutes * 60 if attempt.ttl_minutes else None
    hints = [s for s in (attempt.max_age_s, ttl_s, attempt.known_min_interval_s) if s and s > 0]
    return min(max(hints), int(MAX_MIN_INTERVAL.total_seconds())) if hints else None


def set_by_a_clock_ahead(next_attempt_at: datetime, now: datetime) -> bool:
    """Pure: is this next attempt further ahead than any wait this module sets (LONGEST_WAIT)? Then a
    clock ran ahead when it was set. DUE_SLACK of leeway: a host a little ahead of another is no jump."""
    return next_attempt_at - now > LONGEST_WAIT + DUE_SLACK


def is_due(next_attempt_at: datetime | None, now: datetime, *, interval_s: int | None, gone: bool) -> bool:
    """Whether a feed is due in the cycle starting at `now`. A publisher's interval (`interval_s`,
    from max-age or <ttl>) and a gone feed's daily look may fall due up to DUE_SLACK after the cycle
    starts (a tenth of the interval, when that is shorter); a backoff after a failure, and the
    Retry-After it honours, are kept to the second. A next attempt set by a clock that ran ahead
    (set_by_a_clock_ahead) is due now."""
    if next_attempt_at is None or set_by_a_clock_ahead(next_attempt_at, now):
        return True
    slack = timedelta(0)
    if gone:
        slack = DUE_SLACK
    elif interval_s:
        slack = min(DUE_SLACK, timedelta(seconds=interval_s / 10))
    return next_attempt_at <= now + slack


def decide(attempt: Attempt, now: datetime, rng: random.Random) -> Decision:
    if attempt.ok:
        interval = min_interval(attempt)
        return Decision(
            next_attempt_at=now + timedelta(seconds=interval) if interval else None,
            min_interval_s=interval,
        )
    if attempt.status == 410:
        # Gone means gone, but still look once a day in case it was a mistake.
        return Decision(now + BACKOFF_CAP, None, disable_reason=GONE_REASON)
    delay = backoff_delay(attempt.consecutive_failures + 1, rng)
    if attempt.retry_after_s is not None:
        # Retry-After is the publisher telling us when: never earlier, but never more than a day.
        delay = max(delay, timedelta(seconds=min(max(attempt.retry_after_s, 0.0), BACKOFF_CAP.total_seconds())))
    return Decision(next_attempt_at=now + delay, min_interval_s=None)


# ---------------------------------------------------------------- search-link resolution

RESOLVER_BACKOFF_BASE = timedelta(minutes=15)
RESOLVER_BACKOFF_CAP = timedelta(hours=6)
LINK_RETRY_BASE = timedelta(hours=1)
LINK_MAX_ATTEMPTS = 5


def resolver_backoff(level: int, retry_after_s: float | None, now: datetime) -> datetime:
    """When the resolver may ask Google again after its `level`-th 429 in a row: 15 min, 30 min, 1 h …
    at most 6 h (Google's lock-outs are reported to last up to an hour); a longer Retry-After wins,
    up to a day."""
    delay: timedelta = min(RESOLVER_BACKOFF_BASE * (2 ** min(max(level, 1) - 1, 16)), RESOLVER_BACKOFF_CAP)
    if retry_after_s is not None:
        delay = max(delay, timedelta(seconds=min(max(retry_after_s, 0.0), BACKOFF_CAP.total_seconds())))
    return now + delay


def link_retry_at(attempts: int, now: datetime) -> datetime | None:
    """After a link's `attempts`-th failed lookup: 1 h, 2 h, 4 h, 8 h later, then given up (None)."""
    if attempts >= LINK_MAX_ATTEMPTS:
        return None
    delay: timedelta = LINK_RETRY_BASE * (2 ** (max(attempts, 1) - 1))
    return now + delay

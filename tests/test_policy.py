"""The backoff policy is pure: exact answers for a given clock and seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tracker.policy import (
    BACKOFF_CAP,
    GONE_REASON,
    MAX_MIN_INTERVAL,
    Attempt,
    backoff_delay,
    decide,
    is_due,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("failures", "nominal"),
    [(1, timedelta(minutes=30)), (2, timedelta(hours=1)), (3, timedelta(hours=2)), (5, timedelta(hours=8)),
     (6, timedelta(hours=16))],
)
def test_backoff_doubles_with_at_most_ten_percent_jitter(failures: int, nominal: timedelta) -> None:
    rng = random.Random(1)
    for _ in range(200):
        delay = backoff_delay(failures, rng)
        assert nominal * 0.9 <= delay <= nominal * 1.1


@pytest.mark.parametrize("failures", [7, 8, 20, 10_000])
def test_backoff_never_exceeds_one_day(failures: int) -> None:
    rng = random.Random(2)
    delays = {backoff_delay(failures, rng) for _ in range(200)}
    assert all(BACKOFF_CAP * 0.9 <= d <= BACKOFF_CAP for d in delays)
    assert len(delays) > 1  # still jittered at the cap, so failing feeds do not retry in lockstep


def test_jitter_is_deterministic_for_a_seed() -> None:
    a = [backoff_delay(3, random.Random(7)) for _ in range(3)]
    assert a == [backoff_delay(3, random.Random(7)) for _ in range(3)]


def test_success_polls_every_cycle_without_hints() -> None:
    d = decide(Attempt(ok=True, status=200), NOW, random.Random(0))
    assert d.next_attempt_at is None and d.min_interval_s is None and d.disable_reason is None


def test_max_age_and_ttl_set_a_minimum_interval_the_longer_wins() -> None:
    d = decide(Attempt(ok=True, status=200, max_age_s=1800, ttl_minutes=60), NOW, random.Random(0))
    assert d.min_interval_s == 3600
    assert d.next_attempt_at == NOW + timedelta(hours=1)


def test_publisher_hints_are_capped_so_a_feed_is_polled_at_least_twice_a_day() -> None:
    d = decide(Attempt(ok=True, status=200, max_age_s=7 * 86400), NOW, random.Random(0))
    assert d.next_attempt_at == NOW + MAX_MIN_INTERVAL


def test_not_modified_keeps_the_interval_learnt_before() -> None:
    d = decide(Attempt(ok=True, status=304, known_min_interval_s=5400), NOW, random.Random(0))
    assert d.next_attempt_at == NOW + timedelta(seconds=5400)
    # …and a 304's own max-age, shorter, does not undo it (the remembered one may be a <ttl>, which a
    # 304 cannot repeat); a longer one wins.
    d = decide(Attempt(ok=True, status=304, max_age_s=600, known_min_interval_s=5400), NOW, random.Random(0))
    assert d.min_interval_s == 5400
    d = decide(Attempt(ok=True, status=304, max_age_s=7200, known_min_interval_s=5400), NOW, random.Random(0))
    assert d.min_interval_s == 7200


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    d = decide(Attempt(ok=False, status=429, retry_after_s=7200), NOW, random.Random(0))
    assert d.next_attempt_at == NOW + timedelta(hours=2)
    assert d.disable_reason is None


def test_short_retry_after_does_not_shorten_the_backoff() -> None:
    d = decide(Attempt(ok=False, status=503, retry_after_s=5), NOW, random.Random(0))
    assert d.next_attempt_at is not None
    assert d.next_attempt_at - NOW >= timedelta(minutes=27)


def test_absurd_retry_after_is_capped_at_one_day() -> None:
    d = decide(Attempt(ok=False, status=429, retry_after_s=30 * 86400), NOW, random.Random(0))
    assert d.next_attempt_at == NOW + BACKOFF_CAP


@pytest.mark.parametrize("status", [None, 400, 401, 403, 404, 429, 500, 502, 503])
def test_only_410_disables(status: int | None) -> None:
    d = decide(Attempt(ok=False, status=status, consecutive_failures=500), NOW, random.Random(0))
    assert d.disable_reason is None
    assert d.next_attempt_at is not None and d.next_attempt_at - NOW <= BACKOFF_CAP


def test_410_disables_with_a_reason_but_still_looks_once_a_day() -> None:
    d = decide(Attempt(ok=False, status=410), NOW, random.Random(0))
    assert d.disable_reason == GONE_REASON
    assert d.next_attempt_at == NOW + BACKOFF_CAP


HOUR = 3600


@pytest.mark.parametrize(
    ("next_in", "interval_s", "gone", "due"),
    [
        (timedelta(seconds=4), HOUR, False, True),  # <ttl>60</ttl> stored 4 s into the last hourly cycle
        (timedelta(minutes=5), HOUR, False, True),
        (timedelta(minutes=5, seconds=1), HOUR, False, False),
        (timedelta(minutes=1), 15 * 60, False, True),  # a 15-minute interval: a tenth of it, 90 s
        (timedelta(minutes=2), 15 * 60, False, False),
        (timedelta(seconds=4), None, False, False),  # a backoff or Retry-After: to the second
        (timedelta(0), None, False, True),
        (timedelta(seconds=30), None, True, True),  # a gone feed's daily look, stored 30 s into its cycle
        (-timedelta(hours=1), HOUR, False, True),
    ],
)
def test_a_feed_is_due_when_its_hint_falls_due_just_after_the_cycle_starts(
        next_in: timedelta, interval_s: int | None, gone: bool, due: bool) -> None:
    assert is_due(NOW + next_in, NOW, interval_s=interval_s, gone=gone) is due
    assert is_due(None, NOW, interval_s=interval_s, gone=gone)


def test_a_next_attempt_further_ahead_than_any_wait_was_set_by_a_clock_ahead_and_is_due() -> None:
    # Backoff, Retry-After and a gone feed's daily look are capped at a day: two days ahead is a clock
    # that jumped forward and was set back, and the feed must not wait out the jump.
    assert is_due(NOW + timedelta(days=2), NOW, interval_s=None, gone=False)
    assert is_due(NOW + timedelta(days=400), NOW, interval_s=3600, gone=True)
    assert not is_due(NOW + BACKOFF_CAP, NOW, interval_s=None, gone=False)
    assert not is_due(NOW + BACKOFF_CAP, NOW, interval_s=None, gone=True)

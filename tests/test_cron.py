"""Cron expressions mean what crontab(5) says: weekdays count from 0 = Sunday (7 is Sunday too),
which APScheduler's own from_crontab does not (it counts from Monday)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.notifykit import make_config, smtp_notify
from tracker.config import parse_config
from tracker.cron import cron_trigger, weekday_field
from tracker.errors import ConfigError
from tracker.ingest.scheduler import digest_trigger, make_trigger

SUNDAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def fire_days(expression: str, weeks: int = 2) -> set[str]:
    """The weekdays an expression fires on over the two weeks after SUNDAY."""
    trigger = cron_trigger(expression, UTC)
    days, at, previous = set(), SUNDAY, None
    while at < SUNDAY + timedelta(weeks=weeks):
        fire = trigger.get_next_fire_time(previous, at)
        if fire is None or fire >= SUNDAY + timedelta(weeks=weeks):
            break
        days.add(DAYS[(fire.weekday() + 1) % 7])
        previous, at = fire, fire + timedelta(seconds=1)
    return days


@pytest.mark.parametrize(("weekday", "days"), [
    ("1-5", {"mon", "tue", "wed", "thu", "fri"}),
    ("0", {"sun"}),
    ("7", {"sun"}),
    ("6,0", {"sat", "sun"}),
    ("5-7", {"fri", "sat", "sun"}),
    ("0-6", set(DAYS)),
    ("*/2", {"sun", "tue", "thu", "sat"}),
    ("1-5/2", {"mon", "wed", "fri"}),
    ("mon-fri", {"mon", "tue", "wed", "thu", "fri"}),
    ("sun-tue", {"sun", "mon", "tue"}),
    ("sat-sun", {"sat", "sun"}),  # a weekend digest
    ("fri-sun", {"fri", "sat", "sun"}),
    ("mon-sun", set(DAYS)),
    ("7-7", {"sun"}),
    ("*", set(DAYS)),
])
def test_weekdays_are_crontabs(weekday: str, days: set[str]) -> None:
    assert fire_days(f"0 7 * * {weekday}") == days


def test_the_field_becomes_weekday_names() -> None:
    assert weekday_field("1-5") == "mon,tue,wed,thu,fri"
    assert weekday_field("0,7") == "sun"


@pytest.mark.parametrize("bad", ["8", "5-1", "mon-", "x", "*/0", "1-5/x", "0 7 * *", "0 7 * * 1 2"])
def test_a_bad_expression_is_a_value_error(bad: str) -> None:
    expression = bad if " " in bad else f"0 7 * * {bad}"
    with pytest.raises(ValueError):
        cron_trigger(expression, UTC)


def test_the_scheduler_and_digests_use_crontab_weekdays() -> None:
    # A weekday digest at 07:00 in New York: from a Sunday, next Monday 07:00 there (12:00 UTC).
    morning = {"name": "morning", "recipients": ["a@example.org"], "schedule": "0 7 * * 1-5",
               "timezone": "America/New_York"}
    digest = make_config(smtp_notify(1025, [morning])).notify.digests[0]
    assert digest_trigger(digest).get_next_fire_time(None, SUNDAY) == datetime(
        2026, 11, 23, 7, 0, tzinfo=ZoneInfo("America/New_York"))
    # A Sunday-only poll fires on the Sunday, not the Monday.
    config = parse_config({"settings": {"poll": "30 3 * * 0"}})
    fire = make_trigger(config, None).get_next_fire_time(None, SUNDAY - timedelta(hours=12))
    assert fire == datetime(2026, 11, 22, 3, 30, tzinfo=UTC)


def test_feeds_yml_refuses_a_bad_weekday_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match=r"settings.poll: not a cron expression \(bad day of week '9'"):
        parse_config({"settings": {"poll": "0 7 * * 9"}})

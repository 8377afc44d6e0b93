"""Cron expressions as crontab(5) reads them, for APScheduler.

APScheduler's CronTrigger.from_crontab numbers weekdays from 0 = Monday, where cron numbers them
from 0 = Sunday (7 is Sunday too): "0 7 * * 1-5" would run Tuesday to Saturday, and "* * * * 0"
on Mondays. The day-of-week field is rewritten here into weekday names, which mean the same to both.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

# crontab(5)'s numbering: 0 and 7 are Sunday.
_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBER = {name: i for i, name in enumerate(_NAMES)}


def _day(token: str) -> int:
    token = token.strip().lower()
    if token in _NUMBER:
        return _NUMBER[token]
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(f"bad day of week {token!r} (expected 0-7 or sun-sat)")


def _days(item: str) -> list[int]:
    """The days one comma-separated item of the field names: `*`, `n`, `a-b`, each with an optional `/step`."""
    base, _, step_text = item.partition("/")
    if (step_text and not step_text.isdigit()) or step_text == "0":
        raise ValueError(f"bad step in day of week {item!r}")
    step = int(step_text) if step_text else 1
    if base == "*":
        first, last = 0, 6
    elif "-" in base:
        start, _, end = base.partition("-")
        first, last = _day(start), _day(end)
        if last == 0 and first > 0:  # a range ending on Sunday ends the week: `5-7`, `sat-sun`, `mon-sun`
            last = 7
        if last < first:
            raise ValueError(f"bad range in day of week {item!r}")
    else:
        first = _day(base)
        last = 7 if step_text else first  # `1/2`: every other day from Monday to the field's end
    return [d % 7 for d in range(first, last + 1, step)]


def weekday_field(field: str) -> str:
    """A crontab day-of-week field as APScheduler weekday names: `1-5` -> `mon,tue,wed,thu,fri`."""
    if field in ("*", "?"):
        return "*"
    days = sorted({d for item in field.split(",") for d in _days(item)})
    return ",".join(_NAMES[d] for d in days)


def cron_trigger(expression: str, timezone: tzinfo) -> CronTrigger:
    """A trigger for a five-field crontab expression (minute hour day month weekday) in `timezone`.
    Raises ValueError on a bad expression."""
    from apscheduler.triggers.cron import (
        CronTrigger,  # only the scheduler and config checks need it
    )

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday_field(weekday),
                       timezone=timezone)

"""Stand-ins that tests inject instead of patching production code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# A fixed "now" for tests that only need some time: never today's date, so no test ages.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """A Clock tests move by hand; pass it wherever production code takes `clock=`."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime | None) -> None:
        assert when is not None
        self.now = when

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)

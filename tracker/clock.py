"""The one source of "now".

Everything that decides with the time (schedules, backoff, health, leases, audit
stamps) takes a Clock from its caller instead of reading the wall clock, so a test
that fixes the time fixes it for every layer at once, the CLI included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Timezone-aware UTC wall-clock time: the default Clock outside tests."""
    return datetime.now(UTC)

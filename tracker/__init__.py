"""media-tracker: find press coverage of members and campaigns, review it, export it."""

from __future__ import annotations

__version__ = "0.1.0"

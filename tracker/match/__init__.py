"""Find mentions of members and campaigns in an item's text: the pure matching engine."""

from __future__ import annotations

from tracker.match.engine import SNIPPET_RADIUS, Matcher, compile_matcher, normalize_text

__all__ = ["SNIPPET_RADIUS", "Matcher", "compile_matcher", "normalize_text"]

"""Shared bits of markup. Everything from a feed is escaped here; nothing raw reaches the page."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote

import streamlit as st

from dashboard.keys import Key
from tracker.export import Registry
from tracker.export.sanitize import safe_http_url
from tracker.models import ClipView, Mention

STATUS_LABELS = {"new": "New", "approved": "Approved", "rejected": "Rejected"}

_CSS = """
<style>
.mt-card { display: flex; gap: 1rem; align-items: flex-start; }
.mt-thumb { flex: 0 0 112px; height: 72px; border-radius: 8px; overflow: hidden; position: relative;
  display: flex; align-items: center; justify-content: center; color: #fff; font-weight: 700;
  font-size: 1.1rem; letter-spacing: .04em; }
.mt-thumb .mt-img { position: absolute; inset: 0; background-size: cover; background-position: center; }
.mt-body { flex: 1 1 auto; min-width: 0; }
.mt-headline { font-size: 1.05rem; font-weight: 650; line-height: 1.3; margin: 0 0 .15rem; }
.mt-headline a { color: inherit; text-decoration: none; }
.mt-headline a:hover { text-decoration: underline; }
.mt-meta { font-size: .82rem; color: #6b7280; margin: 0 0 .35rem; }
.mt-meta .mt-outlet { font-weight: 600; color: #374151; }
.mt-chips { display: flex; flex-wrap: wrap; gap: .3rem; margin: 0 0 .4rem; }
.mt-chip { font-size: .74rem; padding: .08rem .55rem; border-radius: 999px; white-space: nowrap; }
.mt-chip-member { background: #ede9fe; color: #5b21b6; }
.mt-chip-campaign { background: #dcfce7; color: #166534; }
.mt-chip-status-new { background: #e0f2fe; color: #075985; }
.mt-chip-status-approved { background: #dcfce7; color: #166534; }
.mt-chip-status-rejected { background: #fee2e2; color: #991b1b; }
.mt-chip-featured { background: #fef3c7; color: #92400e; }
.mt-snippet { font-size: .9rem; color: #374151; line-height: 1.45; margin: 0; }
.mt-snippet mark { background: #fde68a; color: inherit; padding: 0 .1rem; border-radius: 3px; }
</style>
"""

_PALETTE = ("#4f46e5", "#0f766e", "#b45309", "#be185d", "#1d4ed8", "#15803d", "#7c3aed", "#c2410c")


def inject_css() -> None:
    st.html(_CSS)


def md_escape(text: str) -> str:
    """Text from outside (feed titles, server errors) shown literally inside Markdown."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~:$" else ch for ch in text)


def _e(text: str) -> str:
    return escape(text, quote=True)


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum() and w.lower() not in ("the", "of")]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def thumbnail_html(clip: ClipView) -> str:
    """The image when known, over a coloured tile with the outlet's initials (shown if the image fails)."""
    outlet = clip.display_outlet or "?"
    color = _PALETTE[int(hashlib.md5(outlet.encode()).hexdigest(), 16) % len(_PALETTE)]
    image = ""
    url = safe_http_url(clip.display_image_url)
    if url:
        # quote() keeps the URL inside url("…"): no quote, paren or backslash can end it early.
        image = f'<div class="mt-img" style="background-image:url(&quot;{_e(quote(url, safe=":/?&=%#~+,;@!$*"))}&quot;)"></div>'
    return (
        f'<div class="mt-thumb" style="background:linear-gradient(135deg,{color},{color}cc)">'
        f"<span>{_e(initials(outlet))}</span>{image}</div>"
    )


def highlight(snippet: str, spans: Sequence[tuple[int, int]]) -> str:
    """snippet escaped, with each (start, end) wrapped in <mark>; overlapping spans merged."""
    out: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(snippet))
        if end <= start:
            continue
        out.append(_e(snippet[pos:start]))
        out.append(f"<mark>{_e(snippet[start:end])}</mark>")
        pos = end
    out.append(_e(snippet[pos:]))
    return "".join(out)


def _shorten(text: str, limit: int = 260) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _term_spans(text: str, words: set[str]) -> list[tuple[int, int]]:
    """Where any of words occurs in text as a whole word, ignoring case."""
    spans: list[tuple[int, int]] = []
    for word in sorted(words, key=len, reverse=True):
        if word:
            pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
            spans += [(m.start(), m.end()) for m in re.finditer(pattern, text, re.IGNORECASE)]
    return spans


def snippets_html(mentions: Sequence[Mention], fallback: str, limit: int = 2) -> str:
    """The evidence for a match: up to `limit` distinct snippets with every hit highlighted.

    A hit in the title would only repeat the headline, so then the summary is shown
    instead, with the same words highlighted in it.
    """
    by_snippet: dict[str, list[tuple[int, int]]] = {}
    from_article: set[str] = set()
    words: set[str] = set()
    for m in mentions:
        if not m.snippet:
            continue
        if m.end > m.start:
            words.add(m.snippet[m.start : m.end])
        if m.field == "title":
            continue
        by_snippet.setdefault(m.snippet, [])
        if m.field == "article":
            from_article.add(m.snippet)
        if m.end > m.start:
            by_snippet[m.snippet].append((m.start, m.end))
    if not by_snippet:
        text = _shorten(fallback)
        return f'<p class="mt-snippet">{highlight(text, _term_spans(text, words))}</p>' if text else ""
    parts = []
    for snippet, spans in list(by_snippet.items())[:limit]:
        # other mentions' words often fall inside the same snippet: mark those too
        # Found only by reading the page: say so, the feed's teaser will not show it.
        where = "<em>In the article:</em> " if snippet in from_article else ""
        parts.append(f'<p class="mt-snippet">{where}{highlight(snippet, spans + _term_spans(snippet, words))}</p>')  # the matcher marks cuts with …
    return "".join(parts)


def chips_html(clip: ClipView, registry: Registry, *, show_status: bool = False) -> str:
    chips = []
    if show_status:
        chips.append(f'<span class="mt-chip mt-chip-status-{clip.status.value}">{_e(STATUS_LABELS[clip.status.value])}</span>')
    if clip.featured:
        chips.append('<span class="mt-chip mt-chip-featured">★ Featured</span>')
    chips += [f'<span class="mt-chip mt-chip-member">{_e(registry.member_name(i))}</span>' for i in clip.member_ids]
    chips += [f'<span class="mt-chip mt-chip-campaign">{_e(registry.campaign_name(i))}</span>' for i in clip.campaign_ids]
    return f'<div class="mt-chips">{"".join(chips)}</div>' if chips else ""


def when(value: datetime | None) -> str:
    return value.strftime("%b %d, %Y %H:%M UTC").replace(" 0", " ") if value else "date unknown"


def clip_card_html(clip: ClipView, registry: Registry, *, show_status: bool = False, snippet: bool = True) -> str:
    url = safe_http_url(clip.url)
    headline = _e(clip.display_headline or "(no headline)")
    if url:
        headline = f'<a href="{_e(url)}" target="_blank" rel="noopener">{headline}</a>'
    meta = f'<span class="mt-outlet">{_e(clip.display_outlet or "Unknown outlet")}</span> · {_e(when(clip.published_at or clip.first_seen_at))}'
    if clip.manual:
        meta += " · added by hand"
    if not clip.resolved:
        # Still Google News' redirect: staff should know before they share the link.
        meta += " · link not resolved yet"
    if clip.unverified:
        # Kept for staff although nobody could read it: the search's word is the only evidence.
        meta += " · unverified: found by the search, article unreadable"
    body = (
        f'<p class="mt-headline" dir="auto">{headline}</p><p class="mt-meta">{meta}</p>'
        f"{chips_html(clip, registry, show_status=show_status)}"
        + (snippets_html(clip.mentions, clip.display_blurb) if snippet else "")
    )
    return f'<div class="mt-card">{thumbnail_html(clip)}<div class="mt-body">{body}</div></div>'


def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """A toast that survives the rerun a callback triggers."""
    st.session_state[Key.FLASH] = (message, icon)


def show_flash() -> None:
    pending = st.session_state.pop(Key.FLASH, None)
    if pending:
        st.toast(pending[0], icon=pending[1])


def current_user() -> str:
    return str(st.session_state.get(Key.USER) or "")


def open_editor(clip_id: str) -> None:
    st.session_state[Key.EDIT_CLIP] = clip_id

"""Shared bits of markup. Everything from a feed is escaped here; nothing raw reaches the page."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from html import escape
from typing import ParamSpec
from urllib.parse import quote

import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard import data
from dashboard.keys import Key
from tracker.errors import NotFoundError, PermissionDenied, StaleEditError
from tracker.export import Registry
from tracker.export.sanitize import safe_http_url
from tracker.models import ClipView, Mention, Undo

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
.mt-snippet mark, .mt-headline mark { background: #fde68a; color: inherit; padding: 0 .1rem; border-radius: 3px; }
/* The notice after an action: placed like a toast, but part of the page, so it carries an Undo
   button and never follows staff to another page. */
.st-key-mt_notice { position: fixed; right: 1.5rem; bottom: 1.5rem; z-index: 999990; width: auto !important;
  max-width: 30rem; background: var(--background-color, #fff); border-radius: .6rem; padding: .6rem .9rem;
  box-shadow: 0 6px 24px rgba(0,0,0,.18); border: 1px solid rgba(0,0,0,.08); }
.mt-example { margin: 0 0 .9rem; }
.st-key-mt_confirm { position: fixed; left: 50%; bottom: 1.5rem; transform: translateX(-50%); z-index: 999991;
  width: min(40rem, 90vw) !important; background: var(--background-color, #fff); border-radius: .6rem;
  padding: .8rem 1rem; box-shadow: 0 8px 32px rgba(0,0,0,.25); border: 1px solid #f59e0b; }
</style>
"""

P = ParamSpec("P")
_PALETTE = ("#4f46e5", "#0f766e", "#b45309", "#be185d", "#1d4ed8", "#15803d", "#7c3aed", "#c2410c")


def inject_css() -> None:
    st.html(_CSS)


def md_escape(text: str) -> str:
    """Text from outside (feed titles, server errors) shown literally inside Markdown."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~:$" else ch for ch in text)


def md_link(text: str, url: str | None) -> str:
    """A Markdown link whose text is shown literally and whose target is an http(s) URL (else the text alone)."""
    safe = safe_http_url(url)
    return f"[{md_escape(text)}](<{safe}>)" if safe else md_escape(text)


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


def _title_words(mentions: Sequence[Mention]) -> set[str]:
    return {m.snippet[m.start : m.end] for m in mentions if m.field == "title" and m.snippet and m.end > m.start}


def _same_text(a: str, b: str) -> bool:
    """Two snippets that show the same words (the matcher cuts them at different places, with …)."""
    def norm(t: str) -> str:
        return " ".join(t.replace("…", " ").split()).lower()
    x, y = norm(a), norm(b)
    return bool(x and y) and (x in y or y in x)


def snippets_html(mentions: Sequence[Mention], fallback: str, limit: int = 2, *, headline: str = "") -> str:
    """The evidence for a match: up to `limit` distinct snippets with every hit highlighted.

    A hit in the title is highlighted in the headline itself (clip_card_html); a snippet of the
    title would only repeat it. No snippet is shown twice, nor one that repeats the headline.
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
        if any(_same_text(m.snippet, seen) for seen in by_snippet if seen != m.snippet) or _same_text(m.snippet, headline):
            continue
        by_snippet.setdefault(m.snippet, [])
        if m.field == "article":
            from_article.add(m.snippet)
        if m.end > m.start:
            by_snippet[m.snippet].append((m.start, m.end))
    if not by_snippet:
        text = _shorten(fallback)
        if not text or _same_text(text, headline):
            return ""
        return f'<p class="mt-snippet">{highlight(text, _term_spans(text, words))}</p>'
    parts = []
    for snippet, spans in list(by_snippet.items())[:limit]:
        # other mentions' words often fall inside the same snippet: mark those too
        # Found only by reading the page: say so, the feed's teaser will not show it.
        where = "<em>In the article:</em> " if snippet in from_article else ""
        parts.append(f'<p class="mt-snippet">{where}{highlight(snippet, spans + _term_spans(snippet, words))}</p>')  # the matcher marks cuts with …
    return "".join(parts)


def rule_examples_html(clips: Sequence[ClipView], hits: dict[str, Mention]) -> str:
    """Test-a-rule examples: each clip's headline, linked, and where the draft matched, highlighted."""
    parts = []
    for clip in clips:
        url = safe_http_url(clip.url)
        title = _e(clip.display_headline or "(no headline)")
        if url:
            title = f'<a href="{_e(url)}" target="_blank" rel="noopener">{title}</a>'
        hit = hits.get(clip.id)
        evidence = ""
        if hit is not None and hit.snippet:
            # the matcher already marks where it cut the text with …
            evidence = f'<p class="mt-snippet">{highlight(hit.snippet, [(hit.start, hit.end)] if hit.end > hit.start else [])}</p>'
        parts.append(f'<div class="mt-example"><p class="mt-headline" dir="auto">{title}</p>'
                     f'<p class="mt-meta"><span class="mt-outlet">{_e(clip.display_outlet or "Unknown outlet")}</span>'
                     f" · {_e(when(clip.published_at or clip.first_seen_at))}</p>{evidence}</div>")
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
    text = clip.display_headline or "(no headline)"
    # with the evidence (review cards), a match in the title is highlighted where it is: in the headline
    headline = highlight(text, _term_spans(text, _title_words(clip.mentions)) if snippet else [])
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
        + (snippets_html(clip.mentions, clip.display_blurb, headline=text) if snippet else "")
    )
    return f'<div class="mt-card">{thumbnail_html(clip)}<div class="mt-body">{body}</div></div>'


NOTICE_S = 5  # how long a notice stays
UNDO_S = 8  # how long a decision can be taken back from its notice


def refusals_as_notices(action: Callable[P, None]) -> Callable[P, None]:
    """For a button's callback: what tracker refuses (a role taken away while the page was open, a
    clip someone else changed or deleted) becomes a notice in words, not a traceback on the page."""

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            action(*args, **kwargs)
        except (PermissionDenied, StaleEditError, NotFoundError) as exc:
            flash(md_escape(str(exc)), ":material/block:")

    return run


def flash(message: str, icon: str = ":material/check_circle:", *, undo: Undo | None = None,
          page: str | None = None) -> None:
    """A notice for the next run of the page (the one the action was on, or `page`), with an Undo
    button when `undo` says what to take back. Shown by page_notices; gone after a few seconds
    or when staff go to another page."""
    st.session_state[Key.FLASH] = {"message": message, "icon": icon, "undo": undo or None, "page": page, "until": None}


def remember_link(page: str | None = None) -> None:
    """Where a visit that has to go through app.py (sign-in) first wanted to go: the page, and the
    clip of a ?clip= link. app.py takes it there afterwards (go_to_remembered_link)."""
    clip = st.query_params.get("clip")
    if page or clip:
        st.session_state[Key.AFTER_SIGN_IN] = {"page": page or "pages/editor.py", "clip": clip}


def go_to_remembered_link() -> None:
    """In app.py, once signed in: go where the first visit asked for."""
    wanted = st.session_state.pop(Key.AFTER_SIGN_IN, None)
    if not wanted:
        return
    if wanted.get("clip"):
        open_editor(str(wanted["clip"]))
    st.switch_page(str(wanted["page"]))


def follow_clip_link(on_editor: bool) -> None:
    """In app.py, for someone signed in: a ?clip= link (a digest's, an alert's) opens the editor on that
    clip, whichever page the address names. Once per clip in a session: the address may keep the
    ?clip= after staff leave the editor, and they are not sent back to it."""
    clip = st.query_params.get("clip")
    followed: set[str] = st.session_state.setdefault(Key.LINKS_FOLLOWED, set())
    if not clip or clip in followed:
        return
    followed.add(clip)
    open_editor(clip)
    if not on_editor:
        st.switch_page("pages/editor.py")


def require_app(page: str) -> None:
    """Stop a page that runs without app.py (its sign-in, navigation and styles) having run first.

    On a freshly started server, Streamlit serves a first request for /published (a bookmark, a
    ?clip= link) by running pages/published.py directly, before app.py has registered its pages:
    without this, that page would show data to anyone. Such a visit goes through app.py instead,
    and on to the page it asked for."""
    if st.session_state.get(Key.APP_RAN):
        return
    remember_link(f"pages/{page}.py")
    with contextlib.suppress(StreamlitAPIException):  # app.py's navigation is in place: pages are reached only through it
        st.switch_page("app.py")
    st.stop()


def page_notices(page: str) -> None:
    """First thing on every page: the sign-in check, the demo-mode banner, and the notice of the last
    action made here."""
    require_app(page)
    if data.demo_mode():
        st.info("**Demo mode:** sample data. Nothing you do here reaches the website's exports.",
                icon=":material/science:")
    notice = st.session_state.get(Key.FLASH)
    if notice is None:
        return
    if notice["page"] not in (None, page):
        st.session_state.pop(Key.FLASH, None)  # made on another page: it does not follow staff here
        return
    if notice["until"] is None:
        notice["page"] = page
        notice["until"] = data.clock().timestamp() + (UNDO_S if notice["undo"] else NOTICE_S)
    _notice()


@st.fragment(run_every=1.0)
def _notice() -> None:
    notice = st.session_state.get(Key.FLASH)
    if not notice or notice["until"] is None or data.clock().timestamp() > notice["until"]:
        st.session_state.pop(Key.FLASH, None)
        return
    with st.container(key=Key.NOTICE, horizontal=True, vertical_alignment="center"):
        st.markdown(f"{notice['icon']} {notice['message']}")
        if notice["undo"] and st.button("Undo", key=Key.UNDO, icon=":material/undo:", type="primary"):
            _undo(notice["undo"], notice["page"])
            st.rerun()


@contextlib.contextmanager
def own_change(clip_ids: Sequence[str]) -> Iterator[Counter[str]]:
    """Around this user's own write to clips an editor form may be open on: a form that was up to
    date just before it stays so (its version moves past the write), so their next save is not
    called stale; a form already behind a colleague's change stays behind, and its save is refused.

    The caller counts in the Counter it is given the versions its write moved each clip by (one
    per changed clip; an undo, one per status and one per position it put back). The form follows
    only when the clip's version afterwards is its own plus exactly those: a colleague's save at any
    moment before, during or just after shows as more, and the form stays behind. (Reading the
    version just before the write instead took in a save made in between.)"""
    open_at = {i: st.session_state.get(f"{Key.E_VERSION}{i}") for i in clip_ids}
    moved: Counter[str] = Counter()
    yield moved
    for clip_id, version in open_at.items():
        if version is not None and data.clip_version(clip_id) == version + moved[clip_id]:
            st.session_state[f"{Key.E_VERSION}{clip_id}"] = version + moved[clip_id]


@refusals_as_notices
def _undo(record: Undo, page: str | None) -> None:
    """Take the action back; a refusal (a role taken away meanwhile, the clip gone) is a notice."""
    with own_change([i for i, _ in record.statuses] + [i for i, _ in record.positions]) as moved:
        result = data.undo(record, current_user())
        moved.update(dict(result.moved))
    changed, left = result.changed, len(result.left_alone)
    message = f"Undone: {changed} change{'s' if changed != 1 else ''} taken back"
    if left:
        message += f"; {left} clip{'s' if left != 1 else ''} left as a colleague changed {'them' if left != 1 else 'it'} since"
    flash(message, ":material/undo:", page=page)


def ask_before_publishing(clip_ids: Sequence[str], page: str) -> bool:
    """True (and the question is queued for `page`) when some of these clips should be looked at again
    before they go on the website; that page then shows confirm_box. Asked once per action."""
    warnings = data.publish_warnings(clip_ids)
    if not warnings:
        return False
    st.session_state[Key.CONFIRM] = {"ids": list(clip_ids), "warnings": warnings, "page": page}
    return True


def confirm_box(publish: Callable[[list[str]], None], page: str, *, about: Sequence[str] | None = None) -> None:
    """The queued publish question, if any: "Publish anyway" calls publish(ids), Cancel drops it. A
    question asked on another page, or (with `about`) about other clips than those shown, is dropped
    unanswered: staff who moved on never publish what they did not see asked."""
    pending = st.session_state.get(Key.CONFIRM)
    if not pending:
        return
    if pending.get("page") != page or (about is not None and list(pending["ids"]) != list(about)):
        st.session_state.pop(Key.CONFIRM, None)
        return
    ids, warnings = pending["ids"], pending["warnings"]
    shown = {c.id: c for c in data.clips(list(warnings))}
    reasons = [f"“{md_escape(shown[i].display_headline[:70])}”: {'; '.join(warnings[i])}" for i in warnings if i in shown]
    if len(ids) == 1:
        question = f"**Publish this clip?** {reasons[0][0].upper()}{reasons[0][1:]}." if reasons else "**Publish this clip?**"
    else:
        question = (f"**Publish {len(ids)} clips?** {len(warnings)} of them may not be ready:\n\n"
                    + "\n".join(f"- {r}" for r in reasons))

    def yes() -> None:
        st.session_state.pop(Key.CONFIRM, None)
        publish(ids)

    with st.container(key="mt_confirm"):
        st.markdown(question)
        a, b = st.columns(2)
        a.button("Publish anyway", key=Key.CONFIRM_YES, type="primary", icon=":material/public:", on_click=yes)
        b.button("Cancel", key=Key.CONFIRM_NO, on_click=lambda: st.session_state.pop(Key.CONFIRM, None))


def current_user() -> str:
    return str(st.session_state.get(Key.USER) or "")


def open_editor(clip_id: str) -> None:
    st.session_state[Key.EDIT_CLIP] = clip_id


def clip_filters(*, text: str, member: str, campaign: str, outlet: str, tag: str, state: str | None = None) -> None:
    """The search box and the member, campaign, outlet, (state) and tag pickers that the Review and
    Published sidebars share, under each page's own widget keys."""
    members = {m.id: m.name for m in data.members()}
    campaigns = {c.id: c.name for c in data.campaigns()}
    st.text_input("Search headlines, summaries, outlets and articles", key=text, placeholder="e.g. eviction",
                  icon=":material/search:", help="Case, accents, apostrophes and dashes are ignored: "
                  "O'Rourke finds O’Rourke. Every word must appear, a word of one or two "
                  "letters (NY, AI) as a whole word.")
    # Named only while its picker offers it: Streamlit drops a value that is no longer an option (a
    # member taken out of feeds.yml, kept in the saved filters) before the query uses it.
    outlets, states, tags = data.outlets(), data.states() if state is not None else [], data.tags()
    chosen = [(label, shown(st.session_state[key])) for label, key, options, shown in (
        ("Member", member, members, lambda i: members.get(i, i)),
        ("Campaign", campaign, campaigns, lambda i: campaigns.get(i, i)),
        ("Outlet", outlet, outlets, str), ("State", state, states, str), ("Tag", tag, tags, data.tag_label),
    ) if key and st.session_state.get(key) and st.session_state[key] in options]
    # In a popover, which Streamlit draws only when opened: five pickers of hundreds of options each
    # cost the queue's first load ~0.1-0.15 s (bench/README.md, "Dashboard in a browser").
    with st.popover(f"More filters ({len(chosen)} on)" if chosen else "More filters",
                    icon=":material/filter_list:", width="stretch"):
        st.selectbox("Member", list(members), key=member, index=None, placeholder="Any member",
                     format_func=lambda i: members.get(i, i))
        st.selectbox("Campaign", list(campaigns), key=campaign, index=None, placeholder="Any campaign",
                     format_func=lambda i: campaigns.get(i, i))
        st.selectbox("Outlet", outlets, key=outlet, index=None, placeholder="Any outlet")
        if state is not None:
            st.selectbox("State / chapter", states, key=state, index=None, placeholder="Any state")
        st.selectbox("Tag", tags, key=tag, index=None, placeholder="Any tag", format_func=data.tag_label)
    if chosen:  # what the closed popover holds, in words
        st.caption(" · ".join(f"{label}: **{md_escape(str(value))}**" for label, value in chosen))

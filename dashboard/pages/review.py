"""Review queue: clear the morning's new clips fast (newest first, one click per decision)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key

STATUS_OPTIONS = ["new", "approved", "rejected", "all"]
FILTER_KEYS = (Key.F_MEMBER, Key.F_CAMPAIGN, Key.F_OUTLET, Key.F_STATE, Key.F_TAG, Key.F_TEXT)


def _query() -> data.QueueQuery:
    status = st.session_state.get(Key.F_STATUS) or "all"
    dates: tuple[date, ...] = tuple(st.session_state.get(Key.F_DATES) or ())
    since = dates[0] if len(dates) >= 1 else None
    until = dates[1] if len(dates) >= 2 else None
    return data.QueueQuery(
        status=None if status == "all" else status,
        member=st.session_state.get(Key.F_MEMBER),
        campaign=st.session_state.get(Key.F_CAMPAIGN),
        outlet=st.session_state.get(Key.F_OUTLET),
        state=st.session_state.get(Key.F_STATE),
        tag=st.session_state.get(Key.F_TAG),
        since=since,
        until=until,
        text=st.session_state.get(Key.F_TEXT) or None,
    )


def _clear_filters() -> None:
    for key in FILTER_KEYS:
        st.session_state[key] = "" if key == Key.F_TEXT else None
    st.session_state[Key.F_DATES] = ()


@ui.refusals_as_notices
def _decide(clip_ids: list[str], approve: bool, *, confirmed: bool = False) -> None:
    if approve and not confirmed and ui.ask_before_publishing(clip_ids, "review"):
        return  # confirm_box asks; "Publish anyway" comes back here confirmed
    user = ui.current_user()
    shown = st.session_state.get(Key.Q_SHOWN) or {}
    changed, record, left = data.decide(clip_ids, data.ClipStatus.APPROVED if approve else data.ClipStatus.REJECTED,
                                        user, shown=shown)
    verb = "Approved" if approve else "Rejected"
    message = f"{verb} {changed} clip{'s' if changed != 1 else ''}"
    if left:
        message += (f"; {len(left)} left as {'they are' if len(left) != 1 else 'it is'}: changed by someone else since "
                    "this page was shown, or gone (the queue now shows what they are)")
    ui.flash(message, ":material/check_circle:" if approve else ":material/block:", undo=record)
    for clip_id in clip_ids:
        st.session_state.pop(f"{Key.Q_SELECT}{clip_id}", None)
    st.session_state[Key.Q_SELECT_ALL] = False


@ui.refusals_as_notices
def _make_primary(clip_id: str) -> None:
    if data.switch_primary(clip_id, ui.current_user()):
        ui.flash("This copy is the one the website links now", ":material/swap_horiz:")


def _copies(clip: data.ClipView, can_review: bool) -> None:
    """The story's other outlets, each of which staff can make the primary."""
    n = len(clip.also_in)
    with st.expander(f"Also in {n} outlet{'s' if n != 1 else ''}", icon=":material/library_books:"):
        for copy in clip.also_in:
            row = st.columns([6, 2], vertical_alignment="center")
            # Feed text, shown literally: `$1,200 to $2,400` is not LaTeX, `*` not emphasis, `[…](…)` no link.
            row[0].markdown(f"**{ui.md_escape(copy.outlet or 'Unknown outlet')}** · "
                            f"{ui.md_link(copy.headline or copy.url, copy.url)}")
            if can_review:
                row[1].button("Make primary", key=f"{Key.Q_PRIMARY}{copy.clip_id}", type="tertiary",
                              icon=":material/swap_horiz:", on_click=_make_primary, args=(copy.clip_id,))


@ui.refusals_as_notices
def _bulk(approve: bool, page_ids: list[str]) -> None:
    chosen = [i for i in page_ids if st.session_state.get(f"{Key.Q_SELECT}{i}")]
    if chosen:
        _decide(chosen, approve)


def _select_all(page_ids: list[str]) -> None:
    value = bool(st.session_state.get(Key.Q_SELECT_ALL))
    for clip_id in page_ids:
        st.session_state[f"{Key.Q_SELECT}{clip_id}"] = value


def _turn_page(older: str | None) -> None:
    """Older (to the page after `older`'s cursor) or, with None, newer. "Select all" was about the
    page being left: the next page starts with nothing selected."""
    cursors: list[str | None] = st.session_state[Key.Q_CURSORS]
    if older is not None:
        cursors.append(older)
    elif len(cursors) > 1:
        cursors.pop()
    st.session_state[Key.Q_SELECT_ALL] = False


def _sidebar() -> None:
    with st.sidebar:
        st.subheader("Filters")
        st.segmented_control("Status", STATUS_OPTIONS, key=Key.F_STATUS,
                             format_func=lambda s: ui.STATUS_LABELS.get(s, "All"))
        ui.clip_filters(text=Key.F_TEXT, member=Key.F_MEMBER, campaign=Key.F_CAMPAIGN, outlet=Key.F_OUTLET,
                        state=Key.F_STATE, tag=Key.F_TAG)
        st.date_input("Published between", key=Key.F_DATES, format="YYYY-MM-DD")
        st.button("Clear filters", key=Key.F_CLEAR, on_click=_clear_filters, icon=":material/filter_alt_off:")


def _empty_state(query: data.QueueQuery, counts: dict[str, int]) -> None:
    """Say what to do next, suggesting only what applies to the filters in use."""
    if sum(counts.values()) == 0:
        st.info(
            "**No clips yet.** Run `tracker ingest` to poll your feeds (or `tracker schedule` to keep polling), "
            "or add coverage the feeds missed by URL.",
            icon=":material/inbox:",
        )
        st.page_link("pages/add.py", label="Add a clip by URL", icon=":material/add_link:")
        return
    narrowed = replace(query, status=data.QueueQuery().status) != data.QueueQuery()
    if not narrowed and query.status == data.ClipStatus.NEW.value:
        st.success("**Queue clear.** Every new clip has been reviewed; new ones arrive with the next ingest.",
                   icon=":material/task_alt:")
        st.page_link("pages/published.py", label="See what is published", icon=":material/public:")
        return
    label = ui.STATUS_LABELS.get(query.status or "", "")
    if not narrowed:
        st.info(f"**No {label.lower()} clips.**", icon=":material/inbox:")
        return
    tips = []
    if query.text:
        tips.append("check the spelling or search for fewer words")
    if query.since or query.until:
        tips.append("try a wider date range")
    if query.status and data.finds_any(replace(query, status=None)):  # this search, in another status
        tips.append("look in all statuses, not only " + label.lower())
    if sum(x is not None and x != "" for x in (query.member, query.campaign, query.outlet, query.state, query.tag)):
        tips.append("remove a member, campaign, outlet, state or tag filter")
    st.info(f"**No {label.lower() + ' ' if label else ''}clips match these filters.** "
            + (tips[0][0].upper() + tips[0][1:] + "".join(f", or {t}" for t in tips[1:]) + "." if tips else ""),
            icon=":material/filter_alt_off:")
    st.button("Clear filters", key="empty_clear", on_click=_clear_filters)


def _restore_filters() -> None:
    """Streamlit forgets a page's widget values when another page runs; keep the filters across visits."""
    saved = st.session_state.setdefault(Key.F_SAVED, {Key.F_STATUS: "new", Key.F_DATES: ()})
    for key in (Key.F_STATUS, Key.F_DATES, *FILTER_KEYS):
        if key not in st.session_state and key in saved:
            st.session_state[key] = saved[key]


def _save_filters() -> None:
    st.session_state[Key.F_SAVED] = {
        key: st.session_state.get(key) for key in (Key.F_STATUS, Key.F_DATES, *FILTER_KEYS)
    }


ui.page_notices("review")
_restore_filters()
registry = data.registry()
_sidebar()

query = _query()
_save_filters()
# Keyset pagination: a stack of cursors; any filter change starts again at the newest clip.
signature = repr(query)
if st.session_state.get(Key.Q_SIGNATURE) != signature:
    st.session_state[Key.Q_SIGNATURE] = signature
    st.session_state[Key.Q_CURSORS] = [None]
cursors: list[str | None] = st.session_state[Key.Q_CURSORS]
page = data.clip_page(query, cursors[-1])
counts = data.status_counts()

st.title("Review queue")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Waiting for review", f"{counts.get('new', 0):,}", help="Stories: the copies of one article in many outlets are one card.")
c2.metric("Published", f"{counts.get('approved', 0):,}")
c3.metric("Rejected", f"{counts.get('rejected', 0):,}")
first = (len(cursors) - 1) * data.PAGE_SIZE + 1
total = page.total or 0
if page.total_capped:  # a search stops counting at 1,000, or at its window: "at least", never fewer than paged through
    total = max(total, first + len(page.clips) - 1)
matching = f"{total:,}{'+' if page.total_capped else ''}"
c4.metric("Matching these filters", matching)

ui.confirm_box(lambda ids: _decide(ids, True, confirmed=True), "review")
if not page.clips and len(cursors) > 1:
    # The last page emptied (its clips decided, here or by a colleague): back to the page before.
    cursors.pop()
    st.rerun()
if not page.clips:
    _empty_state(query, counts)
    st.stop()

page_ids = [c.id for c in page.clips]
# Each card's version as shown: a decision on a clip someone changed since is not made over them.
st.session_state[Key.Q_SHOWN] = {c.id: c.version for c in page.clips}
can_review = data.may(ui.current_user(), data.Permission.REVIEW)  # a viewer sees no decision buttons
bar = st.columns([2.2, 1.4, 1.4, 3], vertical_alignment="center")
if can_review:
    bar[0].checkbox("Select all on this page", key=Key.Q_SELECT_ALL, on_change=_select_all, args=(page_ids,))
    selected = sum(bool(st.session_state.get(f"{Key.Q_SELECT}{i}")) for i in page_ids)
    bar[1].button(f"Approve ({selected})" if selected else "Approve selected", key=Key.Q_BULK_APPROVE, disabled=not selected, type="primary",
                  icon=":material/check:", on_click=_bulk, args=(True, page_ids))
    bar[2].button(f"Reject ({selected})" if selected else "Reject selected", key=Key.Q_BULK_REJECT, disabled=not selected,
                  icon=":material/close:", on_click=_bulk, args=(False, page_ids))
bar[3].caption(f"Showing {first:,}–{first + len(page.clips) - 1:,} of {matching}, newest first")

for clip in page.clips:
    # A flex row, not st.columns: a third of the layout blocks for the browser to draw (bench/README.md)
    with st.container(border=True, horizontal=True, vertical_alignment="center", wrap=False):
        if can_review:
            st.checkbox("Select", key=f"{Key.Q_SELECT}{clip.id}", label_visibility="collapsed", width="content")
        with st.container():
            st.html(ui.clip_card_html(clip, registry, show_status=query.status is None))
            if clip.also_in:
                _copies(clip, can_review)
        with st.container(width=140):
            if can_review and clip.status is not data.ClipStatus.APPROVED:
                st.button("Approve", key=f"{Key.Q_APPROVE}{clip.id}", type="primary", icon=":material/check:",
                          on_click=_decide, args=([clip.id], True), width="stretch")
            if can_review and clip.status is not data.ClipStatus.REJECTED:
                st.button("Reject", key=f"{Key.Q_REJECT}{clip.id}", icon=":material/close:",
                          on_click=_decide, args=([clip.id], False), width="stretch")
            if st.button("Edit", key=f"{Key.Q_EDIT}{clip.id}", type="tertiary", icon=":material/edit:",
                         width="stretch"):
                ui.open_editor(clip.id)
                st.switch_page("pages/editor.py")

nav = st.columns([1, 1, 4])
nav[0].button("← Newer", key=Key.Q_PREV, disabled=len(cursors) == 1, on_click=_turn_page, args=(None,))
nav[1].button("Older →", key=Key.Q_NEXT, disabled=page.next_cursor is None, on_click=_turn_page,
              args=(page.next_cursor,))

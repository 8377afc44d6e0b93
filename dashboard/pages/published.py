"""Published: the "In The News" list exactly as the website will show it, with ordering.

Numbered as on the website (featured first), paged, searchable and filtered like the queue;
a clip moves one place at a time or to a place by number, across pages.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.errors import NotFoundError

FILTER_KEYS = (Key.P_TEXT, Key.P_MEMBER, Key.P_CAMPAIGN, Key.P_OUTLET, Key.P_TAG)


def _where(number: int) -> str:
    return f"#{number:,} (page {(number - 1) // data.PUBLISHED_PAGE_SIZE + 1:,})"


def _gone(headline: str) -> None:
    """A colleague took the clip off the website since this page was drawn."""
    ui.flash(f"“{ui.md_escape(headline[:60])}” is no longer on the website: nothing changed", ":material/info:")


def _moved(headline: str, record: data.Undo | None, clip_id: str) -> None:
    if record is None:
        if data.published_number(clip_id) is None:
            _gone(headline)
        else:
            ui.flash("Already there: nothing moved", ":material/info:")
        return
    number = data.published_number(clip_id)
    ui.flash(f"Moved “{ui.md_escape(headline[:50])}” to {_where(number) if number else 'its new place'}",
             ":material/swap_vert:", undo=record)


@ui.refusals_as_notices
def _move(clip_id: str, offset: int, headline: str) -> None:
    _moved(headline, data.move(clip_id, offset, ui.current_user()), clip_id)


@ui.refusals_as_notices
def _move_to() -> None:
    """The "Move #a to #b" form: staff think in the website's numbers."""
    source, target = st.session_state.get(Key.P_FROM), st.session_state.get(Key.P_TO)
    clip_id = data.published_at_number(int(source)) if source else None
    if clip_id is None or not target:
        ui.flash(f"There is no #{source} on the website" if source else "Say which place to move", ":material/info:")
        return
    _moved(data.clip(clip_id).display_headline, data.move_to(clip_id, int(target), ui.current_user()), clip_id)


@ui.refusals_as_notices
def _unpublish(clip_id: str, headline: str) -> None:
    _changed, record, left = data.decide([clip_id], data.ClipStatus.NEW, ui.current_user())
    if left:
        raise NotFoundError("that clip is gone (merged into another copy, or removed)")
    ui.flash(f"Unpublished “{ui.md_escape(headline[:60])}”; it is back in the review queue",
             ":material/unpublished:", undo=record)


@ui.refusals_as_notices
def _toggle_featured(clip_id: str, featured: bool, headline: str) -> None:
    if not data.feature(clip_id, featured, ui.current_user()):
        _gone(headline)


def _clear_filters() -> None:
    for key in FILTER_KEYS:
        st.session_state[key] = "" if key == Key.P_TEXT else None


def _query() -> data.QueueQuery:
    get = st.session_state.get
    return data.QueueQuery(status=None, text=get(Key.P_TEXT) or None, member=get(Key.P_MEMBER),
                           campaign=get(Key.P_CAMPAIGN), outlet=get(Key.P_OUTLET), tag=get(Key.P_TAG))


def _sidebar() -> None:
    with st.sidebar:
        st.subheader("Find a published clip")
        ui.clip_filters(text=Key.P_TEXT, member=Key.P_MEMBER, campaign=Key.P_CAMPAIGN, outlet=Key.P_OUTLET,
                        tag=Key.P_TAG)
        st.button("Clear filters", key=Key.P_CLEAR, on_click=_clear_filters, icon=":material/filter_alt_off:")


ui.page_notices("published")
st.title("Published")
st.caption("What the website's “In The News” section shows, top to bottom: featured clips first, then the "
           "order you set, then the newest. Move a clip one place with Up/Down or to a place by number; "
           "changes reach the exports at once.")
_sidebar()
query = _query()
if st.session_state.get(Key.P_SIGNATURE) != repr(query):  # a new search starts at the top
    st.session_state[Key.P_SIGNATURE] = repr(query)
    st.session_state[Key.P_OFFSET] = 0
offset = int(st.session_state.get(Key.P_OFFSET) or 0)
page = data.published_page(query, offset)
if not page.clips and offset > 0:  # the last page emptied (its clips unpublished): back to the page before
    st.session_state[Key.P_OFFSET] = max(0, offset - data.PUBLISHED_PAGE_SIZE)
    st.rerun()
if page.published == 0:
    st.info("**Nothing published yet.** Approve clips in the review queue and they appear here.",
            icon=":material/public:")
    st.page_link("pages/review.py", label="Go to the review queue", icon=":material/inbox:")
    st.stop()

filtered = query != data.QueueQuery(status=None)
m1, m2, m3 = st.columns(3)
m1.metric("Published", f"{page.published:,}")
m2.metric("Featured", f"{page.featured:,}")
m3.metric("Matching the search" if filtered else "Pages", f"{page.total:,}" if filtered
          else f"{(page.published - 1) // data.PUBLISHED_PAGE_SIZE + 1:,}")

registry = data.registry()
can_order = data.may(ui.current_user(), data.Permission.PUBLISH_ORDER)  # admins only
can_review = data.may(ui.current_user(), data.Permission.REVIEW)
list_tab, preview_tab = st.tabs(["Order", "Preview as on the website"])
with list_tab:
    if not page.clips:
        st.info("**No published clip matches.** Check the spelling, or clear the filters.", icon=":material/search_off:")
        st.button("Clear filters", key="p_empty_clear", on_click=_clear_filters)
    elif can_order:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.number_input("Move #", min_value=1, max_value=page.published, step=1, value=None, key=Key.P_FROM,
                            placeholder="from", width=130)
            st.number_input("to #", min_value=1, max_value=page.published, step=1, value=None, key=Key.P_TO,
                            placeholder="place", width=130)
            st.button("Move", key=Key.P_GO, icon=":material/swap_vert:", on_click=_move_to,
                      help="Move the clip at one place on the website to another, across pages")
    if page.clips:
        st.caption(f"Showing {offset + 1:,}–{offset + len(page.clips):,} of {page.total:,}"
                   + (" matching clips; numbers are places on the website" if filtered else ""))
    for n, clip in zip(page.numbers, page.clips, strict=True):
        first_of_kind = n == 1 or n == page.featured + 1
        last_of_kind = n == page.featured or n == page.published
        headline = clip.display_headline
        # Flex rows rather than nested columns: half the layout blocks, and 20 rows draw quickly.
        with st.container(border=True, horizontal=True, vertical_alignment="center", wrap=False):
            st.markdown(f"### {n:,}", width=64)
            st.html(ui.clip_card_html(clip, registry, snippet=False))
            with st.container(horizontal=True, width=340, gap="small"):
                if can_order:
                    st.button("Up", key=f"{Key.P_UP}{clip.id}", icon=":material/arrow_upward:", width=88,
                              help=f"Move to #{n - 1:,}" if not first_of_kind else "Already first"
                              + (" among featured clips" if clip.featured else " below the featured clips"),
                              disabled=first_of_kind, on_click=_move, args=(clip.id, -1, headline))
                    st.button("Down", key=f"{Key.P_DOWN}{clip.id}", icon=":material/arrow_downward:", width=88,
                              help=f"Move to #{n + 1:,}" if not last_of_kind else "Already last"
                              + (" among featured clips" if clip.featured else ""),
                              disabled=last_of_kind, on_click=_move, args=(clip.id, 1, headline))
                    st.button("Unfeature" if clip.featured else "Feature", key=f"{Key.P_FEATURE}{clip.id}",
                              icon=":material/star:" if clip.featured else ":material/star_outline:", width=126,
                              help="Featured clips are shown first, full width",
                              on_click=_toggle_featured, args=(clip.id, not clip.featured, headline))
                if st.button("Edit", key=f"{Key.P_EDIT}{clip.id}", icon=":material/edit:", width=100,
                             help="Open in the clip editor"):
                    ui.open_editor(clip.id)
                    st.switch_page("pages/editor.py")
                if can_review:
                    st.button("Unpublish", key=f"{Key.P_UNPUBLISH}{clip.id}", icon=":material/unpublished:", width=210,
                              help="Take it off the website, back into the review queue",
                              on_click=_unpublish, args=(clip.id, headline))
    nav = st.columns([1, 1, 4], vertical_alignment="center")
    if nav[0].button("← Previous", key=Key.P_PREV, disabled=offset == 0):
        st.session_state[Key.P_OFFSET] = max(offset - data.PUBLISHED_PAGE_SIZE, 0)
        st.rerun()
    if nav[1].button("Next →", key=Key.P_NEXT, disabled=offset + len(page.clips) >= page.total):
        st.session_state[Key.P_OFFSET] = offset + data.PUBLISHED_PAGE_SIZE
        st.rerun()
    nav[2].caption(f"Page {offset // data.PUBLISHED_PAGE_SIZE + 1:,} of {max((page.total - 1) // data.PUBLISHED_PAGE_SIZE + 1, 1):,}")
with preview_tab:
    st.html("".join(data.preview_html(c) for c in data.published(12)))

"""Published: the "In The News" list exactly as the website will show it, with ordering."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.models import ClipEdit

STEP = 30


def _move(clip_id: str, offset: int, limit: int) -> None:
    data.move(clip_id, offset, ui.current_user(), limit=limit)


def _unpublish(clip_id: str, headline: str) -> None:
    data.unpublish(clip_id, ui.current_user())
    ui.flash(f"Unpublished “{ui.md_escape(headline[:60])}”; it is back in the review queue", ":material/undo:")


def _toggle_featured(clip_id: str, featured: bool) -> None:
    data.edit(clip_id, ClipEdit(featured=featured), ui.current_user())


st.title("Published")
st.caption("What the website's “In The News” section shows, top to bottom: featured clips first, then the "
           "order you set, then the newest. Use the arrows to reorder; changes reach the exports at once.")

limit = int(st.session_state.get(Key.P_LIMIT, STEP))
clips = data.published(limit)
if not clips:
    st.info("**Nothing published yet.** Approve clips in the review queue and they appear here.",
            icon=":material/public:")
    st.page_link("pages/review.py", label="Go to the review queue", icon=":material/inbox:")
    st.stop()

registry = data.registry()
can_order = data.may(ui.current_user(), data.Permission.PUBLISH_ORDER)  # admins only
can_review = data.may(ui.current_user(), data.Permission.REVIEW)
list_tab, preview_tab = st.tabs(["Order", "Preview as on the website"])
with list_tab:
    for n, clip in enumerate(clips, start=1):
        same = [c for c in clips if c.featured == clip.featured]
        gi = next(i for i, c in enumerate(same) if c.id == clip.id)
        with st.container(border=True):
            num, card, controls = st.columns([0.45, 7, 2.6], vertical_alignment="center")
            num.markdown(f"### {n}")
            card.html(ui.clip_card_html(clip, registry, snippet=False))
            up, down, star, edit, off = controls.columns(5)
            if can_order:
                up.button("", key=f"{Key.P_UP}{clip.id}", icon=":material/arrow_upward:", help="Move up",
                          disabled=gi == 0, on_click=_move, args=(clip.id, -1, limit))
                down.button("", key=f"{Key.P_DOWN}{clip.id}", icon=":material/arrow_downward:", help="Move down",
                            disabled=gi == len(same) - 1, on_click=_move, args=(clip.id, 1, limit))
                star.button("", key=f"{Key.P_FEATURE}{clip.id}",
                            icon=":material/star:" if clip.featured else ":material/star_outline:",
                            help="Unfeature" if clip.featured else "Feature (shown first, full width)",
                            on_click=_toggle_featured, args=(clip.id, not clip.featured))
            if edit.button("", key=f"{Key.P_EDIT}{clip.id}", icon=":material/edit:", help="Edit"):
                ui.open_editor(clip.id)
                st.switch_page("pages/editor.py")
            if can_review:
                off.button("", key=f"{Key.P_UNPUBLISH}{clip.id}", icon=":material/unpublished:",
                           help="Unpublish (back to the review queue)", on_click=_unpublish,
                           args=(clip.id, clip.display_headline))
    if len(clips) == limit:
        st.button("Show more", on_click=lambda: st.session_state.__setitem__(Key.P_LIMIT, limit + STEP))
with preview_tab:
    st.html("".join(data.preview_html(c) for c in clips[:12]))

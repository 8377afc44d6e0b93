"""Add a clip by URL: coverage the feeds missed, read from the article page's own metadata."""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.enrich import PageMeta, with_edits
from tracker.errors import NotAWebAddress, TrackerError

_FIELDS = (Key.A_TITLE, Key.A_OUTLET, Key.A_IMAGE, Key.A_DATE, Key.A_DESCRIPTION, Key.A_MEMBERS, Key.A_CAMPAIGNS)


def _fetch() -> None:
    url = (st.session_state.get(Key.A_URL) or "").strip()
    for key in _FIELDS:
        st.session_state.pop(key, None)
    st.session_state.pop(Key.A_META, None)
    st.session_state.pop(Key.A_ERROR, None)
    if not url:
        return
    try:
        meta = data.fetch_page(url)
    except NotAWebAddress as exc:  # mistyped: nothing was read, the sentence says what is wrong
        st.session_state[Key.A_ERROR] = str(exc)
        return
    except TrackerError as exc:
        st.session_state[Key.A_ERROR] = f"Could not read that page: {exc}"
        return
    found = data.page_mentions(meta)
    st.session_state[Key.A_META] = meta
    st.session_state[Key.A_TITLE] = meta.title
    st.session_state[Key.A_OUTLET] = meta.outlet
    st.session_state[Key.A_IMAGE] = meta.image_url or ""
    st.session_state[Key.A_DATE] = meta.published_at.date() if meta.published_at else None
    st.session_state[Key.A_DESCRIPTION] = meta.description
    st.session_state[Key.A_MEMBERS] = sorted({m.target_id for m in found if m.kind == "member"})
    st.session_state[Key.A_CAMPAIGNS] = sorted({m.target_id for m in found if m.kind == "campaign"})


@ui.refusals_as_notices
def _save(meta: PageMeta) -> None:
    get = st.session_state.get
    day = get(Key.A_DATE)
    published = meta.published_at
    if not day:  # cleared by staff (the page's date was wrong): dated when added
        published = None
    elif published is None or published.date() != day:
        published = datetime.combine(day, time(12, 0), tzinfo=UTC)
    edited = with_edits(
        meta, title=get(Key.A_TITLE, "").strip(), outlet=get(Key.A_OUTLET, "").strip(),
        image_url=get(Key.A_IMAGE, "").strip() or None, description=get(Key.A_DESCRIPTION, "").strip(),
        published_at=published,
    )
    clip, created = data.add_page(edited, get(Key.A_MEMBERS) or [], get(Key.A_CAMPAIGNS) or [], ui.current_user())
    ui.open_editor(clip.id)
    if created:
        ui.flash(f"Added “{ui.md_escape(clip.display_headline[:60])}”", ":material/add_circle:", page="editor")
    else:
        ui.flash("That article was already tracked; opening it", ":material/info:", page="editor")
    # "Publish right away" asks what every other way to publish asks (no member or campaign, no blurb):
    # the editor it opens shows the question; a clip that is ready is published now.
    if get(Key.A_APPROVE) and clip.status is not data.ClipStatus.APPROVED and not ui.ask_before_publishing([clip.id], "editor"):
        data.decide([clip.id], data.ClipStatus.APPROVED, ui.current_user())
    st.session_state[Key.A_GO_EDITOR] = True
    for key in (*_FIELDS, Key.A_META, Key.A_URL):
        st.session_state.pop(key, None)


if st.session_state.pop(Key.A_GO_EDITOR, False):
    st.switch_page("pages/editor.py")

ui.page_notices("add")
st.title("Add a clip by URL")
if not data.may(ui.current_user(), data.Permission.ADD):
    st.info("Adding clips needs the editor role; ask an admin.", icon=":material/lock:")
    st.stop()
st.caption("For coverage the feeds missed: paste the article's address. The page's own metadata gives the "
           "headline, outlet, image and date; members and campaigns it mentions are suggested.")
with st.form("add-url", border=False):
    url_col, go_col = st.columns([5, 1], vertical_alignment="bottom")
    url_col.text_input("Article URL", key=Key.A_URL, placeholder="https://www.example-paper.com/2024/…")
    go_col.form_submit_button("Fetch", key=Key.A_FETCH, type="primary", on_click=_fetch, width="stretch")

error = st.session_state.get(Key.A_ERROR)
if error:
    st.error(ui.md_escape(error), icon=":material/error:")  # the fetch error quotes the URL and the server
meta: PageMeta | None = st.session_state.get(Key.A_META)
if meta is None:
    st.stop()

members = {m.id: m.name for m in data.members()}
campaigns = {c.id: c.name for c in data.campaigns()}
left, right = st.columns([1.2, 1], gap="large")
with left:
    st.text_input("Headline", key=Key.A_TITLE)
    st.text_input("Outlet", key=Key.A_OUTLET)
    st.text_input("Image URL", key=Key.A_IMAGE)
    st.date_input("Published", key=Key.A_DATE, format="YYYY-MM-DD")
    st.text_area("Description", key=Key.A_DESCRIPTION, height=110)
    st.multiselect("Members", list(members), key=Key.A_MEMBERS, format_func=lambda i: members.get(i, i),
                   help="Suggested from the article's text; add or remove by hand.")
    st.multiselect("Campaigns", list(campaigns), key=Key.A_CAMPAIGNS, format_func=lambda i: campaigns.get(i, i))
    st.checkbox("Publish right away", key=Key.A_APPROVE)
    st.button("Add clip", key=Key.A_SAVE, type="primary", icon=":material/add:", on_click=_save, args=(meta,))
with right:
    st.subheader("From the page")
    if meta.image_url:
        st.image(meta.image_url, width="stretch")
    # Page-supplied text goes through st.text/st.code: never interpreted as Markdown.
    st.code(meta.url, language=None, wrap_lines=True)
    if meta.author:
        st.text(f"Author: {meta.author}")
    found = data.page_mentions(meta)
    if found:
        st.markdown("**Matched in the text:**")
        st.html("".join(ui.snippets_html([m], "", limit=1) for m in found[:6]))
    else:
        st.caption("No configured member or campaign found in the page's text; attach them by hand.")

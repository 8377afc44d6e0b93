"""Clip editor: the careful part — headline, blurb, image and credit as the website will show them."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.errors import NotFoundError, StaleEditError
from tracker.models import ClipEdit, ClipStatus, ClipView


def _pick_clip() -> str | None:
    """The clip to edit: from the queue's Edit button, the ?clip= link, or the picker."""
    wanted = st.session_state.get(Key.EDIT_CLIP) or st.query_params.get("clip")
    with st.expander("Choose another clip", expanded=not wanted, icon=":material/search:"):
        text = st.text_input("Find a clip", key=Key.E_SEARCH, placeholder="words from the headline")
        choices = data.recent_clips(text=text)
        if not choices:
            st.caption("No clips match.")
        picked = st.selectbox(
            "Recent clips", [c.id for c in choices], index=None, key=Key.E_PICK, placeholder="Pick a clip",
            format_func=lambda i: next((f"{c.display_headline[:90]} — {c.display_outlet}" for c in choices if c.id == i), i),
        )
        if picked and picked != wanted:
            st.session_state[Key.EDIT_CLIP] = picked
            wanted = picked
    return str(wanted) if wanted else None


def _field(key: Key, clip_id: str, value: str | None) -> str:
    full = f"{key}{clip_id}"
    st.session_state.setdefault(full, value or "")
    return full


def _current_edit(clip: ClipView) -> ClipEdit:
    get = st.session_state.get
    position = get(f"{Key.E_POSITION}{clip.id}")
    return ClipEdit(
        headline=get(f"{Key.E_HEADLINE}{clip.id}", "").strip(),
        blurb=get(f"{Key.E_BLURB}{clip.id}", "").strip(),
        image_override_url=get(f"{Key.E_IMAGE}{clip.id}", "").strip(),
        image_credit=get(f"{Key.E_CREDIT}{clip.id}", "").strip(),
        image_alt=get(f"{Key.E_ALT}{clip.id}", "").strip(),
        outlet_display=get(f"{Key.E_OUTLET}{clip.id}", "").strip(),
        featured=bool(get(f"{Key.E_FEATURED}{clip.id}", clip.featured)),
        position=int(position) if position else None,
        tags=tuple(t.strip() for t in get(f"{Key.E_TAGS}{clip.id}", "").split(",") if t.strip()),
    )


def _reset_fields(clip_id: str) -> None:
    for key in (Key.E_HEADLINE, Key.E_BLURB, Key.E_IMAGE, Key.E_CREDIT, Key.E_ALT, Key.E_OUTLET,
                Key.E_FEATURED, Key.E_POSITION, Key.E_TAGS, Key.E_VERSION):
        st.session_state.pop(f"{key}{clip_id}", None)
    st.session_state.pop(f"{Key.E_STALE}{clip_id}", None)


def _reload(clip_id: str) -> None:
    """After a refused save: the whole form afresh from the clip as stored, its member and campaign
    picks too. Picks kept from before would pass the new version's check and undo the colleague's
    correction that made the save stale."""
    _reset_fields(clip_id)
    for key in (Key.E_MEMBERS, Key.E_CAMPAIGNS):
        st.session_state.pop(f"{key}{clip_id}", None)


@ui.refusals_as_notices
def _save(clip: ClipView) -> None:
    edit = _current_edit(clip)
    try:
        # The version this form was opened at: a save over someone else's later change is refused.
        data.edit(clip.id, edit, ui.current_user(), version=st.session_state.get(f"{Key.E_VERSION}{clip.id}"),
                  clear_position=edit.position is None and clip.position is not None)
    except StaleEditError as exc:
        st.session_state[f"{Key.E_STALE}{clip.id}"] = str(exc)
        return
    _reset_fields(clip.id)  # show what was stored (trimmed, cleared fields back to the feed's value)
    ui.flash("Saved; the change is in the clip's history", ":material/save:")


@ui.refusals_as_notices
def _save_targets(clip: ClipView, names: dict[str, str]) -> None:
    get = st.session_state.get
    try:
        with ui.own_change([clip.id]) as moved:
            added, removed = data.set_targets(clip.id, list(get(f"{Key.E_MEMBERS}{clip.id}") or []),
                                              list(get(f"{Key.E_CAMPAIGNS}{clip.id}") or []), ui.current_user(),
                                              version=get(f"{Key.E_VERSION}{clip.id}"))
            moved[clip.id] += bool(added or removed)  # a correction moves the version once; none, not at all
    except StaleEditError as exc:  # a colleague changed the clip since the form opened: nothing is overwritten
        st.session_state[f"{Key.E_STALE}{clip.id}"] = str(exc)
        return
    for key in (Key.E_MEMBERS, Key.E_CAMPAIGNS):
        st.session_state.pop(f"{key}{clip.id}", None)  # show what was stored
    if not added and not removed:
        ui.flash("Matches unchanged", ":material/info:")
        return
    # Names come from feeds.yml, ids from the database: both shown literally, never as Markdown.
    changes = [f"+{ui.md_escape(names.get(t, t))}" for t in added]
    changes += [f"−{ui.md_escape(names.get(t, t))}" for t in removed]
    ui.flash("Matches saved: " + ", ".join(changes), ":material/sell:")


@ui.refusals_as_notices
def _set_status(clip: ClipView, status: ClipStatus, *, confirmed: bool = False) -> None:
    if status is ClipStatus.APPROVED and not confirmed and ui.ask_before_publishing([clip.id], "editor"):
        return  # confirm_box asks first
    with ui.own_change([clip.id]) as moved:
        _changed, record, left = data.decide([clip.id], status, ui.current_user())
        moved.update(i for i, _ in record.statuses)  # a clip whose status changes moves once
    if left:
        raise NotFoundError("this clip is gone (merged into another copy, or removed): pick it again")
    label = {"approved": "Published", "rejected": "Rejected", "new": "Back in the review queue"}[status.value]
    ui.flash(label, ":material/block:" if status is ClipStatus.REJECTED else ":material/check_circle:", undo=record)


ui.page_notices("editor")
st.title("Clip editor")
clip_id = _pick_clip()
if not clip_id:
    st.query_params.pop("clip", None)
    st.info("Pick a clip above, or press **Edit** on one in the review queue.", icon=":material/edit_note:")
    st.stop()
try:
    clip = data.clip(clip_id)
except NotFoundError:
    st.error(f"No clip with id {ui.md_escape(repr(clip_id))}; it may have been removed.")  # ?clip= is anyone's text
    st.session_state.pop(Key.EDIT_CLIP, None)
    st.query_params.pop("clip", None)
    st.stop()
st.query_params["clip"] = clip.id  # the address bar now links to this clip
ui.confirm_box(lambda _ids: _set_status(clip, ClipStatus.APPROVED, confirmed=True), "editor", about=[clip.id])

registry = data.registry()
user = ui.current_user()
can_edit, can_review = data.may(user, data.Permission.EDIT), data.may(user, data.Permission.REVIEW)
can_order = data.may(user, data.Permission.PUBLISH_ORDER)
if f"{Key.E_HEADLINE}{clip.id}" not in st.session_state:
    # The form is filled afresh from this clip (first visit, a return from another page, a reload):
    # its version is this clip's. Kept while the fields keep staff's typing.
    st.session_state[f"{Key.E_VERSION}{clip.id}"] = clip.version
    st.session_state.pop(f"{Key.E_STALE}{clip.id}", None)  # a refused save's warning was about the old form
stale = st.session_state.get(f"{Key.E_STALE}{clip.id}")
if stale:
    st.error(ui.md_escape(stale), icon=":material/sync_problem:")
    st.button("Reload the clip (your unsaved changes are dropped)", key=Key.E_RELOAD, on_click=_reload,
              args=(clip.id,), icon=":material/refresh:")
st.html(ui.clip_card_html(clip, registry, show_status=True, snippet=False))
# inside a code span Markdown escapes show literally, so only backticks come out of the id
st.caption(f"From the feed: “{ui.md_escape(clip.title)}” · {ui.md_escape(clip.outlet or 'no outlet')} · "
           f"id `{clip.id.replace('`', '')}`. "
           "Leave a field empty to use the feed's value; later ingests never overwrite your edits.")

form_col, preview_col = st.columns([1.1, 1], gap="large")
with form_col:
    st.text_input("Headline", key=_field(Key.E_HEADLINE, clip.id, clip.headline), placeholder=clip.title)
    st.text_area("Blurb (one paragraph naming the member)", key=_field(Key.E_BLURB, clip.id, clip.blurb),
                 placeholder=clip.summary[:300], height=130)
    st.text_input("Image URL", key=_field(Key.E_IMAGE, clip.id, clip.image_override_url),
                  placeholder=clip.image_url or "https://…")
    a, b = st.columns(2)
    a.text_input("Image credit", key=_field(Key.E_CREDIT, clip.id, clip.image_credit), placeholder="Photo: …")
    b.text_input("Image alt text", key=_field(Key.E_ALT, clip.id, clip.image_alt),
                 placeholder="What the picture shows")
    st.text_input("Outlet name as displayed", key=_field(Key.E_OUTLET, clip.id, clip.outlet_display),
                  placeholder=clip.outlet)
    c, d = st.columns(2)
    st.session_state.setdefault(f"{Key.E_FEATURED}{clip.id}", clip.featured)
    c.toggle("Featured (shown first, full width)", key=f"{Key.E_FEATURED}{clip.id}", disabled=not can_order)
    st.session_state.setdefault(f"{Key.E_POSITION}{clip.id}", clip.position)
    d.number_input("Order among published (1 = first; empty = by date)", min_value=1, step=1,
                   key=f"{Key.E_POSITION}{clip.id}", disabled=not can_order)
    st.text_input("Tags (comma-separated)", key=_field(Key.E_TAGS, clip.id, ", ".join(clip.tags)))
    s1, s2, s3 = st.columns(3)
    if can_edit:
        s1.button("Save changes", key=Key.E_SAVE, type="primary", icon=":material/save:", on_click=_save, args=(clip,))
    if not can_review:
        pass  # a viewer reads: no decisions
    elif clip.status is not ClipStatus.APPROVED:
        s2.button("Publish", key=Key.E_APPROVE, icon=":material/check:", on_click=_set_status,
                  args=(clip, ClipStatus.APPROVED))
    else:
        s2.button("Unpublish", key=Key.E_APPROVE, icon=":material/unpublished:", on_click=_set_status,
                  args=(clip, ClipStatus.NEW))
    if can_review and clip.status is not ClipStatus.REJECTED:
        s3.button("Reject", key=Key.E_REJECT, icon=":material/close:", on_click=_set_status,
                  args=(clip, ClipStatus.REJECTED))

    st.subheader("Members and campaigns")
    st.caption("Add one the matcher missed or remove a wrong one; later ingests and rematches keep your correction.")
    # Ids on the clip stay choosable even after they left feeds.yml, so saving never drops them silently.
    member_names = dict(registry.members) | {i: i for i in clip.member_ids if i not in registry.members}
    campaign_names = dict(registry.campaigns) | {i: i for i in clip.campaign_ids if i not in registry.campaigns}
    st.session_state.setdefault(f"{Key.E_MEMBERS}{clip.id}", list(clip.member_ids))
    st.session_state.setdefault(f"{Key.E_CAMPAIGNS}{clip.id}", list(clip.campaign_ids))
    st.multiselect("Members", list(member_names), key=f"{Key.E_MEMBERS}{clip.id}",
                   format_func=lambda i: member_names.get(i, i))
    st.multiselect("Campaigns", list(campaign_names), key=f"{Key.E_CAMPAIGNS}{clip.id}",
                   format_func=lambda i: campaign_names.get(i, i))
    names = {f"member:{i}": n for i, n in member_names.items()} | {f"campaign:{i}": n for i, n in campaign_names.items()}
    if can_edit:
        st.button("Save matches", key=Key.E_SAVE_TARGETS, icon=":material/sell:", on_click=_save_targets,
                  args=(clip, names))

with preview_col:
    st.subheader("Live preview")
    st.caption("Rendered by the same code as the website's HTML export.")
    st.html(data.preview_html(data.with_edit(clip, _current_edit(clip))))
    if clip.status is not ClipStatus.APPROVED:
        st.caption("Not on the website until published.")

st.subheader("History")
lines = data.history_lines(clip)
if lines:
    # feed text (old headlines) is quoted in these lines: shown literally, never as Markdown
    st.markdown("\n".join(f"- {ui.md_escape(line)}" for line in lines))
else:
    st.caption("No staff changes yet.")

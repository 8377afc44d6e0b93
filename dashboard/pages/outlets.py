"""Outlets: one per publisher's domain, with clip and story counts; staff set state, place and tier."""

from __future__ import annotations

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key

TIERS = ["", "local", "state", "national"]


def _changed(typed: str, shown: str) -> str | None:
    """What staff typed when it differs from what the form showed, else None (left as it is): saving
    the tier alone must not pin the name and state feeds.yml gave as staff's own."""
    return typed if typed != shown else None


@ui.refusals_as_notices
def _save(domain: str, shown: dict[str, str]) -> None:
    get = st.session_state.get
    edit = data.OutletEdit(
        name=_changed((get(f"{Key.O_NAME}{domain}") or "").strip(), shown["name"]) or None,
        state=_changed((get(f"{Key.O_STATE}{domain}") or "").strip(), shown["state"]),
        place=_changed((get(f"{Key.O_PLACE}{domain}") or "").strip(), shown["place"]),
        tier=_changed(get(f"{Key.O_TIER}{domain}") or "", shown["tier"]),
    )
    if edit == data.OutletEdit():
        ui.flash(f"Nothing changed for {ui.md_escape(domain)}", ":material/info:")
        return
    try:
        data.edit_outlet(domain, edit, ui.current_user())
    except data.TrackerError as exc:
        ui.flash(ui.md_escape(str(exc)), ":material/error:")
    else:
        ui.flash(f"Saved {domain}", ":material/check_circle:")


ui.page_notices("outlets")
st.title("Outlets")
st.caption("One outlet per publisher's domain (www., m. and AMP addresses are the same outlet). The state "
           "comes from your edit here, else feeds.yml's `outlets:`, else the state tag of a listed feed on "
           "that domain. A story's primary copy is the one from the member's local outlet.")
found = data.outlet_list()
if not found:
    st.info("**No outlets yet.** They appear as clips arrive (run `tracker ingest`).", icon=":material/newspaper:")
    st.stop()

needle = (st.text_input("Find an outlet", key=Key.O_SEARCH, placeholder="name or domain") or "").strip().lower()
shown = [o for o in found if not needle or needle in o.domain or needle in o.name.lower()]
st.dataframe(
    pd.DataFrame([{"outlet": o.name, "domain": o.domain, "state": o.state or "?", "from": o.state_source,
                   "place": o.place, "tier": o.tier, "clips": o.clips, "stories": o.stories} for o in shown]),
    hide_index=True, width="stretch",
)
if not data.may(ui.current_user(), data.Permission.EDIT):
    st.caption("Editors and admins can correct an outlet's name, state, place and tier.")
    st.stop()
st.subheader("Edit an outlet")
for o in shown[:25]:
    with st.expander(f"{ui.md_escape(o.name)} · {ui.md_escape(o.domain)} · {o.clips} clips"):  # labels are Markdown
        form = {"name": o.name, "state": o.state if o.state_source in ("staff", "config") else "", "place": o.place,
                "tier": o.tier if o.tier in TIERS else ""}
        cols = st.columns([3, 1, 2, 2])
        cols[0].text_input("Display name", value=form["name"], key=f"{Key.O_NAME}{o.domain}")
        cols[1].text_input("State", value=form["state"], key=f"{Key.O_STATE}{o.domain}", placeholder=o.state or "PA",
                           max_chars=2)
        cols[2].text_input("Place", value=form["place"], key=f"{Key.O_PLACE}{o.domain}", placeholder="Philadelphia")
        cols[3].selectbox("Tier", TIERS, index=TIERS.index(form["tier"]), key=f"{Key.O_TIER}{o.domain}",
                          format_func=lambda t: t or "unknown")
        st.button("Save", key=f"{Key.O_SAVE}{o.domain}", on_click=_save, args=(o.domain, form), type="primary")
if len(shown) > 25:
    st.caption(f"{len(shown) - 25} more: narrow the list with the search box above.")

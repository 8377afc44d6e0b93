"""Insights: who is getting coverage, on what, and where — charts rather than tables."""

from __future__ import annotations

import altair as alt
import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.models import ClipStatus

ui.page_notices("insights")
st.title("Insights")
st.session_state.setdefault(Key.I_WINDOW, 90)
days = st.segmented_control("Period", [30, 90, 365], key=Key.I_WINDOW, format_func=lambda d: f"Last {d} days") or 90

frame = data.coverage(days)
members = {m.id: m for m in data.members()}
published = data.clip_count_since(days, ClipStatus.APPROVED)
m_frame = frame[frame["kind"] == "member"]
c_frame = frame[frame["kind"] == "campaign"]

a, b, c, d = st.columns(4)
# Stories, not URLs: a wire story in twenty papers is one story reaching twenty outlets.
a.metric("Stories (not rejected)", f"{frame['story'].nunique():,}",
         help=f"{frame['clip_id'].nunique():,} clips, syndicated copies counted apart")  # as the stories are
b.metric("Published", f"{published:,}")
# Of the members feeds.yml lists now: clips may name members taken out of it since.
c.metric("Members covered", f"{len(set(m_frame['target_id']) & set(members)):,} of {len(members):,}")
d.metric("Outlets reached", f"{frame.loc[frame['outlet'] != '', 'outlet'].nunique():,}")

if frame.empty:
    st.info(f"**No coverage in the last {days} days yet.** Charts fill in as clips arrive.", icon=":material/insights:")
    st.stop()

st.subheader("Stories per week by campaign")
weekly = c_frame.assign(week=pd.to_datetime(c_frame["at"], utc=True).dt.tz_localize(None).dt.to_period("W").dt.start_time)
weekly = weekly.groupby(["week", "name"], as_index=False)["story"].nunique().rename(columns={"story": "clips"})
if weekly.empty:
    st.caption("No campaign mentions in this period.")
else:
    st.altair_chart(
        alt.Chart(weekly).mark_bar().encode(
            # ordinal weeks: one full-width band per week rather than hairline bars on a time axis
            x=alt.X("yearmonthdate(week):O", title="Week of", axis=alt.Axis(format="%b %d", labelAngle=0, labelOverlap="greedy")),
            y=alt.Y("clips:Q", title="Stories"),
            # no label limit: campaign names are the point of the legend
            color=alt.Color("name:N", title="Campaign", legend=alt.Legend(orient="bottom", columns=2, labelLimit=0,
                                                                          symbolLimit=0)),
            tooltip=[alt.Tooltip("week:T", title="Week of"), alt.Tooltip("name:N", title="Campaign"), "clips:Q"],
        ).properties(height=320),
        width="stretch",
    )

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Top outlets")
    # By outlet identity (one per domain), counting the stories each ran.
    outlets = frame.groupby("outlet", as_index=False)["story"].nunique().rename(columns={"story": "clips"})
    outlets = outlets[outlets["outlet"] != ""].nlargest(12, "clips")
    st.altair_chart(
        alt.Chart(outlets).mark_bar(color="#0f766e").encode(
            x=alt.X("clips:Q", title="Stories"), tooltip=["outlet", "clips"],
            y=alt.Y("outlet:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
        ).properties(height=360),
        width="stretch",
    )
with right:
    st.subheader("Members with the most coverage")
    top = m_frame.groupby("name", as_index=False)["story"].nunique().rename(columns={"story": "clips"}).nlargest(12, "clips")
    st.altair_chart(
        alt.Chart(top).mark_bar(color="#6d28d9").encode(
            x=alt.X("clips:Q", title="Stories"), tooltip=["name", "clips"],
            y=alt.Y("name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
        ).properties(height=360),
        width="stretch",
    )

st.subheader(f"Members with no coverage in the last {days} days")
covered = set(m_frame["target_id"])
missing = [m for m in members.values() if m.id not in covered]
if not members:
    st.info("No members are listed in feeds.yml yet: add them to see who is not covered.", icon=":material/group:")
elif not missing:
    st.success("Every member has had coverage in this period.", icon=":material/celebration:")
else:
    st.caption("Worth a pitch: nobody has written about these members lately.")
    # a static table: every row whole, long jurisdictions wrapped rather than cut off
    st.table(
        pd.DataFrame([{"member": m.name, "title": m.title or "—", "jurisdiction": m.jurisdiction or "—",
                       "state": m.state or "—"} for m in sorted(missing, key=lambda m: (m.state, m.name))]),
        hide_index=True,
    )

"""Reports: the coverage report of a period (what `tracker report` writes), built and downloaded here."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.errors import TrackerError

ui.page_notices("reports")
st.title("Coverage report")
st.caption("Totals, stories per week and the list of stories of a period, for a board or a funder. "
           "Syndicated copies of one article count once.")

today = data.clock().date()
st.session_state.setdefault(Key.REP_DATES, (today - timedelta(days=90), today))
dates = st.date_input("Period", key=Key.REP_DATES, max_value=today)
members = {m.id: m.name for m in data.members()}
campaigns = {c.id: c.name for c in data.campaigns()}
a, b, c = st.columns(3)
campaign = a.selectbox("Campaign", [None, *campaigns], key=Key.REP_CAMPAIGN,
                       format_func=lambda i: "All campaigns" if i is None else campaigns[i])
member = b.selectbox("Member", [None, *members], key=Key.REP_MEMBER,
                     format_func=lambda i: "All members" if i is None else members[i])
chapter = c.selectbox("Chapter or state", [None, *data.chapters()], key=Key.REP_CHAPTER,
                      format_func=lambda i: "Everywhere" if i is None else i)
approved_only = st.toggle("Approved stories only", key=Key.REP_APPROVED)
fmt = st.segmented_control("Format", ["pdf", "html", "csv"], key=Key.REP_FORMAT, default="pdf",
                           format_func=str.upper) or "pdf"

if not isinstance(dates, tuple) or len(dates) != 2:
    st.info("Pick the first and the last day of the period.", icon=":material/date_range:")
    st.stop()
start, end = dates
# What the file is built from: offered for download only while the page still asks for exactly this.
wanted = (start, end, campaign, member, chapter, bool(approved_only), fmt)

if st.button("Build report", key=Key.REP_BUILD, type="primary", icon=":material/summarize:"):
    try:
        report = data.coverage_report(start, end, campaign=campaign, member=member, chapter=chapter,
                                      approved_only=approved_only)
        with st.spinner("Building the report…"):
            body = data.report_file(report, fmt)
    except TrackerError as exc:
        st.error(ui.md_escape(str(exc)), icon=":material/error:")
    else:
        mime = {"pdf": "application/pdf", "html": "text/html", "csv": "text/csv"}[fmt]
        st.session_state[Key.REP_FILE] = (wanted, f"coverage-{start}-to-{end}.{fmt}", mime, body)
        x, y, z = st.columns(3)
        x.metric("Stories", f"{len(report.stories):,}")
        y.metric("Outlets", f"{len(report.outlets):,}")
        z.metric("Members covered", f"{len(report.members_covered):,}")

built = st.session_state.get(Key.REP_FILE)
if built and built[0] == wanted:
    _, name, mime, body = built
    st.download_button(f"Download {name}", body, file_name=name, mime=mime, key=Key.REP_DOWNLOAD,
                       icon=":material/download:")
elif built:
    st.info("Build the report for this selection: the last one was built for other choices.",
            icon=":material/summarize:")

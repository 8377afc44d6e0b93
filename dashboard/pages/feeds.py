"""Feeds: which sources are healthy, failing, backing off or quiet (the data behind `tracker status`)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard import data, ui


def _local(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=None) if value else None  # shown as UTC; the column says so


st.title("Feeds")
report = data.health()
if not report.feeds:
    st.info("**No feeds yet.** List feeds in feeds.yml and run `tracker ingest`; their health shows here.",
            icon=":material/rss_feed:")
    st.stop()

attention = report.needs_attention
a, b, c, d = st.columns(4)
a.metric("Feeds", len(report.feeds))
b.metric("Need attention", len(attention))
c.metric("Failing", sum(s.state == "failing" for s in report.feeds))
d.metric("Quiet", sum(bool(s.problem and s.problem.startswith("quiet")) for s in report.feeds))

if attention:
    st.subheader("Needs attention")
    for s in attention:
        st.warning(f"**{ui.md_escape(s.feed.name)}** — {ui.md_escape(s.problem or '')}", icon=":material/warning:")

st.subheader("All feeds")
rows = [
    {
        "feed": s.feed.name, "state": s.state, "problem": s.problem or "",
        "last success (UTC)": _local(s.feed.last_success_at), "next try (UTC)": _local(s.feed.next_attempt_at),
        "failures in a row": s.feed.consecutive_failures, "last status": s.feed.last_status,
        "new items (UTC)": _local(s.feed.last_new_item_at), "tags": ", ".join(s.feed.tags), "kind": s.feed.kind,
        "url": s.feed.url,
    }
    for s in sorted(report.feeds, key=lambda s: (s.problem is None, s.feed.name.lower()))
]
st.dataframe(
    pd.DataFrame(rows), hide_index=True, width="stretch",
    column_config={
        "url": st.column_config.LinkColumn("url"),
        "problem": st.column_config.TextColumn("problem", width="large"),
        "last success (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "next try (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "new items (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    },
)

st.subheader("Queues")
st.caption("Search links wait for the resolver (shown as “link not resolved yet”); articles wait to be read, "
           "a few per cycle (settings.enrich_per_cycle). README, “Search coverage”.")
links, articles = report.links, report.articles
st.dataframe(
    pd.DataFrame([
        {"queue": "search links", "waiting": links.waiting, "done": links.done, "failed": links.failed, "dropped": None},
        {"queue": "articles", "waiting": articles.waiting, "done": articles.done, "failed": articles.failed,
         "dropped": articles.dropped},
    ]),
    hide_index=True, width="stretch",
)
if report.backing_off_until is not None:
    st.warning(f"Google News asked us to slow down: no lookups until {report.backing_off_until:%Y-%m-%d %H:%M} UTC.",
               icon=":material/hourglass:")
failures = [("search link", reason, n) for reason, n in links.failures]
failures += [("article", reason, n) for reason, n in articles.failures]
if failures:
    st.dataframe(pd.DataFrame([{"what": what, "failed because": reason, "items": n} for what, reason, n in failures]),
                 hide_index=True, width="stretch",
                 column_config={"failed because": st.column_config.TextColumn(width="large")})

st.subheader("Recent ingest runs")
if report.runs:
    st.dataframe(
        pd.DataFrame([
            {"run": r.id, "started (UTC)": _local(r.started_at), "outcome": report.run_state(r), "feeds ok": r.feeds_ok,
             "failed": r.feeds_failed, "skipped": r.feeds_skipped, "items": r.items_seen, "new clips": r.clips_new,
             "note": report.run_note(r) or ""}
            for r in report.runs
        ]),
        hide_index=True, width="stretch",
        column_config={"started (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
else:
    st.caption("No ingest runs recorded yet.")

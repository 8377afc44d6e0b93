"""Feeds: which sources are healthy, failing, backing off or quiet (the data behind `tracker status`)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard import data, ui

DASH = "—"  # an empty cell says "nothing", never "None"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else DASH  # UTC; the column says so


ui.page_notices("feeds")
st.title("Feeds")
report = data.health()
if not report.feeds:
    listed = len(data.safe_config().all_feeds())
    if listed:  # listed, but no cycle has run since: a scheduler not started, not a missing feeds.yml
        st.info(f"**{listed:,} feed{'s are' if listed != 1 else ' is'} listed in feeds.yml but not polled yet.** "
                "Run `tracker ingest`, or start the scheduler (`tracker schedule`); their health shows here.",
                icon=":material/rss_feed:")
    else:
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
        st.warning(f"**{ui.md_escape(s.feed.name)}** — {ui.md_escape(data.feed_problem(s) or '')}",
                   icon=":material/warning:")

st.subheader("All feeds")
st.caption("Times are UTC. A feed that fails is tried again later, less often each time (never given up).")
rows = [
    {
        "feed": s.feed.name, "state": s.state, "problem": data.feed_problem(s) or DASH,
        "last success": _when(s.feed.last_success_at), "next try": _when(s.feed.next_attempt_at),
        "failures": s.feed.consecutive_failures or DASH,
        "HTTP": str(s.feed.last_status) if s.feed.last_status else DASH,
        "newest item": _when(s.feed.last_new_item_at), "tags": ", ".join(s.feed.tags) or DASH, "url": s.feed.url,
    }
    for s in sorted(report.feeds, key=lambda s: (s.problem is None, s.feed.name.lower()))
]
# Widths chosen so every column fits a laptop screen at once; the problem's full text is above.
st.dataframe(
    pd.DataFrame(rows).astype({"failures": str}), hide_index=True, width="stretch",
    column_config={
        "feed": st.column_config.TextColumn("feed", width="medium"),
        "state": st.column_config.TextColumn("state", width="small"),
        "problem": st.column_config.TextColumn("problem", width="large"),
        "last success": st.column_config.TextColumn("last success", width="small"),
        "next try": st.column_config.TextColumn("next try", width="small"),
        "failures": st.column_config.TextColumn("failures", width="small"),
        "HTTP": st.column_config.TextColumn("HTTP", width="small"),
        "newest item": st.column_config.TextColumn("newest item", width="small"),
        "tags": st.column_config.TextColumn("tags", width="small"),
        "url": st.column_config.LinkColumn("url", width="small", display_text="open feed"),
    },
)

st.subheader("Queues")
st.caption("Search links wait for the resolver (shown as “link not resolved yet”); articles wait to be read, "
           "a few per cycle (settings.enrich_per_cycle). README, “Search coverage”.")
links, articles = report.links, report.articles
st.dataframe(
    pd.DataFrame([
        {"queue": "search links", "waiting": links.waiting, "to try again": None, "done": links.done,
         "failed": links.failed, "dropped": None},
        # "to try again": waiting after a timeout, 429 or 5xx (read again in a later cycle, up to 3 reads)
        {"queue": "articles", "waiting": articles.waiting, "to try again": articles.retrying, "done": articles.done,
         "failed": articles.failed, "dropped": articles.dropped},
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
            {"run": r.id, "started (UTC)": _when(r.started_at), "outcome": report.run_state(r), "feeds ok": r.feeds_ok,
             "failed": r.feeds_failed, "skipped": r.feeds_skipped, "items": r.items_seen, "new clips": r.clips_new,
             "note": report.run_note(r) or DASH}
            for r in report.runs
        ]),
        hide_index=True, width="stretch",
        column_config={"note": st.column_config.TextColumn("note", width="large")},
    )
else:
    st.caption("No ingest runs recorded yet.")

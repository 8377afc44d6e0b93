"""Notifications: the digests and webhooks in feeds.yml, what they delivered and what failed, and a test send."""

from __future__ import annotations

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.errors import TrackerError

ui.page_notices("notifications")
st.title("Notifications")
if not data.can_manage_notifications():
    st.error("Only admins manage notifications.", icon=":material/lock:")
    st.stop()

notify = data.notify_settings()
st.caption("Digests and webhooks are set in the `notify:` section of feeds.yml; `tracker schedule` sends them. "
           "Mail credentials come from the environment or secrets.toml and are never shown here.")

st.subheader("E-mail digests")
if not notify.digests:
    st.info("No digests configured (README, “Telling the team”).", icon=":material/mail:")
else:
    st.dataframe(pd.DataFrame([
        {"digest": d.name, "recipients": ", ".join(d.recipients), "schedule": f"{d.schedule} ({d.timezone})",
         "status": " or ".join(s.value for s in d.filter.statuses),
         "about": ", ".join([*d.filter.campaigns, *d.filter.members, *d.filter.chapters]) or "everything"}
        for d in notify.digests
    ]), hide_index=True, width="stretch")
    left, right = st.columns([1, 2])
    name = left.selectbox("Digest", [d.name for d in notify.digests], key=Key.N_DIGEST)
    address = right.text_input("Send it now to", key=Key.N_ADDRESS, placeholder="you@example.org")
    if st.button("Send test digest", key=Key.N_SEND_DIGEST, icon=":material/send:", disabled=not address.strip()):
        try:
            st.success(ui.md_escape(data.send_test_digest(name, address.strip(), ui.current_user())), icon=":material/check_circle:")
        except TrackerError as exc:
            st.error(ui.md_escape(str(exc)), icon=":material/error:")

st.subheader("Webhooks")
if not notify.webhooks:
    st.info("No webhooks configured.", icon=":material/webhook:")
else:
    st.dataframe(pd.DataFrame([  # the URL is a secret of its own: never shown
        {"webhook": w.name, "kind": w.kind, "events": ", ".join(w.events),
         "spike": f"×{w.spike_ratio:g}, at least {w.spike_min_stories}", "per hour": w.max_per_hour}
        for w in notify.webhooks
    ]), hide_index=True, width="stretch")
    hook = st.selectbox("Webhook", [w.name for w in notify.webhooks], key=Key.N_WEBHOOK)
    if st.button("Post a test message", key=Key.N_SEND_WEBHOOK, icon=":material/send:"):
        try:
            st.success(ui.md_escape(data.send_test_webhook(hook, ui.current_user())), icon=":material/check_circle:")
        except TrackerError as exc:
            st.error(ui.md_escape(str(exc)), icon=":material/error:")


def _table(rows: list[data.DeliveryView]) -> pd.DataFrame:
    return pd.DataFrame([
        {"when (UTC)": f"{d.last_attempt_at:%Y-%m-%d %H:%M}", "channel": d.channel, "name": d.name,
         "to": d.recipient, "item": d.item_key, "status": d.status, "attempts": d.attempts, "error": d.error or ""}
        for d in rows
    ])


failures, owed = data.owed_failures()
st.subheader(f"Failures waiting for a retry ({owed:,})")
if failures:
    st.dataframe(_table(failures), hide_index=True, width="stretch")
    if owed > len(failures):
        st.caption(f"The newest {len(failures):,} shown.")
else:
    st.caption("None: everything due has been delivered.")
st.subheader("Last deliveries")
recent = data.recent_deliveries()
if recent:
    st.dataframe(_table(recent), hide_index=True, width="stretch")
else:
    st.caption("Nothing delivered yet.")

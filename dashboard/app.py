"""Entry point: `streamlit run dashboard/app.py` (add `-- --demo` for the sample-data demo).

Signs the user in, then hands over to the page they picked. Pages live in
dashboard/pages/ and get all their data from dashboard.data.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts dashboard/ on sys.path, not the project root that holds the package.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from dashboard import auth, data, ui  # noqa: E402
from dashboard.keys import Key  # noqa: E402
from tracker.errors import AuthError  # noqa: E402

st.set_page_config(page_title="Clip desk · media-tracker", page_icon="📰", layout="wide")

PAGES = {
    "Clips": [
        st.Page("pages/review.py", title="Review queue", icon=":material/inbox:", default=True),
        st.Page("pages/editor.py", title="Clip editor", icon=":material/edit_note:"),
        st.Page("pages/published.py", title="Published", icon=":material/public:"),
        st.Page("pages/add.py", title="Add a clip by URL", icon=":material/add_link:"),
    ],
    "Coverage": [
        st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
        st.Page("pages/reports.py", title="Reports", icon=":material/summarize:"),
    ],
    "Setup": [
        st.Page("pages/feeds.py", title="Feeds", icon=":material/rss_feed:"),
        st.Page("pages/outlets.py", title="Outlets", icon=":material/newspaper:"),
        st.Page("pages/registry.py", title="Members & campaigns", icon=":material/groups:"),
        st.Page("pages/notifications.py", title="Notifications", icon=":material/notifications:"),
    ],
}

try:
    user = auth.signed_in_user()
    role = data.role_of(user) if user is not None else None
except AuthError as exc:  # the users file cannot be read: one line saying why, on every page
    st.title("Clip desk")
    st.error(ui.md_escape(str(exc)), icon=":material/error:")
    st.stop()
if user is None:
    st.session_state.pop(Key.APP_RAN, None)
    ui.remember_link()
    st.navigation([st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:")], position="hidden").run()
    st.stop()

if role is None:
    auth.no_access_page(user)
    st.stop()
ui.inject_css()
page = st.navigation(PAGES)
st.session_state[Key.APP_RAN] = True
ui.go_to_remembered_link()
ui.follow_clip_link(on_editor=page.url_path == "editor")
with st.sidebar:
    st.caption(f"Signed in as **{ui.md_escape(user)}** ({role})" + (" · demo mode: nothing reaches the website" if data.demo_mode() else ""))
    if not data.demo_mode():
        st.button("Sign out", key=Key.LOGOUT, on_click=auth.sign_out, icon=":material/logout:")
for problem in (data.config_problem(), data.no_admin_problem()):
    if problem:
        st.warning(problem, icon=":material/warning:")
export_problem = data.export_problem()
if export_problem:
    st.error(ui.md_escape(export_problem), icon=":material/error:")
page.run()

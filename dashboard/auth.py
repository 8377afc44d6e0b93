"""Who is using the dashboard: Streamlit's OIDC sign-in when configured, else the local users file.

Nothing but the sign-in page is registered until someone is signed in, so no page can
show or change data anonymously; `--demo` (or TRACKER_DEMO=1) signs in as "demo", on the demo's
own database only (tracker.demo_mode).
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.demo import DEMO_USER
from tracker.errors import AuthError
from tracker.roles import oidc_identity

_FAILED_SIGN_IN_DELAY_S = 1.0  # slows password guessing through the form


oidc_configured = data.oidc_configured


def signed_in_user() -> str | None:
    if data.demo_mode():
        st.session_state[Key.USER] = DEMO_USER
        return DEMO_USER
    if oidc_configured():
        if not st.user.is_logged_in:
            return None
        who = oidc_identity(st.user.to_dict())
        st.session_state[Key.USER] = who
        return who or None
    user = st.session_state.get(Key.USER)
    if not user:
        return None
    if data.signed_in_before_a_reset(str(user)):
        # The password was changed, or the account removed (and perhaps made again), since this
        # sign-in: a leaked password's open tab must not outlive the reset.
        sign_out()
        return None
    return str(user)


def no_access_page(user: str) -> None:
    """Signed in through OIDC, but feeds.yml `roles:` lets no one in by default and does not list them."""
    st.title("Clip desk")
    problem = data.config_problem()
    if problem:  # roles come from feeds.yml: while it cannot be read, only the roles it last gave hold
        st.error(f"The clip desk is closed to sign-ins by address until feeds.yml can be read again: "
                 f"{ui.md_escape(problem)}", icon=":material/lock:")
    else:
        st.error(f"{ui.md_escape(user)} has no access to the clip desk. Ask an admin to add your address under "
                 "`roles:` in feeds.yml.", icon=":material/lock:")
    st.button("Sign out", key=Key.LOGOUT, on_click=sign_out, icon=":material/logout:")


def sign_out() -> None:
    st.session_state.pop(Key.USER, None)
    st.session_state.pop(Key.USER_STAMP, None)
    if oidc_configured() and not data.demo_mode():
        st.logout()


def _local_sign_in() -> None:
    username = st.session_state.get(Key.LOGIN_USERNAME, "").strip()
    password = st.session_state.get(Key.LOGIN_PASSWORD, "")
    try:
        ok = bool(username and password) and data.check_password(username, password)
    except AuthError as exc:
        st.session_state[Key.LOGIN_ERROR] = str(exc)
        return
    if ok:
        st.session_state[Key.USER] = username
        st.session_state[Key.USER_STAMP] = data.account_stamp(username)
        st.session_state.pop(Key.LOGIN_ERROR, None)
    else:
        time.sleep(_FAILED_SIGN_IN_DELAY_S)
        st.session_state[Key.LOGIN_ERROR] = "Wrong username or password."


def sign_in_page() -> None:
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.title("Clip desk")
        st.caption("Press coverage of our members and campaigns, reviewed before it reaches the website.")
        refused = data.demo_refusal()
        if refused:
            st.warning(ui.md_escape(refused), icon=":material/lock:")
        if oidc_configured():
            st.write("Sign in with your organisation account to review clips.")
            st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login, key=Key.LOGIN_SUBMIT)
            return
        with st.form("sign-in", border=True):
            st.text_input("Username", key=Key.LOGIN_USERNAME, autocomplete="username")
            st.text_input("Password", type="password", key=Key.LOGIN_PASSWORD, autocomplete="current-password")
            st.form_submit_button("Sign in", type="primary", on_click=_local_sign_in, key=Key.LOGIN_SUBMIT,
                                  width="stretch")
        error = st.session_state.get(Key.LOGIN_ERROR)
        if error:
            st.error(ui.md_escape(error))  # may quote the users file: never live Markdown
        try:
            no_users = not data.has_local_users()
        except AuthError as exc:
            st.error(str(exc))
            return
        if no_users:
            st.info(
                "No accounts yet. Create one on the server with `tracker users add YOUR-NAME --role admin`, "
                "or try the dashboard on sample data with `tracker dashboard --demo`."
            )

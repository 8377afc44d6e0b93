"""The dashboard's part of issue #15 through AppTest: forgiving search in the queue, buttons by role
(absent when the role may not use them, refused by the data layer anyway), a stale edit refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.keys import Key
from tests.test_dashboard import APP, metric, queue_ids
from tracker.errors import PermissionDenied
from tracker.models import Actor, ClipEdit, ClipFilter, ClipStatus, Role
from tracker.review import edit_clip, set_targets
from tracker.store import Store
from tracker.users import UsersFile


def signed_in(user: str, page: str | None = None, *, edit_clip_id: str | None = None) -> AppTest:
    """The app as a local user (not demo mode), already signed in (as the sign-in form leaves it)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[Key.USER] = user
    at.session_state[Key.USER_STAMP] = data.account_stamp(user)
    if edit_clip_id:
        at.session_state[Key.EDIT_CLIP] = edit_clip_id
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def staff(env: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.delenv("TRACKER_DEMO")
    users = UsersFile()
    for name, role in (("vera", Role.VIEWER), ("ed", Role.EDITOR), ("ada", Role.ADMIN)):
        users.add(name, "correct horse battery", role=role)
    return env


def button_keys(at: AppTest) -> set[str]:
    return {str(b.key) for b in at.button if b.key}


def test_queue_search_forgives_apostrophes_and_dashes(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[-1]
    env.edit_clip(clip.id, ClipEdit(headline="Councilmember O’Rourke and Okafor-Reyes on the budget"), "maria",
                  clip.first_seen_at)
    at = signed_in("demo")
    at.text_input(key=Key.F_TEXT).input("o'rourke okafor reyes").run()
    assert queue_ids(at) == [clip.id] and metric(at, "Matching these filters") == 1


def test_a_viewer_sees_no_decision_buttons_and_the_data_layer_refuses(staff: Store) -> None:
    at = signed_in("vera")
    assert metric(at, "Waiting for review") > 0
    keys = button_keys(at)
    assert not any(k.startswith((Key.Q_APPROVE, Key.Q_REJECT)) for k in keys)
    assert Key.Q_BULK_APPROVE not in keys and not queue_ids(at)  # no selection either
    assert any(k.startswith(Key.Q_EDIT) for k in keys)  # reading a clip is still open to them
    assert any("(viewer)" in c.value for c in at.sidebar.caption)

    clip = staff.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    editor = signed_in("vera", "pages/editor.py", edit_clip_id=clip.id)
    assert not {Key.E_SAVE, Key.E_APPROVE, Key.E_REJECT, Key.E_SAVE_TARGETS} & button_keys(editor)
    published = signed_in("vera", "pages/published.py")
    assert not any(k.startswith((Key.P_UP, Key.P_UNPUBLISH, Key.P_FEATURE)) for k in button_keys(published))
    added = signed_in("vera", "pages/add.py")
    assert any("needs the editor role" in i.value for i in added.info)

    with pytest.raises(PermissionDenied, match="vera is a viewer"):
        data.approve([clip.id], "vera")
    with pytest.raises(PermissionDenied):
        data.edit(clip.id, ClipEdit(headline="Mine"), "vera")
    after = staff.get_clip(clip.id)
    assert after.status is ClipStatus.NEW and after.headline is None


def test_an_editor_reviews_but_only_an_admin_orders_the_published_list(staff: Store) -> None:
    at = signed_in("ed")
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    (entry,) = [h for h in staff.history(first) if h.action == "approved"]
    assert (entry.user, entry.role) == ("ed", "editor")

    published = signed_in("ed", "pages/published.py")
    keys = button_keys(published)
    assert not any(k.startswith((Key.P_UP, Key.P_DOWN, Key.P_FEATURE)) for k in keys)
    assert any(k.startswith(Key.P_UNPUBLISH) for k in keys)
    editor = signed_in("ed", "pages/editor.py", edit_clip_id=first)
    assert editor.toggle(key=f"{Key.E_FEATURED}{first}").disabled
    assert Key.E_SAVE in button_keys(editor)

    admin = signed_in("ada", "pages/published.py")
    assert any(k.startswith(Key.P_UP) for k in button_keys(admin))


def test_a_stale_edit_is_refused_and_the_clip_can_be_reloaded(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    # Someone else saves while this editor is open.
    edit_clip(env, None, clip.id, ClipEdit(headline="Sam's headline"), Actor("sam", Role.EDITOR))
    at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").input("Demo's headline")
    at.button(key=Key.E_SAVE).click().run()
    assert not at.exception
    assert any("this clip changed since you opened it (sam" in e.value.replace("\\", "") for e in at.error), \
        [e.value for e in at.error]
    assert env.get_clip(clip.id).headline == "Sam's headline"  # not overwritten
    at.button(key=Key.E_RELOAD).click().run()
    assert at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").value == "Sam's headline"
    at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").input("Both agree now").run()
    at.button(key=Key.E_SAVE).click().run()
    assert env.get_clip(clip.id).headline == "Both agree now" and not at.error


def test_own_decisions_do_not_make_the_open_form_stale(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    at.button(key=Key.E_APPROVE).click().run()  # publish, then go on editing the same form
    at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").input("Still mine to edit").run()
    at.button(key=Key.E_SAVE).click().run()
    assert not at.error, [e.value for e in at.error]
    stored = env.get_clip(clip.id)
    assert (stored.status, stored.headline) == (ClipStatus.APPROVED, "Still mine to edit")


@pytest.mark.parametrize("button", [Key.E_REJECT, Key.E_SAVE_TARGETS])
def test_an_own_decision_does_not_hide_a_colleagues_change(env: Store, button: str) -> None:
    # Sam saves a headline while this form is open; then this user rejects (or saves matches): their
    # next save must still be refused, not overwrite Sam's headline with the old one in the form.
    clip = next(c for c in env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=25).clips if c.member_ids)
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    edit_clip(env, None, clip.id, ClipEdit(headline="Sam's headline"), Actor("sam", Role.EDITOR))
    at.button(key=button).click().run()
    at.text_area(key=f"{Key.E_BLURB}{clip.id}").input("My blurb").run()
    at.button(key=Key.E_SAVE).click().run()
    assert env.get_clip(clip.id).headline == "Sam's headline"
    assert any("changed since you opened it" in e.value.replace("\\", "") for e in at.error)


@pytest.mark.parametrize("button", [Key.E_REJECT, Key.E_SAVE_TARGETS, Key.UNDO])
def test_a_colleagues_save_in_the_midst_of_an_own_decision_is_not_taken_in(
        env: Store, monkeypatch: pytest.MonkeyPatch, button: str) -> None:
    """Sam's save lands while this user's own decision is being written (after the page last read
    the clip): the form must not move past Sam's change with its own, or the next save overwrites it."""
    clip = next(c for c in env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=25).clips if c.member_ids)
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    if button == Key.UNDO:
        at.button(key=Key.E_APPROVE).click().run()
    write = {Key.E_REJECT: "set_status", Key.E_SAVE_TARGETS: "set_clip_targets", Key.UNDO: "set_status"}[button]
    real = getattr(Store, write)

    def sam_first(self: Store, *args: Any, **kwargs: Any) -> Any:
        edit_clip(env, None, clip.id, ClipEdit(headline="Sam's headline"), Actor("sam", Role.EDITOR))
        monkeypatch.setattr(Store, write, real)  # once
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, write, sam_first)
    if button == Key.E_SAVE_TARGETS:
        extra = next(m for m in ("grace-huang", "renata-okafor", "ivy-castellano") if m not in clip.member_ids)
        at.multiselect(key=f"{Key.E_MEMBERS}{clip.id}").select(extra).run()
    next(b for b in at.button if b.key == button).click().run()
    assert env.get_clip(clip.id).headline == "Sam's headline"
    at.text_area(key=f"{Key.E_BLURB}{clip.id}").input("My blurb").run()
    at.button(key=Key.E_SAVE).click().run()
    assert env.get_clip(clip.id).headline == "Sam's headline", "the form's old headline overwrote Sam's"
    assert any("changed since you opened it" in e.value.replace("\\", "") for e in at.error)


def test_saving_matches_over_a_colleagues_later_match_is_refused(env: Store) -> None:
    clip = next(c for c in env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=25).clips if c.member_ids)
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    extra = next(m for m in ("grace-huang", "renata-okafor", "ivy-castellano") if m not in clip.member_ids)
    set_targets(env, None, clip.id, [*clip.member_ids, extra], clip.campaign_ids, Actor("sam", Role.EDITOR))
    at.multiselect(key=f"{Key.E_MEMBERS}{clip.id}").unselect(clip.member_ids[0]).run()
    at.button(key=Key.E_SAVE_TARGETS).click().run()
    assert not at.exception
    assert extra in env.get_clip(clip.id).member_ids and clip.member_ids[0] in env.get_clip(clip.id).member_ids
    assert any("changed since you opened it (sam" in e.value.replace("\\", "") for e in at.error)


def test_reloading_after_a_refused_save_shows_the_clips_matches_and_keeps_the_colleagues(env: Store) -> None:
    clip = next(c for c in env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=25).clips if c.member_ids)
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    extra = next(m for m in ("grace-huang", "renata-okafor", "ivy-castellano") if m not in clip.member_ids)
    set_targets(env, None, clip.id, [*clip.member_ids, extra], clip.campaign_ids, Actor("sam", Role.EDITOR))
    at.multiselect(key=f"{Key.E_MEMBERS}{clip.id}").unselect(clip.member_ids[0]).run()
    at.button(key=Key.E_SAVE_TARGETS).click().run()  # refused: Sam added a member since
    at.button(key=Key.E_RELOAD).click().run()
    stored = env.get_clip(clip.id)
    assert list(at.multiselect(key=f"{Key.E_MEMBERS}{clip.id}").value) == list(stored.member_ids)
    assert list(at.multiselect(key=f"{Key.E_CAMPAIGNS}{clip.id}").value) == list(stored.campaign_ids)
    at.button(key=Key.E_SAVE_TARGETS).click().run()  # saved as reloaded, nothing touched
    assert not at.error, [e.value for e in at.error]
    after = env.get_clip(clip.id)
    assert (after.member_ids, after.campaign_ids, after.version) == (stored.member_ids, stored.campaign_ids,
                                                                     stored.version)


def test_undo_in_the_editor_keeps_the_form_current(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    at.button(key=Key.E_APPROVE).click().run()
    next(b for b in at.button if b.key == Key.UNDO).click().run()
    at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").input("My own headline").run()
    at.button(key=Key.E_SAVE).click().run()
    assert not at.error, [e.value for e in at.error]
    assert (env.get_clip(clip.id).status, env.get_clip(clip.id).headline) == (ClipStatus.NEW, "My own headline")


def test_returning_to_the_editor_shows_and_saves_the_clip_as_it_is_now(env: Store) -> None:
    import streamlit as st

    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = signed_in("demo", "pages/editor.py", edit_clip_id=clip.id)
    at.switch_page("pages/review.py").run()
    edit_clip(env, None, clip.id, ClipEdit(headline="Sam's headline"), Actor("sam", Role.EDITOR))
    st.cache_data.clear()  # as a colleague's save on this server does
    at.session_state[Key.EDIT_CLIP] = clip.id
    at.switch_page("pages/editor.py").run()
    assert at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").value == "Sam's headline"
    at.text_area(key=f"{Key.E_BLURB}{clip.id}").input("A blurb of mine").run()
    at.button(key=Key.E_SAVE).click().run()
    assert not at.error, [e.value for e in at.error]
    assert env.get_clip(clip.id).blurb == "A blurb of mine"


def test_an_undo_refused_is_a_notice_not_a_traceback(staff: Store) -> None:
    at = signed_in("ed")
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    UsersFile().add("ed", "correct horse battery", replace=True, role=Role.VIEWER)
    next(b for b in at.button if b.key == Key.UNDO).click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("viewer" in m.value for m in at.markdown)
    assert staff.get_clip(first).status is ClipStatus.APPROVED


def test_a_role_taken_away_while_the_page_is_open_is_told_in_words(staff: Store) -> None:
    """The buttons were drawn for an editor; by the click, an admin has made them a viewer. The
    data layer refuses, and the page says so in a notice instead of showing a traceback."""
    at = signed_in("ed")
    first = queue_ids(at)[0]
    UsersFile().add("ed", "correct horse battery", replace=True, role=Role.VIEWER)
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("viewer" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert staff.get_clip(first).status is ClipStatus.NEW
    assert not any(k.startswith(Key.Q_APPROVE) for k in button_keys(at))  # and the page now draws them as a viewer's


def test_a_search_past_the_count_cap_says_so(env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the cap the queue shows "N+" rather than a count it did not make; under it, the exact count."""
    clips = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=3).clips
    for n, clip in enumerate(clips):
        env.edit_clip(clip.id, ClipEdit(headline=f"Zanzibar budget hearing, session{n}"), "maria", clip.first_seen_at)
    monkeypatch.setattr(Store, "search_count_cap", 2)
    at = signed_in("demo")
    at.text_input(key=Key.F_TEXT).input("zanzibar").run()
    shown = next(m.value for m in at.metric if m.label == "Matching these filters")
    # Counted to 2, but 3 are on the page: "at least" is never fewer than the clips shown.
    assert shown == "3+" and sorted(queue_ids(at)) == sorted(c.id for c in clips)
    assert any("Showing 1–3 of 3+, newest first" in c.value for c in at.caption)
    at.text_input(key=Key.F_TEXT).input("zanzibar session0").run()
    assert metric(at, "Matching these filters") == 1


def test_oidc_roles_never_fall_open_while_feeds_yml_is_broken(env: Store, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`default: none` keeps the desk to listed staff. A typo in feeds.yml, or a wrong TRACKER_CONFIG,
    used to put the fallback config's default (viewer) in its place: everyone the provider admits got in."""
    monkeypatch.delenv("TRACKER_DEMO")
    monkeypatch.setattr(data, "oidc_configured", lambda: True)
    monkeypatch.setattr(data, "_LAST_GOOD_ROLES", {})
    path = tmp_path / "roles.yml"
    monkeypatch.setenv("TRACKER_CONFIG", str(path))
    path.write_text("roles:\n  default: none\n  admin: [maria@example.org]\nfeeds: []\n", encoding="utf-8")
    assert (data.role_of("stranger@gmail.com"), data.role_of("maria@example.org")) == (None, Role.ADMIN)
    path.write_text("roles:\n  default: none\n  admin: [maria@example.org]\nsettings: {workers: many}\nfeeds: []\n",
                    encoding="utf-8")
    # The roles last read hold while the file is broken; nobody new gets in.
    assert (data.role_of("stranger@gmail.com"), data.role_of("maria@example.org")) == (None, Role.ADMIN)
    monkeypatch.setattr(data, "_LAST_GOOD_ROLES", {})  # a dashboard started while the file is broken
    assert (data.role_of("stranger@gmail.com"), data.role_of("maria@example.org")) == (None, None)
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "no-such.yml"))
    assert data.role_of("stranger@gmail.com") is None


def test_an_oidc_desk_with_no_admin_says_so(env: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before roles every OIDC user could do everything; a feeds.yml without `roles:` now makes everyone
    a viewer, and no page can make an admin: every page says what to add."""
    monkeypatch.delenv("TRACKER_DEMO")
    monkeypatch.setattr(data, "oidc_configured", lambda: True)
    monkeypatch.setattr(data, "_LAST_GOOD_ROLES", {})
    path = tmp_path / "roles.yml"
    monkeypatch.setenv("TRACKER_CONFIG", str(path))
    path.write_text("feeds: []\n", encoding="utf-8")
    assert data.no_admin_problem() is not None and "roles: admin:" in str(data.no_admin_problem())
    path.write_text("roles:\n  default: viewer\n  admin: [maria@example.org]\nfeeds: []\n", encoding="utf-8")
    assert data.no_admin_problem() is None
    monkeypatch.setattr(data, "oidc_configured", lambda: False)  # local accounts: admins are made by `tracker users`
    path.write_text("feeds: []\n", encoding="utf-8")
    assert data.no_admin_problem() is None

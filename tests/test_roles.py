"""Roles (issue #15): viewer reads; editor reviews, edits, adds by URL; admin also sets the published
order and manages users. Enforced in tracker's functions, recorded in the audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes import NOW, FakeClock
from tests.test_search import add
from tracker.cli import cli, main
from tracker.config import parse_config
from tracker.enrich import PageMeta, add_clip_from_page
from tracker.errors import ConfigError, PermissionDenied
from tracker.models import Actor, ClipEdit, ClipStatus, Role, RolesConfig
from tracker.review import clear_position, edit_clip, move_published, set_status, set_targets
from tracker.roles import Permission, can, role_for_email
from tracker.store import Store
from tracker.users import UsersFile, hash_password

VIEWER, EDITOR, ADMIN = Actor("vera", Role.VIEWER), Actor("ed", Role.EDITOR), Actor("ada", Role.ADMIN)


def test_what_each_role_may_do() -> None:
    assert [p for p in Permission if can(VIEWER, p)] == []
    assert {p for p in Permission if can(EDITOR, p)} == {Permission.REVIEW, Permission.EDIT, Permission.ADD}
    assert all(can(ADMIN, p) for p in Permission)


def test_viewer_cannot_review_edit_or_add(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    clock = FakeClock(NOW)
    with pytest.raises(PermissionDenied, match=r"vera is a viewer and may not approve.*needs the editor role"):
        set_status(store, None, [clip_id], ClipStatus.APPROVED, VIEWER, clock=clock)
    with pytest.raises(PermissionDenied):
        edit_clip(store, None, clip_id, ClipEdit(headline="Mine now"), VIEWER, clock=clock)
    with pytest.raises(PermissionDenied):
        set_targets(store, None, clip_id, [], [], VIEWER, clock=clock)
    meta = PageMeta(url="https://paper.example/b", title="B", outlet="Paper", image_url=None, published_at=None,
                    description="")
    with pytest.raises(PermissionDenied, match="add clips by URL"):
        add_clip_from_page(store, meta, user=VIEWER, clock=clock)
    clip = store.get_clip(clip_id)
    assert clip.status is ClipStatus.NEW and clip.headline is None and clip.version == 1
    assert store.history(clip_id) == [] and store.count_clips() == 1


def test_editor_reviews_and_edits_but_leaves_the_order_to_admins(store: Store) -> None:
    first, second = add(store, "a", "Kendra Brooks on rents"), add(store, "b", "Kendra Brooks on buses")
    clock = FakeClock(NOW)
    assert set_status(store, None, [first, second], ClipStatus.APPROVED, EDITOR, clock=clock) == 2
    edit_clip(store, None, first, ClipEdit(headline="Brooks on rents", featured=False), EDITOR, clock=clock)
    for refused in (
        lambda: edit_clip(store, None, first, ClipEdit(featured=True), EDITOR, clock=clock),
        lambda: edit_clip(store, None, first, ClipEdit(position=1), EDITOR, clock=clock),
        lambda: move_published(store, None, second, -1, EDITOR, clock=clock),
        lambda: clear_position(store, None, first, EDITOR, clock=clock),
    ):
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            refused()
    assert move_published(store, None, second, -1, ADMIN, clock=clock)
    edit_clip(store, None, first, ClipEdit(featured=True), ADMIN, clock=clock)
    assert store.get_clip(first).featured and store.get_clip(second).position == 1


def test_the_audit_trail_records_the_role(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    clock = FakeClock(NOW)
    set_status(store, None, [clip_id], ClipStatus.APPROVED, EDITOR, clock=clock)
    edit_clip(store, None, clip_id, ClipEdit(featured=True), ADMIN, clock=clock)
    set_status(store, None, [clip_id], ClipStatus.NEW, "cli", clock=clock)  # a bare name: the operator
    assert [(h.user, h.role, h.action) for h in store.history(clip_id)] == [
        ("ed", "editor", "approved"), ("ada", "admin", "edit"), ("cli", "admin", "new"),
    ]


def test_oidc_roles_by_address_then_domain_then_default() -> None:
    config = parse_config({"roles": {"default": "viewer", "admin": ["Maria@Example.org"],
                                     "editor": ["@example.org"], "viewer": ["intern@example.org"]}})
    roles = config.roles
    assert role_for_email(roles, "maria@example.org") is Role.ADMIN  # case does not matter
    assert role_for_email(roles, "intern@example.org") is Role.VIEWER  # the address beats its domain
    assert role_for_email(roles, "sam@example.org") is Role.EDITOR
    assert role_for_email(roles, "someone@elsewhere.net") is Role.VIEWER
    closed = parse_config({"roles": {"default": "none", "editor": ["sam@example.org"]}}).roles
    assert role_for_email(closed, "someone@elsewhere.net") is None
    assert parse_config({}).roles == RolesConfig()


@pytest.mark.parametrize("roles, problem", [
    ({"default": "boss"}, "unknown role 'boss'"),
    ({"admin": ["maria"]}, "not an e-mail address"),
    ({"admin": ["m@x.org"], "editor": ["M@x.org"]}, "already listed as editor"),
    ({"owner": ["m@x.org"]}, "unknown key 'owner'"),
])
def test_bad_roles_section_is_refused(roles: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config({"roles": roles}, "feeds.yml")


# ------------------------------------------------------------------ users file


def test_users_from_before_roles_become_admins(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"version": 1, "users": {
        "maria": {"password": hash_password("long enough password"), "created_at": "2026-11-24T12:00:00Z"}}}))
    users = UsersFile(path)
    assert users.role_of("maria") is Role.ADMIN
    users.add("sam", "another fine password")  # any change writes the file in the new version
    raw = json.loads(path.read_text())
    assert raw["version"] == 2
    assert {n: u["role"] for n, u in raw["users"].items()} == {"maria": "admin", "sam": "editor"}
    assert users.verify("maria", "long enough password")


def test_only_admins_manage_users(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "users.json")
    users.add("ada", "long enough password", role=Role.ADMIN)
    with pytest.raises(PermissionDenied, match="manage users"):
        users.add("mallory", "long enough password", role=Role.ADMIN, by=EDITOR)
    with pytest.raises(PermissionDenied):
        users.set_role("ada", Role.VIEWER, by=EDITOR)
    users.add("sam", "long enough password", role=Role.VIEWER, by=ADMIN)
    users.set_role("sam", Role.EDITOR, by=ADMIN)
    users.add("sam", "a new long password", replace=True)  # a new password keeps the role
    assert users.role_of("sam") is Role.EDITOR and users.role_of("mallory") is None


def test_cli_users_add_with_a_role_and_change_it(tmp_path: Path) -> None:
    path = str(tmp_path / "users.json")
    runner = CliRunner()
    done = runner.invoke(cli, ["users", "add", "vera", "--role", "viewer", "--password-stdin", "--file", path],
                         input="a fine password\n")
    assert done.exit_code == 0 and "added user 'vera' (viewer)" in done.output
    assert runner.invoke(cli, ["users", "role", "vera", "admin", "--file", path]).exit_code == 0
    assert runner.invoke(cli, ["users", "list", "--file", path]).output.split() == ["vera", "admin"]
    bad = runner.invoke(cli, ["users", "add", "x", "--role", "boss", "--password-stdin", "--file", path], input="p" * 9)
    assert bad.exit_code != 0 and "boss" in bad.output


def _viewer_and_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A users file with vera (viewer) and ed (editor), and a database URL for the CLI."""
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    UsersFile().add("vera", "long enough password", role=Role.VIEWER)
    UsersFile().add("ed", "long enough password", role=Role.EDITOR)
    return f"sqlite:///{tmp_path / 't.db'}"


def test_cli_acts_as_the_named_user_with_their_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = _viewer_and_editor(tmp_path, monkeypatch)
    store = Store(db)
    clip_id = add(store, "a", "Kendra Brooks on rents")
    store.close()
    base = ["--config", str(tmp_path / "none.yml"), "--db", db, "clips"]

    with pytest.raises(SystemExit) as refused:
        main([*base, "approve", clip_id, "--user", "vera"])
    assert refused.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "vera is a viewer and may not approve" in err
    with pytest.raises(SystemExit) as unknown:
        main([*base, "approve", clip_id, "--user", "nobody"])
    assert unknown.value.code == 1 and "tracker users add nobody --role editor" in capsys.readouterr().err

    runner = CliRunner()
    assert runner.invoke(cli, [*base, "approve", clip_id, "--user", "ed"], obj=FakeClock(NOW)).exit_code == 0
    assert runner.invoke(cli, [*base, "reject", clip_id], obj=FakeClock(NOW)).exit_code == 0  # the operator
    store = Store(db)
    try:
        assert [(h.user, h.role, h.action) for h in store.history(clip_id)] == [
            ("ed", "editor", "approved"), ("cli", "admin", "rejected")]
    finally:
        store.close()


def test_cli_story_and_outlet_commands_act_with_the_users_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # `stories primary` moves the website's copy and `outlets edit` corrects an outlet: a viewer may do neither.
    from tests.test_stories import config as stories_config
    from tests.test_stories import put_wire
    from tracker.syndication import place_new_clips

    db = _viewer_and_editor(tmp_path, monkeypatch)
    store = Store(db)
    ids = put_wire(store)
    place_new_clips(store, stories_config(), NOW)
    other = next(i for i in ids.values() if not store.get_clip(i).primary)
    domain = store.get_clip(other).outlet_domain
    store.close()
    base = ["--config", str(tmp_path / "none.yml"), "--db", db]
    for args in (["stories", "primary", other], ["outlets", "edit", str(domain), "--tier", "local"]):
        with pytest.raises(SystemExit) as refused:
            main([*base, *args, "--user", "vera"])
        assert refused.value.code == 3 and "vera is a viewer" in capsys.readouterr().err
    store = Store(db)
    try:
        assert not store.get_clip(other).primary
        assert store.outlet_records().get(str(domain)) is None or store.outlet_records()[str(domain)].tier != "local"
    finally:
        store.close()
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "stories", "primary", other, "--user", "ed"], obj=FakeClock(NOW)).exit_code == 0
    store = Store(db)
    try:
        assert store.get_clip(other).primary
    finally:
        store.close()


@pytest.mark.parametrize(("claims", "who", "role"), [
    ({"sub": "1", "email": "maria@example.org", "email_verified": True, "name": "Maria"}, "maria@example.org", Role.ADMIN),
    ({"sub": "1", "email": "maria@example.org"}, "maria@example.org", Role.ADMIN),  # providers that never say
    # An address the provider does not vouch for, or a display name that looks like one: not Maria.
    ({"sub": "2", "email": "maria@example.org", "email_verified": False}, "sub:2", Role.VIEWER),
    ({"sub": "3", "name": "maria@example.org"}, "sub:3", Role.VIEWER),
    # Some providers send the flag as text; a subject that looks like an address is no address.
    ({"sub": "4", "email": "maria@example.org", "email_verified": "false"}, "sub:4", Role.VIEWER),
    ({"sub": "maria@example.org"}, "sub:maria@example.org", Role.VIEWER),
    ({}, "", Role.VIEWER),
])
def test_an_oidc_role_comes_from_a_vouched_for_address_only(claims: dict[str, object], who: str, role: Role) -> None:
    from tracker.roles import oidc_identity

    roles = RolesConfig(default=Role.VIEWER, emails=(("maria@example.org", Role.ADMIN),))
    assert oidc_identity(claims) == who
    assert role_for_email(roles, who) is role


def test_an_oidc_subject_gets_the_default_not_its_domains_role() -> None:
    roles = RolesConfig(default=None, emails=(("@example.org", Role.EDITOR),))
    assert role_for_email(roles, "sub:x@example.org") is None
    assert role_for_email(roles, "x@example.org") is Role.EDITOR


def test_a_role_typed_in_capitals_in_the_users_file_is_that_role(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"version": 2, "users": {
        "maria": {"password": hash_password("correct horse"), "role": " Viewer "}}}), encoding="utf-8")
    assert UsersFile(path).role_of("maria") is Role.VIEWER


def test_an_outlet_correction_is_audited_with_the_role(store: Store) -> None:
    from tracker import syndication
    from tracker.models import OutletEdit

    add(store, "a", "Kendra Brooks on rents")
    syndication.place_new_clips(store, None, NOW)  # names the clip's outlet, as an ingest cycle does
    syndication.edit_outlet(store, "example.org", OutletEdit(place="Springfield"), EDITOR, NOW)
    (entry,) = [e for e in store.history("") if e.action == "outlet"]
    assert (entry.user, entry.role) == ("ed", "editor")

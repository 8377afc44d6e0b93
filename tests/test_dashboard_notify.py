"""The Reports and Notifications pages through streamlit's AppTest: a report built and offered for
download, digests and webhooks listed, a test digest sent to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard.keys import Key
from tests.conftest import DASHBOARD_NOW
from tests.notifykit import smtp_server, webhook_server
from tracker.demo import demo_config_data
from tracker.store import Store

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("page", ["pages/reports.py", "pages/notifications.py"])
def test_pages_render(env: Store, page: str) -> None:
    at = open_page(page)
    assert at.title and not at.error, [e.value for e in at.error]


def test_report_built_and_offered_for_download(env: Store) -> None:
    at = open_page("pages/reports.py")
    at.date_input(key=Key.REP_DATES).set_value((DASHBOARD_NOW.date() - timedelta(days=30), DASHBOARD_NOW.date())).run()
    at.segmented_control(key=Key.REP_FORMAT).set_value("csv").run()
    at.button(key=Key.REP_BUILD).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    stories = int(next(m.value for m in at.metric if m.label == "Stories").replace(",", ""))
    _choices, name, mime, body = at.session_state[Key.REP_FILE]
    assert name == f"coverage-{DASHBOARD_NOW.date() - timedelta(days=30)}-to-{DASHBOARD_NOW.date()}.csv"
    assert mime == "text/csv"
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("date,headline,outlet") and stories > 0 and len(lines) == stories + 1


def _download_offered(at: AppTest) -> bool:
    return any(b.key == Key.REP_DOWNLOAD for b in at.get("download_button"))


def test_the_download_is_offered_only_for_the_selection_it_was_built_from(env: Store) -> None:
    at = open_page("pages/reports.py")
    at.segmented_control(key=Key.REP_FORMAT).set_value("csv").run()
    at.button(key=Key.REP_BUILD).click().run()
    assert _download_offered(at)
    member = next(o for o in at.selectbox(key=Key.REP_MEMBER).options if o != "All members")
    at.selectbox(key=Key.REP_MEMBER).select(member).run()
    assert not _download_offered(at)  # the file is everyone's coverage, not this member's
    assert any("Build the report for this selection" in i.value for i in at.info)
    at.selectbox(key=Key.REP_MEMBER).select("All members").run()
    assert _download_offered(at)  # back to what it was built from
    at.toggle(key=Key.REP_APPROVED).set_value(True).run()
    assert not _download_offered(at)
    at.button(key=Key.REP_BUILD).click().run()
    assert _download_offered(at) and at.session_state[Key.REP_FILE][0][5] is True


def test_notifications_list_and_send_a_test(env: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server() as inbox, webhook_server() as hook:
        data = demo_config_data()
        member = data["members"][0].get("id")
        data["settings"] = {**(data.get("settings") or {}), "dashboard_url": "https://desk.example.org"}
        data["notify"] = {
            "smtp": {"host": "127.0.0.1", "port": inbox.port, "security": "none", "sender": "clips@example.org"},
            "digests": [{"name": "morning", "recipients": ["comms@example.org"],
                         **({"filter": {"members": [member]}} if member else {})}],
            "webhooks": [{"name": "comms-slack", "url": hook.url}],
        }
        config = tmp_path / "notify.yml"
        config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        monkeypatch.setenv("TRACKER_CONFIG", str(config))
        # In demo mode the page shows none of the organisation's channels and sends nothing.
        at = open_page("pages/notifications.py")
        assert not at.dataframe[:2] or "comms@example.org" not in str(at.dataframe[0].value.to_dict())
        assert not any(str(b.key) in (Key.N_SEND_DIGEST, Key.N_SEND_WEBHOOK) for b in at.button)
        from dashboard import data as desk
        from tracker.errors import NotifyError
        with pytest.raises(NotifyError, match="demo mode sends nothing"):
            desk.send_test_webhook("comms-slack", "demo")
        assert hook.posts == [] and inbox.messages == []
        # Signed in as an admin, not in demo mode: listed and sent.
        from tests.test_dashboard_roles import signed_in
        from tracker.models import Role
        from tracker.users import UsersFile

        monkeypatch.delenv("TRACKER_DEMO")
        UsersFile().add("ada", "correct horse battery", role=Role.ADMIN)
        at = signed_in("ada", "pages/notifications.py")
        shown = at.dataframe[0].value
        assert list(shown["digest"]) == ["morning"] and "comms@example.org" in shown["recipients"][0]
        assert hook.url not in str(at.dataframe[1].value.to_dict())  # the webhook's URL is never shown
        at.text_input(key=Key.N_ADDRESS).input("lead@example.org").run()
        at.button(key=Key.N_SEND_DIGEST).click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert [rcpt for _, rcpt, _ in inbox.messages] == [("lead@example.org",)]
        at.button(key=Key.N_SEND_WEBHOOK).click().run()
        assert "media-tracker test message" in hook.texts()[0]
        assert any("lead@example.org" in str(df.value.to_dict()) for df in at.dataframe)  # the delivery log


def test_the_data_layer_refuses_test_sends_to_anyone_but_an_admin(env: Store, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The page is for admins; a script or another page calling the data module is refused too.
    from dashboard import data
    from tracker.errors import PermissionDenied
    from tracker.models import Role
    from tracker.users import UsersFile

    with smtp_server() as inbox, webhook_server() as hook:
        config = demo_config_data()
        config["notify"] = {
            "smtp": {"host": "127.0.0.1", "port": inbox.port, "security": "none", "sender": "clips@example.org"},
            "digests": [{"name": "morning", "recipients": ["comms@example.org"]}],
            "webhooks": [{"name": "comms-slack", "url": hook.url}],
        }
        path = tmp_path / "notify.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        monkeypatch.setenv("TRACKER_CONFIG", str(path))
        monkeypatch.delenv("TRACKER_DEMO")
        UsersFile().add("ed", "correct horse battery", role=Role.EDITOR)
        with pytest.raises(PermissionDenied, match="ed is an editor"):
            data.send_test_webhook("comms-slack", "ed")
        with pytest.raises(PermissionDenied):
            data.send_test_digest("morning", "lead@example.org", "ed")
        assert hook.posts == [] and inbox.messages == []


def test_the_failure_list_counts_every_failure_still_owed_and_no_other(env: Store) -> None:
    from tests.fakes import NOW

    env.record_deliveries("digest", "morning", "a@example.org", [f"s{i}" for i in range(60)], NOW, error="down")
    env.record_deliveries("digest", "morning", "b@example.org", ["left-out"], NOW, error="down")
    env.record_deliveries("digest", "morning", "b@example.org", ["kept"], NOW + timedelta(hours=1))
    at = open_page("pages/notifications.py")
    assert "Failures waiting for a retry (60)" in [h.value for h in at.subheader]
    failures = at.dataframe[0].value
    assert len(failures) == 50 and "left-out" not in set(failures["item"])
    assert any("newest 50 shown" in c.value for c in at.caption)


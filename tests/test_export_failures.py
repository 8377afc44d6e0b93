"""When an export file cannot be written, the change is still saved and everyone is told so plainly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from dashboard.keys import Key
from tests.fakes import NOW
from tests.feedserver import FeedServer
from tests.test_dashboard import queue_ids
from tests.test_ingest import rss
from tracker.cli import cli
from tracker.config import load_config
from tracker.demo import demo_config_data, seed_store
from tracker.errors import ExportError
from tracker.ingest import run_locked_cycle
from tracker.models import ClipStatus
from tracker.review import set_status
from tracker.store import Store
from tracker.users import UsersFile

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def _config_with_blocked_export(tmp_path: Path, feeds: list[str] | None = None) -> Path:
    (tmp_path / "blocker").write_text("a file where a folder should be", encoding="utf-8")
    data = {
        "settings": {"exports": [{"format": "json", "path": "blocker/news.json"}]},
        "campaigns": [{"id": "gce", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
        "feeds": [{"url": u} for u in feeds or []],
    }
    path = tmp_path / "feeds.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_ingest_stores_clips_and_warns_when_exports_fail(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.add("/f", body=rss(("Good Cause Eviction win", "https://x.example.com/1", "")))
    path = _config_with_blocked_export(tmp_path, [feed_server.url("/f")])
    db = f"sqlite:///{tmp_path / 't.db'}"
    report = run_locked_cycle(load_config(path), Store(db))
    assert report is not None and report.new_clips == 1
    assert report.export_error and "saved, but the website exports could not be written" in report.export_error

    result = CliRunner().invoke(cli, ["--config", str(path), "--db", db, "ingest", "-q"])
    assert result.exit_code == 0  # the cycle itself worked
    assert "warning: saved, but the website exports could not be written" in result.output


def test_review_saves_then_reports_the_export_failure(tmp_path: Path) -> None:
    path = _config_with_blocked_export(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    seed_store(store, 5, now=NOW)
    clip = store.list_clips(limit=1).clips[0]
    with pytest.raises(ExportError, match="saved, but") as info:
        set_status(store, load_config(path), [clip.id], ClipStatus.APPROVED, "ana")
    assert info.value.changed == 1
    assert store.get_clip(clip.id).status is ClipStatus.APPROVED  # the decision was kept
    store.close()


def _dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export_path: str, *, demo: bool) -> Store:
    """A seeded database and the demo roster with one JSON export, found through the environment."""
    data = demo_config_data()
    data["settings"] = {"exports": [{"format": "json", "path": export_path}]}
    (tmp_path / "feeds.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    url = f"sqlite:///{tmp_path / ('demo.db' if demo else 't.db')}"
    store = Store(url)
    seed_store(store, 30, now=NOW)
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "feeds.yml"))
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    if demo:
        monkeypatch.setenv("TRACKER_DEMO", "1")
    else:
        monkeypatch.delenv("TRACKER_DEMO", raising=False)
    return store


def test_dashboard_shows_a_banner_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "blocker").write_text("not a folder", encoding="utf-8")
    store = _dashboard(tmp_path, monkeypatch, "blocker/news.json", demo=False)
    UsersFile().add("maria", "correct horse battery")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key=Key.LOGIN_USERNAME).input("maria")
    at.text_input(key=Key.LOGIN_PASSWORD).input("correct horse battery")
    at.button(key=Key.LOGIN_SUBMIT).click().run()
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert store.get_clip(first).status is ClipStatus.APPROVED  # the decision was kept
    problem = at.session_state[Key.EXPORT_PROBLEM]
    assert "exports could not be written" in problem
    assert at.session_state[Key.FLASH]["message"] == "Approved 1 clip"
    # AppTest reruns only the page after a click; the app shell (which shows the banner) runs on the
    # next full run, as a real browser's next interaction does.
    shell = AppTest.from_file(APP, default_timeout=60)
    shell.session_state[Key.USER] = "maria"
    shell.session_state[Key.USER_STAMP] = at.session_state[Key.USER_STAMP]  # the same sign-in
    shell.session_state[Key.EXPORT_PROBLEM] = problem
    shell.run()
    assert not shell.exception
    assert any("exports could not be written" in e.value for e in shell.error)
    store.close()


def test_demo_mode_never_writes_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _dashboard(tmp_path, monkeypatch, "out/news.json", demo=True)
    at = AppTest.from_file(APP, default_timeout=60).run()
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert store.get_clip(first).status is ClipStatus.APPROVED
    assert not (tmp_path / "out" / "news.json").exists()  # sample clips never reach the website
    store.close()


def test_demo_flag_refuses_a_shared_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", "postgresql+psycopg://postgres@127.0.0.1/test", "dashboard", "--demo"])
    assert result.exit_code != 0
    assert "only on a local SQLite file named demo.db" in str(result.exception or result.output)


def _signed_in_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, AppTest]:
    (tmp_path / "blocker").write_text("not a folder", encoding="utf-8")
    store = _dashboard(tmp_path, monkeypatch, "blocker/news.json", demo=False)
    from tracker.models import Role

    UsersFile().add("maria", "correct horse battery", role=Role.ADMIN)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key=Key.LOGIN_USERNAME).input("maria")
    at.text_input(key=Key.LOGIN_PASSWORD).input("correct horse battery")
    at.button(key=Key.LOGIN_SUBMIT).click().run()
    return store, at


def test_a_move_saved_while_the_exports_fail_says_so_and_offers_its_undo(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.export import select_for_export

    def website() -> list[str]:
        return [c.id for c in select_for_export(store.all_clips(ClipFilter(status=ClipStatus.APPROVED)))]

    from tracker.models import ClipFilter

    store, at = _signed_in_admin(tmp_path, monkeypatch)
    at.switch_page("pages/published.py").run()
    before = website()
    featured = sum(store.get_clip(i).featured for i in before)
    target = before[featured + 1]
    at.button(key=f"{Key.P_UP}{target}").click().run()
    assert website().index(target) == featured  # moved in the database
    notice = at.session_state[Key.FLASH]
    assert "nothing moved" not in notice["message"] and notice["undo"] is not None
    at.button(key=Key.UNDO).click().run()
    assert website() == before
    assert "Undone: 0" not in at.session_state[Key.FLASH]["message"]
    store.close()


def test_an_undo_saved_while_the_exports_fail_counts_what_it_took_back(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store, at = _signed_in_admin(tmp_path, monkeypatch)
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    at.button(key=Key.UNDO).click().run()
    assert store.get_clip(first).status is ClipStatus.NEW
    assert "Undone: 1 change taken back" in at.session_state[Key.FLASH]["message"]
    store.close()

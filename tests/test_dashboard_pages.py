"""Pages telling staff what is true now: empty states that suggest only what applies, and the Published
page's buttons on a clip a colleague took off the website meanwhile (AppTest, the `env` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard.keys import Key
from tests.conftest import DASHBOARD_NOW
from tests.test_dashboard import run_app
from tests.test_desk import website
from tracker.demo import demo_config_data
from tracker.models import ClipEdit, ClipFilter, ClipStatus
from tracker.store import Store


def advice(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def test_a_search_found_nowhere_does_not_suggest_other_statuses(env: Store) -> None:
    at = run_app()
    at.text_input(key=Key.F_TEXT).input("zzzqqqxx").run()
    assert "spelling" in advice(at) and "all statuses" not in advice(at), advice(at)


def test_a_search_found_only_among_published_clips_suggests_all_statuses(env: Store) -> None:
    approved = env.list_clips(ClipFilter(status=ClipStatus.APPROVED), limit=1).clips[0]
    env.edit_clip(approved.id, ClipEdit(headline="Quokkafest draws council members"), "maria", DASHBOARD_NOW)
    at = run_app()
    at.text_input(key=Key.F_TEXT).input("quokkafest").run()
    assert "look in all statuses, not only new" in advice(at), advice(at)


def test_feeds_listed_but_not_polled_yet_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "feeds.yml"
    listed = demo_config_data()
    config.write_text(yaml.safe_dump(listed, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")  # nothing polled
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("TRACKER_DEMO", "1")
    at = run_app("pages/feeds.py")
    text = advice(at)
    assert "listed in feeds.yml but not polled yet" in text and "tracker schedule" in text, text
    assert "No feeds yet" not in text


def _published_row(env: Store) -> str:
    """A published clip on page 1 that is not featured and not last: Down is open to it."""
    order = website(env)
    return next(i for i in order[:10] if not env.get_clip(i).featured)


def test_moving_a_clip_a_colleague_unpublished_says_it_is_no_longer_on_the_website(env: Store) -> None:
    at = run_app("pages/published.py")
    clip_id = _published_row(env)
    env.set_status([clip_id], ClipStatus.NEW, "sam", DASHBOARD_NOW)  # a colleague, meanwhile
    before = website(env)
    at.button(key=f"{Key.P_DOWN}{clip_id}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    notices = [m.value for m in at.markdown]
    assert any("no longer on the website" in m for m in notices), notices
    assert not any("Already there" in m for m in notices)
    assert website(env) == before


def test_featuring_a_clip_a_colleague_unpublished_is_refused(env: Store) -> None:
    at = run_app("pages/published.py")
    clip_id = _published_row(env)
    env.set_status([clip_id], ClipStatus.NEW, "sam", DASHBOARD_NOW)
    at.button(key=f"{Key.P_FEATURE}{clip_id}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not env.get_clip(clip_id).featured
    assert any("no longer on the website" in m.value for m in at.markdown)
    # A clip still published is featured as before.
    other = _published_row(env)
    at.button(key=f"{Key.P_FEATURE}{other}").click().run()
    assert env.get_clip(other).featured

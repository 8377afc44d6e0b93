"""Issue #15 in a real browser (Debian's Chromium through Playwright, a real `streamlit run`): a search
typed with a straight apostrophe finds a curly one, a viewer has no Approve button and the data layer
refuses them anyway, and a save over someone else's newer change is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_browser import ARTIFACTS, _environment, _launch, _require_chromium, streamlit_server
from tracker.errors import PermissionDenied
from tracker.models import Actor, ClipEdit, ClipFilter, ClipStatus, Role
from tracker.review import edit_clip
from tracker.store import Store
from tracker.users import UsersFile

pytestmark = pytest.mark.browser
CURLY = "Councilmember O’Rourke fights for the Okafor-Reyes transit plan"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server for the module: a seeded database, a viewer and an editor, one clip with a curly apostrophe."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("desk")
    env, db = _environment(tmp, 60)
    users = UsersFile(env["TRACKER_USERS_FILE"])
    users.add("vera", "correct horse battery", role=Role.VIEWER)
    users.add("ed", "correct horse battery", role=Role.EDITOR)
    store = Store(db)
    curly = store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=30).clips[-1]
    store.edit_clip(curly.id, ClipEdit(headline=CURLY), "maria", curly.first_seen_at)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with streamlit_server(env) as url, sync_playwright() as p:
            browser = _launch(p)
            try:
                yield {"url": url, "browser": browser, "store": store, "env": env, "curly": curly.id}
            finally:
                browser.close()  # type: ignore[attr-defined]
    finally:
        store.close()


def sign_in(desk: dict[str, Any], user: str) -> Any:
    from playwright.sync_api import expect

    page = desk["browser"].new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(desk["url"])
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible(timeout=30_000)
    page.locator("[class*='st-key-q_edit']").first.wait_for(timeout=30_000)
    return page


def test_a_straight_apostrophe_finds_a_curly_one(desk: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = sign_in(desk, "ed")
    search = page.locator("[class*='st-key-f_text'] input")
    search.fill("o'rourke okafor reyes")
    search.press("Enter")
    expect(page.get_by_text(CURLY)).to_be_visible(timeout=15_000)
    expect(page.locator("[class*='st-key-q_edit']")).to_have_count(1, timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "browser-search-apostrophe.png"))


def test_a_viewer_cannot_approve(desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    page = sign_in(desk, "vera")
    page.wait_for_timeout(1000)  # let every card render before counting what is absent
    assert page.locator("[class*='st-key-q_edit']").count() > 0
    assert page.locator("[class*='st-key-q_approve']").count() == 0
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-viewer-queue.png"))

    # The data layer the page calls refuses the viewer too, as a crafted request would meet it.
    for name in ("TRACKER_DATABASE_URL", "TRACKER_CONFIG", "TRACKER_USERS_FILE"):
        monkeypatch.setenv(name, desk["env"][name])
    monkeypatch.delenv("TRACKER_DEMO", raising=False)
    from dashboard import data

    store: Store = desk["store"]
    clip = store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    with pytest.raises(PermissionDenied, match="vera is a viewer"):
        data.approve([clip.id], "vera")
    assert store.get_clip(clip.id).status is ClipStatus.NEW


def test_a_stale_edit_is_refused(desk: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    store: Store = desk["store"]
    page = sign_in(desk, "ed")
    edit = page.locator("[class*='st-key-q_edit']").first
    clip_id = next(c.id for c in store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips)
    assert clip_id in (edit.get_attribute("class") or "")
    edit.get_by_role("button").click()
    headline = page.locator("[class*='st-key-e_headline'] input")
    expect(headline).to_be_visible(timeout=30_000)

    edit_clip(store, None, clip_id, ClipEdit(headline="Sam got here first"), Actor("sam", Role.EDITOR))
    headline.fill("Ed's headline")
    headline.press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("this clip changed since you opened it")).to_be_visible(timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "browser-stale-edit.png"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # nothing arrives late either
        assert store.get_clip(clip_id).headline == "Sam got here first"
        time.sleep(0.5)
    assert [h.user for h in store.history(clip_id) if h.action == "edit"] == ["sam"]

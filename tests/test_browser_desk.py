"""The polished desk in a real browser (issue #15): approve then undo; publish, then reorder across
a page boundary of the Published list. Real `streamlit run`, Debian's Chromium via Playwright."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dashboard.data import PUBLISHED_PAGE_SIZE as SIZE
from tests.test_browser import _environment, _launch, _require_chromium, streamlit_server
from tracker.export import select_for_export
from tracker.models import ClipFilter, ClipStatus, ClipView
from tracker.store import Store

pytestmark = pytest.mark.browser


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _website(db: str) -> list[str]:
    store = Store(db)
    try:
        return [c.id for c in select_for_export(store.all_clips(ClipFilter(status=ClipStatus.APPROVED)))]
    finally:
        store.close()


def _clip(db: str, clip_id: str) -> ClipView:
    store = Store(db)
    try:
        return store.get_clip(clip_id)
    finally:
        store.close()


def _status(db: str, clip_id: str) -> ClipStatus:
    return _clip(db, clip_id).status


@contextmanager
def _desk(tmp_path: Path, clips: int) -> Iterator[tuple[Any, str]]:
    """(a Chromium page on the review queue of a demo desk with `clips` clips, its database URL)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    env, db = _environment(tmp_path, clips, demo=True)
    with streamlit_server(env) as url, sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
            page.goto(url)
            yield page, db
        finally:
            browser.close()  # type: ignore[attr-defined]


def _card_id(element: Any) -> str:
    """The clip id of a queue card's element, from its Streamlit key class (st-key-q_approve-<id>)."""
    return _id_in_class(element.get_attribute("class") or "")


def _id_in_class(classes: str) -> str:
    return next(c for c in classes.split() if c.startswith("st-key-q_approve"))[-16:]


def _key(name: str, clip_id: str) -> str:
    return f"[class*='st-key-{name}'][class*='{clip_id}']"


def test_approve_then_undo_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _desk(tmp_path, 80) as (page, db):
        expect(page.get_by_text("Nothing you do here reaches the website's exports")).to_be_visible(timeout=30_000)
        first = page.locator("[class*='st-key-q_approve']").first
        expect(first).to_be_visible(timeout=30_000)
        clip_id = _card_id(first)
        first.get_by_role("button", name="Approve").click()
        notice = page.locator(".st-key-mt_notice")
        expect(notice.get_by_text("Approved 1 clip")).to_be_visible(timeout=15_000)
        _wait_for(lambda: _status(db, clip_id) is ClipStatus.APPROVED, "the approval")
        notice.get_by_role("button", name="Undo").click()
        _wait_for(lambda: _status(db, clip_id) is ClipStatus.NEW, "the undo")
        expect(page.locator(".st-key-mt_notice").get_by_text("Undone")).to_be_visible(timeout=15_000)
        expect(page.locator(_key("q_approve", clip_id))).to_be_visible(timeout=15_000)  # back in the queue


def test_publish_and_reorder_across_a_page_boundary_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _desk(tmp_path, 200) as (page, db):
        first = page.locator("[class*='st-key-q_approve']").first
        expect(first).to_be_visible(timeout=30_000)
        clip_id = _card_id(first)
        first.get_by_role("button", name="Approve").click()
        _wait_for(lambda: _status(db, clip_id) is ClipStatus.APPROVED, "the publish")

        page.get_by_role("link", name="Published").click()
        expect(page.get_by_role("heading", name="Published", exact=True)).to_be_visible(timeout=30_000)
        # put the new clip first on page 2, by number
        expect(page.locator(_key("p_unpublish", clip_id))).to_be_visible(timeout=30_000)
        page.locator(".st-key-p_from input").fill(str(_website(db).index(clip_id) + 1))
        page.locator(".st-key-p_to input").fill(str(SIZE + 1))
        page.locator(".st-key-p_to input").press("Enter")
        page.wait_for_timeout(800)
        page.locator(".st-key-p_go").get_by_role("button", name="Move").click()
        _wait_for(lambda: _website(db).index(clip_id) == SIZE, "the move to the top of page 2")
        expect(page.locator(".st-key-mt_notice").get_by_text(f"#{SIZE + 1} (page 2)")).to_be_visible(timeout=15_000)

        # the last clip on page 1 moves down past the boundary
        last_on_page = _website(db)[SIZE - 1]
        page.locator(_key("p_down", last_on_page)).get_by_role("button", name="Down").click()
        _wait_for(lambda: _website(db).index(last_on_page) == SIZE, "the move down")
        assert _website(db)[SIZE - 1] == clip_id
        # the page has redrawn without it (a click sent while the rerun is still drawing can be lost)
        expect(page.locator(_key("p_down", last_on_page))).to_have_count(0, timeout=30_000)

        # on page 2, the first clip goes up past the boundary again
        page.get_by_role("button", name="Next →").click()
        up = page.locator(_key("p_up", last_on_page)).get_by_role("button", name="Up")
        expect(up).to_be_visible(timeout=30_000)
        up.click()
        _wait_for(lambda: _website(db).index(last_on_page) == SIZE - 1, "the move up")
        assert _website(db)[SIZE] == clip_id


def test_a_member_picked_under_more_filters_narrows_the_queue_in_a_real_browser(tmp_path: Path) -> None:
    """The pickers sit in a popover: it opens, a member picked there narrows the queue, and the
    sidebar names the filter once the popover is closed."""
    from playwright.sync_api import expect

    with _desk(tmp_path, 80) as (page, db):
        expect(page.locator("[class*='st-key-q_approve']").first).to_be_visible(timeout=30_000)
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_role("button", name="More filters", exact=True).click()
        popover = page.locator("[data-testid='stPopoverBody']")
        popover.get_by_role("combobox", name="Member").click()
        page.get_by_role("option", name="Renata Okafor").click()
        expect(sidebar.get_by_text("Member: Renata Okafor")).to_be_visible(timeout=15_000)
        page.keyboard.press("Escape")  # close the popover: the line under it still names the filter
        expect(sidebar.get_by_role("button", name="More filters (1 on)")).to_be_visible(timeout=15_000)
        expect(sidebar.get_by_text("Member: Renata Okafor")).to_be_visible()
        cards = page.locator("[class*='st-key-q_approve']")

        def hers_only() -> bool:  # once the rerun has replaced the unfiltered cards
            # one read of the cards there now: a card the rerun removes meanwhile is not waited for
            shown = [_id_in_class(c) for c in cards.evaluate_all("cards => cards.map(card => card.className)")]
            return bool(shown) and all("renata-okafor" in _clip(db, clip_id).member_ids for clip_id in shown)

        _wait_for(hers_only, "only Renata Okafor's clips in the queue")

"""End to end through a real browser: `streamlit run` on a free port, Debian's Chromium via Playwright.

Signs in with a local account, approves a clip, checks the database, saves a screenshot to
test-artifacts/. Skipped (with the reason) where /usr/bin/chromium is missing, except in CI.

`python -m tests.test_browser` regenerates docs/img/review-queue.png from demo data.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tracker.clock import system_clock
from tracker.demo import demo_config_data, seed_store
from tracker.models import ClipFilter, ClipStatus
from tracker.store import Store
from tracker.users import UsersFile

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); runs in CI")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def streamlit_server(env: dict[str, str], *extra: str) -> Iterator[str]:
    """`streamlit run dashboard/app.py` in a subprocess; yields its URL once it answers."""
    port = _free_port()
    log = open(env["_LOG"], "wb")  # noqa: SIM115 - closed in finally, after the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
         *extra],
        cwd=ROOT, env={k: v for k, v in env.items() if not k.startswith("_")}, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {env['_LOG']}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _environment(tmp: Path, clips: int, *, demo: bool = False) -> tuple[dict[str, str], str]:
    config = tmp / "feeds.yml"
    config.write_text(yaml.safe_dump(demo_config_data(), sort_keys=False), encoding="utf-8")
    db = f"sqlite:///{tmp / ('demo.db' if demo else 'tracker.db')}"
    store = Store(db)
    try:
        seed_store(store, clips, now=system_clock())
    finally:
        store.close()
    env = dict(os.environ, TRACKER_DATABASE_URL=db, TRACKER_CONFIG=str(config),
               TRACKER_USERS_FILE=str(tmp / "users.json"), _LOG=str(tmp / "streamlit.log"))
    env.pop("TRACKER_DEMO", None)
    if demo:
        env["TRACKER_DEMO"] = "1"
    return env, db


def _launch(playwright: object) -> object:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)  # type: ignore[attr-defined]


def test_sign_in_and_approve_in_a_real_browser(tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    env, db = _environment(tmp_path, 80)
    UsersFile(env["TRACKER_USERS_FILE"]).add("maria", "correct horse battery")
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(env) as url, sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
            page.goto(url)
            expect(page.get_by_role("heading", name="Clip desk")).to_be_visible(timeout=30_000)
            assert page.get_by_text("Waiting for review").count() == 0, "no data before sign-in"
            page.get_by_label("Username").fill("maria")
            page.get_by_label("Password", exact=True).fill("correct horse battery")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Review queue")).to_be_visible(timeout=30_000)

            # Keyed widgets carry a `st-key-<key>` class: read the first clip's id from its Approve button.
            first = page.locator("[class*='st-key-q_approve']").first
            expect(first).to_be_visible(timeout=30_000)
            classes = first.get_attribute("class") or ""
            clip_id = re.search(r"st-key-q_approve-?:?([0-9a-f]{16})", classes)
            assert clip_id, classes
            clip_id_text = clip_id.group(1)
            first.get_by_role("button", name="Approve").click()
            expect(page.get_by_text("Approved 1 clip")).to_be_visible(timeout=15_000)

            store = Store(db)
            try:
                deadline = time.monotonic() + 15
                while store.get_clip(clip_id_text).status is not ClipStatus.APPROVED and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert store.get_clip(clip_id_text).status is ClipStatus.APPROVED
                assert [(h.user, h.action) for h in store.history(clip_id_text)] == [("maria", "approved")]
                assert store.count_clips(ClipFilter(status=ClipStatus.APPROVED)) > 0
            finally:
                store.close()
            page.screenshot(path=str(ARTIFACTS / "browser-review-queue.png"), full_page=False)
        finally:
            browser.close()  # type: ignore[attr-defined]


def take_docs_screenshots(folder: Path = ROOT / "docs" / "img") -> list[Path]:
    """The README's screenshots, on demo data in demo mode: the review queue (two clips ticked, so
    the bulk actions show as they are used), the Published page, and the clip editor."""
    import tempfile

    from playwright.sync_api import expect, sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    shots = [folder / "review-queue.png", folder / "published.png", folder / "editor.png"]
    with tempfile.TemporaryDirectory() as tmp:
        env, _ = _environment(Path(tmp), 600, demo=True)
        with streamlit_server(env) as url, sync_playwright() as p:
            browser = _launch(p)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)  # type: ignore[attr-defined]
                page.goto(url)
                expect(page.get_by_role("heading", name="Review queue")).to_be_visible(timeout=30_000)
                page.locator("[class*='st-key-q_approve']").first.wait_for(timeout=30_000)
                for box in page.locator("[class*='st-key-q_select-']").all()[:2]:
                    box.locator("label").click()
                    page.wait_for_timeout(600)
                page.wait_for_timeout(1500)
                page.screenshot(path=str(shots[0]))

                page.goto(f"{url}/published")
                expect(page.get_by_role("heading", name="Published", exact=True).first).to_be_visible(timeout=30_000)
                page.get_by_role("button", name="Unpublish").first.wait_for(timeout=30_000)
                page.wait_for_timeout(1500)
                page.screenshot(path=str(shots[1]))

                page.goto(url)
                page.locator("[class*='st-key-q_edit-']").first.locator("button").click()
                expect(page.get_by_role("heading", name="Clip editor", exact=True).first).to_be_visible(timeout=30_000)
                page.wait_for_timeout(2000)
                page.screenshot(path=str(shots[2]))
            finally:
                browser.close()  # type: ignore[attr-defined]
    return shots


if __name__ == "__main__":
    print(*take_docs_screenshots(), sep="\n")

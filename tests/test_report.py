"""Coverage reports: totals, weeks and stories in HTML (checked in Chromium), CSV and PDF (read back
with pypdf). SQLite and PostgreSQL for the data; Chromium for the PDF and the browser check."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.fakes import NOW, FakeClock
from tests.notifykit import add_clip, config_data, make_config
from tracker.cli import cli
from tracker.errors import ReportError
from tracker.models import ClipStatus
from tracker.report import (
    ReportRequest,
    build_report,
    html_to_pdf,
    render_report_csv,
    render_report_html,
)
from tracker.store import Store

CHROMIUM = "/usr/bin/chromium"
# 2026-11-24 is a Tuesday: the period covers the weeks of Nov 2, 9, 16 and 23.
START, END = date(2026, 11, 2), date(2026, 11, 24)


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); runs in CI")


def seed(store: Store) -> None:
    add_clip(store, "w1a", NOW - timedelta(days=21), members=["kendra-brooks"], outlet="WHYY", title="Week one story")
    add_clip(store, "w3a", NOW - timedelta(days=7), members=["kendra-brooks"], campaigns=["good-cause"],
             outlet="The Inquirer", title="Eviction bill advances")
    add_clip(store, "w3b", NOW - timedelta(days=6), members=["rui-sun"], campaigns=["fair-fares"], outlet="Gothamist",
             title="Fares cut for riders", status=ClipStatus.APPROVED)
    add_clip(store, "w4a", NOW - timedelta(hours=2), campaigns=["good-cause"], outlet="The Inquirer",
             title="=Council votes today")  # a formula-looking headline, for the CSV
    add_clip(store, "rej", NOW - timedelta(days=2), members=["kendra-brooks"], title="Rejected one", status=ClipStatus.REJECTED)
    add_clip(store, "before", NOW - timedelta(days=40), members=["kendra-brooks"], title="Before the period")


def test_totals_weeks_and_stories(store: Store) -> None:
    seed(store)
    config = make_config()
    report = build_report(config, store, ReportRequest(START, END), NOW)
    assert [s.primary.display_headline for s in report.stories] == [
        "=Council votes today", "Fares cut for riders", "Eviction bill advances", "Week one story"]
    assert report.outlets == ("Gothamist", "The Inquirer", "WHYY")
    assert report.members_covered == ("kendra-brooks", "rui-sun")
    assert report.weeks == ((date(2026, 11, 2), 1), (date(2026, 11, 9), 0), (date(2026, 11, 16), 2), (date(2026, 11, 23), 1))

    only = build_report(config, store, ReportRequest(START, END, campaign="good-cause"), NOW)
    assert len(only.stories) == 2 and only.title == "Coverage report: Good Cause Eviction"
    chapter = build_report(config, store, ReportRequest(START, END, chapter="NY"), NOW)
    assert [s.primary.display_headline for s in chapter.stories] == ["Fares cut for riders"]
    approved = build_report(config, store, ReportRequest(START, END, approved_only=True), NOW)
    assert len(approved.stories) == 1

    rows = list(csv.DictReader(io.StringIO(render_report_csv(report, config).decode("utf-8-sig"))))
    assert rows[0]["headline"] == "'=Council votes today"
    assert rows[2]["members"] == "Kendra Brooks" and rows[2]["campaigns"] == "Good Cause Eviction"
    assert rows[1]["outlet"] == "Gothamist" and rows[1]["date"] == "2026-11-18"

    with pytest.raises(ReportError, match="before"):
        build_report(config, store, ReportRequest(END, START), NOW)
    with pytest.raises(ReportError, match="no member has chapter"):
        build_report(config, store, ReportRequest(START, END, chapter="Atlantis"), NOW)


@pytest.mark.browser
def test_pdf_report_read_back(store: Store, tmp_path: Path) -> None:
    require_chromium()
    from pypdf import PdfReader

    seed(store)
    path = tmp_path / "feeds.yml"
    path.write_text(yaml.safe_dump(config_data()), encoding="utf-8")
    out = tmp_path / "q4.pdf"
    result = CliRunner().invoke(cli, ["--config", str(path), "--db", store.url, "report", "--from", "2026-11-02",
                                      "--to", "2026-11-24", "--format", "pdf", "--out", str(out)], obj=FakeClock(NOW))
    assert result.exit_code == 0, result.output
    assert "4 stories, 3 outlets" in result.output
    text = " ".join((page.extract_text() or "") for page in PdfReader(out).pages)
    text = " ".join(text.split())
    for expected in ("Coverage report", "4 Stories", "3 Outlets", "2 Members covered", "Eviction bill advances",
                     "Fares cut for riders", "Week one story", "Gothamist"):
        assert expected in text, expected
    assert "Rejected one" not in text and "Before the period" not in text


def test_a_missing_pdf_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(ReportError, match="PDF reports need Chromium"):
        html_to_pdf("<p>x</p>")


@pytest.mark.browser
def test_html_report_in_chromium(store: Store, tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    seed(store)
    config = make_config()
    page_path = tmp_path / "report.html"
    page_path.write_text(render_report_html(build_report(config, store, ReportRequest(START, END), NOW), config),
                         encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(page_path.as_uri())
            assert page.locator('[data-total="stories"] b').inner_text() == "4"
            assert page.locator('[data-total="outlets"] b').inner_text() == "3"
            bars = page.locator("svg.report-chart rect.bar")
            assert bars.count() == 4
            heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(4)]
            assert heights[2] > heights[0] > heights[1] == 0  # 2, 1, 0 stories
            box = page.locator("svg.report-chart").bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100  # the chart is drawn
            assert page.locator("table.stories tr.story").count() == 4
            link = page.locator("table.stories tr.story td.headline a").first
            assert link.inner_text() == "=Council votes today"
            assert link.get_attribute("href") == "https://news.example.org/w4a"
            assert errors == []
        finally:
            browser.close()

# ------------------------------------------------------------------ outlets and order (review findings)


def _story_clip(store: Store, link: str, at: datetime, outlet: str, title: str, summary: str) -> str:
    from tracker.models import MatchedEntry, Mention, ParsedEntry
    from tracker.normalize import canonical_url, clip_id_for

    canonical = canonical_url(link)
    entry = ParsedEntry(title=title, link=link, guid=link, summary=summary, content="", published_at=at,
                        source_outlet=outlet)
    mention = Mention("member", "kendra-brooks", "Kendra Brooks", "summary", "Kendra Brooks")
    store.store_entries("paper", [MatchedEntry(entry, canonical, clip_id_for(canonical), (mention,))], at)
    return clip_id_for(canonical)


def test_report_counts_one_outlet_per_domain_whatever_name_its_clips_came_with(store: Store) -> None:
    from datetime import date

    from tests.fakes import NOW
    from tests.notifykit import make_config
    from tracker.report import ReportRequest, build_report
    from tracker.syndication import place_new_clips

    config = make_config()
    _story_clip(store, "https://www.inquirer.com/politics/a", NOW - timedelta(days=3), "Inquirer",
          "Brooks pushes rent bill", "Councilmember Kendra Brooks introduced a bill on rent increases today.")
    _story_clip(store, "https://inquirer.com/news/b", NOW - timedelta(days=2), "The Philadelphia Inquirer",
          "Transit fares debated", "Kendra Brooks questioned SEPTA officials about fare hikes at a hearing.")
    place_new_clips(store, config, NOW)
    report = build_report(config, store, ReportRequest(date(2026, 11, 16), date(2026, 11, 24)), NOW)
    assert len(report.stories) == 2
    # README ("Outlets"): an outlet is a registrable domain, whatever name a feed gives it.
    assert len(report.outlets) == 1, report.outlets


def test_report_lists_stories_newest_first_by_the_date_it_shows(store: Store) -> None:
    from datetime import date

    from tests.fakes import NOW
    from tests.notifykit import make_config
    from tracker.report import ReportRequest, build_report
    from tracker.syndication import place_new_clips

    config = make_config()
    wire = ("Councilmember Kendra Brooks introduced a bill on Tuesday that would cap rent increases for tenants "
            "in buildings with more than four units, a measure housing advocates have pushed for years.")
    _story_clip(store, "https://www.inquirer.com/politics/a", NOW - timedelta(days=12), "The Inquirer", "Rent cap bill", wire)
    place_new_clips(store, config, NOW - timedelta(days=12))
    _story_clip(store, "https://www.whyy.org/news/m", NOW - timedelta(days=10), "WHYY", "Transit fares debated",
          "Kendra Brooks questioned SEPTA officials about fare hikes at a hearing on the transit budget.")
    _story_clip(store, "https://www.phillyvoice.com/b", NOW - timedelta(days=1), "PhillyVoice", "Rent cap bill", wire)
    place_new_clips(store, config, NOW)
    report = build_report(config, store, ReportRequest(date(2026, 11, 1), date(2026, 11, 24)), NOW)
    dates = [s.at for s in report.stories]
    assert len(dates) == 2
    assert dates == sorted(dates, reverse=True), dates  # CoverageReport.stories: "newest first"

"""Coverage reports for a board or a funder: totals, stories per week (an SVG chart) and the list of
stories of a period, as HTML, PDF (Chromium's print-to-PDF of that HTML) or CSV.

Counts are of stories (tracker.notify.stories): syndicated copies of one article count once.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import Literal

from tracker.errors import ReportError
from tracker.export.html_writer import preview_css
from tracker.export.sanitize import clean_text, guard_cell, human_date, safe_http_url
from tracker.models import ClipFilter, ClipStatus, Config
from tracker.notify.select import chapter_members
from tracker.notify.stories import Story, group_stories
from tracker.store import Store

ReportFormat = Literal["html", "pdf", "csv"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("html", "pdf", "csv")
CSV_COLUMNS = ("date", "headline", "outlet", "outlets", "url", "members", "campaigns", "status", "story_id")
CHROMIUM_ENV = "TRACKER_CHROMIUM"  # the browser used for PDFs, when not /usr/bin/chromium
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120


@dataclass(frozen=True)
class ReportRequest:
    start: date
    end: date  # inclusive
    campaign: str | None = None
    member: str | None = None
    chapter: str | None = None
    approved_only: bool = False


@dataclass(frozen=True)
class CoverageReport:
    request: ReportRequest
    title: str
    stories: tuple[Story, ...]  # newest first
    weeks: tuple[tuple[date, int], ...]  # (Monday, stories that week), every week of the period
    generated_at: datetime

    @property
    def outlets(self) -> tuple[str, ...]:
        """One per outlet, an outlet being a domain whatever name its clips came with ("Inquirer",
        "The Philadelphia Inquirer"): named as its stories' primary copies name it first."""
        names: dict[str, str] = {}
        for story in self.stories:
            for clip in story.clips:  # the primary first
                if clip.display_outlet:
                    names.setdefault(clip.outlet_domain or clip.display_outlet, clip.display_outlet)
        return tuple(sorted(set(names.values()), key=str.casefold))

    @property
    def members_covered(self) -> tuple[str, ...]:
        return tuple(sorted({m for s in self.stories for m in s.member_ids}))

    @property
    def campaigns_covered(self) -> tuple[str, ...]:
        return tuple(sorted({c for s in self.stories for c in s.campaign_ids}))


def _name(config: Config, kind: str, target_id: str) -> str:
    items = config.members if kind == "member" else config.campaigns
    return next((i.name for i in items if i.id == target_id), target_id)


def build_report(config: Config, store: Store, request: ReportRequest, now: datetime) -> CoverageReport:
    if request.end < request.start:
        raise ReportError(f"--to {request.end} is before --from {request.start}")
    if request.member and request.member not in {m.id for m in config.members}:
        raise ReportError(f"no member with id {request.member!r}")
    if request.campaign and request.campaign not in {c.id for c in config.campaigns}:
        raise ReportError(f"no campaign with id {request.campaign!r}")
    member_ids = None
    if request.chapter:
        member_ids = tuple(sorted(chapter_members(config, [request.chapter])))
        if not member_ids:
            raise ReportError(f"no member has chapter or state {request.chapter!r}")
    clips = store.all_clips(ClipFilter(
        status=ClipStatus.APPROVED if request.approved_only else None, member=request.member,
        campaign=request.campaign, member_ids=member_ids,
        since=datetime.combine(request.start, time(), UTC), until=datetime.combine(request.end + timedelta(days=1), time(), UTC),
    ))
    # Rejected clips are left out, and so are the copies of a story staff rejected (by its primary).
    left_out = store.rejected_with_their_primary([c.id for c in clips if c.status is ClipStatus.NEW])
    stories = [s for s in group_stories(c for c in clips if c.status != ClipStatus.REJECTED and c.id not in left_out)]
    stories.sort(key=lambda s: (s.at, s.id), reverse=True)  # newest first, by the date each shows
    per_week = Counter(_monday(s.at.astimezone(UTC).date()) for s in stories)
    weeks = []
    week = _monday(request.start)
    while week <= request.end:
        weeks.append((week, per_week.get(week, 0)))
        week += timedelta(days=7)
    about = [_name(config, "campaign", request.campaign) if request.campaign else "",
             _name(config, "member", request.member) if request.member else "", request.chapter or ""]
    title = "Coverage report" + (f": {', '.join(a for a in about if a)}" if any(about) else "")
    return CoverageReport(request=request, title=title, stories=tuple(stories), weeks=tuple(weeks), generated_at=now)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _short(day: date) -> str:
    return human_date(datetime.combine(day, time(), UTC)).rsplit(",", 1)[0]


# ------------------------------------------------------------------ renderers (pure)


def render_chart_svg(weeks: Sequence[tuple[date, int]], width: int = 720, height: int = 220) -> str:
    """Stories per week as an inline SVG bar chart: no script, no library, prints as vectors."""
    top, bottom, left = 24, 40, 8
    n = max(1, len(weeks))
    peak = max([c for _, c in weeks] + [1])
    slot = (width - 2 * left) / n
    bar = max(2.0, slot * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>Stories per week</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" stroke="#999"/>']
    label_every = max(1, n // 12)
    for i, (week, count) in enumerate(weeks):
        h = (height - top - bottom) * count / peak
        x = left + i * slot + (slot - bar) / 2
        y = height - bottom - h
        parts.append(f'<rect class="bar" data-week="{week.isoformat()}" data-count="{count}" x="{x:.1f}" y="{y:.1f}" '
                     f'width="{bar:.1f}" height="{h:.1f}" fill="#3a6ea5"><title>week of {_short(week)}: {count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{count}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" font-size="10" text-anchor="middle" '
                         f'fill="#555">{escape(_short(week))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report_html(report: CoverageReport, config: Config) -> str:
    r = report.request
    period = f"{human_date(datetime.combine(r.start, time(), UTC))} – {human_date(datetime.combine(r.end, time(), UTC))}"
    totals = (("Stories", len(report.stories)), ("Outlets", len(report.outlets)),
              ("Members covered", len(report.members_covered)), ("Campaigns covered", len(report.campaigns_covered)))
    rows = []
    for s in report.stories:
        clip = s.primary
        url = safe_http_url(clip.url) or safe_http_url(clip.canonical_url)
        headline = escape(clean_text(clip.display_headline))
        if url:
            headline = f'<a href="{escape(url)}">{headline}</a>'
        rows.append(
            f'<tr class="story" data-story-id="{escape(s.id)}"><td class="date">{escape(s.at.astimezone(UTC).date().isoformat())}</td>'
            f'<td class="headline" dir="auto">{headline}</td><td class="outlet">{escape(", ".join(s.outlets))}</td>'
            f'<td>{escape(", ".join(_name(config, "member", m) for m in s.member_ids))}</td>'
            f'<td>{escape(", ".join(_name(config, "campaign", c) for c in s.campaign_ids))}</td></tr>'
        )
    week_rows = "".join(f"<tr><td>{escape(_short(w))}</td><td>{c}</td></tr>" for w, c in report.weeks)
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        f"<title>{escape(report.title)}</title>\n<style>\n{preview_css()}"
        ".totals{display:flex;gap:1.5rem;flex-wrap:wrap;margin:1rem 0}.total{border:1px solid #ddd;padding:.5rem 1rem;border-radius:6px}"
        ".total b{display:block;font-size:1.6rem}table{border-collapse:collapse;width:100%;font-size:.85rem}"
        "td,th{border-bottom:1px solid #e5e5e5;padding:.3rem .4rem;text-align:left;vertical-align:top}"
        "th{background:#f5f5f7}.date{white-space:nowrap}.weeks{width:auto}"
        "@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}tr{break-inside:avoid}}\n"
        "</style>\n</head>\n<body>\n"
        f'<h1 class="report-title">{escape(report.title)}</h1>\n<p class="period">{escape(period)} · '
        f"generated {escape(human_date(report.generated_at))}</p>\n"
        '<div class="totals">'
        + "".join(f'<div class="total" data-total="{escape(label.lower())}"><b>{n}</b>{escape(label)}</div>' for label, n in totals)
        + "</div>\n<h2>Stories per week</h2>\n" + render_chart_svg(report.weeks)
        + f'\n<table class="weeks"><tr><th>Week of</th><th>Stories</th></tr>{week_rows}</table>\n'
        + f"<h2>Stories ({len(report.stories)})</h2>\n"
        + '<table class="stories"><tr><th>Date</th><th>Headline</th><th>Outlet</th><th>Members</th><th>Campaigns</th></tr>\n'
        + "\n".join(rows) + "\n</table>\n</body>\n</html>\n"
    )


def render_report_csv(report: CoverageReport, config: Config) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for s in report.stories:
        clip = s.primary
        cells = [
            s.at.astimezone(UTC).date().isoformat(), clean_text(clip.display_headline), clean_text(clip.display_outlet),
            "; ".join(s.outlets), safe_http_url(clip.url) or safe_http_url(clip.canonical_url) or "",
            "; ".join(_name(config, "member", m) for m in s.member_ids),
            "; ".join(_name(config, "campaign", c) for c in s.campaign_ids), str(clip.status), s.id,
        ]
        writer.writerow([guard_cell(c) for c in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def find_chromium() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def html_to_pdf(html: str, chromium: str | None = None) -> bytes:
    """Chromium's own print-to-PDF of the report page: the same layout as the HTML, offline."""
    browser = chromium or find_chromium()
    if browser is None:
        raise ReportError(f"PDF reports need Chromium (apt-get install chromium, or set {CHROMIUM_ENV}); "
                          "--format html or csv work without it")
    with tempfile.TemporaryDirectory(prefix="tracker-report-") as tmp:
        page, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReportError(f"Chromium could not print the report: {exc.__class__.__name__}: {exc}") from None
        if not pdf.is_file() or pdf.stat().st_size == 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ReportError(f"Chromium made no PDF (exit {done.returncode}): {err[-1] if err else 'no message'}")
        return pdf.read_bytes()


def render_report(report: CoverageReport, config: Config, fmt: ReportFormat) -> bytes:
    if fmt == "csv":
        return render_report_csv(report, config)
    html = render_report_html(report, config)
    return html_to_pdf(html) if fmt == "pdf" else html.encode("utf-8")

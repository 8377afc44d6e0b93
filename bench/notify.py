"""Digest and report cost against the export's own rendering of the same clips, in one process.

    python bench/notify.py [--clips N]

Seeds N demo clips over 60 days (SQLite in a temp folder), then times, median of 5:
  baseline  the clips first seen in the last day + the export's preview page of them (tracker.export)
  digest    a first digest (the last day) for one recipient: pending stories (filter, delivery log) + render
  report    tracker report of the 60 days as HTML, and as PDF (Chromium) once
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.demo import demo_config, seed_store
from tracker.export import Registry, render_preview_page
from tracker.models import DigestConfig, NotifyConfig, SmtpConfig
from tracker.notify.digest import FIRST_LOOKBACK, pending_stories, render_digest
from tracker.report import ReportRequest, build_report, html_to_pdf, render_report_html
from tracker.store import Store

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        base = demo_config()
        seed_store(store, args.clips, now=NOW, days=60)
        digest = DigestConfig(name="week", recipients=("a@example.org",))
        config = type(base)(path=base.path, settings=base.settings, feeds=base.feeds, members=base.members,
                            campaigns=base.campaigns, notify=NotifyConfig(smtp=SmtpConfig(host="x", sender="a@example.org"),
                                                                           digests=(digest,)))
        registry = Registry.from_config(config)
        since = NOW - FIRST_LOOKBACK
        window = store.clips_changed_since(since)

        def baseline() -> object:
            return render_preview_page(store.clips_changed_since(since), registry)

        def run_digest() -> object:
            stories = pending_stories(config, store, digest, "a@example.org", NOW)
            return render_digest(config, digest, stories, NOW)

        request = ReportRequest(start=(NOW - timedelta(days=60)).date(), end=NOW.date())

        def report_html() -> str:
            return render_report_html(build_report(config, store, request, NOW), config)

        b, d, r = median_ms(baseline), median_ms(run_digest), median_ms(report_html)
        html = report_html()
        stories = len(build_report(config, store, request, NOW).stories)
        start = time.perf_counter()
        pdf = html_to_pdf(html)
        p = (time.perf_counter() - start) * 1000
        print(f"{args.clips} clips; {len(window)} first seen in the last day; report of 60 days: {stories} stories")
        print(f"baseline (export preview, last day): {b:.0f} ms")
        print(f"digest (1 recipient, last day):     {d:.0f} ms  ({d / b:.2f}x baseline)")
        print(f"report html (60 days):              {r:.0f} ms  ({r / b:.2f}x baseline)")
        print(f"report pdf (60 days, Chromium):     {p:.0f} ms  ({p / b:.1f}x baseline), {len(pdf) // 1024} KiB")
        store.close()


if __name__ == "__main__":
    main()

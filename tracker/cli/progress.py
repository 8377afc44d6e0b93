"""What `tracker ingest` shows a person: a progress bar on a terminal, a summary at the end."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tracker.ingest import CycleReport, FeedReport


class CycleProgress:
    """A live bar on a terminal; plain lines for failures otherwise (logs, cron)."""

    def __init__(self, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interactive = enabled and self.stream.isatty()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> CycleProgress:
        if self.interactive:
            self._progress = Progress(
                TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), console=Console(file=self.stream), transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("", total=None)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)

    def update(self, report: FeedReport, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, total=total, description=(report.name or report.feed_id)[:40])
            if not report.ok:
                self._progress.console.print(f"[red]✗[/red] {report.name or report.feed_id}: {report.error}")
        elif not report.ok:
            print(f"[{done}/{total}] FAILED {report.name or report.feed_id}: {report.error}", file=self.stream)


def print_summary(report: CycleReport, stream: IO[str]) -> None:
    console = Console(file=stream, highlight=False, width=max(100, Console(file=stream).width))
    seconds = (report.finished_at - report.started_at).total_seconds()
    console.print(
        f"ingest run {report.run_id}: {report.outcome} in {seconds:.1f}s — "
        f"{report.feeds_ok} feeds ok, {report.feeds_failed} failed, {report.feeds_skipped} skipped; "
        f"{report.items_seen} items seen, {report.new_clips} new clips"
    )
    if report.export_error:
        console.print(f"[yellow]warning:[/yellow] {report.export_error}")
    links = report.links
    if links is not None and (links.resolved or links.failed or links.retry or links.backing_off_until or links.error):
        line = f"search links: {links.resolved} resolved"
        if links.merged:
            line += f" ({links.merged} merged into an outlet's clip)"
        line += f", {links.retry} to retry, {links.failed} given up; {links.looked_up} lookups"
        if links.backing_off_until is not None:
            line += f"; backing off until {links.backing_off_until:%Y-%m-%d %H:%M} UTC"
        console.print(line)
        if links.error:
            console.print(f"[yellow]search links:[/yellow] {links.error}")
    articles = report.articles
    if articles is not None and (articles.attempted or articles.left or articles.error):
        console.print(
            f"articles: {articles.read + articles.new_clips + articles.dropped} read, {articles.new_clips} new clips "
            f"found only in the article, {articles.dropped} items dropped (the article names nobody), "
            f"{articles.unverified} search items kept unverified, {articles.failed} unreadable, "
            f"{articles.retry} to try again (timeout, connection, server busy); "
            f"{articles.left} waiting for the next cycle"
        )
        if articles.error:
            console.print(f"[yellow]articles:[/yellow] {articles.error}")
    stories = report.stories
    if stories is not None and (stories.placed or stories.error):
        console.print(f"stories: {stories.placed} clips placed, {stories.joined} joined a known story, "
                      f"{stories.stories_new} new stories ({stories.seconds:.2f}s)")
        if stories.error:
            console.print(f"[yellow]stories:[/yellow] {stories.error}")
    failed = [f for f in report.feeds if not f.ok and not f.skipped]
    if failed:
        table = Table(title="Failed feeds (recorded; retried with backoff)", show_lines=False)
        table.add_column("feed")
        table.add_column("error")
        for f in failed[:20]:
            table.add_row(f.name or f.feed_id, f.error or "")
        console.print(table)
        if len(failed) > 20:
            console.print(f"… and {len(failed) - 20} more: see `tracker status`")
    alerted = [f for f in report.feeds if f.alert]
    if alerted:
        table = Table(title="Read, but needing attention (shown in `tracker status` until fixed)")
        table.add_column("feed")
        table.add_column("what")
        for f in alerted[:20]:
            table.add_row(f.name or f.feed_id, f.alert or "")
        console.print(table)
    with_clips = [f for f in report.feeds if f.new_clips]
    if with_clips:
        table = Table(title="New clips by feed")
        table.add_column("feed")
        table.add_column("items", justify="right")
        table.add_column("new clips", justify="right")
        for f in sorted(with_clips, key=lambda f: -f.new_clips)[:15]:
            table.add_row(f.name or f.feed_id, str(f.items_seen), str(f.new_clips))
        console.print(table)

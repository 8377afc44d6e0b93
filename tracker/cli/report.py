"""`tracker report`: a coverage report of a period, as HTML, PDF or CSV."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_app


class _Date(click.ParamType):  # type: ignore[type-arg]
    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            found = datetime.strptime(str(value), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-10-01", param, ctx)
        if not 1900 <= found.year <= 2999:  # and 9999-12-31's next day does not exist
            self.fail(f"{value!r}: give a date between 1900 and 2999", param, ctx)
        return found


@click.command("report")
@click.option("--from", "start", type=_Date(), required=True, help="First day (UTC), e.g. 2026-10-01.")
@click.option("--to", "end", type=_Date(), required=True, help="Last day, included.")
@click.option("--campaign", help="Only stories about this campaign id.")
@click.option("--member", help="Only stories mentioning this member id.")
@click.option("--chapter", help="Only stories mentioning members of this chapter or state.")
@click.option("--approved-only", is_flag=True, help="Only approved stories (default: new and approved).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "csv"]), required=True, help="Output format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write ('-': stdout).")
@pass_app
def report(app: AppContext, start: date, end: date, campaign: str | None, member: str | None, chapter: str | None,
           approved_only: bool, fmt: str, out: Path) -> None:
    """Totals, stories per week (a chart) and the list of stories, for a board or a funder."""
    from tracker.export import write_atomic
    from tracker.report import ReportRequest, build_report, render_report

    request = ReportRequest(start=start, end=end, campaign=campaign, member=member, chapter=chapter,
                            approved_only=approved_only)
    built = build_report(app.config, app.store, request, app.clock())
    data = render_report(built, app.config, fmt)  # type: ignore[arg-type]
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        return
    write_atomic(out, data)
    click.echo(f"{out}: {len(built.stories)} stories, {len(built.outlets)} outlets", err=True)

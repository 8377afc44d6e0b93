"""`tracker match` and `tracker rematch`: the matcher on items from a file, or re-applied to stored clips."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import click

from tracker.cli.context import AppContext, pass_app
from tracker.errors import TrackerError


@click.command("match")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--explain", is_flag=True, help="Add each mention: the term that fired, the field and a snippet.")
@pass_app
def match(app: AppContext, file: IO[str], explain: bool) -> None:
    """Match items from FILE.jsonl ('-' for stdin) and print one JSON line per item.

    Each input line: {"id", "title", "summary", "content"?, "url"?, "source"?}.
    """
    from tracker.match import compile_matcher, item_from_json, mentions_json

    config = app.config
    matcher = compile_matcher(config.members, config.campaigns)
    out = sys.stdout
    for item in _read_jsonl(file, getattr(file, "name", "input")):
        mentions = matcher.match(item_from_json(item))
        result: dict[str, Any] = {
            "id": item["id"],
            "members": sorted({m.target_id for m in mentions if m.kind == "member"}),
            "campaigns": sorted({m.target_id for m in mentions if m.kind == "campaign"}),
        }
        if explain:
            result["mentions"] = mentions_json(mentions)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")


def _read_jsonl(stream: IO[str], source: str) -> Iterator[dict[str, Any]]:
    for line_no, line in enumerate(_lines(stream, source), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrackerError(f"{source}: line {line_no}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or "id" not in item:
            raise TrackerError(f"{source}: line {line_no}: expected an object with an 'id'")
        yield item


def _lines(stream: IO[str], source: str) -> Iterator[str]:
    """The file's lines; bytes that are not UTF-8 are one line of error, naming the line, not a traceback."""
    line_no = 0
    while True:
        try:
            line = stream.readline()
        except UnicodeDecodeError:
            raise TrackerError(f"{source}: near line {line_no + 1}: not UTF-8 text") from None
        if not line:
            return
        line_no += 1
        yield line


@click.command()
@click.option("--since", help="Only clips first seen on or after this date (YYYY-MM-DD).")
@pass_app
def rematch(app: AppContext, since: str | None) -> None:
    """Re-apply the current config's members and campaigns to stored clips (no re-fetching).

    Staff decisions (status, edits, hand-attached members) are kept.
    """
    from tracker.rematch import rematch_store

    since_at = _parse_day(since, "--since") if since else None
    result = rematch_store(app.config, app.store, since=since_at, clock=app.clock)
    click.echo(f"rematched {result.clips_checked} clips: {result.clips_gained} gained mentions, "
               f"{result.clips_lost} lost mentions")
    for line in result.changes[:50]:
        click.echo(f"  {line}")
    if len(result.changes) > 50:
        click.echo(f"  … and {len(result.changes) - 50} more")


def _parse_day(value: str, option: str) -> datetime:
    from tracker.normalize import parse_date

    at = parse_date(value)
    if at is None:
        raise TrackerError(f"{option}: not a date: {value!r} (use YYYY-MM-DD)")
    return at

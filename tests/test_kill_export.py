"""kill -9 of a real `tracker export` while it writes the website's files: each file on disk is
always a whole version, the previous or the new, and no temp file outlives the next export.

The database alternates between two sets of approved clips, so every export rewrites all
four files. The child runs on a slow disk (16 KiB per write, a millisecond apart: a shim around
os.write, nothing else changed) so kills can land inside a file's write, and each is killed
just after it starts writing a randomly chosen file. SQLite only: what is on trial is the
file writing, which is the same whatever database the clips come from. TRACKER_KILL_SEED
reproduces a failing series.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import yaml
from click.testing import CliRunner

from tests.fakes import NOW
from tests.test_export_atomic import leftovers
from tests.test_kill_ingest import kill_when
from tracker.cli import cli
from tracker.demo import demo_config_data, seed_store
from tracker.export import CSV_COLUMNS, JSON_VERSION
from tracker.models import ClipFilter, ClipStatus
from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEED = int(os.environ.get("TRACKER_KILL_SEED", "16"))
KILLS = 6
FILES = {"json": "in-the-news.json", "rss": "in-the-news.xml", "csv": "in-the-news.csv", "html": "in-the-news.html"}

SLOW_DISK = """
import os, sys, time
_write = os.write
def slow_write(fd, data):
    time.sleep(0.001)
    return _write(fd, bytes(memoryview(data)[:16384]))
os.write = slow_write
sys.argv[0] = "tracker"
from tracker.cli import main
main()
"""


class _Balanced(HTMLParser):
    """Every element the fragment opens it closes, in order: a cut-off file never is."""

    VOID = frozenset({"img", "br", "hr", "meta", "link", "input", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.roots: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if not self.open:
            self.roots.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:] or 'nothing'}"
        self.open.pop()


def parse_fully(fmt: str, data: bytes) -> int:
    """Parse an export completely; the number of clips in it."""
    if fmt == "json":
        doc = json.loads(data)
        assert doc["version"] == JSON_VERSION
        return len(doc["items"])
    if fmt == "rss":
        channel = ET.fromstring(data).find("channel")
        assert channel is not None
        return len(channel.findall("item"))
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert tuple(rows[0]) == CSV_COLUMNS and all(len(r) == len(CSV_COLUMNS) for r in rows)
        return len(rows) - 1
    parser = _Balanced()
    parser.feed(data.decode("utf-8"))
    parser.close()
    assert parser.open == [] and parser.roots == ["section"]
    return data.count(b"<article")


# A file's time is its own (it moves on when the file changes, never back), so toggling between two
# states gives a later time each round: the versions are compared without it.
_FILE_TIME = re.compile(rb'"generated_at": "[^"]*"|<lastBuildDate>[^<]*</lastBuildDate>')


def untimed(data: bytes) -> bytes:
    return _FILE_TIME.sub(b"(time)", data)


def writing(out: Path, to_write: list[str], nth: int) -> Callable[[], bool]:
    """Has the export begun its nth file: a new temp file of it, or the file itself replaced?"""
    stale = set(os.listdir(out))  # temp files earlier kills left: not this export's
    stats = {name: (out / name).stat() for name in to_write}
    touched: set[str] = set()

    def begun() -> bool:
        names = set(os.listdir(out)) - stale
        for name in to_write:
            tmp = re.compile(re.escape(f".{name}.") + r"[0-9a-f]+\.tmp")
            now, was = (out / name).stat(), stats[name]
            if any(tmp.fullmatch(n) for n in names) or (now.st_ino, now.st_mtime_ns) != (was.st_ino, was.st_mtime_ns):
                touched.add(name)
        return len(touched) >= nth

    return begun


def export_args(config: Path, db_url: str, out: Path) -> list[str]:
    return ["--config", str(config), "--db", db_url, "export", "--all-formats", "--out-dir", str(out)]


def test_kill_9_during_export_leaves_whole_files_and_no_temp_files(tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-export")
    context = f"seed {SEED} (TRACKER_KILL_SEED={SEED} reproduces)"
    config = tmp_path / "feeds.yml"
    config.write_text(yaml.safe_dump(demo_config_data(), sort_keys=False), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = Store(db_url)
    try:
        seed_store(store, 1000, now=NOW, days=60)
        approved = sorted(c.id for c in store.all_clips(ClipFilter(status=ClipStatus.APPROVED)))
        rejected = sorted(c.id for c in store.all_clips(ClipFilter(status=ClipStatus.REJECTED)))
        taken_down, put_up = approved[::7], rejected[:60]
        at = NOW + timedelta(days=1)  # one fixed review time: the same state always gives the same bytes

        def to_state(store: Store, state: str) -> None:
            store.set_status(taken_down, ClipStatus.NEW if state == "b" else ClipStatus.APPROVED, "ed", at)
            store.set_status(put_up, ClipStatus.APPROVED if state == "b" else ClipStatus.REJECTED, "ed", at)

        versions: dict[str, dict[str, bytes]] = {}
        for state in ("b", "a"):  # a after b: both states as every later toggle leaves them
            to_state(store, state)
            result = CliRunner().invoke(cli, export_args(config, db_url, tmp_path / f"ref-{state}"))
            assert result.exit_code == 0, result.output
            versions[state] = {fmt: (tmp_path / f"ref-{state}" / name).read_bytes() for fmt, name in FILES.items()}
        for fmt in FILES:
            assert versions["a"][fmt] != versions["b"][fmt]
            assert parse_fully(fmt, versions["a"][fmt]) > 200
    finally:
        store.close()

    out = tmp_path / "site"
    result = CliRunner().invoke(cli, export_args(config, db_url, out))  # the website's files, version a
    assert result.exit_code == 0, result.output

    killed = left_behind = 0
    for round_ in range(2 * KILLS):  # a child that finishes before its kill does not count; bounded all the same
        if killed == KILLS:
            break
        before = {name: (out / name).read_bytes() for name in FILES.values()}
        state = "b" if round_ % 2 == 0 else "a"
        if all(untimed(before[name]) == untimed(versions[state][fmt]) for fmt, name in FILES.items()):
            state = "b" if state == "a" else "a"  # the last export was killed before it wrote anything
        # Files a killed export already brought to this state are left untouched: only the others count.
        to_write = [name for fmt, name in FILES.items() if untimed(before[name]) != untimed(versions[state][fmt])]
        store = Store(db_url)
        try:
            to_state(store, state)
        finally:
            store.close()
        nth_file = rng.randint(1, len(to_write))
        extra_s = rng.uniform(0.0, 0.03)
        proc = subprocess.Popen([sys.executable, "-c", SLOW_DISK, *export_args(config, db_url, out)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        was_killed, rc, err = kill_when(proc, writing(out, to_write, nth_file), extra_s,
                                        f"{context}: round {round_} to start writing file {nth_file}", every_s=0.002)
        killed += was_killed
        assert rc in (0, -signal.SIGKILL), f"{context}: round {round_} exited {rc}: {err}"
        for fmt, name in FILES.items():
            data = (out / name).read_bytes()
            where = f"{context}, round {round_}, killed at file {nth_file} + {extra_s:.3f} s: {name}"
            assert untimed(data) in (untimed(before[name]), untimed(versions[state][fmt])), (
                f"{where} is neither the previous nor the new version")
            parse_fully(fmt, data)
        left_behind += len(leftovers(out))
    assert killed == KILLS, f"{context}: only {killed} of {round_ + 1} exports were still running to be killed"
    assert left_behind, f"{context}: no kill landed inside a file's write, so the test proved nothing"

    # The next export, killed or not, removes what a killed one left; then the files are the current state's.
    result = CliRunner().invoke(cli, export_args(config, db_url, out))
    assert result.exit_code == 0, result.output
    assert leftovers(out) == []
    for fmt, name in FILES.items():
        assert untimed((out / name).read_bytes()) == untimed(versions[state][fmt])

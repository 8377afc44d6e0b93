"""A read-only data folder: commands that read still work, commands that write say so in one line.

The folder is made read-only with chmod, and every command runs as a real `python -m tracker.cli`
subprocess. Tests often run as root, whom chmod does not stop, so there the subprocess runs
through util-linux `setpriv` without CAP_DAC_OVERRIDE: still uid 0, but held to the file modes
like any user. Each test first proves the folder really is read-only to that subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.fakes import NOW
from tracker.demo import seed_store
from tracker.models import ClipFilter, ClipStatus
from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent
CLIPS = 12


def unprivileged() -> list[str]:
    """The command prefix that makes file modes apply to the subprocess."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if IN_CI:
            pytest.fail("setpriv (util-linux) is needed to test a read-only folder as root")
        pytest.skip("running as root without setpriv: chmod cannot make a folder read-only for us")
    return [setpriv, "--bounding-set=-dac_override", "--inh-caps=-dac_override"]


@dataclass
class ReadOnly:
    folder: Path
    url: str
    config: Path
    clip_id: str

    def run(self, *args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [*unprivileged(), sys.executable, "-m", "tracker.cli", "--config", str(self.config),
                   "--db", db or self.url, *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[ReadOnly]:
    """A database at the current schema with clips, in a folder then made read-only (files too)."""
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'tracker.db'}"
    store = Store(url)
    seed_store(store, CLIPS, now=NOW)
    clip_id = store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0].id  # approving it writes
    store.close()
    config = tmp_path / "feeds.yml"
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>x</title></channel></rss>", encoding="utf-8")
    config.write_text(f"feeds:\n  - url: 'file:{feed.name}'\nmembers:\n  - name: Kendra Brooks\n", encoding="utf-8")
    (folder / "tracker.db.migrate-lock").unlink(missing_ok=True)
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    ro = ReadOnly(folder, url, config, clip_id)
    probe = subprocess.run([*unprivileged(), "touch", str(folder / "probe")], capture_output=True)
    assert probe.returncode != 0, "the folder is not read-only for the subprocess: the test would prove nothing"
    try:
        yield ro
    finally:
        folder.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_read_only_commands_work_on_a_read_only_database(read_only: ReadOnly) -> None:
    before = sorted(p.name for p in read_only.folder.iterdir())
    status = read_only.run("status", "--json")
    assert status.returncode == 0, status.stderr
    assert "runs" in json.loads(status.stdout)
    listed = read_only.run("clips", "list", "--limit", "100", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == CLIPS
    exported = read_only.run("export", "--format", "json", "--out", "-")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["version"] == 1
    copy = read_only.folder.parent / "copy.db"
    backed_up = read_only.run("backup", str(copy))  # a backup reads the database, writes elsewhere
    assert backed_up.returncode == 0, backed_up.stderr
    assert f"backed up {CLIPS} clips" in backed_up.stdout
    assert sorted(p.name for p in read_only.folder.iterdir()) == before  # not a byte written: no -wal, -shm, lock


def test_reads_go_through_a_live_writers_wal(read_only: ReadOnly) -> None:
    """Another process (here: this one, root) writes while the read-only reader reads: the reader sees
    the committed change still in the -wal file, not a stale copy of the main file."""
    writer = Store(read_only.url)
    try:
        writer.set_status([read_only.clip_id], ClipStatus.APPROVED, "maria", NOW)
        assert Path(f"{read_only.folder / 'tracker.db'}-wal").stat().st_size > 0
        listed = read_only.run("clips", "list", "--status", "approved", "--limit", "100", "--json")
        assert listed.returncode == 0, listed.stderr
        assert read_only.clip_id in {c["id"] for c in json.loads(listed.stdout)}
    finally:
        writer.close()


@pytest.mark.parametrize("command", [("ingest", "-q"), ("clips", "approve"), ("demo", "seed", "--clips", "1")])
def test_commands_that_write_fail_in_one_line(read_only: ReadOnly, command: tuple[str, ...]) -> None:
    args = (*command, read_only.clip_id) if command == ("clips", "approve") else command
    one_line_error(read_only.run(*args), "error: the database is read-only here", "needs to write")


def test_no_database_in_a_read_only_folder_is_one_line(read_only: ReadOnly) -> None:
    missing = f"sqlite:///{read_only.folder / 'other.db'}"
    one_line_error(read_only.run("status", db=missing), "cannot create database", "its folder is read-only")
    nested = f"sqlite:///{read_only.folder / 'sub' / 'other.db'}"
    one_line_error(read_only.run("status", db=nested), "cannot create the folder of database", "Permission denied")


def test_a_read_only_database_behind_the_schema_is_one_line(tmp_path: Path, read_only: ReadOnly) -> None:
    db = read_only.folder / "tracker.db"
    read_only.folder.chmod(0o755)
    db.chmod(0o644)
    import sqlite3

    with sqlite3.connect(db) as connection:  # as if written by an older tracker
        connection.execute("UPDATE alembic_version SET version_num = '0004'")
    connection.close()
    db.chmod(0o444)
    read_only.folder.chmod(0o555)
    one_line_error(read_only.run("status"), "is read-only and not at the current schema")

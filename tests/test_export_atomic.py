"""write_atomic and write_exports: what the website's web server can observe on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.errors import StorageError
from tracker.export import Registry, write_atomic, write_exports
from tracker.models import ClipStatus, ClipView, ExportTarget

ROOT = Path(__file__).resolve().parent.parent


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_creates_parents_and_writes(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "news.json"
    assert write_atomic(target, b"{}\n") is True
    assert target.read_bytes() == b"{}\n"
    assert leftovers(target.parent) == []


def test_unchanged_content_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "news.json"
    write_atomic(target, b"same")
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))  # an mtime a rewrite could not keep
    inode = target.stat().st_ino
    assert write_atomic(target, b"same") is False
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert target.stat().st_ino == inode
    assert write_atomic(target, b"different") is True
    assert target.read_bytes() == b"different"
    assert target.stat().st_mtime_ns != 1_000_000_000


def test_same_size_different_bytes_is_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "news.json"
    write_atomic(target, b"aaaa")
    assert write_atomic(target, b"aaab") is True
    assert target.read_bytes() == b"aaab"


def test_permissions_follow_umask_then_existing_file(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        target = tmp_path / "news.json"
        write_atomic(target, b"one")
        # Not mkstemp's 0600: the web server usually runs as another user.
        assert target.stat().st_mode & 0o777 == 0o644
        target.chmod(0o640)
        write_atomic(target, b"two")
        assert target.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_unwritable_location_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot"):
        write_atomic(blocker / "news.json", b"x")


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "in-the-news.json"
    # Two large, different documents: a torn read would fail to parse or mix them.
    versions = [
        (
            json.dumps({"v": v, "items": [f"{v}-{i}-" + "x" * 200 for i in range(5000)]}) + "\n"
        ).encode()
        for v in (1, 2)
    ]
    write_atomic(target, versions[0])
    stop = threading.Event()
    writes = 0
    errors: list[BaseException] = []

    def writer() -> None:
        nonlocal writes
        try:
            while not stop.is_set():
                write_atomic(target, versions[writes % 2])
                writes += 1
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        reads = 0
        while reads < 200 or len(seen) < 2:  # until the reader has met both versions mid-rewrite
            assert time.monotonic() < deadline, "reader loop took too long"
            data = target.read_bytes()
            assert data in versions
            seen.add(json.loads(data)["v"])
            reads += 1
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert errors == []
    assert len(seen) == 2
    assert writes > 1
    assert leftovers(tmp_path) == []


# A writer stopped inside write_atomic, after its temp file is written, before the rename.
_WRITER_IN_FSYNC = """
import os, sys, time
from pathlib import Path
from tracker.export.atomic import write_atomic

def stall(fd):
    print("writing", flush=True)
    time.sleep(60)

os.fsync = stall
write_atomic(Path(sys.argv[1]), b"from the killed writer")
"""


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "in-the-news.json"
    write_atomic(target, b"old")
    child = subprocess.Popen([sys.executable, "-c", _WRITER_IN_FSYNC, str(target)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "writing\n"
        (theirs,) = leftovers(tmp_path)
        # Alive: its temp file is its own business, whatever another writer does meanwhile.
        assert write_atomic(target, b"new") is True
        assert leftovers(tmp_path) == [theirs]
    finally:
        child.kill()
        child.wait()
    assert target.read_bytes() == b"new"
    assert write_atomic(target, b"new") is False  # unchanged: the file is left alone, the dead writer's temp is not
    assert leftovers(tmp_path) == []
    assert target.read_bytes() == b"new"


def test_only_this_files_abandoned_temp_files_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "in-the-news.json"
    abandoned = tmp_path / ".in-the-news.json.0123456789ab.tmp"  # no writer holds it: as a kill leaves it
    others = [".in-the-news.xml.0123456789ab.tmp", ".in-the-news.json.tmp", "in-the-news.json.0123456789ab.tmp",
              ".in-the-news.json.0123456789ab.tmp.bak", "notes.tmp"]
    for name in [abandoned.name, *others]:
        (tmp_path / name).write_bytes(b"half a file")
    write_atomic(target, b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, *others])


def test_writers_racing_on_one_file_never_take_each_others_temp_files(tmp_path: Path) -> None:
    """Each write cleans up before it writes: a cleaner must never delete a live writer's temp file."""
    target = tmp_path / "in-the-news.json"
    contents = [f"writer {i}".encode() * 1000 for i in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(contents))

    def writer(data: bytes) -> None:
        start.wait()
        try:
            for _ in range(100):
                write_atomic(target, data)
                write_atomic(target, data + b".")
        except BaseException as exc:  # a cleaner took this writer's temp file: os.replace fails
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(data,)) for data in contents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert target.read_bytes() in {d + tail for d in contents for tail in (b"", b".")}
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- write_exports


def approved(clip_id: str) -> ClipView:
    now = datetime(2026, 11, 20, 14, 3, tzinfo=UTC)
    return ClipView(
        id=clip_id,
        url=f"https://news.example.com/{clip_id}",
        canonical_url=f"https://news.example.com/{clip_id}",
        title=f"Headline {clip_id}",
        summary="Summary.",
        outlet="Example Paper",
        published_at=now,
        first_seen_at=now,
        status=ClipStatus.APPROVED,
        image_url=None,
        tags=("pa",) if clip_id == "a" else (),
    )


def test_write_exports_reports_changes_per_target(tmp_path: Path) -> None:
    absolute = tmp_path / "elsewhere" / "news.csv"
    targets = [
        ExportTarget(format="json", path="data/exports/in-the-news.json"),
        ExportTarget(format="csv", path=str(absolute)),
        ExportTarget(format="rss", path="data/exports/pa.xml", tag="pa", limit=1),
    ]
    clips = [approved("a"), approved("b")]
    results = write_exports(
        targets, clips, Registry(), tmp_path, "In The News", "https://example.org/news"
    )
    json_path = tmp_path / "data/exports/in-the-news.json"
    rss_path = tmp_path / "data/exports/pa.xml"
    assert results == [(str(json_path), True), (str(absolute), True), (str(rss_path), True)]
    assert [i["id"] for i in json.loads(json_path.read_bytes())["items"]] == ["a", "b"]
    assert b"Headline b" not in rss_path.read_bytes()  # the target's filters apply

    again = write_exports(
        targets, clips, Registry(), tmp_path, "In The News", "https://example.org/news"
    )
    assert again == [(str(json_path), False), (str(absolute), False), (str(rss_path), False)]


def test_write_exports_keeps_going_past_a_failing_target(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where a directory should be")
    targets = [
        ExportTarget(format="json", path="blocked/news.json"),
        ExportTarget(format="html", path="ok/news.html"),
    ]
    with pytest.raises(StorageError, match="blocked"):
        write_exports(targets, [approved("a")], Registry(), tmp_path)
    assert (tmp_path / "ok/news.html").read_bytes().startswith(b'<section class="in-the-news">')


def test_a_writer_bug_on_one_target_still_leaves_the_others_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracker.export as export

    real = export.render

    def json_writer_bug(fmt: str, *args: object, **kwargs: object) -> bytes:
        if fmt == "json":
            raise ValueError("an odd value the JSON writer did not expect")
        return real(fmt, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(export, "render", json_writer_bug)
    targets = [ExportTarget(format="json", path="news.json"), ExportTarget(format="html", path="news.html")]
    with pytest.raises(StorageError, match=r"news\.json: ValueError: an odd value"):
        write_exports(targets, [approved("a")], Registry(), tmp_path)
    assert (tmp_path / "news.html").exists() and not (tmp_path / "news.json").exists()


def _another_group() -> int | None:
    """A group this process may give a file: any as root, else one of its own besides its primary."""
    if os.geteuid() == 0:
        return 4242
    return next((g for g in os.getgroups() if g != os.getegid()), None)


def test_a_replaced_file_keeps_the_group_and_mode_the_sites_admin_gave_it(tmp_path: Path) -> None:
    """A 0640 file of group www-data must stay readable by the web server after an export replaces it."""
    group = _another_group()
    if group is None:
        pytest.skip("this user belongs to no second group to give the file")
    path = tmp_path / "news.json"
    write_atomic(path, b"one")
    os.chown(path, -1, group)
    path.chmod(0o640)
    assert write_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert (path.stat().st_gid, path.stat().st_mode & 0o7777) == (group, 0o640)


def test_a_lock_file_another_user_made_or_a_folder_without_locks_never_stops_the_exports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ran `tracker clips approve` once and left a 0644 lock file; the service's exports failed for
    good ("Permission denied"). A lock that cannot be had is no reason to leave the website stale."""
    from tracker.export import exports_locked
    from tracker.export.atomic import EXPORTS_LOCK_NAME

    lock = tmp_path / EXPORTS_LOCK_NAME
    lock.write_bytes(b"")
    lock.chmod(0o444)  # not writable by anyone but root: read-only is all a lock needs
    with exports_locked(tmp_path):
        write_atomic(tmp_path / "news.json", b"{}")
    import fcntl

    def no_locks(fd: int, how: int) -> None:
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with exports_locked(tmp_path / "on-nfs"):
        pass  # written without the lock, not a raw OSError
    with exports_locked(tmp_path / "news.json" / "no-folder-here"):  # a file where the folder should be
        pass

"""A cycle whose website exports cannot be written says so on its run, so `tracker status --check` fails."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from tests.feedserver import FeedServer
from tests.test_ingest import rss
from tracker.cli import cli
from tracker.clock import system_clock
from tracker.config import load_config
from tracker.health import health_report
from tracker.ingest import run_locked_cycle
from tracker.ingest.workers import run_worker
from tracker.store import Store
from tracker.store.runs import STEP_FAILED


def _config(tmp_path: Path, feed_url: str) -> Path:
    # A file where the exports' folder should be: as unwritable as /etc/… under ProtectSystem=strict.
    (tmp_path / "blocker").write_text("a file where a folder should be", encoding="utf-8")
    data = {
        "settings": {"exports": [{"format": "json", "path": "blocker/news.json"}]},
        "campaigns": [{"id": "gce", "name": "Good Cause Eviction", "keywords": ["Good Cause Eviction"]}],
        "feeds": [{"url": feed_url}],
    }
    path = tmp_path / "feeds.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _status(path: Path, store: Store, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(path), "--db", store.url, "status", *args])
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def test_a_cycle_whose_exports_cannot_be_written_fails_status_check_until_they_are(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    feed_server.add("/f", body=rss(("Good Cause Eviction win", "https://x.example.com/1", "")))
    path = _config(tmp_path, feed_server.url("/f"))
    report = run_locked_cycle(load_config(path), store)
    assert report is not None and report.new_clips == 1 and report.export_error
    (run,) = store.recent_runs(1)
    assert run.outcome == "ok"  # the clips are stored: the cycle itself worked
    assert run.error is not None and run.error.startswith(STEP_FAILED + "exports: export failed for ")
    assert str(tmp_path / "blocker") in run.error  # where the relative path resolved to

    code, output = _status(path, store, "--check")
    assert code == 1 and "attention: the last ingest run: a step failed: exports: export failed for" in output
    code, output = _status(path, store)
    assert code == 0 and "a step failed: exports:" in output  # the run's note in the table

    (tmp_path / "blocker").unlink()  # the operator fixes the folder: the next cycle writes the files
    assert run_locked_cycle(load_config(path), store) is not None
    assert (tmp_path / "blocker" / "news.json").is_file()
    assert _status(path, store, "--check")[0] == 0


def test_a_shared_cycle_whose_exports_cannot_be_written_says_so_on_its_run(
    feed_server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    feed_server.add("/f", body=rss(("Good Cause Eviction win", "https://x.example.com/1", "")))
    path = _config(tmp_path, feed_server.url("/f"))
    store = Store(pg_url)
    try:
        report = run_worker(load_config(path), store, owner="worker-0")
        assert report is not None and report.closed_cycle and report.export_error
        (run,) = store.recent_runs(1)
        assert run.error is not None and run.error.startswith(STEP_FAILED + "exports: export failed for ")
        assert "exports: export failed for" in (health_report(store, system_clock()).last_run_problem or "")
        assert _status(path, store, "--check")[0] == 1
    finally:
        store.close()


def test_an_export_failure_is_added_to_a_failed_step_already_on_the_run(store: Store) -> None:
    run = store.start_run("host:1:1", 1, system_clock())
    store.finish_run(run, outcome="ok", now=system_clock(), feeds_ok=1, feeds_failed=0, feeds_skipped=0,
                     items_seen=1, clips_new=0, error=STEP_FAILED + "articles: the queue is locked")
    store.note_step_failure(run, "exports", "export failed for /srv/news.json: PermissionError")
    (view,) = store.recent_runs(1)
    assert view.error == (STEP_FAILED + "articles: the queue is locked; exports: export failed for /srv/news.json: "
                          "PermissionError")

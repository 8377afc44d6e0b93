"""A run whose process died mid-cycle (kill -9, a crash, a full disk) does not stay `running` forever:
status tells it from a live cycle at once, and the next ingest to start marks it interrupted.

SQLite and PostgreSQL; real `python -m tracker.cli ingest` subprocesses against a slow local feed
server, killed with SIGKILL. Lease TTLs are shortened with the hidden --lease-ttl option.
"""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.fakes import NOW, FakeClock
from tests.feedserver import FeedServer
from tests.test_lease import killing, start_tracker, wait_until, write_config
from tracker.cli import cli
from tracker.ingest.lease import ABANDONED, CYCLE_LEASE
from tracker.store import Store


def status_runs(db_url: str, config: Path, obj: Any = None) -> dict[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", db_url, "status", "--json", "--runs", "20"],
                                obj=obj)
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.stdout)["runs"]}


def test_a_killed_ingest_shows_as_abandoned_then_the_next_ingest_marks_it_interrupted(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> None:
    config = write_config(tmp_path, feed_server, 2, delay_s=30)  # the cycle hangs on slow feeds
    store = Store(db_url)
    try:
        first = start_tracker(config, db_url, "ingest", "-q", "--lease-ttl", "1")
        with killing(first):
            wait_until("the cycle to start", lambda: any(r.outcome == "running" for r in store.recent_runs(5)))
            (run_id,) = [r.id for r in store.recent_runs(5) if r.outcome == "running"]
            alive = status_runs(db_url, config)[run_id]
            assert (alive["state"], alive["live"], alive["error"]) == ("running", True, None)
            first.send_signal(signal.SIGKILL)
            first.communicate()

        # Status alone (read-only) tells a dead cycle from a live one as soon as its lease lapses.
        wait_until("the dead cycle's lease to lapse", lambda: status_runs(db_url, config)[run_id]["state"] == "abandoned",
                   timeout=10)
        dead = status_runs(db_url, config)[run_id]
        assert (dead["outcome"], dead["live"]) == ("running", False)
        assert "next ingest marks it interrupted" in dead["error"]

        for i in range(2):
            feed_server.routes[f"/feed{i}.xml"].delay_s = 0
        second = start_tracker(config, db_url, "ingest", "-q", "--lease-ttl", "1")
        with killing(second):
            _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert f"ingest run {run_id} " in err and "marked interrupted" in err
        after = status_runs(db_url, config)
        assert (after[run_id]["outcome"], after[run_id]["state"], after[run_id]["error"]) == (
            "interrupted", "interrupted", ABANDONED)
        assert after[run_id]["finished_at"] is not None
        newest = after[max(after)]
        assert newest["id"] != run_id and newest["outcome"] == "ok" and newest["feeds_ok"] == 2
    finally:
        store.close()


def test_a_skipped_ingest_still_closes_dead_runs_but_never_the_live_one(tmp_path: Path, db_url: str) -> None:
    """Any ingest start closes runs whose process is gone, even one that skips because a live
    cycle holds the lease; the live cycle's run is left running."""
    config = tmp_path / "feeds.yml"
    config.write_text("feeds: []\n", encoding="utf-8")
    clock = FakeClock(NOW)
    store = Store(db_url)
    try:
        dead = store.start_run("crashed-host:11:1", 1, NOW - timedelta(hours=3))
        assert store.acquire_lease(CYCLE_LEASE, "busy-host:22:1", timedelta(minutes=5), NOW - timedelta(minutes=1))
        live = store.start_run("busy-host:22:1", 1, NOW - timedelta(minutes=1))
        before = status_runs(db_url, config, obj=clock)
        assert (before[dead]["state"], before[live]["state"]) == ("abandoned", "running")

        result = CliRunner().invoke(cli, ["--config", str(config), "--db", db_url, "ingest", "-q"], obj=clock)
        assert result.exit_code == 0, result.output
        assert "another ingest cycle is running; skipped" in result.stderr

        after = status_runs(db_url, config, obj=clock)
        assert (after[dead]["outcome"], after[dead]["error"]) == ("interrupted", ABANDONED)
        assert after[dead]["finished_at"] == NOW.isoformat().replace("+00:00", "Z")  # the injected clock's now
        assert (after[live]["outcome"], after[live]["live"]) == ("running", True)
    finally:
        store.close()

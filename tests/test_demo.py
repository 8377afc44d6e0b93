"""Demo data: deterministic, realistic, consistent with the matcher, and quick to insert in bulk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from tracker.cli import cli
from tracker.demo import demo_config, generate_clips, seed_store
from tracker.health import health_report
from tracker.models import ClipFilter, ClipStatus
from tracker.store import Store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_same_seed_same_clips() -> None:
    a = generate_clips(50, now=NOW, seed=3)
    b = generate_clips(50, now=NOW, seed=3)
    c = generate_clips(50, now=NOW, seed=4)
    assert a == b and a != c


def test_clips_look_like_ingested_ones() -> None:
    clips = generate_clips(300, now=NOW)
    assert len({c.id for c in clips}) == 300
    assert all(c.published_at is not None and c.published_at <= NOW for c in clips)
    assert [c.published_at for c in clips] == sorted((c.published_at for c in clips), reverse=True)  # type: ignore[type-var]
    # every clip names a member, and the matcher (not the generator) found it, with a usable highlight
    for c in clips:
        assert c.member_ids, c.title
        for m in c.mentions:
            assert m.snippet[m.start : m.end], m
    statuses = {c.status for c in clips}
    assert statuses == {ClipStatus.NEW, ClipStatus.APPROVED, ClipStatus.REJECTED}
    approved = [c for c in clips if c.status is ClipStatus.APPROVED]
    assert all(c.reviewed_by for c in approved)
    assert sum(c.featured for c in clips) == 1


def test_seed_store_fills_clips_feeds_and_runs(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        report = seed_store(store, 200, now=NOW)
        assert report.clips == 200 == store.count_clips()
        assert report.new == store.count_clips(ClipFilter(status=ClipStatus.NEW)) > 0
        health = health_report(store, NOW)
        assert len(health.feeds) == report.feeds and health.runs
        assert {s.state for s in health.feeds} >= {"ok", "failing", "disabled"}
        # seeding again adds nothing twice
        assert seed_store(store, 200, now=NOW).clips == 0
    finally:
        store.close()


def test_roster_comes_from_the_config_when_it_has_one() -> None:
    config = demo_config()
    clips = generate_clips(40, config=config, now=NOW)
    ids = {m.id for m in config.members}
    assert all(set(c.member_ids) <= ids for c in clips)


def test_cli_demo_seed(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "--config", str(tmp_path / "none.yml"), "demo", "seed", "--clips", "150"])
    assert result.exit_code == 0, result.output
    assert "seeded 150 clips" in result.output
    store = Store(db)
    try:
        assert store.count_clips() == 150
        # Placed as an ingest would place them: the demo's Outlets page and story cards are not empty.
        from tracker.syndication import outlets

        assert store.clips_to_place(1) == [] and len(outlets(store, None)) >= 10
    finally:
        store.close()

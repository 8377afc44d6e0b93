"""`tracker demo seed`: sample data for demos, screenshots and benchmarks."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from tracker.cli.context import AppContext, pass_app

if TYPE_CHECKING:  # the store and the demo data load only when a command uses them
    from tracker.demo import SeedReport
    from tracker.models import Config
    from tracker.store import Store

DEMO_CLIPS = 600


@click.group()
def demo() -> None:
    """Sample data for demos, screenshots and benchmarks."""


@demo.command("seed")
@click.option("--clips", "count", type=click.IntRange(1, 2_000_000), default=DEMO_CLIPS, show_default=True,
              help="How many clips to generate.")
@click.option("--seed", "seed_value", type=int, default=7, show_default=True, help="Random seed (same seed, same data).")
@pass_app
def demo_seed(app: AppContext, count: int, seed_value: int) -> None:
    """Fill the database with realistic demo clips, feed health and ingest runs.

    Uses the members and campaigns of feeds.yml when it has some, else a fictional roster.
    """
    report = seed_demo(app.store, count, config=app.config_if_present, now=app.clock(), seed=seed_value)
    click.echo(f"seeded {report.clips} clips ({report.new} new, {report.approved} approved, "
               f"{report.rejected} rejected) and {report.feeds} feeds into {app.store.url}")


def seed_demo(store: Store, n: int, *, config: Config | None, now: datetime, seed: int = 7) -> SeedReport:
    """What `tracker demo seed` and `tracker dashboard --demo` put in the demo database: the sample
    clips, then the stories step as an ingest would run it, so the demo has outlets and primaries."""
    from tracker.demo import seed_store
    from tracker.syndication import place_new_clips

    report = seed_store(store, n, config=config, now=now, seed=seed)
    place_new_clips(store, config, now, limit=10**9)
    return report

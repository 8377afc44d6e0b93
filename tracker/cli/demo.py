"""`tracker demo seed`: sample data for demos, screenshots and benchmarks."""

from __future__ import annotations

import click

from tracker.cli.context import AppContext, pass_app

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
    from tracker.demo import seed_demo

    report = seed_demo(app.store, count, config=app.config_if_present, now=app.clock(), seed=seed_value)
    click.echo(f"seeded {report.clips} clips ({report.new} new, {report.approved} approved, "
               f"{report.rejected} rejected) and {report.feeds} feeds into {app.store.url}")

"""`tracker stories …` and `tracker outlets …`: syndicated copies grouped, the primary copy, outlets."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click

from tracker.cli.context import USER_HELP, AppContext, acting_user, pass_app
from tracker.models import StoryView


@click.group()
def stories() -> None:
    """Stories: the copies of one article in many outlets, reviewed as one."""


def story_json(story: StoryView) -> dict[str, Any]:
    primary = story.primary
    return {
        "id": story.id,
        "status": primary.status.value,
        "headline": primary.display_headline,
        "primary": primary.id,
        "primary_by": story.primary_by,
        "outlets": list(story.outlets),
        "copies": [
            {"id": c.id, "url": c.url, "outlet": c.display_outlet, "outlet_domain": c.outlet_domain,
             "headline": c.display_headline, "primary": c.primary, "status": c.status.value,
             "published_at": c.published_at.isoformat().replace("+00:00", "Z") if c.published_at else None}
            for c in story.copies
        ],
    }


@stories.command("list")
@click.option("--days", type=click.IntRange(1, 36_500), default=14, show_default=True, help="Stories with a copy this recent.")
@click.option("--member", help="Only stories mentioning this member id.")
@click.option("--min-copies", type=click.IntRange(1, 10**6), default=1, show_default=True, help="Only stories in this many outlets or more.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@pass_app
def stories_list(app: AppContext, days: int, member: str | None, min_copies: int, as_json: bool) -> None:
    """Stories, newest first, each with its outlets (the primary first)."""
    from tracker.models import ClipFilter
    from tracker.syndication import stories_between

    now = app.clock()
    found = [s for s in stories_between(app.store, now - timedelta(days=days), None, ClipFilter(member=member))
             if len(s.copies) >= min_copies]
    if as_json:
        click.echo(json.dumps([story_json(s) for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("no stories in that time: run `tracker ingest` (or widen --days)")
        return
    for s in found:
        p = s.primary
        when = (p.published_at or p.first_seen_at).strftime("%Y-%m-%d")
        click.echo(f"{s.id}  {p.status.value:<8} {when}  {p.display_headline[:70]}")
        for c in s.copies:
            mark = "*" if c.primary else " "
            click.echo(f"    {mark} {c.display_outlet[:30]:<30} {c.outlet_domain or '-':<24} {c.url}")


@stories.command("primary")
@click.argument("clip_id", metavar="CLIP_ID")
@click.option("--user", default=None, help=USER_HELP)
@pass_app
def stories_primary(app: AppContext, clip_id: str, user: str | None) -> None:
    """Make this copy the one the website links (its story's review moves to it)."""
    from tracker.review import switch_primary

    changed = switch_primary(app.store, app.config_if_present, clip_id, acting_user(user), clock=app.clock)
    click.echo(f"{clip_id} is the primary copy" + ("" if changed else " (it already was)"))
    app.say_if_exports_skipped()


@stories.command("build")
@pass_app
def stories_build(app: AppContext) -> None:
    """Place every clip not in a story yet (the one-off build after an upgrade; ingest does it too)."""
    from tracker.syndication import place_new_clips

    report = place_new_clips(app.store, app.config_if_present, app.clock(), limit=10**9)
    click.echo(f"{report.placed} clips placed: {report.joined} joined a story, {report.stories_new} new stories "
               f"({report.seconds:.1f}s)")


@click.group()
def outlets() -> None:
    """Outlets: one per publisher's domain, with its state, place and tier."""


@outlets.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@pass_app
def outlets_list(app: AppContext, as_json: bool) -> None:
    """Outlets with their clip and story counts, most clips first."""
    from tracker.syndication import outlets as list_outlets

    found = list_outlets(app.store, app.config_if_present)
    if as_json:
        click.echo(json.dumps([o.__dict__ for o in found], ensure_ascii=False, indent=2))
        return
    for o in found:
        click.echo(f"{o.domain:<28} {o.name[:32]:<32} {o.state or '-':<3} ({o.state_source}) {o.tier or '-':<8} "
                   f"{o.clips} clips, {o.stories} stories")


@outlets.command("edit")
@click.argument("domain")
@click.option("--name", help="Display name.")
@click.option("--state", help="US state code ('' clears staff's value).")
@click.option("--place", help="City or county the outlet covers ('' clears).")
@click.option("--tier", type=click.Choice(["local", "state", "national", ""]), help="Reach ('' clears).")
@click.option("--user", default=None, help=USER_HELP)
@pass_app
def outlets_edit(app: AppContext, domain: str, name: str | None, state: str | None, place: str | None,
                 tier: str | None, user: str | None) -> None:
    """Correct what is known about an outlet; this beats feeds.yml and feed tags."""
    from tracker.models import OutletEdit
    from tracker.syndication import edit_outlet

    record = edit_outlet(app.store, domain, OutletEdit(name=name, state=state, place=place, tier=tier),
                         acting_user(user), app.clock())
    click.echo(f"{record.domain}: {record.name or '-'}, state {record.state or '-'}, place {record.place or '-'}, "
               f"tier {record.tier or '-'}")

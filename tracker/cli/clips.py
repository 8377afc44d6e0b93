"""`tracker clips …`: list clips, and the staff decisions on them (approve, reject, tag)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tracker.cli.context import USER_HELP, AppContext, acting_user, pass_app
from tracker.models import ClipStatus, ClipView


@click.group()
def clips() -> None:
    """List and review clips."""


def clip_json(clip: ClipView) -> dict[str, Any]:
    return {
        "id": clip.id,
        "status": clip.status.value,
        "headline": clip.display_headline,
        "outlet": clip.display_outlet,
        "url": clip.url,
        # False while url is still a search engine's redirect (README, "Search coverage").
        "resolved": clip.resolved,
        # A search item kept although its article could not be read: staff decide.
        "unverified": clip.unverified,
        "image_url": clip.display_image_url,
        "image_credit": clip.display_image_credit,
        "published_at": clip.published_at.isoformat().replace("+00:00", "Z") if clip.published_at else None,
        "first_seen_at": clip.first_seen_at.isoformat().replace("+00:00", "Z"),
        "members": list(clip.member_ids),
        "campaigns": list(clip.campaign_ids),
        "featured": clip.featured,
        # Each feed that carried the clip, with the link as that feed gave it (search redirect, tracking).
        "sources": [{"feed": feed, "link": link or None} for feed, link in clip.source_links],
        # Syndication (README, "Stories"): the id all copies share, whether the website links this
        # copy, and the other copies' URLs.
        "story": clip.story_id or clip.id,
        "primary": clip.primary,
        "also_in": [c.url for c in clip.also_in],
    }


def typed_text(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--search as the terminal sent it: bytes not in the locale's encoding reach Python as lone
    surrogates (`café` from a Latin-1 terminal under a UTF-8 locale), which no database takes."""
    if value is not None and any("\ud800" <= ch <= "\udfff" for ch in value):
        raise click.BadParameter(f"not {sys.getfilesystemencoding()} text (is the terminal set to another "
                                 "encoding?): set it to the locale's, or type the word without its accents "
                                 "(`cafe` finds café)")
    return value


@clips.command("list")
@click.option("--status", type=click.Choice([s.value for s in ClipStatus]), help="Only clips with this status.")
@click.option("--member", help="Only clips mentioning this member id.")
@click.option("--campaign", help="Only clips about this campaign id.")
@click.option("--search", "text", callback=typed_text, help="Words to find in headline, summary, outlet or article text (case, accents, apostrophes and dashes ignored).")
@click.option("--limit", type=click.IntRange(1, 10**9), default=None, help="At most this many clips.")
@click.option("--primary-only", is_flag=True, help="One clip per story: the copy the website links.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@pass_app
def clips_list(app: AppContext, status: str | None, member: str | None, campaign: str | None,
               text: str | None, limit: int | None, primary_only: bool, as_json: bool) -> None:
    """Clips, newest first, with status, outlet, URL and matches."""
    from tracker.models import ClipFilter

    f = ClipFilter(status=ClipStatus(status) if status else None, member=member, campaign=campaign, text=text,
                   primary_only=primary_only)
    found = app.store.list_clips(f, limit=limit).clips if limit else tuple(app.store.all_clips(f))
    if as_json:
        click.echo(json.dumps([clip_json(c) for c in found], ensure_ascii=False, indent=2))
        return
    if not found:
        if app.store.list_clips(limit=1).clips:
            click.echo("no clips match" + (f" {text!r}" if text else "") + " (check the filters)")
        else:
            click.echo("no clips yet: run `tracker ingest`")
        return
    for c in found:
        when = (c.published_at or c.first_seen_at).strftime("%Y-%m-%d")
        who = ", ".join(c.member_ids + c.campaign_ids)
        link = "" if c.resolved else f"  ({link_note(c)})"
        if c.unverified:
            link += "  (unverified: found by the search, article unreadable)"
        click.echo(f"{c.id}  {c.status.value:<8} {when}  {c.display_outlet[:24]:<24}  {c.display_headline[:70]}  [{who}]{link}")


def link_note(clip: ClipView) -> str:
    """What staff read beside a clip whose link is still a search engine's redirect."""
    return f"link not resolved: {clip.resolve_error}" if clip.resolve_error else "link not resolved yet"


def _review(app: AppContext, ids: tuple[str, ...], status: ClipStatus, user: str | None) -> None:
    from tracker.review import set_status

    changed = set_status(app.store, app.config_if_present, list(ids), status, acting_user(user), clock=app.clock)
    click.echo(f"{changed} clip(s) {status.value}" + ("" if changed == len(ids) else f" ({len(ids) - changed} already were)"))
    app.say_if_exports_skipped()


@clips.command("approve")
@click.argument("ids", nargs=-1, required=True)
@click.option("--user", default=None, help=USER_HELP)
@pass_app
def clips_approve(app: AppContext, ids: tuple[str, ...], user: str | None) -> None:
    """Approve clips for the website."""
    _review(app, ids, ClipStatus.APPROVED, user)


@clips.command("reject")
@click.argument("ids", nargs=-1, required=True)
@click.option("--user", default=None, help=USER_HELP)
@pass_app
def clips_reject(app: AppContext, ids: tuple[str, ...], user: str | None) -> None:
    """Reject clips (they never reach the website)."""
    _review(app, ids, ClipStatus.REJECTED, user)


@clips.command("tag")
@click.argument("clip_id", metavar="ID")
@click.option("--add-member", multiple=True, metavar="ID", help="Attach this member (repeatable).")
@click.option("--remove-member", multiple=True, metavar="ID", help="Take this member off (repeatable).")
@click.option("--add-campaign", multiple=True, metavar="ID", help="Attach this campaign (repeatable).")
@click.option("--remove-campaign", multiple=True, metavar="ID", help="Take this campaign off (repeatable).")
@click.option("--user", default=None, help=USER_HELP)
@pass_app
def clips_tag(app: AppContext, clip_id: str, add_member: tuple[str, ...], remove_member: tuple[str, ...],
              add_campaign: tuple[str, ...], remove_campaign: tuple[str, ...], user: str | None) -> None:
    """Correct a clip's members and campaigns; later ingests and rematches keep the correction."""
    from tracker.review import set_targets

    before = app.store.get_clip(clip_id)
    members = [i for i in dict.fromkeys(before.member_ids + add_member) if i not in remove_member]
    campaigns = [i for i in dict.fromkeys(before.campaign_ids + add_campaign) if i not in remove_campaign]
    after = set_targets(app.store, app.config_if_present, clip_id, members, campaigns, acting_user(user),
                        clock=app.clock)
    click.echo(f"{after.id}  members: {', '.join(after.member_ids) or '-'}  "
               f"campaigns: {', '.join(after.campaign_ids) or '-'}")
    app.say_if_exports_skipped()

"""`tracker digest send NAME` and `tracker alerts`: e-mail digests and webhook alerts now, not on the schedule."""

from __future__ import annotations

import click

from tracker.cli.context import AppContext, pass_app
from tracker.errors import NotifyError


@click.group()
def digest() -> None:
    """E-mail digests (notify.digests in feeds.yml)."""


@digest.command("send")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Print the message(s) instead of sending; records nothing.")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Send to this address instead of the digest's recipients (repeatable).")
@pass_app
def digest_send(app: AppContext, name: str, dry_run: bool, to: tuple[str, ...]) -> None:
    """Send digest NAME now: each recipient gets the stories they have not had yet."""
    from tracker.notify import send_digest

    result = send_digest(app.config, app.store, name, app.clock(), to=to or None, dry_run=dry_run)
    for r in result.results:
        if dry_run and r.message is not None:
            click.echo(r.message.as_string())
        elif r.error:
            click.echo(f"{r.recipient}: not sent ({r.stories} stories owed, retried next time): {r.error}", err=True)
        elif r.sent:
            click.echo(f"{r.recipient}: sent {r.stories} {'story' if r.stories == 1 else 'stories'}", err=True)
        else:
            click.echo(f"{r.recipient}: nothing new", err=True)
    if result.failed:
        raise NotifyError(f"digest {name!r}: {len(result.failed)} of {len(result.results)} recipient(s) failed")


@click.group()
def alerts() -> None:
    """Webhook alerts (notify.webhooks in feeds.yml); `tracker schedule` posts them after every cycle."""


@alerts.command("run")
@pass_app
def alerts_run(app: AppContext) -> None:
    """Post every webhook's alerts not yet delivered (new stories, spikes, failing feeds)."""
    from tracker.notify import run_webhooks

    failed = 0
    for r in run_webhooks(app.config, app.store, app.clock()):
        line = f"{r.name}: {r.posted} posted" + (f", {r.waiting} waiting for the hourly limit" if r.waiting else "")
        click.echo(line + (f"; failed: {r.error}" if r.error else ""), err=True)
        failed += bool(r.error)
    if failed:
        raise NotifyError(f"{failed} webhook(s) failed; their alerts are retried next time")


@alerts.command("test")
@click.argument("name")
@pass_app
def alerts_test(app: AppContext, name: str) -> None:
    """Post a test message to webhook NAME (records nothing)."""
    from tracker.notify import run_webhook

    hook = next((w for w in app.config.notify.webhooks if w.name == name), None)
    if hook is None:
        raise NotifyError(f"no webhook named {name!r} in notify.webhooks")
    result = run_webhook(app.config, app.store, hook, app.clock(), test=True)
    if result.error:
        raise NotifyError(result.error)
    click.echo(f"{name}: test message posted", err=True)

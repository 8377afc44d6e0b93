"""E-mail digests: the stories since the last digest, grouped by campaign and member, as one
multipart message (plain text + HTML of the export's cards) per recipient.

The delivery log makes it safe to run any number of times: a story reaches a recipient once, and a
failed send is recorded and owed to the next run. Nothing here raises for one recipient's failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tracker.errors import NotFoundError, NotifyError
from tracker.export import Registry, render_card
from tracker.export.sanitize import clean_text, human_date, safe_http_url
from tracker.models import Config, DigestConfig, NotifyFilter, SmtpConfig
from tracker.notify.select import keeps, section_of
from tracker.notify.smtp import send_message, smtp_credentials
from tracker.notify.stories import Story, changed_stories, settled, undelivered
from tracker.store import Store

log = logging.getLogger("tracker.notify")

CHANNEL = "digest"
# A recipient never sent a digest gets the last day.
FIRST_LOOKBACK = timedelta(days=1)
# A clip's first-seen time is when its ingest cycle started; a long cycle commits its last feeds
# later. A digest sent in between must still find those clips next time, so each digest looks back
# this much before the last one; the delivery log keeps the overlap from sending anything twice.
STORE_LAG = timedelta(hours=6)
# How far back a webhook retries its failed alerts (reach_back_for_failures).
MAX_LOOKBACK = timedelta(days=7)
# How far back a digest ever looks: a weekly digest after a failed Monday (two weeks and the overlap),
# but not months of backlog from a digest switched off for months.
MAX_DIGEST_LOOKBACK = timedelta(days=15)
NO_CAMPAIGN = "Other coverage"

Transport = Callable[[SmtpConfig, EmailMessage], None]


@dataclass(frozen=True)
class DigestItem:
    story: Story
    campaign: str  # section names ("" = none)
    member: str
    snippet: str
    article_url: str | None
    dashboard_url: str | None


@dataclass(frozen=True)
class DigestContent:
    subject: str
    text: str
    html: str
    story_ids: tuple[str, ...]


@dataclass(frozen=True)
class RecipientResult:
    recipient: str
    stories: int
    sent: bool
    error: str | None = None
    message: EmailMessage | None = None  # kept for --dry-run, which prints it


@dataclass(frozen=True)
class DigestResult:
    name: str
    results: tuple[RecipientResult, ...]

    @property
    def failed(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.results if r.error)


def dashboard_clip_url(dashboard_url: str, clip_id: str) -> str | None:
    """The clip in the dashboard's editor (it opens `?clip=<id>`); None without settings.dashboard_url."""
    return f"{dashboard_url.rstrip('/')}/?clip={quote(clip_id, safe='')}" if dashboard_url else None


def evidence(story: Story, f: NotifyFilter) -> str:
    """The snippet that shows why the story matched, preferring a member or campaign the filter names."""
    wanted = set(f.members) | set(f.campaigns)
    mentions = [m for c in story.clips for m in c.mentions if m.snippet]
    mentions.sort(key=lambda m: (m.target_id not in wanted, m.field != "title"))
    return clean_text(mentions[0].snippet) if mentions else ""


def digest_items(config: Config, digest: DigestConfig, stories: Sequence[Story]) -> list[DigestItem]:
    """Pure: the stories in reading order: campaigns (feeds.yml's order, then stories with none),
    members within each, newest first within those."""
    campaign_order = {c.name: i for i, c in enumerate(config.campaigns)}
    member_order = {m.name: i for i, m in enumerate(config.members)}
    items = []
    for story in stories:
        campaign, member = section_of(config, digest.filter, story)
        clip = story.primary
        items.append(DigestItem(
            story=story, campaign=campaign, member=member, snippet=evidence(story, digest.filter),
            article_url=safe_http_url(clip.url) or safe_http_url(clip.canonical_url),
            dashboard_url=dashboard_clip_url(config.settings.dashboard_url, clip.id),
        ))

    def order(item: DigestItem) -> tuple[int, int, float, str]:
        return (campaign_order.get(item.campaign, len(campaign_order)), member_order.get(item.member, len(member_order)),
                -item.story.at.timestamp(), item.story.id)

    return sorted(items, key=order)


def _sections(items: Sequence[DigestItem]) -> list[tuple[str, list[tuple[str, list[DigestItem]]]]]:
    out: list[tuple[str, list[tuple[str, list[DigestItem]]]]] = []
    for item in items:
        campaign = item.campaign or NO_CAMPAIGN
        member = item.member  # "": about the campaign only, listed under no member heading
        if not out or out[-1][0] != campaign:
            out.append((campaign, []))
        members = out[-1][1]
        if not members or members[-1][0] != member:
            members.append((member, []))
        members[-1][1].append(item)
    return out


def _local_date(when: datetime, tz: ZoneInfo) -> str:
    return human_date(when.astimezone(tz).replace(tzinfo=None))


def render_digest(config: Config, digest: DigestConfig, stories: Sequence[Story], now: datetime) -> DigestContent:
    """Pure: subject, plain text and HTML of one digest."""
    tz = ZoneInfo(digest.timezone)
    items = digest_items(config, digest, stories)
    count = f"{len(items)} {'story' if len(items) == 1 else 'stories'}"
    subject = f"{digest.subject or digest.name}: {count}"
    heading = f"{digest.name} · {_local_date(now, tz)} · {count}"
    registry = Registry.from_config(config)
    text_lines = [heading, ""]
    html_parts = [
        "<!doctype html><html><head><meta charset=\"utf-8\"><style>"
        "body{font-family:system-ui,Segoe UI,Roboto,sans-serif;color:#1d1d1f;max-width:40rem;margin:auto}"
        "h2{font-size:1.2rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #ddd}"
        "h3{font-size:1rem;margin:1rem 0 .5rem;color:#444}"
        ".itn-card{margin:0 0 .5rem}.itn-headline{font-size:1.05rem;margin:0}.itn-meta{color:#6e6e73;margin:.1rem 0}"
        ".itn-figure{display:none}.evidence{color:#333;font-style:italic;margin:.2rem 0}.links{font-size:.85rem;margin:0 0 1rem}"
        "</style></head><body>",
        f"<h1 style=\"font-size:1.3rem\">{escape(heading)}</h1>",
    ]
    if not items:
        text_lines.append("No new stories.")
        html_parts.append("<p>No new stories.</p>")
    for campaign, members in _sections(items):
        text_lines += [f"== {campaign} ==", ""]
        html_parts.append(f"<h2>{escape(campaign)}</h2>")
        for member, member_items in members:
            if member:
                text_lines += [f"-- {member} --", ""]
                html_parts.append(f"<h3>{escape(member)}</h3>")
            for item in member_items:
                clip = item.story.primary
                outlet = clean_text(clip.display_outlet)
                date = _local_date(item.story.at, tz)
                text_lines.append(f"* {clean_text(clip.display_headline)}")
                text_lines.append(f"  {outlet} · {date}" if outlet else f"  {date}")
                if item.snippet:
                    text_lines.append(f"  “{item.snippet}”")
                if item.article_url:
                    text_lines.append(f"  Article: {item.article_url}")
                if item.dashboard_url:
                    text_lines.append(f"  In the dashboard: {item.dashboard_url}")
                text_lines.append("")
                html_parts.append(render_card(clip, registry))
                if item.snippet:
                    html_parts.append(f'<p class="evidence">“{escape(item.snippet)}”</p>')
                links = []
                if item.article_url:
                    links.append(f'<a href="{escape(item.article_url)}">Read the article</a>')
                if item.dashboard_url:
                    links.append(f'<a href="{escape(item.dashboard_url)}">Open in the dashboard</a>')
                if links:
                    html_parts.append(f'<p class="links">{" · ".join(links)}</p>')
    html_parts.append("</body></html>")
    return DigestContent(subject=subject, text="\n".join(text_lines).rstrip() + "\n", html="\n".join(html_parts) + "\n",
                         story_ids=tuple(i.story.id for i in items))


def build_message(smtp: SmtpConfig, recipient: str, content: DigestContent, now: datetime) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML last (the part clients prefer)."""
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = smtp.sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


def reach_back_for_failures(store: Store, channel: str, name: str, recipient: str, since: datetime,
                            now: datetime) -> datetime:
    """`since`, moved back to a day before the first failed send still owed to this recipient
    (a webhook's alerts), and never more than MAX_LOOKBACK back."""
    failed = store.first_failed_at(channel, name, recipient)
    if failed is not None:
        since = min(since, failed - FIRST_LOOKBACK)
    return max(now - MAX_LOOKBACK, since)


def digest_since(last_sent: datetime | None, first_failed: datetime | None, now: datetime) -> datetime:
    """Pure: where a recipient's digest starts looking: STORE_LAG before their last digest, and back
    to what a failed send still owed to them covered (it started at most a day before it, or at the
    digest before it); never more than MAX_DIGEST_LOOKBACK before now."""
    # Measured from the sends, not from now: a weekly digest's last send is a week old.
    starts = [last_sent - STORE_LAG] if last_sent is not None else []
    if first_failed is not None:
        starts.append(first_failed - FIRST_LOOKBACK)
    return max(min(starts, default=now - FIRST_LOOKBACK), now - MAX_DIGEST_LOOKBACK)


def pending_stories(config: Config, store: Store, digest: DigestConfig, recipient: str, now: datetime) -> list[Story]:
    """The stories this recipient is owed: kept by the digest's filter, first seen (or reviewed) since
    their last digest, not already delivered to them by any digest, and not a fresh copy the stories
    step may yet place in a story they already had (settled)."""
    since = digest_since(store.last_sent_at(CHANNEL, digest.name, recipient),
                         store.first_failed_at(CHANNEL, digest.name, recipient), now)
    stories = [s for s in settled(changed_stories(store, since), now - STORE_LAG) if keeps(config, digest.filter, s)]
    return undelivered(stories, store.delivered_keys(CHANNEL, recipient, (k for s in stories for k in s.delivery_keys)))


def _smtp_transport(smtp: SmtpConfig, message: EmailMessage) -> None:
    send_message(smtp, message, smtp_credentials(smtp))


def repeats_a_wall_time(now: datetime, timezone: str) -> bool:
    """Pure: whether `now` is the second pass of an hour the clocks went back over in `timezone`.
    A cron trigger fires at 01:30 in both passes; the digest of the first already went out."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def failure_text(exc: Exception) -> str:
    """What a failed send records and logs: a NotifyError's own line (it names the server, never the
    credentials), else the kind of error and its first line."""
    if isinstance(exc, NotifyError):
        return str(exc)
    log.debug("digest send failed unexpectedly", exc_info=exc)
    first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


def send_to(config: Config, store: Store, digest: DigestConfig, smtp: SmtpConfig, recipient: str, now: datetime,
            send: Transport, *, dry_run: bool = False) -> RecipientResult:
    """One recipient's digest: their owed stories built into a message and sent, and the outcome
    recorded against each story. Whatever breaks once the stories are known is recorded as this
    recipient's failure, so the stories stay owed and the Notifications page says why."""
    stories = pending_stories(config, store, digest, recipient, now)
    if not stories and not digest.send_empty and not dry_run:
        return RecipientResult(recipient, 0, sent=False)
    story_ids = [s.id for s in stories]
    try:
        message = build_message(smtp, recipient, render_digest(config, digest, stories, now), now)
        if dry_run:
            return RecipientResult(recipient, len(stories), sent=False, message=message)
        send(smtp, message)
    except Exception as exc:  # a bug or a surprise from the mail library must not abort the others
        error = failure_text(exc)
        if not dry_run:
            store.record_deliveries(CHANNEL, digest.name, recipient, story_ids, now, error=error)
        return RecipientResult(recipient, len(stories), sent=False, error=error)
    store.record_deliveries(CHANNEL, digest.name, recipient, story_ids, now)
    return RecipientResult(recipient, len(stories), sent=True)


def send_digest(config: Config, store: Store, name: str, now: datetime, *, to: Sequence[str] | None = None,
                dry_run: bool = False, transport: Transport | None = None) -> DigestResult:
    """Send digest `name` to its recipients (or to `to`), each the stories they are owed.

    A failed recipient is recorded (the error, against each story) and owed those stories next time;
    the others are sent regardless. `dry_run` builds the messages and records nothing.
    """
    digest = config.notify.digest(name)
    if digest is None:
        known = ", ".join(d.name for d in config.notify.digests) or "none configured"
        raise NotFoundError(f"no digest named {name!r} in notify.digests ({known})")
    smtp = config.notify.smtp
    if smtp is None:
        raise NotifyError("notify.smtp is not configured")
    results = []
    for recipient in (tuple(to) if to else digest.recipients):
        try:
            results.append(send_to(config, store, digest, smtp, recipient, now, transport or _smtp_transport,
                                   dry_run=dry_run))
        except Exception as exc:  # choosing the stories failed (the database?): nothing known to record
            results.append(RecipientResult(recipient, 0, sent=False, error=failure_text(exc)))
    return DigestResult(name=digest.name, results=tuple(results))

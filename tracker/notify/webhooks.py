"""Alerts to Slack- and Teams-compatible webhooks: new stories, spikes and feeds failing for over a day.

Each alert has a key; the delivery log keeps one per webhook, so an alert is posted once however often
this runs (after every ingest cycle). Posts are retried a few times with timeouts, a webhook posts at
most `max_per_hour` alerts an hour (the rest wait for the next run, while their story is less than a
day old), and a webhook that stays down has its alerts recorded as failed; its new-story alerts are
posted once it answers again, within a week.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.errors import NotifyError
from tracker.export.sanitize import clean_text, safe_http_url
from tracker.health import health_report
from tracker.models import ClipFilter, Config, FeedHealth, NotifyFilter, WebhookConfig
from tracker.notify.digest import dashboard_clip_url, reach_back_for_failures
from tracker.notify.select import keeps
from tracker.notify.stories import Story, changed_stories, group_stories
from tracker.store import Store

CHANNEL = "webhook"
SPIKE_BASELINE_DAYS = 14
NEW_STORIES_LOOKBACK = timedelta(days=1)
FAILING_FOR = timedelta(days=1)
STORIES_PER_POST = 10
POST_ATTEMPTS = 3
POST_TIMEOUT_S = (5.0, 15.0)  # connect, read
RETRY_PAUSE_S = 1.0  # doubled after each failed attempt

log = logging.getLogger("tracker.notify")

Poster = Callable[[str, dict[str, Any]], None]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Alert:
    key: str  # the delivery log's item key: one post per webhook, ever
    title: str
    lines: tuple[tuple[str, str | None], ...]  # (text, link) lines under the title
    # Keys it may already have gone out under: a story's copies, posted before the stories step placed them.
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.aliases)


@dataclass(frozen=True)
class WebhookResult:
    name: str
    posted: int  # alerts posted
    waiting: int  # alerts held back by the hourly limit
    error: str | None = None


# ------------------------------------------------------------------ what to say (pure)


def new_story_alerts(config: Config, hook: WebhookConfig, stories: Sequence[Story]) -> list[Alert]:
    alerts = []
    for story in stories:
        if not keeps(config, hook.filter, story):
            continue
        clip = story.primary
        about = [config_name(config, "member", m) for m in story.member_ids]
        about += [config_name(config, "campaign", c) for c in story.campaign_ids]
        outlet = clean_text(clip.display_outlet)
        lines: list[tuple[str, str | None]] = [(f"{outlet} · {', '.join(about)}" if outlet else ", ".join(about), None)]
        article = safe_http_url(clip.url) or safe_http_url(clip.canonical_url)
        if article:
            lines.append(("Read the article", article))
        link = dashboard_clip_url(config.settings.dashboard_url, clip.id)
        if link:
            lines.append(("Open in the dashboard", link))
        keys = [f"story:{k}" for k in story.delivery_keys]
        alerts.append(Alert(key=keys[0], title=clean_text(clip.display_headline), lines=tuple(lines),
                            aliases=tuple(keys[1:])))
    return alerts


def config_name(config: Config, kind: str, target_id: str) -> str:
    items = config.members if kind == "member" else config.campaigns
    return next((i.name for i in items if i.id == target_id), target_id)


def daily_counts(stories: Sequence[Story], tz: ZoneInfo) -> dict[tuple[str, str], Counter[date]]:
    """Stories per (kind, target id) per local day."""
    counts: dict[tuple[str, str], Counter[date]] = {}
    for story in stories:
        day = story.at.astimezone(tz).date()
        for kind, ids in (("member", story.member_ids), ("campaign", story.campaign_ids)):
            for target_id in ids:
                counts.setdefault((kind, target_id), Counter())[day] += 1
    return counts


def spike_alerts(config: Config, hook: WebhookConfig, stories: Sequence[Story], now: datetime) -> list[Alert]:
    """A member's or campaign's stories today against its daily average over the 14 days before:
    a spike when today has at least spike_min_stories and spike_ratio times that average."""
    tz = ZoneInfo(hook.timezone)
    today = now.astimezone(tz).date()
    wanted = [s for s in stories if any(c.status in hook.filter.statuses for c in s.clips)]
    alerts = []
    for (kind, target_id), per_day in sorted(daily_counts(wanted, tz).items()):
        if not _in_scope(config, hook.filter, kind, target_id):
            continue
        n_today = per_day.get(today, 0)
        baseline = sum(per_day.get(today - timedelta(days=d), 0) for d in range(1, SPIKE_BASELINE_DAYS + 1))
        average = baseline / SPIKE_BASELINE_DAYS
        if n_today < hook.spike_min_stories or n_today < hook.spike_ratio * average:
            continue
        name = config_name(config, kind, target_id)
        ratio = f"{n_today / average:.1f}× its daily average of {average:.1f}" if average else "none in the 14 days before"
        alerts.append(Alert(
            key=f"spike:{kind}:{target_id}:{today.isoformat()}",
            title=f"Spike: {n_today} stories about {name} today",
            lines=((f"{n_today} stories today ({today:%a %d %b}), {ratio}.", None),),
        ))
    return alerts


def _in_scope(config: Config, f: NotifyFilter, kind: str, target_id: str) -> bool:
    from tracker.notify.select import chapter_members

    if not (f.members or f.campaigns or f.chapters):
        return True
    if kind == "campaign":
        return target_id in f.campaigns
    return target_id in f.members or target_id in chapter_members(config, f.chapters)


def _spell(feed: FeedHealth) -> str:
    """Which spell of failure an alert is about: since the last success; for a feed that never worked,
    per address, so a corrected address that fails as well is alerted again."""
    if feed.last_success_at is not None:
        return feed.last_success_at.isoformat()
    return "never:" + hashlib.sha256(feed.url.encode()).hexdigest()[:12]


def failing_feed_alerts(store: Store, now: datetime) -> list[Alert]:
    """Feeds whose fetches have failed for more than a day, and feeds gone for good (HTTP 410: no
    longer polled, the deadest kind); tracker.health says which."""
    alerts = []
    for status in health_report(store, now, runs=0).feeds:
        feed = status.feed
        if status.state == "disabled" and status.problem:
            alerts.append(Alert(
                # Per gone spell (it is looked at daily: the time of the last success stays put).
                key=f"feed:{feed.id}:gone:{_spell(feed)}",
                title=f"Feed gone: {feed.name or feed.id}",
                lines=((status.problem[:300], None), ("no longer polled: find its new address", None)),
            ))
            continue
        if status.state != "failing" or not status.problem:
            continue
        since = feed.last_success_at
        if since is not None and now - since <= FAILING_FOR:
            continue
        if since is None and (feed.last_attempt_at is None or feed.consecutive_failures < 2):
            continue  # one failed first try is not a day of failures yet
        alerts.append(Alert(
            key=f"feed:{feed.id}:{_spell(feed)}",
            title=f"Feed failing: {feed.name or feed.id}",
            lines=((status.problem[:300], None), (f"{feed.consecutive_failures} failed fetches in a row", None)),
        ))
    return alerts


# ------------------------------------------------------------------ how to say it


def payload(kind: str, alerts: Sequence[Alert]) -> dict[str, Any]:
    """Slack's {"text": mrkdwn}, or a Teams MessageCard; both readable without the other's features."""
    title = alerts[0].title if len(alerts) == 1 else f"{len(alerts)} new alerts"
    if kind == "teams":
        def md(text: str, link: str | None) -> str:
            # Feed text never makes a link of its own (`[Log in](https://…)`) nor ends ours early.
            safe = text.replace("[", "(").replace("]", ")")
            return f"[{safe}]({_md_link_target(link)})" if link else safe

        body = "\n\n".join(
            "**" + md(a.title, None) + "**" + "".join("  \n" + md(t, link) for t, link in a.lines) for a in alerts
        )
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": title[:150],
                "title": md(title, None), "text": body}

    def mrkdwn(text: str, link: str | None) -> str:
        safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<{link}|{safe.replace('|', '/')}>" if link else safe

    blocks = [f"*{mrkdwn(a.title, None)}*" + "".join("\n" + mrkdwn(t, link) for t, link in a.lines) for a in alerts]
    return {"text": "\n\n".join(blocks)}


def _md_link_target(url: str) -> str:
    """A URL as a Markdown link's target: the characters that would end it, or open a second link
    inside it, percent-encoded (a server reads %28 as it reads "(")."""
    return "".join(f"%{ord(ch):02X}" if ch in "()[]<> " else ch for ch in url)


def post_json(url: str, body: dict[str, Any]) -> None:
    import requests

    try:
        response = requests.post(url, json=body, timeout=POST_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        raise NotifyError(f"{exc.__class__.__name__}") from None
    if response.status_code >= 300:
        raise NotifyError(f"HTTP {response.status_code}")


def _post_with_retries(hook: WebhookConfig, body: dict[str, Any], poster: Poster, sleep: Sleep) -> None:
    pause = RETRY_PAUSE_S
    for attempt in range(1, POST_ATTEMPTS + 1):
        try:
            poster(hook.url, body)
            return
        except NotifyError as exc:
            if attempt == POST_ATTEMPTS:
                raise NotifyError(f"webhook {hook.name!r}: {exc} (after {attempt} attempts)") from None
            sleep(pause)
            pause *= 2


# ------------------------------------------------------------------ running them


def alerts_for(config: Config, store: Store, hook: WebhookConfig, now: datetime) -> list[Alert]:
    alerts: list[Alert] = []
    if "new_clips" in hook.events:
        # What a failed post owed is still owed after a day down, for up to a week.
        since = reach_back_for_failures(store, CHANNEL, hook.name, hook.name, now - NEW_STORIES_LOOKBACK, now)
        stories = changed_stories(store, since)
        alerts += new_story_alerts(config, hook, [s for s in stories if s.first_seen_at >= since])
    if "spike" in hook.events:
        since = now - timedelta(days=SPIKE_BASELINE_DAYS + 2)
        stories = group_stories(store.all_clips(ClipFilter(since=since)))
        alerts += spike_alerts(config, hook, stories, now)
    if "failing_feeds" in hook.events:
        alerts += failing_feed_alerts(store, now)
    return alerts


def run_webhook(config: Config, store: Store, hook: WebhookConfig, now: datetime, *,
                poster: Poster = post_json, sleep: Sleep = time.sleep, test: bool = False) -> WebhookResult:
    """Post this webhook's alerts not yet delivered, within its hourly budget. `test` posts one
    harmless message and records nothing."""
    if test:
        body = payload(hook.kind, [Alert("test", "media-tracker test message",
                                         ((f"Webhook {hook.name!r} is set up.", config.settings.dashboard_url or None),))])
        try:
            _post_with_retries(hook, body, poster, sleep)
        except NotifyError as exc:
            return WebhookResult(hook.name, 0, 0, str(exc))
        return WebhookResult(hook.name, 1, 0)
    alerts = alerts_for(config, store, hook, now)
    done = store.delivered_keys(CHANNEL, hook.name, (k for a in alerts for k in a.keys))
    # Under the hourly cap a spike or a failing feed (one alert about many stories, or about none
    # arriving) goes before the single stories, which would otherwise crowd it out on a busy day.
    owed = sorted((a for a in alerts if done.isdisjoint(a.keys)), key=lambda a: a.key.startswith("story:"))
    budget = max(0, hook.max_per_hour - store.sent_since(CHANNEL, hook.name, now - timedelta(hours=1)))
    sending, waiting = owed[:budget], len(owed) - min(budget, len(owed))
    posted = 0
    # Stories go several to a post; a spike or a dead feed gets a post of its own.
    batches: list[list[Alert]] = []
    stories = [a for a in sending if a.key.startswith("story:")]
    for i in range(0, len(stories), STORIES_PER_POST):
        batches.append(stories[i:i + STORIES_PER_POST])
    batches += [[a] for a in sending if not a.key.startswith("story:")]
    for batch in batches:
        keys = [a.key for a in batch]
        try:
            _post_with_retries(hook, payload(hook.kind, batch), poster, sleep)
        except NotifyError as exc:
            store.record_deliveries(CHANNEL, hook.name, hook.name, keys, now, error=str(exc))
            log.warning("%s", exc)
            return WebhookResult(hook.name, posted, waiting + sum(len(b) for b in batches[batches.index(batch) + 1:]), str(exc))
        store.record_deliveries(CHANNEL, hook.name, hook.name, keys, now)
        posted += len(batch)
    if waiting:
        log.info("webhook %r: %d alert(s) wait for next hour's budget", hook.name, waiting)
    return WebhookResult(hook.name, posted, waiting)


def run_webhooks(config: Config, store: Store, now: datetime, *, poster: Poster = post_json,
                 sleep: Sleep = time.sleep) -> list[WebhookResult]:
    """Every webhook in turn; one that fails is recorded and never stops the others."""
    results = []
    for hook in config.notify.webhooks:
        try:
            results.append(run_webhook(config, store, hook, now, poster=poster, sleep=sleep))
        except Exception as exc:  # a bug or an outage in one webhook must not stop the scheduler
            log.exception("webhook %r failed", hook.name)
            results.append(WebhookResult(hook.name, 0, 0, f"{exc.__class__.__name__}: {exc}"))
    return results

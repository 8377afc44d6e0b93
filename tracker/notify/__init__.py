"""Telling the team: e-mail digests and webhook alerts (README, "Telling the team").

Digests and alerts count stories (tracker.notify.stories, the seam for syndicated copies), and a
delivery log in the database (tracker.store.notify) sends each story or alert to a recipient once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from tracker.models import Config
from tracker.notify.digest import DigestResult, render_digest, repeats_a_wall_time, send_digest
from tracker.notify.stories import Story, group_stories
from tracker.notify.webhooks import WebhookResult, run_webhook, run_webhooks
from tracker.store import Store

log = logging.getLogger("tracker.notify")

__all__ = [
    "DigestResult", "Story", "WebhookResult", "group_stories", "render_digest", "run_digest_job", "run_webhook",
    "run_webhooks", "send_digest",
]


def run_digest_job(config: Config, store: Store, name: str, now: datetime) -> DigestResult | None:
    """The scheduler's digest job: send, log the outcome; nothing raises (a failure is retried next time).
    A fire in the repeated hour when clocks go back is skipped: its wall time already had its digest."""
    digest = config.notify.digest(name)
    if digest is not None and repeats_a_wall_time(now, digest.timezone):
        log.info("digest %r skipped: %s in %s is the clocks' second pass of that hour", name,
                 now.astimezone(ZoneInfo(digest.timezone)).strftime("%H:%M"), digest.timezone)
        return None
    try:
        result = send_digest(config, store, name, now)
    except Exception:  # a broken digest must never stop the scheduler
        log.exception("digest %r failed", name)
        return None
    for r in result.results:
        if r.error:
            log.warning("digest %r to %s failed (retried next time): %s", name, r.recipient, r.error)
        elif r.sent:
            log.info("digest %r sent to %s: %d stories", name, r.recipient, r.stories)
    return result

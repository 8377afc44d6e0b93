"""Webhook alerts to a local HTTP server: new stories, a spike after 14 quiet days, a feed failing for
over a day; each posted once, retried, and held to the hourly limit. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fakes import NOW, FakeClock
from tests.notifykit import DASHBOARD, add_clip, make_config, webhook_server
from tracker.models import (
    FeedConfig,
    FetchOutcome,
    MatchedEntry,
    Mention,
    ParsedEntry,
    StoryPlacement,
)
from tracker.normalize import canonical_url, clip_id_for
from tracker.notify import run_webhook, run_webhooks
from tracker.store import Store


def hook_config(url: str, **fields: Any) -> dict[str, Any]:
    return {"webhooks": [{"name": "comms-slack", "url": url, **fields}]}


def no_sleep(pauses: list[float]) -> Any:
    return pauses.append


def test_new_stories_for_chosen_members_posted_once(store: Store) -> None:
    kendra = add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"], title="Brooks wins vote")
    add_clip(store, "k2", NOW - timedelta(hours=2), members=["kendra-brooks"], campaigns=["good-cause"], title="Eviction <bill> & more")
    add_clip(store, "r1", NOW - timedelta(hours=1), members=["rui-sun"], title="Sun story")
    add_clip(store, "old", NOW - timedelta(days=3), members=["kendra-brooks"], title="Old story")
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips"], filter={"members": ["kendra-brooks"]}))
        (result,) = run_webhooks(config, store, NOW)
        assert (result.posted, result.waiting, result.error) == (2, 0, None)
        assert len(hook.posts) == 1  # several stories go in one post
        text = hook.texts()[0]
        assert "Brooks wins vote" in text and "Eviction &lt;bill&gt; &amp; more" in text  # Slack's escaping
        assert "Sun story" not in text and "Old story" not in text
        assert f"<{DASHBOARD}/?clip={kendra}|Open in the dashboard>" in text
        assert "<https://news.example.org/k1|Read the article>" in text

        # Dedup: the next run (and the one after a new story) posts only what is new.
        assert run_webhooks(config, store, NOW + timedelta(minutes=5))[0].posted == 0
        add_clip(store, "k3", NOW + timedelta(minutes=10), members=["kendra-brooks"], title="Third story")
        assert run_webhooks(config, store, NOW + timedelta(minutes=15))[0].posted == 1
        assert len(hook.posts) == 2 and "Third story" in hook.texts()[1] and "Brooks wins" not in hook.texts()[1]
    # The log names the webhook, never its URL (a Slack webhook URL is a secret).
    assert all(d.recipient == "comms-slack" and "secret" not in d.recipient for d in store.recent_deliveries("webhook"))


def test_a_copy_posted_before_the_stories_step_placed_it_is_not_posted_again_as_its_story(store: Store) -> None:
    # The copy is posted as a story of its own, then placed in a wire story from days ago that was
    # never posted (older than the alert window): the story is the copy already posted.
    wire = add_clip(store, "wire", NOW - timedelta(days=3), members=["kendra-brooks"], title="Brooks bill advances")
    store.place_clips([StoryPlacement(wire, wire, "news.example.org", new_story=True)], NOW - timedelta(days=3))
    copy = add_clip(store, "copy", NOW - timedelta(hours=1), members=["kendra-brooks"], title="Brooks bill advances")
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips"]))
        assert run_webhooks(config, store, NOW)[0].posted == 1
        store.place_clips([StoryPlacement(copy, wire, "news.example.org")], NOW + timedelta(minutes=10))
        assert run_webhooks(config, store, NOW + timedelta(minutes=30))[0].posted == 0
        # A third copy a day later, when the copy posted is older than the alert window: still posted.
        late = add_clip(store, "late", NOW + timedelta(hours=26), members=["kendra-brooks"], title="Brooks bill advances")
        store.place_clips([StoryPlacement(late, wire, "news.example.org")], NOW + timedelta(hours=26))
        assert run_webhooks(config, store, NOW + timedelta(hours=27))[0].posted == 0
        assert len(hook.posts) == 1
    assert [d.item_key for d in store.recent_deliveries("webhook")] == [f"story:{copy}"]


def test_a_story_posted_before_its_search_link_was_resolved_is_not_posted_again(store: Store) -> None:
    # Posted under the search link's clip id; the resolver then moves the clip to its publisher's URL
    # (a new id). The delivery record moves with it, or the next run would post the story again.
    link = "https://news.google.com/rss/articles/CBMiRENTCAP?oc=5"
    entry = ParsedEntry(title="Brooks wants to cap rent increases", link=link, guid=link, summary="Kendra Brooks said.",
                        content="", published_at=NOW - timedelta(hours=1), source_outlet="WRAL")
    mention = Mention(kind="member", target_id="kendra-brooks", term="Kendra Brooks", field="summary", snippet="")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), (mention,), search_link=link,
                        resolved=False)
    store.store_entries("search-brooks", [item], NOW - timedelta(minutes=50))
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips"]))
        assert run_webhooks(config, store, NOW)[0].posted == 1
        done = store.resolve_link(item.canonical_url, "https://www.wral.com/story/philly-rent-cap/", NOW + timedelta(minutes=5))
        assert done is not None and done.clip_id != item.clip_id
        assert run_webhooks(config, store, NOW + timedelta(minutes=30))[0].posted == 0
        assert len(hook.posts) == 1
    assert [d.item_key for d in store.recent_deliveries("webhook")] == [f"story:{done.clip_id}"]


def test_teams_gets_a_message_card(store: Store) -> None:
    add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"], title="Brooks [wins] vote")
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, kind="teams", events=["new_clips"]))
        run_webhooks(config, store, NOW)
    (card,) = hook.posts
    assert card["@type"] == "MessageCard" and card["title"] == "Brooks (wins) vote"
    assert "[Read the article](https://news.example.org/k1)" in card["text"]


def test_feed_text_makes_no_link_of_its_own_in_a_teams_card(store: Store) -> None:
    """A headline written as a Markdown link, and an article URL with `)` in it, would otherwise
    put the feed's own link (a phishing page, say) in front of staff in Teams."""
    add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"],
             title="Brooks wins [Log in to read](https://phish.example/login)",
             link="https://news.example.org/a)**[urgent](https://phish.example/x)")
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, kind="teams", events=["new_clips"]))
        assert run_webhooks(config, store, NOW)[0].posted == 1
    (card,) = hook.posts
    links = re.findall(r"\[([^\]]*)\]\(([^)]*)\)", card["title"] + card["text"])
    assert links and {text for text, _ in links} <= {"Read the article", "Open in the dashboard"}, links
    assert not any("phish" in target for _, target in links if not target.startswith("https://news.example.org/"))
    assert "https://news.example.org/a%29**%5Burgent%5D%28https://phish.example/x%29" in card["text"]


def test_spike_after_fourteen_quiet_days(store: Store) -> None:
    # 14 quiet days: Kendra Brooks in one story every other day; Good Cause Eviction steady at 3 a day.
    for day in range(1, 15):
        at = NOW - timedelta(days=day)
        if day % 2 == 0:
            add_clip(store, f"quiet-{day}", at, members=["kendra-brooks"])
        for n in range(3):
            add_clip(store, f"steady-{day}-{n}", at, campaigns=["good-cause"])
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["spike"], spike_ratio=3, spike_min_stories=3))
        assert run_webhooks(config, store, NOW)[0].posted == 0  # a normal day: no spike
        # Today: five Kendra stories (10x her 0.5 a day), and the campaign's usual 3.
        for n in range(5):
            add_clip(store, f"busy-{n}", NOW - timedelta(hours=n + 1), members=["kendra-brooks"])
        for n in range(3):
            add_clip(store, f"today-steady-{n}", NOW - timedelta(hours=n + 1), campaigns=["good-cause"])
        (result,) = run_webhooks(config, store, NOW)
        assert result.posted == 1
        (text,) = hook.texts()
        assert "Spike: 5 stories about Kendra Brooks today" in text and "10.0× its daily average of 0.5" in text
        assert "Good Cause" not in text
        # The same spike is not posted again that day.
        add_clip(store, "busy-more", NOW + timedelta(minutes=30), members=["kendra-brooks"])
        assert run_webhooks(config, store, NOW + timedelta(hours=1))[0].posted == 0
        assert len(hook.posts) == 1


def test_feed_failing_for_more_than_a_day(store: Store) -> None:
    store.sync_feeds([FeedConfig(id="dead", url="https://dead.example/rss", name="Dead Paper"),
                      FeedConfig(id="flaky", url="https://flaky.example/rss", name="Flaky Paper")])
    store.record_fetch("dead", FetchOutcome(ok=True, status=200), NOW - timedelta(days=3))
    store.record_fetch("flaky", FetchOutcome(ok=True, status=200), NOW - timedelta(hours=5))
    for hours in (48, 24, 1):
        store.record_fetch("dead", FetchOutcome(ok=False, status=500, error="HTTP 500",
                                                next_attempt_at=NOW + timedelta(hours=1)), NOW - timedelta(hours=hours))
    store.record_fetch("flaky", FetchOutcome(ok=False, status=503, error="HTTP 503",
                                             next_attempt_at=NOW + timedelta(hours=1)), NOW - timedelta(hours=1))
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["failing_feeds"]))
        assert run_webhooks(config, store, NOW)[0].posted == 1
        (text,) = hook.texts()
        assert "Feed failing: Dead Paper" in text and "HTTP 500" in text and "Flaky" not in text
        assert run_webhooks(config, store, NOW + timedelta(hours=2))[0].posted == 0  # said once
        # It recovers, then fails for a day again: a new alert.
        store.record_fetch("dead", FetchOutcome(ok=True, status=200), NOW + timedelta(hours=3))
        store.record_fetch("flaky", FetchOutcome(ok=True, status=200), NOW + timedelta(hours=29))
        for hours in (4, 30):
            store.record_fetch("dead", FetchOutcome(ok=False, status=500, error="HTTP 500",
                                                    next_attempt_at=NOW + timedelta(hours=31)), NOW + timedelta(hours=hours))
        assert run_webhooks(config, store, NOW + timedelta(hours=30))[0].posted == 1
        assert len(hook.posts) == 2 and "Dead Paper" in hook.texts()[1]


def test_a_feed_gone_for_good_is_alerted_once(store: Store) -> None:
    # HTTP 410: the feed is disabled at once (no longer polled but for a daily look); the deadest kind
    # of feed, and the one the failing-feeds alert missed, since it is not "failing".
    store.sync_feeds([FeedConfig(id="gone", url="https://gone.example/rss", name="Gone Paper")])
    store.record_fetch("gone", FetchOutcome(ok=True, status=200), NOW - timedelta(days=3))
    store.record_fetch("gone", FetchOutcome(ok=False, status=410, error="HTTP 410", disable_reason="HTTP 410 Gone",
                                            next_attempt_at=NOW + timedelta(days=1)), NOW - timedelta(hours=2))
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["failing_feeds"]))
        assert run_webhooks(config, store, NOW)[0].posted == 1
        assert "Feed gone: Gone Paper" in hook.texts()[0] and "410" in hook.texts()[0]
        store.record_fetch("gone", FetchOutcome(ok=False, status=410, error="HTTP 410", disable_reason="HTTP 410 Gone",
                                                next_attempt_at=NOW + timedelta(days=2)), NOW + timedelta(days=1))
        assert run_webhooks(config, store, NOW + timedelta(days=1, hours=1))[0].posted == 0  # its daily look: said once


def test_a_feed_that_never_worked_is_alerted_again_at_its_corrected_address(store: Store) -> None:
    """Its alert was keyed `…:gone:never`: staff corrected the address, the new one was gone too, and
    nobody was told, since the spell key had not changed."""
    gone = FetchOutcome(ok=False, status=410, error="HTTP 410", disable_reason="HTTP 410 Gone",
                        next_attempt_at=NOW + timedelta(days=1))
    store.sync_feeds([FeedConfig(id="gone", url="https://gone.example/rss", name="Gone Paper")])
    store.record_fetch("gone", gone, NOW - timedelta(hours=2))
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["failing_feeds"]))
        assert run_webhooks(config, store, NOW)[0].posted == 1
        store.sync_feeds([FeedConfig(id="gone", url="https://gone.example/feed.xml", name="Gone Paper")])
        store.record_fetch("gone", gone, NOW + timedelta(hours=1))
        assert run_webhooks(config, store, NOW + timedelta(hours=2))[0].posted == 1
        assert len(hook.posts) == 2 and "Feed gone: Gone Paper" in hook.texts()[1]


def test_retried_then_recorded_as_failed_then_posted_when_it_answers(store: Store) -> None:
    add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"], title="Brooks wins vote")
    pauses: list[float] = []
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips"]))
        (hook_cfg,) = config.notify.webhooks
        hook.statuses = [500, 503]  # two failures, then it answers
        assert run_webhook(config, store, hook_cfg, NOW, sleep=no_sleep(pauses)).posted == 1
        assert pauses == [1.0, 2.0] and len(hook.posts) == 1

        add_clip(store, "k2", NOW, members=["kendra-brooks"], title="Second story")
        hook.statuses = [500, 500, 500]
        failed = run_webhook(config, store, hook_cfg, NOW + timedelta(minutes=1), sleep=no_sleep(pauses))
        assert failed.posted == 0 and failed.error and "HTTP 500 (after 3 attempts)" in failed.error
        (row,) = store.recent_deliveries("webhook", status="failed")
        assert row.attempts == 1 and "HTTP 500" in (row.error or "")
        assert run_webhook(config, store, hook_cfg, NOW + timedelta(minutes=2), sleep=no_sleep(pauses)).posted == 1
        assert "Second story" in hook.texts()[-1]
    assert store.recent_deliveries("webhook", status="failed") == []


def test_a_story_a_failed_post_owed_is_posted_when_the_webhook_answers_two_days_later(store: Store) -> None:
    add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"], title="Brooks wins vote")
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips"]))
        (hook_cfg,) = config.notify.webhooks
        hook.statuses = [503] * 3
        assert run_webhook(config, store, hook_cfg, NOW, sleep=lambda s: None).error
        later = run_webhook(config, store, hook_cfg, NOW + timedelta(days=2), sleep=lambda s: None)
        assert (later.posted, later.error) == (1, None) and "Brooks wins vote" in hook.texts()[-1]
        # Owed no more: the next run looks back a day again, and posts nothing twice.
        assert run_webhook(config, store, hook_cfg, NOW + timedelta(days=2, hours=1)).posted == 0
    assert store.recent_deliveries("webhook", status="failed") == []


def test_unreachable_webhook_does_not_stop_the_others(store: Store) -> None:
    add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"])
    with webhook_server() as hook:
        config = make_config({"webhooks": [
            {"name": "gone", "url": "http://127.0.0.1:9/nothing", "events": ["new_clips"]},
            {"name": "ok", "url": hook.url, "events": ["new_clips"]},
        ]})
        gone, ok = run_webhooks(config, store, NOW, sleep=lambda s: None)
    assert gone.error and "ConnectionError" in gone.error and ok.posted == 1


def test_hourly_limit_holds_the_rest_for_later(store: Store) -> None:
    for n in range(5):
        add_clip(store, f"k{n}", NOW - timedelta(minutes=n + 1), members=["kendra-brooks"])
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips"], max_per_hour=2))
        first = run_webhooks(config, store, NOW)[0]
        assert (first.posted, first.waiting) == (2, 3)
        assert run_webhooks(config, store, NOW + timedelta(minutes=30))[0].posted == 0
        later = run_webhooks(config, store, NOW + timedelta(minutes=61))[0]
        assert (later.posted, later.waiting) == (2, 1)


def test_under_the_hourly_limit_a_spike_goes_before_the_stories_that_make_it(store: Store) -> None:
    # A quiet member (nothing in 14 days), then six stories today: a spike, and six story alerts.
    for n in range(6):
        add_clip(store, f"k{n}", NOW - timedelta(minutes=n + 1), members=["kendra-brooks"], title=f"Story {n}")
    with webhook_server() as hook:
        config = make_config(hook_config(hook.url, events=["new_clips", "spike"], max_per_hour=2,
                                         spike_ratio=3, spike_min_stories=3))
        first = run_webhooks(config, store, NOW)[0]
        assert (first.posted, first.waiting) == (2, 5)
        assert any("Spike: 6 stories about Kendra Brooks" in text for text in hook.texts())


@pytest.mark.parametrize("command", [["alerts", "test", "comms-slack"], ["alerts", "run"]])
def test_cli(store: Store, tmp_path: Any, command: list[str]) -> None:
    import yaml

    from tests.notifykit import config_data

    add_clip(store, "k1", NOW - timedelta(hours=1), members=["kendra-brooks"], title="Brooks wins vote")
    with webhook_server() as hook:
        path = tmp_path / "feeds.yml"
        path.write_text(yaml.safe_dump(config_data(hook_config(hook.url))), encoding="utf-8")
        result = CliRunner().invoke(cli_root(), ["--config", str(path), "--db", store.url, *command], obj=FakeClock(NOW))
        assert result.exit_code == 0, result.output
    if command[1] == "test":
        assert "media-tracker test message" in hook.texts()[0] and store.recent_deliveries("webhook") == []
    else:
        assert "Brooks wins vote" in hook.texts()[0] and "comms-slack: 1 posted" in result.output


def cli_root() -> Any:
    from tracker.cli import cli

    return cli


def test_the_scheduler_posts_alerts_after_each_cycle(tmp_path: Any, feed_server: Any) -> None:
    from tests.test_feed_health import MEMBER, rss
    from tracker.ingest.scheduler import CycleScheduler, ScheduleOptions
    from tracker.models import Config, NotifyConfig, Settings, WebhookConfig

    url = feed_server.add("/paper.xml", body=rss(2))
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    clock = FakeClock(NOW)
    try:
        with webhook_server() as hook:
            config = Config(path=str(tmp_path / "feeds.yml"), settings=Settings(timeout_s=5.0, allow_private_hosts=True),
                            feeds=(FeedConfig(id="paper", url=url, name="Paper"),), members=(MEMBER,),
                            notify=NotifyConfig(webhooks=(WebhookConfig(name="slack", url=hook.url,
                                                                        events=("new_clips",)),)))
            scheduler = CycleScheduler(lambda: config, store, ScheduleOptions(every_s=3600), clock=clock)
            report = scheduler.tick()
            assert report is not None and report.new_clips == 2
            assert len(hook.posts) == 1 and "Kendra Brooks on story 0" in hook.texts()[0]
            clock.advance(hours=1)
            scheduler.tick()  # the same feed again: nothing new to say
            assert len(hook.posts) == 1
    finally:
        store.close()

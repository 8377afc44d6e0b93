"""E-mail digests through a real SMTP server on 127.0.0.1 (aiosmtpd): both parts, the grouping, the
links, no story twice to one recipient, a refused connection recorded and retried. SQLite and
PostgreSQL; every "now" is the injected clock."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.fakes import NOW, FakeClock
from tests.notifykit import (
    DASHBOARD,
    add_clip,
    add_story,
    config_data,
    free_port,
    make_config,
    smtp_notify,
    smtp_server,
)
from tracker.cli import cli
from tracker.errors import ConfigError, NotFoundError
from tracker.ingest.scheduler import CycleScheduler, ScheduleOptions
from tracker.models import ClipStatus, Config, StoryPlacement
from tracker.notify import send_digest
from tracker.notify.digest import STORE_LAG
from tracker.notify.smtp import smtp_credentials
from tracker.store import Store

A, B = "ana@example.org", "ben@example.org"
MORNING = {"name": "morning", "recipients": [A, B], "schedule": "0 7 * * mon-fri", "timezone": "America/New_York",
           "filter": {"members": ["kendra-brooks"], "campaigns": ["good-cause"]}}


def seed(store: Store) -> dict[str, str]:
    at = NOW - timedelta(hours=3)
    return {
        "both": add_story(store, "both", at, members=["kendra-brooks"], campaigns=["good-cause"], title="Council passes eviction bill"),
        "member": add_story(store, "member", at - timedelta(minutes=5), members=["kendra-brooks"], outlet="WHYY",
                           title="Brooks opens a library", status=ClipStatus.APPROVED),
        "other": add_story(store, "other", at, members=["rui-sun"], campaigns=["fair-fares"], title="Sun on fares"),
        "rejected": add_story(store, "rejected", at, members=["kendra-brooks"], title="Not her at all",
                             status=ClipStatus.REJECTED),
    }


def parts(message: object) -> tuple[str, str]:
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()  # type: ignore[attr-defined]


def test_digest_reaches_each_recipient_once_grouped_with_links(store: Store) -> None:
    ids = seed(store)
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [MORNING]))
        result = send_digest(config, store, "morning", NOW)
        assert [(r.recipient, r.stories, r.sent) for r in result.results] == [(A, 2, True), (B, 2, True)]
        assert len(inbox.messages) == 2
        sender, rcpt, message = inbox.messages[0]
        assert sender == "clips@example.org" and rcpt == (A,)
        assert message["Subject"] == "morning: 2 stories" and message["To"] == A
        text, html = parts(message)

        # Grouped: the campaign first, its member under it; the member-only story in the next section.
        assert text.index("== Good Cause Eviction ==") < text.index("-- Kendra Brooks --") < text.index(
            "Council passes eviction bill") < text.index("== Other coverage ==") < text.index("Brooks opens a library")
        assert "Sun on fares" not in text and "Not her at all" not in text  # filter, and rejected
        assert "https://news.example.org/both" in text
        assert f"In the dashboard: {DASHBOARD}/?clip={ids['both']}" in text
        assert "evidence for kendra-brooks in both" in text or "evidence for good-cause in both" in text
        assert "WHYY" in text and "November 24, 2026" in text

        # The HTML is the export's cards, plus the evidence and the two links.
        assert f'data-clip-id="{ids["both"]}"' in html and 'class="itn-card"' in html
        assert f'href="{DASHBOARD}/?clip={ids["member"]}"' in html
        assert 'href="https://news.example.org/member"' in html
        assert html.index("Good Cause Eviction") < html.index("Council passes eviction bill")

        # The second run has nothing new for anyone: no message at all.
        again = send_digest(config, store, "morning", NOW + timedelta(hours=1))
        assert [r.sent for r in again.results] == [False, False] and len(inbox.messages) == 2

        # A story found later is the only one in the next digest.
        new = add_story(store, "later", NOW + timedelta(hours=2), campaigns=["good-cause"], title="Later story")
        send_digest(config, store, "morning", NOW + timedelta(days=1))
        assert len(inbox.messages) == 4
        later_text, _ = parts(inbox.to(B)[-1])
        assert "Later story" in later_text and "Council passes" not in later_text
        assert inbox.to(B)[-1]["Subject"] == "morning: 1 story"
        assert {d.item_key for d in store.recent_deliveries("digest", "morning") if d.recipient == B} == {
            ids["both"], ids["member"], new}


def test_a_refused_connection_is_recorded_and_retried_next_time(store: Store) -> None:
    ids = seed(store)
    port = free_port()  # nothing listens there yet
    config = make_config(smtp_notify(port, [MORNING]))
    first = send_digest(config, store, "morning", NOW)
    assert [r.sent for r in first.results] == [False, False]
    assert all(r.error and f"127.0.0.1:{port}" in r.error for r in first.results)
    failed = store.recent_deliveries("digest", "morning")
    assert {(d.recipient, d.item_key, d.status, d.attempts) for d in failed} == {
        (who, ids[k], "failed", 1) for who in (A, B) for k in ("both", "member")}
    assert all("ConnectionRefusedError" in (d.error or "") for d in failed)

    with smtp_server(port) as inbox:
        second = send_digest(config, store, "morning", NOW + timedelta(days=1))
        assert [r.stories for r in second.results] == [2, 2] and all(r.sent for r in second.results)
        text, _ = parts(inbox.to(A)[0])
        assert "Council passes eviction bill" in text and "Brooks opens a library" in text
    sent = store.recent_deliveries("digest", "morning")
    assert {(d.status, d.attempts) for d in sent} == {("sent", 2)} and all(d.error is None for d in sent)


def test_a_failure_a_later_digest_left_behind_does_not_widen_the_next_ones(store: Store) -> None:
    """Ana's 07:00 digest failed; its one story was rejected before the next day's digest, which
    reached her. Two days later staff add Rui Sun to the digest: Ana gets the same stories as Ben,
    who joins then, not a week of Sun's coverage (the failed row no longer stretches her look-back)."""
    day = timedelta(days=1)
    add_story(store, "dropped", NOW - timedelta(hours=3), members=["kendra-brooks"], title="Mistaken match")
    port = free_port()
    only_ana = {**MORNING, "recipients": [A], "filter": {"members": ["kendra-brooks"]}}
    assert [r.sent for r in send_digest(make_config(smtp_notify(port, [only_ana])), store, "morning", NOW).results] == [False]
    store.set_status([store.all_clips()[0].id], ClipStatus.REJECTED, "tester", NOW + timedelta(hours=1))
    add_story(store, "fares", NOW + timedelta(hours=12), members=["rui-sun"], title="Sun on fares")
    add_story(store, "library", NOW + timedelta(hours=20), members=["kendra-brooks"], title="Brooks opens a library")
    with smtp_server(port) as inbox:
        assert [r.stories for r in send_digest(make_config(smtp_notify(port, [only_ana])), store, "morning",
                                               NOW + day).results] == [1]
        add_story(store, "budget", NOW + 3 * day - timedelta(hours=2), members=["rui-sun"], title="Sun on the budget")
        both = {**MORNING, "recipients": [A, B], "filter": {"members": ["kendra-brooks", "rui-sun"]}}
        result = send_digest(make_config(smtp_notify(port, [both])), store, "morning", NOW + 3 * day)
        assert [r.stories for r in result.results] == [1, 1]
        ana, _ = parts(inbox.to(A)[-1])
        assert "Sun on the budget" in ana and "Sun on fares" not in ana


def test_a_copy_sent_before_the_stories_step_placed_it_is_not_sent_again_as_its_story(store: Store) -> None:
    # The wire story ran days ago; this morning's copy arrives, but its cycle's stories step fails,
    # so the digest goes out with the copy unplaced: a digest holds back only a copy first seen within
    # STORE_LAG (placing normally comes minutes later), so this older one goes as a story of its own.
    # Then the step places the copy in the wire story, and staff approve it (a change the next digest
    # looks at): it must not go again.
    wire = add_story(store, "wire", NOW - timedelta(days=5), members=["kendra-brooks"], title="Brooks bill advances")
    copy = add_clip(store, "copy", NOW - STORE_LAG - timedelta(hours=1), members=["kendra-brooks"],
                    title="Brooks bill advances")
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [{**MORNING, "recipients": [A]}]))
        assert [r.stories for r in send_digest(config, store, "morning", NOW).results] == [1]
        store.place_clips([StoryPlacement(copy, wire, "news.example.org")], NOW + timedelta(minutes=10))
        store.set_status([copy], ClipStatus.APPROVED, "tester", NOW + timedelta(minutes=20))
        again = send_digest(config, store, "morning", NOW + timedelta(hours=1))
        assert [(r.stories, r.sent) for r in again.results] == [(0, False)] and len(inbox.messages) == 1

        # A copy of another story that reached no one yet still goes out, once.
        fresh = add_clip(store, "fresh", NOW + timedelta(days=1), members=["kendra-brooks"], title="Brooks opens a library")
        store.place_clips([StoryPlacement(fresh, fresh, "news.example.org", new_story=True)], NOW + timedelta(days=1))
        assert [r.stories for r in send_digest(config, store, "morning", NOW + timedelta(days=1, hours=1)).results] == [1]
        assert len(inbox.messages) == 2 and "Brooks opens a library" in parts(inbox.messages[1][2])[0]

        # A third copy joins the wire story when the copy sent is older than this digest looks back
        # (its last send): the story still counts as sent.
        late = add_clip(store, "late", NOW + timedelta(days=2), members=["kendra-brooks"], title="Brooks bill advances")
        store.place_clips([StoryPlacement(late, wire, "news.example.org")], NOW + timedelta(days=2))
        assert [r.stories for r in send_digest(config, store, "morning", NOW + timedelta(days=2, hours=1)).results] == [0]
        assert len(inbox.messages) == 2


def test_a_clip_committed_after_a_digest_but_first_seen_before_it_is_in_the_next(store: Store) -> None:
    # An ingest cycle starts at 06:50 (its clips' first-seen time) and commits a feed at 07:05; the
    # 07:00 digest could not see it, and the next one looks back past its own last send.
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [{**MORNING, "recipients": [A]}]))
        early = add_story(store, "early", NOW - timedelta(hours=2), members=["kendra-brooks"], title="Committed early")
        assert [r.stories for r in send_digest(config, store, "morning", NOW).results] == [1]
        late = add_story(store, "late", NOW - timedelta(minutes=10), members=["kendra-brooks"], title="Committed late")
        result = send_digest(config, store, "morning", NOW + timedelta(days=1))
        assert [r.stories for r in result.results] == [1]
        assert "Committed late" in parts(inbox.messages[-1][2])[0]
        # ...and only once: the overlap is deduplicated by the delivery log.
        assert [r.stories for r in send_digest(config, store, "morning", NOW + timedelta(days=1, hours=1)).results] == [0]
    assert {d.item_key for d in store.recent_deliveries("digest", "morning")} == {early, late}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the test server only
def test_credentials_come_from_the_environment_and_are_never_in_the_file(
        store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seed(store)
    monkeypatch.setenv("CLIPS_SMTP_USER", "clips-bot")
    monkeypatch.setenv("CLIPS_SMTP_PASS", "s3cret-pass")
    with smtp_server(auth=True) as inbox:
        config = make_config(smtp_notify(inbox.port, [MORNING], username_env="CLIPS_SMTP_USER",
                                         password_env="CLIPS_SMTP_PASS"))
        assert send_digest(config, store, "morning", NOW).results[0].sent
        assert inbox.logins[0] == ("clips-bot", "s3cret-pass")
    with pytest.raises(ConfigError, match="credentials never go in this file"):
        make_config(smtp_notify(1025, [MORNING], password="hunter2"))
    # Streamlit's secrets.toml is the other place they may be.
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[smtp]\nusername = "from-secrets"\npassword = "pw"\n', encoding="utf-8")
    assert config.notify.smtp is not None
    assert smtp_credentials(config.notify.smtp, env={}, secrets_paths=[secrets]) == ("from-secrets", "pw")
    assert smtp_credentials(config.notify.smtp, env={}, secrets_paths=[tmp_path / "missing.toml"]) is None


def test_status_and_chapter_filters(store: Store) -> None:
    seed(store)
    digests = [
        {"name": "approved", "recipients": [A], "filter": {"status": "approved", "members": ["kendra-brooks"]}},
        {"name": "new-york", "recipients": [B], "filter": {"chapters": ["NY"]}},
    ]
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, digests))
        send_digest(config, store, "approved", NOW)
        send_digest(config, store, "new-york", NOW)
        approved_text, _ = parts(inbox.to(A)[0])
        ny_text, _ = parts(inbox.to(B)[0])
    assert "Brooks opens a library" in approved_text and "Council passes" not in approved_text
    assert "Sun on fares" in ny_text and "== Fair Fares ==" in ny_text and "Brooks" not in ny_text


def _cli_setup(tmp_path: Path, port: int, db_url: str) -> list[str]:
    path = tmp_path / "feeds.yml"
    path.write_text(yaml.safe_dump(config_data(smtp_notify(port, [MORNING]))), encoding="utf-8")
    return ["--config", str(path), "--db", db_url]


def test_cli_dry_run_prints_and_records_nothing_then_to_sends_elsewhere(store: Store, tmp_path: Path) -> None:
    seed(store)
    clock = FakeClock(NOW)
    with smtp_server() as inbox:
        base = _cli_setup(tmp_path, inbox.port, store.url)
        dry = CliRunner().invoke(cli, [*base, "digest", "send", "morning", "--dry-run"], obj=clock)
        assert dry.exit_code == 0, dry.output
        assert dry.output.count("Subject: morning: 2 stories") == 2 and "Council passes eviction bill" in dry.output
        assert inbox.messages == [] and store.recent_deliveries("digest") == []

        to = CliRunner().invoke(cli, [*base, "digest", "send", "morning", "--to", "test@example.org"], obj=clock)
        assert to.exit_code == 0, to.output
        assert [rcpt for _, rcpt, _ in inbox.messages] == [("test@example.org",)]
        assert "test@example.org: sent 2 stories" in to.output
    # The real recipients are still owed every story.
    assert {d.recipient for d in store.recent_deliveries("digest")} == {"test@example.org"}

    unknown = CliRunner().invoke(cli, [*base, "digest", "send", "evening"], obj=clock)
    assert unknown.exit_code != 0 and isinstance(unknown.exception, NotFoundError)


def test_the_scheduler_sends_digests_on_their_own_cron_and_survives_a_failure(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    seed(store)
    port = free_port()
    config = make_config(smtp_notify(port, [MORNING]))
    clock = FakeClock(NOW)

    def load() -> Config:
        return config

    scheduler = CycleScheduler(load, store, ScheduleOptions(every_s=3600, initial_run=False), clock=clock)
    scheduler.add_job()
    job = scheduler._scheduler.get_job("digest:morning")
    assert job is not None
    # 07:00 in New York on weekdays: 12:00 UTC in November (EST); Friday afternoon -> Monday.
    tuesday = NOW - timedelta(minutes=1)  # 2026-11-24 11:59 UTC, a Tuesday
    assert job.trigger.get_next_fire_time(None, tuesday).astimezone(NOW.tzinfo) == NOW
    friday = NOW + timedelta(days=3, hours=1)
    assert job.trigger.get_next_fire_time(None, friday).astimezone(NOW.tzinfo) == NOW + timedelta(days=6)

    with caplog.at_level(logging.WARNING, logger="tracker.notify"):
        scheduler.send_digest("morning")  # nothing listens: logged and recorded, not raised
    assert "retried next time" in caplog.text
    assert {d.status for d in store.recent_deliveries("digest")} == {"failed"}
    with smtp_server(port) as inbox:
        clock.advance(days=1)
        scheduler.send_digest("morning")
        assert len(inbox.messages) == 2
    assert store.recent_deliveries("digest")[0].last_attempt_at == clock.now  # the injected clock's time


def test_config_errors_name_the_problem() -> None:
    base = smtp_notify(1025, [MORNING])
    for change, problem in (
        ({"digests": [{**MORNING, "timezone": "Mars/Olympus"}]}, "unknown time zone"),
        ({"digests": [{**MORNING, "schedule": "at seven"}]}, "not a cron expression"),
        ({"digests": [{**MORNING, "recipients": ["not-an-address"]}]}, "is not an e-mail address"),
        ({"digests": [{**MORNING, "filter": {"members": ["nobody"]}}]}, "no member with id 'nobody'"),
        ({"digests": [{**MORNING, "filter": {"status": "rejected"}}]}, "unknown status"),
        ({"digests": [{**MORNING, "filter": {"chapters": ["Atlantis"]}}]}, "no member has chapter"),
        ({"digests": [MORNING, MORNING]}, "duplicate id 'morning'"),
        ({"smtp": None}, "digests need an smtp server"),
        ({"smtp": {**base["smtp"], "security": "ssl3"}}, "unknown 'ssl3'"),
        ({"webhooks": [{"name": "slack", "url": "ftp://x"}]}, "expected an http"),
        ({"webhooks": [{"name": "slack", "url": "https://h.example/x", "events": ["birthdays"]}]}, "unknown event"),
        ({"webhooks": [{"name": "slack", "url": "https://h.example/x", "kind": "discord"}]}, "unknown kind"),
        ({"pager": {}}, "unknown key 'pager'"),
    ):
        with pytest.raises(ConfigError, match=problem):
            make_config({**base, **change})
    # A webhook URL's path is its password: a malformed one is named by where it is, not repeated.
    secret = "https://hooks.slack.example:44x/services/T000/B000/s3cr3tT0k3n"
    with pytest.raises(ConfigError, match=r"notify\.webhooks") as refused:
        make_config({**base, "webhooks": [{"name": "slack", "url": secret}]})
    assert "s3cr3tT0k3n" not in str(refused.value) and "bad URL" in str(refused.value)
    config = make_config({**base, "webhooks": [{"name": "slack", "url": "https://hooks.example/x", "spike_ratio": 2.5}]})
    assert config.notify.webhooks[0].spike_ratio == 2.5 and config.notify.webhooks[0].kind == "slack"
    assert config.notify.digests[0].timezone == "America/New_York"
    assert config.settings.dashboard_url == DASHBOARD
    with pytest.raises(ConfigError, match="dashboard_url"):
        make_config(dashboard_url="desk")


def test_the_readme_notify_example_is_valid() -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    (example,) = [yaml.safe_load(b) for b in blocks if "\nnotify:\n" in b]
    data = config_data(example["notify"], **example["settings"])
    data["members"] = [{"id": "kendra-brooks", "name": "Kendra Brooks", "state": "PA"}]
    data["campaigns"] = [{"id": "good-cause-eviction", "name": "Good Cause Eviction", "keywords": ["good cause"]}]
    from tracker.config import parse_config

    notify = parse_config(data).notify
    assert [d.name for d in notify.digests] == ["morning"] and notify.digests[0].timezone == "America/New_York"
    assert notify.webhooks[0].events == ("new_clips", "spike", "failing_feeds")

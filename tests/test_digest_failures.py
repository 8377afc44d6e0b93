"""Digests that fail, wait or repeat, through a real SMTP server on 127.0.0.1 (aiosmtpd): a weekly
digest's look-back, a fresh copy held back until the stories step places it, errors recorded as one
recipient's failure (never a traceback, never a credential), the server's own reason for a refusal,
and the hour the clocks go back. SQLite and PostgreSQL; every "now" is the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import yaml

from tests.fakes import NOW, FakeClock
from tests.notifykit import (
    add_clip,
    add_story,
    config_data,
    free_port,
    make_config,
    smtp_notify,
    smtp_server,
)
from tracker.config import parse_config
from tracker.errors import ConfigError
from tracker.ingest.scheduler import CycleScheduler, ScheduleOptions
from tracker.models import Config, SmtpConfig, StoryPlacement
from tracker.notify import send_digest
from tracker.notify.digest import STORE_LAG
from tracker.store import Store

A, B = "ana@example.org", "ben@example.org"
KENDRA = {"members": ["kendra-brooks"]}
DAILY = {"name": "morning", "recipients": [A], "schedule": "0 7 * * *", "timezone": "UTC", "filter": KENDRA}
WEEKLY = {"name": "weekly", "recipients": [A], "schedule": "0 9 * * mon", "timezone": "UTC", "filter": KENDRA}
MONDAY = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # a weekly digest's send: Monday 09:00
WEEK = timedelta(days=7)


def text_of(message: EmailMessage) -> str:
    plain = message.get_body(("plain",))
    assert plain is not None
    return str(plain.get_content())


def stories_sent(config: Config, store: Store, name: str, clock: FakeClock) -> list[int]:
    return [r.stories for r in send_digest(config, store, name, clock()).results]


# ------------------------------------------------------------------ how far back a digest looks


def test_a_weekly_digest_after_a_failed_monday_sends_both_weeks_stories(store: Store) -> None:
    assert MONDAY.weekday() == 0
    port = free_port()
    config = make_config(smtp_notify(port, [WEEKLY]))
    clock = FakeClock(MONDAY)
    add_story(store, "first", MONDAY - timedelta(hours=2), members=["kendra-brooks"], title="Last week's story")
    with smtp_server(port):
        assert stories_sent(config, store, "weekly", clock) == [1]
    add_story(store, "week1", MONDAY + timedelta(days=2), members=["kendra-brooks"], title="Brooks opens a library")
    clock.advance(days=7)  # the next Monday: the mail server is down
    failed = send_digest(config, store, "weekly", clock()).results
    assert [(r.stories, r.sent) for r in failed] == [(1, False)] and failed[0].error
    add_story(store, "week2", MONDAY + WEEK + timedelta(days=2), members=["kendra-brooks"], title="Brooks bill advances")
    clock.advance(days=7)
    with smtp_server(port) as inbox:
        assert stories_sent(config, store, "weekly", clock) == [2]
        text = text_of(inbox.messages[0][2])
    assert "Brooks opens a library" in text and "Brooks bill advances" in text
    assert {d.status for d in store.recent_deliveries("digest", "weekly")} == {"sent"}


def test_a_clip_committed_after_a_weekly_digest_but_first_seen_before_it_is_in_the_next(store: Store) -> None:
    # The cycle started an hour before Monday's send and committed this clip after it.
    clock = FakeClock(MONDAY)
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [WEEKLY]))
        add_story(store, "early", MONDAY - timedelta(hours=2), members=["kendra-brooks"], title="Committed early")
        assert stories_sent(config, store, "weekly", clock) == [1]
        add_story(store, "late", MONDAY - timedelta(hours=1), members=["kendra-brooks"], title="Committed late")
        clock.advance(days=7)
        assert stories_sent(config, store, "weekly", clock) == [1]
        assert "Committed late" in text_of(inbox.messages[-1][2])


def test_a_digest_back_after_months_off_sends_at_most_its_last_fifteen_days(store: Store) -> None:
    clock = FakeClock(NOW - timedelta(days=90))
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [DAILY]))
        add_story(store, "then", clock() - timedelta(hours=1), members=["kendra-brooks"], title="Months ago")
        assert stories_sent(config, store, "morning", clock) == [1]
        add_story(store, "old", NOW - timedelta(days=20), members=["kendra-brooks"], title="Three weeks ago")
        add_story(store, "recent", NOW - timedelta(days=10), members=["kendra-brooks"], title="Ten days ago")
        clock.set(NOW)
        assert stories_sent(config, store, "morning", clock) == [1]
        assert "Ten days ago" in text_of(inbox.messages[-1][2])


# ------------------------------------------------------------------ a copy the stories step has not placed yet


def test_a_fresh_copy_waits_for_the_stories_step_and_a_story_already_mailed_is_not_mailed_again(
        store: Store) -> None:
    wire = add_story(store, "wire", NOW - timedelta(days=1, hours=2), members=["kendra-brooks"],
                     title="Brooks bill advances")
    clock = FakeClock(NOW - timedelta(days=1))
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [DAILY]))
        assert stories_sent(config, store, "morning", clock) == [1]
        # Today's cycle stored a copy of yesterday's story and a new story; the digest fires before
        # the cycle's stories step. A clip whose stories step failed hours ago goes on its own.
        copy = add_clip(store, "copy", NOW - timedelta(minutes=10), members=["kendra-brooks"],
                        title="Brooks bill advances")
        new = add_clip(store, "new", NOW - timedelta(minutes=10), members=["kendra-brooks"], title="Brooks opens a library")
        add_clip(store, "stuck", NOW - STORE_LAG - timedelta(hours=1), members=["kendra-brooks"],
                 title="Brooks on the budget")
        clock.set(NOW)
        assert stories_sent(config, store, "morning", clock) == [1]
        today = text_of(inbox.messages[-1][2])
        assert "Brooks on the budget" in today and "Brooks bill advances" not in today and "library" not in today
        store.place_clips([StoryPlacement(copy, wire, "news.example.org"),
                           StoryPlacement(new, new, "news.example.org", new_story=True)], NOW + timedelta(minutes=5))
        clock.advance(days=1)
        assert stories_sent(config, store, "morning", clock) == [1]  # the new story, now placed; not the copy
        tomorrow = text_of(inbox.messages[-1][2])
        assert "Brooks opens a library" in tomorrow and "Brooks bill advances" not in tomorrow
    assert len(inbox.messages) == 3


# ------------------------------------------------------------------ errors: one recipient's, recorded


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the test server only
def test_a_non_ascii_password_is_a_recorded_failure_that_never_shows_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_story(store, "story", NOW - timedelta(hours=3), members=["kendra-brooks"])
    monkeypatch.setenv("CLIPS_SMTP_USER", "clips-bot")
    monkeypatch.setenv("CLIPS_SMTP_PASS", "s3cret-pässwörd")
    with smtp_server(auth=True) as inbox:
        config = make_config(smtp_notify(inbox.port, [{**DAILY, "recipients": [A, B]}], username_env="CLIPS_SMTP_USER",
                                         password_env="CLIPS_SMTP_PASS"))
        results = send_digest(config, store, "morning", NOW).results
    assert [(r.stories, r.sent) for r in results] == [(1, False), (1, False)]
    for error in [r.error or "" for r in results] + [d.error or "" for d in store.recent_deliveries("digest")]:
        assert "the SMTP user name and password must be ASCII" in error
        assert "ä" not in error and "position" not in error and "s3cret" not in error
    assert {d.status for d in store.recent_deliveries("digest")} == {"failed"}
    assert store.first_failed_at("digest", "morning", A) == NOW  # owed: the Notifications page lists it


@pytest.mark.parametrize("subject", ["Morning\n\nclips", "a\nb", "tab\there"])
def test_a_subject_of_more_than_one_line_is_refused_when_the_config_loads(subject: str) -> None:
    with pytest.raises(ConfigError, match=r"notify\.digests\[0\] \(morning\)\.subject: must be one line") as refused:
        make_config(smtp_notify(1025, [{**DAILY, "subject": subject}]))
    assert "\n" not in str(refused.value)


def test_a_folded_yaml_subject_with_a_blank_line_is_refused_and_one_without_loads() -> None:
    def load(subject_yaml: str) -> Config:
        data = config_data(yaml.safe_load(f"digests:\n  - name: morning\n    recipients: [{A}]\n    subject: >\n"
                                          f"{subject_yaml}smtp: {{host: 127.0.0.1, sender: clips@example.org}}\n"))
        return parse_config(data)

    with pytest.raises(ConfigError, match="must be one line"):
        load("      Morning\n\n      clips\n")
    assert load("      Morning\n      clips\n").notify.digests[0].subject == "Morning clips"


def test_an_unexpected_error_for_one_recipient_is_recorded_and_the_others_are_sent(store: Store) -> None:
    story = add_story(store, "story", NOW - timedelta(hours=3), members=["kendra-brooks"])
    sent: list[str] = []

    def transport(smtp: SmtpConfig, message: EmailMessage) -> None:
        if message["To"] == A:
            raise RuntimeError("the mail library broke\nwith a second line")
        sent.append(str(message["To"]))

    config = make_config(smtp_notify(1025, [{**DAILY, "recipients": [A, B]}]))
    results = send_digest(config, store, "morning", NOW, transport=transport).results
    assert [(r.recipient, r.sent, r.error) for r in results] == [
        (A, False, "RuntimeError: the mail library broke"), (B, True, None)]
    assert sent == [B]
    rows = {d.recipient: d for d in store.recent_deliveries("digest")}
    assert (rows[A].item_key, rows[A].status, rows[A].error) == (story, "failed", "RuntimeError: the mail library broke")
    assert rows[B].status == "sent" and store.first_failed_at("digest", "morning", A) == NOW


# ------------------------------------------------------------------ the server's own reason


def test_credentials_for_a_server_without_sign_in_say_so_not_starttls(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_story(store, "story", NOW - timedelta(hours=3), members=["kendra-brooks"])
    monkeypatch.setenv("CLIPS_SMTP_USER", "clips-bot")
    monkeypatch.setenv("CLIPS_SMTP_PASS", "s3cret")
    with smtp_server() as inbox:  # offers no AUTH
        config = make_config(smtp_notify(inbox.port, [DAILY], username_env="CLIPS_SMTP_USER",
                                         password_env="CLIPS_SMTP_PASS"))
        (result,) = send_digest(config, store, "morning", NOW).results
    assert result.error and "SMTP AUTH extension not supported by server" in result.error
    assert "STARTTLS" not in result.error and "s3cret" not in result.error and inbox.messages == []


def test_a_non_ascii_address_a_server_without_smtputf8_refuses_is_named_as_such(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_SMTP_USERNAME", raising=False)
    monkeypatch.delenv("TRACKER_SMTP_PASSWORD", raising=False)
    add_story(store, "story", NOW - timedelta(hours=3), members=["kendra-brooks"])
    with smtp_server(smtputf8=False) as inbox:
        config = make_config(smtp_notify(inbox.port, [{**DAILY, "recipients": ["rené@example.org", A]}]))
        results = send_digest(config, store, "morning", NOW).results
    assert [r.sent for r in results] == [False, True]
    error = results[0].error or ""
    assert "does not accept non-ASCII addresses (SMTPUTF8)" in error and "STARTTLS" not in error


# ------------------------------------------------------------------ the hour the clocks go back


def test_a_digest_in_the_hour_the_clocks_repeat_goes_out_once(store: Store) -> None:
    digest = {**DAILY, "schedule": "30 1 * * *", "timezone": "America/New_York", "send_empty": True}
    first_pass = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT; an hour later it is 01:30 EST
    clock = FakeClock(first_pass)
    with smtp_server() as inbox:
        config = make_config(smtp_notify(inbox.port, [digest]))
        scheduler = CycleScheduler(lambda: config, store, ScheduleOptions(every_s=3600, initial_run=False), clock=clock)
        scheduler.add_job()
        job = scheduler._scheduler.get_job("digest:morning")
        assert job is not None
        fires = [job.trigger.get_next_fire_time(None, first_pass - timedelta(minutes=1)),
                 job.trigger.get_next_fire_time(first_pass, first_pass + timedelta(minutes=1))]
        assert [f.astimezone(UTC) for f in fires] == [first_pass, first_pass + timedelta(hours=1)]  # cron fires twice

        scheduler.send_digest("morning")
        clock.advance(hours=1)
        scheduler.send_digest("morning")  # the repeated 01:30: skipped
        assert len(inbox.messages) == 1 and "No new stories." in text_of(inbox.messages[0][2])
        clock.advance(days=1)  # 01:30 EST the next night happens once: sent
        scheduler.send_digest("morning")
        assert len(inbox.messages) == 2

"""The delivery log (migration 0010) on SQLite and PostgreSQL: upgrade from 0006 and back, and the
rules digests and webhooks rely on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect

from tests.fakes import NOW
from tests.test_migrations import _downgrade_to, _upgrade_to
from tracker.store import Store
from tracker.store.engine import make_engine


def test_upgrade_from_0006_adds_the_log_and_downgrade_removes_it(db_url: str) -> None:
    _upgrade_to(db_url, "0006")
    store = Store(db_url)  # upgrades to the head
    assert "notify_delivery" in inspect(store.engine).get_table_names()
    store.record_deliveries("digest", "morning", "a@example.org", ["s1"], NOW)
    store.close()
    _downgrade_to(db_url, "0006")
    engine = make_engine(db_url, migrate=False)
    assert "notify_delivery" not in inspect(engine).get_table_names()
    engine.dispose()


def test_a_sent_item_stays_sent_and_a_failed_one_stays_owed(store: Store) -> None:
    a, b = "a@example.org", "b@example.org"
    store.record_deliveries("digest", "morning", a, ["s1", "s2"], NOW, error="mail server down")
    assert store.delivered_keys("digest", a, ["s1", "s2"]) == set()
    assert store.first_failed_at("digest", "morning", a) == NOW and store.last_sent_at("digest", "morning", a) is None

    later = NOW + timedelta(hours=1)
    store.record_deliveries("digest", "morning", a, ["s1", "s2", "s3"], later)
    assert store.delivered_keys("digest", a, ["s1", "s2", "s3", "s4"]) == {"s1", "s2", "s3"}
    assert store.delivered_keys("digest", b, ["s1"]) == set()  # per recipient
    assert store.last_sent_at("digest", "morning", a) == later and store.first_failed_at("digest", "morning", a) is None
    # A later failure never turns a sent item back into owed.
    store.record_deliveries("digest", "evening", a, ["s1"], later + timedelta(hours=1), error="boom")
    assert store.delivered_keys("digest", a, ["s1"]) == {"s1"}
    rows = {d.item_key: d for d in store.recent_deliveries("digest", "morning")}
    assert (rows["s1"].status, rows["s1"].attempts, rows["s1"].sent_at) == ("sent", 2, later)
    assert rows["s3"].attempts == 1 and rows["s3"].error is None
    assert store.sent_since("digest", "morning", NOW + timedelta(minutes=30)) == 3
    assert store.sent_since("digest", "morning", later + timedelta(minutes=1)) == 0
    assert store.delivered_keys("webhook", a, ["s1"]) == set()  # per channel


def test_a_failed_item_a_later_send_left_out_is_owed_no_more(store: Store) -> None:
    """The digest's look-back reaches back to the first failure still owed: one that a successful
    send has since left out (its story rejected, say) must not hold it at a week for good."""
    a = "a@example.org"
    store.record_deliveries("digest", "morning", a, ["s1", "s2"], NOW, error="mail server down")
    day = timedelta(days=1)
    store.record_deliveries("digest", "morning", a, ["s1"], NOW + day)  # s2 was no longer kept
    assert store.delivered_keys("digest", a, ["s2"]) == set()  # still not sent...
    assert store.first_failed_at("digest", "morning", a) is None  # ...but no longer owed
    store.record_deliveries("digest", "morning", a, ["s3"], NOW + 2 * day, error="mail server down")
    assert store.first_failed_at("digest", "morning", a) == NOW + 2 * day
    store.record_deliveries("digest", "morning", a, ["s2"], NOW + 3 * day, error="still down")
    assert store.first_failed_at("digest", "morning", a) == NOW  # owed again: its first attempt counts


def test_the_failures_listed_and_counted_are_those_still_owed(store: Store) -> None:
    a, b = "a@example.org", "b@example.org"
    hour = timedelta(hours=1)
    store.record_deliveries("digest", "morning", a, [f"s{i}" for i in range(60)], NOW, error="mail server down")
    store.record_deliveries("digest", "morning", b, ["left-out"], NOW, error="mail server down")
    store.record_deliveries("digest", "morning", b, ["kept"], NOW + hour)  # covered b's failure: owed no more
    store.record_deliveries("webhook", "slack", "slack", ["alert"], NOW + 2 * hour, error="HTTP 500")
    assert store.count_owed_failures() == 61
    listed = store.owed_failures(limit=50)
    assert len(listed) == 50 and listed[0].item_key == "alert"  # the newest attempt first
    assert "left-out" not in {d.item_key for d in store.owed_failures(limit=100)}
    store.record_deliveries("digest", "morning", b, ["left-out"], NOW + 3 * hour, error="still down")
    assert store.count_owed_failures() == 62  # failed again after the last send: owed again


"""The scheduler runs for months: nothing it keeps may grow with the number of cycles (issue #16.9).

bench/soak.py measures the real `tracker schedule` process over many cycles; these are the
fast guards for the causes it found: a list of every cycle's report, pyahocorasick leaking
each pickled automaton (the matcher goes to the parse processes every cycle), and glibc's
per-thread malloc arenas.
"""

from __future__ import annotations

import gc
import os
import pickle
import tracemalloc
from pathlib import Path

import pytest

from tests.fakes import FakeClock
from tests.feedserver import FeedServer
from tests.test_feed_health import MEMBER, rss
from tracker.ingest import CycleReport, FeedReport
from tracker.ingest.scheduler import CycleScheduler, ScheduleOptions, limit_malloc_arenas
from tracker.match import compile_matcher
from tracker.models import Config, FeedConfig, MatchItem, MemberConfig, Settings
from tracker.store import Store


def _alive(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def test_the_scheduler_keeps_one_report_however_many_cycles(tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = tuple(
        FeedConfig(id=f"feed-{i}", url=feed_server.add(f"/f{i}.xml", body=rss(2, prefix=f"f{i}")), name=f"F{i}")
        for i in range(3)
    )
    config = Config(path=str(tmp_path / "feeds.yml"), settings=Settings(timeout_s=5.0), feeds=feeds, members=(MEMBER,))
    clock = FakeClock()
    scheduler = CycleScheduler(lambda: config, Store(f"sqlite:///{tmp_path / 't.db'}"),
                               ScheduleOptions(every_s=60), clock=clock)
    before = _alive(CycleReport), _alive(FeedReport)
    for _ in range(8):
        report = scheduler.tick()
        assert report is not None
        clock.advance(hours=1)  # every feed is due again: each cycle fetches all three
    assert scheduler.last_report is report and scheduler.ticks == 8
    del report
    # The latest cycle's report and its three feeds', nothing from the seven before.
    assert (_alive(CycleReport) - before[0], _alive(FeedReport) - before[1]) == (1, 3)


def test_sending_the_matcher_to_parse_processes_leaks_nothing() -> None:
    # ParsePool pickles the matcher for every worker of every cycle; pyahocorasick 2.3.1 leaks
    # the whole dump of each Automaton it pickles, so the matcher must never pickle one.
    members = [MemberConfig(id=f"m{i}", name=f"Member{i} Surname{i}", aliases=(f"Alias {i}",)) for i in range(300)]
    matcher = compile_matcher(members, [])
    size = len(pickle.dumps(matcher))
    copy = pickle.loads(pickle.dumps(matcher))
    item = MatchItem(title="Member7 Surname7 and Alias 12 spoke")
    assert copy.match(item) == matcher.match(item) != []
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            pickle.dumps(matcher)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < size // 4, f"{grown:,} bytes kept after 10 pickles of a {size:,}-byte matcher"


def test_the_scheduler_caps_glibc_malloc_arenas(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the cap, arenas left by each cycle's fresh fetch threads grew `tracker schedule`
    # ~7 KB a cycle for good (bench/soak.py); the command calls this before its first cycle.
    if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
        pytest.skip("glibc only")
    assert limit_malloc_arenas() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False  # the operator's setting wins

"""Rematching stored clips after a config change, and the dashboard's "test a rule" preview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes import NOW
from tests.feedserver import FeedServer
from tests.test_ingest import rss
from tracker.config import parse_config
from tracker.ingest import Ingestor
from tracker.models import (
    CampaignConfig,
    ClipFilter,
    ClipStatus,
    Config,
    MemberConfig,
    Mention,
    Term,
)
from tracker.rematch import rematch_store, try_rule
from tracker.store import Store

ITEMS = [
    ("Good Cause Eviction passes", "https://x.example.com/gce", "Kendra Brooks of Philadelphia voted yes"),
    ("Tenant protections advance", "https://x.example.com/tp", "Nicholas O'Rourke spoke about rent"),
    ("Zoning fight in Fishtown", "https://x.example.com/zf", "Kendra Brooks said rent is too high"),
]


def _config(tmp_path: Path, server: FeedServer, registry: dict[str, Any]) -> Config:
    return parse_config({"feeds": [{"url": server.url("/f")}], **registry}, str(tmp_path / "f.yml"), tmp_path)


def test_rematch_applies_new_config_without_refetching_and_keeps_staff_decisions(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    feed_server.add("/f", body=rss(*ITEMS))
    before = _config(tmp_path, feed_server, {
        "members": [{"name": "Kendra Brooks"}],
        "campaigns": [{"id": "gce", "name": "GCE", "keywords": ["Good Cause Eviction"]}],
    })
    Ingestor(before, store).run_cycle()
    assert store.count_clips() == 2  # the O'Rourke item matched nobody yet
    gce = next(c for c in store.all_clips() if c.canonical_url.endswith("/gce"))
    store.set_status([gce.id], ClipStatus.APPROVED, "ana", NOW)
    zoning = next(c for c in store.all_clips() if c.canonical_url.endswith("/zf"))
    store.set_manual_mentions(zoning.id, [Mention("campaign", "gce", "manual", "title", "")], "ana", NOW)

    after = _config(tmp_path, feed_server, {
        "members": [{"name": "Kendra Brooks", "require_any": ["Philadelphia"]}, {"name": "Nicholas O'Rourke"}],
        "campaigns": [{"id": "gce", "name": "GCE", "keywords": ["Good Cause Eviction"]}],
    })
    hits_before = len(feed_server.requests)
    result = rematch_store(after, store)
    assert len(feed_server.requests) == hits_before  # nothing fetched
    assert result.clips_checked == 2 and result.clips_lost == 1 and result.clips_gained == 0
    zoning_after = store.get_clip(zoning.id)
    assert zoning_after.member_ids == ()  # lost: no Philadelphia context
    assert zoning_after.campaign_ids == ("gce",)  # the hand-attached campaign stays
    assert store.get_clip(gce.id).status is ClipStatus.APPROVED
    assert store.get_clip(gce.id).member_ids == ("kendra-brooks",)


def test_try_rule_previews_gains_and_losses_without_writing(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/f", body=rss(*ITEMS))
    config = _config(tmp_path, feed_server, {
        "members": [{"name": "Kendra Brooks"}, {"name": "Nicholas O'Rourke"}],
        "campaigns": [{"id": "gce", "name": "GCE", "keywords": ["Good Cause Eviction"]}],
    })
    Ingestor(config, store).run_cycle()
    assert store.count_clips() == 3
    ids = {c.canonical_url.rsplit("/", 1)[1]: c.id for c in store.all_clips()}

    draft = MemberConfig(id="kendra-brooks", name="Kendra Brooks", require_any=(Term("Philadelphia"),))
    trial = try_rule(config, store, draft)
    assert set(trial.matches) == {ids["gce"]}
    assert trial.lost == (ids["zf"],) and trial.gained == ()
    assert "Kendra Brooks" in trial.snippets[ids["gce"]]

    rent = CampaignConfig(id="rent", name="Rent", query="rent NOT zoning")
    trial = try_rule(config, store, rent)
    assert trial.matches == (ids["tp"],) and trial.gained == (ids["tp"],) and trial.lost == ()
    assert store.count_clips(ClipFilter(campaign="rent")) == 0  # a preview writes nothing


def test_try_rule_runs_the_draft_as_the_saved_rule_would_run(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    # With surname_mentions off, "Councilmember Brooks" alone is not Kendra Brooks; testing the
    # unchanged rule must not promise clips the saved rule will never match.
    feed_server.add("/f", body=rss(
        # Stored for the campaign; the member rule must not claim it.
        ("Councilmember Brooks of Philadelphia backs Good Cause Eviction", "https://x.example.com/surname", "A hearing"),
        ("Kendra Brooks of Philadelphia on rents", "https://x.example.com/full", "A hearing on rents"),
    ))
    config = _config(tmp_path, feed_server, {
        "settings": {"surname_mentions": False},
        "members": [{"name": "Kendra Brooks", "require_any": ["Philadelphia"]}],
        "campaigns": [{"id": "gce", "name": "GCE", "keywords": ["Good Cause Eviction"]}],
    })
    Ingestor(config, store).run_cycle()
    ids = {c.canonical_url.rsplit("/", 1)[1]: c.id for c in store.all_clips()}
    assert store.get_clip(ids["surname"]).member_ids == ()
    (saved,) = config.members
    trial = try_rule(config, store, MemberConfig(id=saved.id, name=saved.name, require_any=saved.require_any))
    assert set(trial.matches) == {ids["full"]} and trial.gained == () and trial.lost == ()


def test_try_rule_with_the_saved_rule_unchanged_shows_no_gains_or_losses_past_its_limit_or_on_rejected_clips(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    """The draft is run over at most `limit` clips; the saved side is counted over the same clips, and a
    clip staff rejected counts on neither side. Before, every stored match past the limit read as "no
    longer matched", and a rejected clip the draft matched as "newly matched"."""
    feed_server.add("/f", body=rss(*[(f"Kendra Brooks story {n}", f"https://x.example.com/k{n}", "In Philadelphia")
                                     for n in range(5)]))
    config = _config(tmp_path, feed_server, {"members": [{"name": "Kendra Brooks"}]})
    Ingestor(config, store).run_cycle()
    ids = sorted(c.id for c in store.all_clips())
    assert len(ids) == 5
    store.set_status([ids[0]], ClipStatus.REJECTED, "ana", NOW)
    (saved,) = config.members

    trial = try_rule(config, store, saved, limit=3)
    assert (trial.gained, trial.lost) == ((), ())
    assert trial.matches == tuple(ids[1:3]) and set(trial.hits) == set(ids[1:3])
    trial = try_rule(config, store, saved)
    assert (trial.matches, trial.gained, trial.lost) == (tuple(ids[1:]), (), ())
    # A member staff attached by hand (no text names her) is no loss of a rule that never found her,
    # and a match staff removed is no gain of one that still finds it.
    store.set_clip_targets(ids[1], ["kendra-brooks", "nicholas-orourke"], [], "ana", NOW)
    orourke = MemberConfig(id="nicholas-orourke", name="Nicholas O'Rourke")
    trial = try_rule(config, store, orourke)
    assert (trial.matches, trial.gained, trial.lost) == ((), (), ())

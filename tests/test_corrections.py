"""Staff correct a clip's matches (add a missed member, remove a wrong one) and the correction sticks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from dashboard.keys import Key
from tests.fakes import NOW
from tests.feedserver import FeedServer, Route
from tests.test_dashboard import APP
from tests.test_ingest import REGISTRY, make_config, rss
from tracker.cli import cli
from tracker.config import parse_config
from tracker.demo import demo_members
from tracker.errors import NotFoundError
from tracker.ingest import Ingestor
from tracker.models import ClipFilter, ClipStatus, ClipView, Config, MemberConfig, Role, Term
from tracker.rematch import rematch_store, try_rule
from tracker.review import set_targets
from tracker.store import Store
from tracker.users import UsersFile

URL = "https://x.example.com/vote"
BOTH = ("Good Cause Eviction passes", URL, "Councilmember Kendra Brooks and Nicholas O'Rourke voted yes")


def _ingest(feed_server: FeedServer, store: Store, tmp_path: Path, item: tuple[str, str, str]) -> tuple[Config, Route, ClipView]:
    route = Route(body=rss(item))
    feed_server.add("/f", route)
    config = make_config(feed_server, ["/f"], tmp_path)
    Ingestor(config, store).run_cycle()
    (clip,) = store.all_clips()
    return config, route, clip


def _visible_everywhere(store: Store, clip_id: str, kind: str, target: str) -> list[bool]:
    """Whether the target shows on the clip, in each filter path, in counts and in insights' rows."""
    filt = ClipFilter(member=target) if kind == "member" else ClipFilter(campaign=target)
    in_view = target in (store.get_clip(clip_id).member_ids if kind == "member" else store.get_clip(clip_id).campaign_ids)
    listed = clip_id in {c.id for c in store.list_clips(filt).clips}
    counted = store.count_clips(filt) == 1
    saved_rows = store.popular_target_rows
    store.popular_target_rows = 0  # the EXISTS path SQLite takes for very popular targets
    try:
        listed_popular = clip_id in {c.id for c in store.list_clips(filt).clips}
    finally:
        store.popular_target_rows = saved_rows
    checks = [in_view, listed, counted, listed_popular]
    if kind == "member":
        checks.append(store.count_clips(ClipFilter(member_ids=(target,))) == 1)  # state filter
    checks.append((clip_id, kind, target) in {(c, k, t) for c, k, t, _at, _o in store.mention_rows()})
    return checks


def test_removed_match_stays_removed_through_reingest_and_rematch(
    feed_server: FeedServer, store: Store, tmp_path: Path
) -> None:
    config, route, clip = _ingest(feed_server, store, tmp_path, BOTH)
    assert clip.member_ids == ("kendra-brooks", "nicholas-orourke")
    assert all(_visible_everywhere(store, clip.id, "member", "kendra-brooks"))

    added, removed = store.set_clip_targets(clip.id, ["nicholas-orourke"], ["good-cause"], "ana", NOW)
    assert (added, removed) == ([], ["member:kendra-brooks"])
    assert not any(_visible_everywhere(store, clip.id, "member", "kendra-brooks"))
    assert all(_visible_everywhere(store, clip.id, "member", "nicholas-orourke"))
    entry = store.history(clip.id)[-1]
    assert (entry.user, entry.action, entry.detail) == ("ana", "tag", "-member:kendra-brooks")

    # The feed rewrites the story, still naming her: ingest merges mentions but must not re-add her.
    route.body = rss((BOTH[0], URL, "Councilmember Kendra Brooks of Philadelphia and Nicholas O'Rourke: yes"))
    Ingestor(config, store).run_cycle()
    assert store.get_clip(clip.id).summary.startswith("Councilmember Kendra Brooks of Philadelphia")
    assert not any(_visible_everywhere(store, clip.id, "member", "kendra-brooks"))

    result = rematch_store(config, store)
    assert result.changes == ()  # the matcher still finds her; the removal wins
    assert store.get_clip(clip.id).member_ids == ("nicholas-orourke",)
    assert not any(_visible_everywhere(store, clip.id, "member", "kendra-brooks"))

    # "Test a rule" compares against what is saved: the removed match is not counted as saved.
    trial = try_rule(config, store, MemberConfig(id="kendra-brooks", name="Kendra Brooks",
                                                 require_any=(Term("Philadelphia"),)))
    assert trial.gained == (clip.id,) and trial.lost == ()


def test_added_match_survives_rematch_and_reingest(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    config, route, clip = _ingest(feed_server, store, tmp_path,
                                  ("Tenants rally", URL, "Nicholas O'Rourke spoke about rent"))
    assert (clip.member_ids, clip.campaign_ids) == (("nicholas-orourke",), ())

    added, removed = store.set_clip_targets(clip.id, ["nicholas-orourke", "kendra-brooks"], ["good-cause"], "ana", NOW)
    assert (added, removed) == (["campaign:good-cause", "member:kendra-brooks"], [])
    mention = next(m for m in store.get_clip(clip.id).mentions if m.target_id == "kendra-brooks")
    assert (mention.term, mention.field, mention.snippet) == ("(attached by staff)", "manual", "")
    assert all(_visible_everywhere(store, clip.id, "member", "kendra-brooks"))
    assert all(_visible_everywhere(store, clip.id, "campaign", "good-cause"))

    assert rematch_store(config, store).changes == ()  # the matcher finds neither; staff's word stands
    route.body = rss(("Tenants rally again", URL, "Nicholas O'Rourke spoke about rent, twice"))
    Ingestor(config, store).run_cycle()
    after = store.get_clip(clip.id)
    assert (after.member_ids, after.campaign_ids) == (("kendra-brooks", "nicholas-orourke"), ("good-cause",))
    assert [(h.user, h.action, h.detail) for h in store.history(clip.id)] == [
        ("ana", "tag", "+campaign:good-cause +member:kendra-brooks")]


def test_readding_a_removed_match_shows_it_again(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    _config, _route, clip = _ingest(feed_server, store, tmp_path, BOTH)
    store.set_clip_targets(clip.id, ["nicholas-orourke"], ["good-cause"], "ana", NOW)
    added, removed = store.set_clip_targets(clip.id, ["nicholas-orourke", "kendra-brooks"], ["good-cause"], "omar", NOW)
    assert (added, removed) == (["member:kendra-brooks"], [])
    assert all(_visible_everywhere(store, clip.id, "member", "kendra-brooks"))
    mention = next(m for m in store.get_clip(clip.id).mentions if m.target_id == "kendra-brooks")
    assert "Kendra Brooks" in mention.snippet  # back with the evidence the matcher had found

    # Re-added by staff, it is staff's now: a stricter rule no longer takes it away.
    stricter = parse_config({"feeds": [{"url": feed_server.url("/f")}], "members": [
        {"name": "Kendra Brooks", "require_any": ["Pittsburgh"]}, {"name": "Nicholas O'Rourke"}],
        "campaigns": REGISTRY["campaigns"]}, str(tmp_path / "feeds.yml"), tmp_path)
    rematch_store(stricter, store)
    assert store.get_clip(clip.id).member_ids == ("kendra-brooks", "nicholas-orourke")
    assert [(h.user, h.detail) for h in store.history(clip.id)] == [
        ("ana", "-member:kendra-brooks"), ("omar", "+member:kendra-brooks")]

    before = store.get_clip(clip.id).updated_at
    assert store.set_clip_targets(clip.id, ["kendra-brooks", "nicholas-orourke"], ["good-cause"], "omar", NOW) == ([], [])
    assert len(store.history(clip.id)) == 2 and store.get_clip(clip.id).updated_at == before  # no-op: no audit
    with pytest.raises(NotFoundError):
        store.set_clip_targets("nope", [], [], "ana", NOW)


def test_set_targets_updates_live_exports(feed_server: FeedServer, store: Store, tmp_path: Path) -> None:
    feed_server.add("/f", body=rss(BOTH))
    config = parse_config({"settings": {"exports": [{"format": "json", "path": "out/news.json"}]},
                           "feeds": [{"url": feed_server.url("/f")}], **REGISTRY}, str(tmp_path / "feeds.yml"), tmp_path)
    Ingestor(config, store).run_cycle()
    (clip,) = store.all_clips()
    store.set_status([clip.id], ClipStatus.APPROVED, "ana", NOW)
    view = set_targets(store, config, clip.id, ["nicholas-orourke"], ["good-cause", "prone-restraints"], "ana")
    assert view.member_ids == ("nicholas-orourke",)
    (item,) = json.loads((tmp_path / "out" / "news.json").read_text())["items"]
    assert [m["id"] for m in item["members"]] == ["nicholas-orourke"]
    assert [c["id"] for c in item["campaigns"]] == ["good-cause", "prone-restraints"]
    with pytest.raises(NotFoundError, match="no member 'typo'"):
        set_targets(store, config, clip.id, ["typo"], [], "ana")
    assert store.get_clip(clip.id).member_ids == ("nicholas-orourke",)  # nothing saved


def test_cli_clips_tag_round_trip(feed_server: FeedServer, db_url: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    for name in ("ana", "omar"):  # --user NAME acts with NAME's role
        UsersFile().add(name, "correct horse", role=Role.EDITOR)
    feed_server.add("/f", body=rss(BOTH))
    config_path = tmp_path / "feeds.yml"
    config_path.write_text(yaml.safe_dump({"feeds": [{"url": feed_server.url("/f")}], **REGISTRY}), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config_path), "--db", db_url]
    assert runner.invoke(cli, [*base, "ingest", "-q"]).exit_code == 0
    (clip,) = json.loads(runner.invoke(cli, [*base, "clips", "list", "--json"]).output)

    result = runner.invoke(cli, [*base, "clips", "tag", clip["id"], "--remove-member", "kendra-brooks",
                                 "--add-campaign", "prone-restraints", "--user", "ana"])
    assert result.exit_code == 0, result.output
    assert "nicholas-orourke" in result.output and "kendra-brooks" not in result.output
    assert runner.invoke(cli, [*base, "rematch"]).exit_code == 0
    assert runner.invoke(cli, [*base, "ingest", "-q"]).exit_code == 0
    (after,) = json.loads(runner.invoke(cli, [*base, "clips", "list", "--json"]).output)
    assert (after["members"], after["campaigns"]) == (["nicholas-orourke"], ["good-cause", "prone-restraints"])
    assert json.loads(runner.invoke(cli, [*base, "clips", "list", "--member", "kendra-brooks", "--json"]).output) == []

    result = runner.invoke(cli, [*base, "clips", "tag", clip["id"], "--add-member", "kendra-brooks",
                                 "--remove-campaign", "prone-restraints", "--user", "omar"])
    assert result.exit_code == 0, result.output
    (again,) = json.loads(runner.invoke(cli, [*base, "clips", "list", "--json"]).output)
    assert (again["members"], again["campaigns"]) == (["kendra-brooks", "nicholas-orourke"], ["good-cause"])
    store = Store(db_url)
    try:
        assert [(h.user, h.action, h.detail) for h in store.history(clip["id"])] == [
            ("ana", "tag", "+campaign:prone-restraints -member:kendra-brooks"),
            ("omar", "tag", "+member:kendra-brooks -campaign:prone-restraints"),
        ]
    finally:
        store.close()

    result = runner.invoke(cli, [*base, "clips", "tag", clip["id"], "--add-member", "nobody"])
    assert isinstance(result.exception, NotFoundError)  # `tracker` turns it into one line on stderr


def test_editor_corrects_matches(env: Store) -> None:
    store = env
    clip = next(c for c in store.all_clips() if c.member_ids)
    missed = next(m.id for m in demo_members() if m.id not in clip.member_ids)
    wrong = clip.member_ids[0]

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[Key.EDIT_CLIP] = clip.id
    at.run()
    at.switch_page("pages/editor.py").run()
    assert not at.exception, [e.message for e in at.exception]
    members = at.multiselect(key=f"{Key.E_MEMBERS}{clip.id}")
    assert list(members.value) == list(clip.member_ids)
    assert list(at.multiselect(key=f"{Key.E_CAMPAIGNS}{clip.id}").value) == list(clip.campaign_ids)
    members.unselect(wrong).select(missed)
    at.button(key=Key.E_SAVE_TARGETS).click().run()
    assert not at.exception, [e.message for e in at.exception]

    expected = tuple(sorted({*clip.member_ids, missed} - {wrong}))
    assert store.get_clip(clip.id).member_ids == expected
    assert clip.id not in {c.id for c in store.all_clips(ClipFilter(member=wrong))}
    entry = store.history(clip.id)[-1]
    assert (entry.user, entry.action) == ("demo", "tag")
    assert entry.detail == f"+member:{missed} -member:{wrong}"
    assert list(at.multiselect(key=f"{Key.E_MEMBERS}{clip.id}").value) == list(expected)  # shows what was stored
    assert at.session_state[Key.FLASH]["message"].startswith("Matches saved: +")

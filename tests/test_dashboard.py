"""Every dashboard page through streamlit's AppTest, against a seeded SQLite database in tmp_path."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.keys import Key
from tests.conftest import DASHBOARD_NOW
from tracker.models import ClipFilter, ClipStatus, MatchedEntry, ParsedEntry, Role
from tracker.normalize import canonical_url, clip_id_for
from tracker.store import Store
from tracker.users import UsersFile

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
NOW = DASHBOARD_NOW  # the same instant the env fixture seeded with
PAGES = ["pages/review.py", "pages/editor.py", "pages/published.py", "pages/add.py", "pages/insights.py",
         "pages/feeds.py", "pages/registry.py", "pages/outlets.py"]


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def queue_ids(at: AppTest) -> list[str]:
    prefix = str(Key.Q_SELECT)
    return [str(cb.key)[len(prefix):] for cb in at.checkbox if cb.key and str(cb.key).startswith(prefix)]


def metric(at: AppTest, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


# ------------------------------------------------------------------ every page renders


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(env: Store, page: str) -> None:
    at = run_app(page)
    assert at.title, f"{page} shows no title"
    assert not at.error, [e.value for e in at.error]


def test_pages_render_on_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "missing.yml"))
    monkeypatch.setenv("TRACKER_DEMO", "1")
    at = run_app()
    assert any("No clips yet" in i.value for i in at.info)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])


# ------------------------------------------------------------------ review queue


def test_queue_shows_new_clips_newest_first(env: Store) -> None:
    at = run_app()
    ids = queue_ids(at)
    expected = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=data.PAGE_SIZE).clips
    assert ids == [c.id for c in expected]
    assert metric(at, "Waiting for review") == env.count_clips(ClipFilter(status=ClipStatus.NEW))
    # Independently of the store's own ordering: newest first, every one of them new.
    shown = [env.get_clip(i) for i in ids]
    stamps = [c.published_at or c.first_seen_at for c in shown]
    assert ids and stamps == sorted(stamps, reverse=True)
    assert all(c.status is ClipStatus.NEW for c in shown)
    newest_new = max((c for c in env.all_clips() if c.status is ClipStatus.NEW),
                     key=lambda c: (c.published_at or c.first_seen_at, c.id))
    assert ids[0] == newest_new.id


def test_filters_narrow_the_list(env: Store) -> None:
    at = run_app()
    at.segmented_control(key=Key.F_STATUS).set_value("all").run()
    everything = metric(at, "Matching these filters")
    assert everything == env.count_clips()

    at.selectbox(key=Key.F_MEMBER).select("renata-okafor").run()
    by_member = metric(at, "Matching these filters")
    assert 0 < by_member < everything
    for clip_id in queue_ids(at):
        assert "renata-okafor" in env.get_clip(clip_id).member_ids

    at.text_input(key=Key.F_TEXT).input("eviction").run()
    both = metric(at, "Matching these filters")
    assert 0 < both <= by_member
    for clip_id in queue_ids(at):
        clip = env.get_clip(clip_id)
        assert "eviction" in (clip.title + clip.summary).lower()

    at.button(key=Key.F_CLEAR).click().run()
    assert metric(at, "Matching these filters") == everything


def test_the_pickers_in_use_are_named_outside_their_popover(env: Store) -> None:
    """The member, campaign, outlet, state and tag pickers sit in a popover (drawn only when
    opened); the sidebar says which are set, by name, so a closed popover hides no filter."""
    at = run_app()
    assert not [c for c in at.sidebar.caption if "Member:" in c.value]
    at.selectbox(key=Key.F_MEMBER).select("renata-okafor").run()
    at.selectbox(key=Key.F_TAG).select("pa").run()
    said = [c.value for c in at.sidebar.caption if "Member:" in c.value]
    assert said == [r"Member: **Renata Okafor** · Tag: **Pennsylvania \(PA\)**"]  # markdown-escaped
    at.button(key=Key.F_CLEAR).click().run()
    assert not [c for c in at.sidebar.caption if "Member:" in c.value]


def test_a_saved_filter_the_pickers_no_longer_offer_is_not_named(env: Store) -> None:
    """A member taken out of feeds.yml (or an outlet gone) while kept in the saved filters: the
    picker drops it and the queue is not filtered by it, so the sidebar does not name it either."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[Key.F_SAVED] = {Key.F_STATUS: "new", Key.F_DATES: (), Key.F_MEMBER: "no-such-member",
                                     Key.F_OUTLET: "Gone Outlet"}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert metric(at, "Matching these filters") == metric(at, "Waiting for review")  # not filtered
    assert not [c for c in at.sidebar.caption if "Member:" in c.value or "Outlet:" in c.value]


@pytest.mark.parametrize(
    ("key", "value", "check"),
    [
        (Key.F_CAMPAIGN, "police-free-schools", lambda c: "police-free-schools" in c.campaign_ids),
        (Key.F_OUTLET, "The Texas Tribune", lambda c: c.outlet == "The Texas Tribune"),
        (Key.F_STATE, "PA", lambda c: {"renata-okafor", "daniel-whitfield"} & set(c.member_ids)),
        (Key.F_TAG, "mn", lambda c: c.feed_ids[0] in ("startribune-com", "sahanjournal-com")),
    ],
)
def test_each_filter_narrows(env: Store, key: Key, value: str, check: object) -> None:
    at = run_app()
    at.segmented_control(key=Key.F_STATUS).set_value("all").run()
    everything = metric(at, "Matching these filters")
    at.selectbox(key=key).select(value).run()
    narrowed = metric(at, "Matching these filters")
    assert 0 < narrowed < everything
    ids = queue_ids(at)
    assert ids and all(check(env.get_clip(i)) for i in ids)  # type: ignore[operator]


def test_date_range_filter(env: Store) -> None:
    at = run_app()
    at.segmented_control(key=Key.F_STATUS).set_value("all").run()
    start, end = (NOW - timedelta(days=20)).date(), (NOW - timedelta(days=10)).date()
    at.date_input(key=Key.F_DATES).set_value((start, end)).run()
    ids = queue_ids(at)
    assert ids
    for clip_id in ids:
        published = env.get_clip(clip_id).published_at
        assert published is not None and start <= published.date() <= end


def test_approve_changes_status_and_audits_the_user(env: Store) -> None:
    at = run_app()
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert not at.exception
    assert env.get_clip(first).status is ClipStatus.APPROVED
    assert [(h.user, h.action) for h in env.history(first)] == [("demo", "approved")]
    assert first not in queue_ids(at), "an approved clip leaves the queue of new clips"


def test_bulk_reject(env: Store) -> None:
    at = run_app()
    ids = queue_ids(at)[:3]
    for clip_id in ids:
        at.checkbox(key=f"{Key.Q_SELECT}{clip_id}").check()
    at.run()
    at.button(key=Key.Q_BULK_REJECT).click().run()
    assert [env.get_clip(i).status for i in ids] == [ClipStatus.REJECTED] * 3
    assert not set(ids) & set(queue_ids(at))


def test_select_all_then_bulk_approve(env: Store) -> None:
    at = run_app()
    ids = queue_ids(at)
    at.checkbox(key=Key.Q_SELECT_ALL).check().run()
    at.button(key=Key.Q_BULK_APPROVE).click().run()
    assert all(env.get_clip(i).status is ClipStatus.APPROVED for i in ids)


def test_pagination_with_cursor(env: Store) -> None:
    at = run_app()
    at.segmented_control(key=Key.F_STATUS).set_value("all").run()
    page1 = queue_ids(at)
    at.button(key=Key.Q_NEXT).click().run()
    page2 = queue_ids(at)
    assert len(page1) == data.PAGE_SIZE and page2 and not set(page1) & set(page2)
    newest_on_2 = env.get_clip(page2[0]).published_at
    oldest_on_1 = env.get_clip(page1[-1]).published_at
    assert newest_on_2 is not None and oldest_on_1 is not None and newest_on_2 <= oldest_on_1
    at.button(key=Key.Q_PREV).click().run()
    assert queue_ids(at) == page1


def test_select_all_does_not_follow_to_the_next_page(env: Store) -> None:
    at = run_app()
    at.segmented_control(key=Key.F_STATUS).set_value("all").run()
    at.checkbox(key=Key.Q_SELECT_ALL).check().run()
    at.button(key=Key.Q_NEXT).click().run()
    assert not at.checkbox(key=Key.Q_SELECT_ALL).value
    assert not any(cb.value for cb in at.checkbox if str(cb.key).startswith(str(Key.Q_SELECT)))
    assert at.button(key=Key.Q_BULK_APPROVE).disabled


def test_deciding_the_whole_last_page_goes_back_a_page_not_to_queue_clear(env: Store) -> None:
    stories = [c.id for c in env.all_clips(ClipFilter(primary_only=True))]
    env.set_status(stories[:data.PAGE_SIZE + 5], ClipStatus.NEW, "someone", NOW)
    env.set_status(stories[data.PAGE_SIZE + 5:], ClipStatus.REJECTED, "someone", NOW)
    at = run_app()
    page1 = queue_ids(at)
    at.button(key=Key.Q_NEXT).click().run()
    assert len(page1) == data.PAGE_SIZE and len(queue_ids(at)) == 5
    at.checkbox(key=Key.Q_SELECT_ALL).check().run()
    at.button(key=Key.Q_BULK_APPROVE).click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("Queue clear" in s.value for s in at.success)
    assert queue_ids(at) == page1  # the first page's clips still waiting, on the page before


def test_queue_clear_empty_state(env: Store) -> None:
    new = [c.id for c in env.all_clips(ClipFilter(status=ClipStatus.NEW))]
    env.set_status(new, ClipStatus.REJECTED, "someone", NOW)
    at = run_app()
    assert any("Queue clear" in s.value for s in at.success)


def test_snippets_are_escaped(env: Store) -> None:
    from tracker.models import Mention

    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    from dataclasses import replace

    hostile = replace(clip, id="ffffffffffffffff", canonical_url="https://x.example/h", url="https://x.example/h",
                      title="<script>alert(1)</script> Renata Okafor", published_at=NOW + timedelta(hours=1),
                      mentions=(Mention("member", "renata-okafor", "Renata Okafor", "summary",
                                        "<img src=x onerror=alert(1)> Renata Okafor", 30, 43),))
    env.insert_seed_clips([hostile])
    at = run_app()
    html = "".join(h.proto.body for h in at.get("html"))
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "<mark>Renata Okafor</mark>" in html


EVIL_TITLE = "[Sign in again](https://evil.example/phish) ![p](https://evil.example/px.gif)"


def _rendered_markdown(at: AppTest) -> list[str]:
    """Every Markdown-rendered text on the page: captions, markdown, toasts, alerts and headings."""
    out: list[str] = []
    for kind in ("caption", "markdown", "toast", "error", "warning", "info", "success", "title", "header",
                 "subheader"):
        out += [str(el.value) for el in at.get(kind)]
    return out


def _assert_no_live_evil_link(at: AppTest) -> None:
    live = [text for text in _rendered_markdown(at) if "](https://evil.example" in text or "<https://evil" in text]
    assert not live, live


def _seed_hostile_clip(store: Store, status: ClipStatus) -> str:
    from dataclasses import replace

    clip = store.list_clips(ClipFilter(status=status), limit=1).clips[0]
    hostile = replace(clip, id="eeeeeeeeeeeeeeee", canonical_url="https://x.example/evil", url="https://x.example/evil",
                      title=EVIL_TITLE, headline=None, outlet="[Outlet](https://evil.example/o)", outlet_display=None,
                      featured=True, position=None, published_at=NOW + timedelta(hours=1))
    store.insert_seed_clips([hostile])
    return hostile.id


def test_feed_text_is_not_live_markdown_in_the_editor(env: Store) -> None:
    clip_id = _seed_hostile_clip(env, ClipStatus.APPROVED)
    at = _open_editor(clip_id)
    _assert_no_live_evil_link(at)
    caption = next(c.value for c in at.caption if "From the feed" in c.value)
    assert "Sign in again" in caption and "\\]\\(https" in caption, caption  # shown, but as literal text


def test_feed_text_is_not_live_markdown_in_published_notices(env: Store) -> None:
    clip_id = _seed_hostile_clip(env, ClipStatus.APPROVED)
    at = run_app("pages/published.py")
    _assert_no_live_evil_link(at)
    at.button(key=f"{Key.P_UNPUBLISH}{clip_id}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert env.get_clip(clip_id).status is ClipStatus.NEW
    _assert_no_live_evil_link(at)
    # the notice (with its Undo) is part of the page that made it
    notice = next(m.value for m in at.markdown if "Unpublished" in m.value)
    assert "Sign in again" in notice and "\\]\\(https" in notice, notice


def test_clip_query_parameter_is_not_live_markdown(env: Store) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["clip"] = "[x](https://evil.example)"
    at.run()  # the link opens the editor
    assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("No clip with id" in e and "evil" in e for e in errors), errors
    _assert_no_live_evil_link(at)


def test_a_clip_link_opens_the_editor_for_someone_already_signed_in_once(env: Store) -> None:
    """A digest's or alert's {dashboard_url}/?clip=<id>, opened in demo mode (signed in from the start)."""
    clip = env.list_clips(ClipFilter(status=ClipStatus.APPROVED), limit=1).clips[0]
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["clip"] = clip.id
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Clip editor"]
    assert at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").value == (clip.headline or "")
    # Leaving the editor is not bounced back to it, though the address still names the clip.
    at.switch_page("pages/review.py").run()
    assert [t.value for t in at.title] == ["Review queue"] and queue_ids(at)


# ------------------------------------------------------------------ editor


def _open_editor(clip_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[Key.EDIT_CLIP] = clip_id
    at.run()
    at.switch_page("pages/editor.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_edits_persist_and_show_in_history(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.APPROVED), limit=1).clips[0]
    at = _open_editor(clip.id)
    at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").input("A better headline")
    at.text_area(key=f"{Key.E_BLURB}{clip.id}").input("Councilmember Renata Okafor led the fight.")
    at.text_input(key=f"{Key.E_CREDIT}{clip.id}").input("Photo: Staff")
    at.toggle(key=f"{Key.E_FEATURED}{clip.id}").set_value(True)
    at.run()
    preview = "".join(h.proto.body for h in at.get("html"))
    assert "A better headline" in preview and "itn-featured" in preview, "the live preview follows the form"
    at.button(key=Key.E_SAVE).click().run()
    assert not at.exception
    stored = env.get_clip(clip.id)
    assert (stored.headline, stored.blurb, stored.image_credit, stored.featured) == (
        "A better headline", "Councilmember Renata Okafor led the fight.", "Photo: Staff", True)
    history = env.history(clip.id)
    assert history[-1].action == "edit" and history[-1].user == "demo"
    assert "A better headline" in history[-1].detail
    # the history on the page tells the edit as a sentence, with the old and the new headline, not JSON
    history_text = next(m.value for m in at.markdown if "A better headline" in m.value).replace("\\", "")
    assert "· demo changed the " in history_text
    assert f"changed the headline from “{clip.display_headline[:79]}" in history_text
    assert "to “A better headline”" in history_text and "{" not in history_text


def test_editor_publish_goes_through_review(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = _open_editor(clip.id)
    at.button(key=Key.E_APPROVE).click().run()
    assert env.get_clip(clip.id).status is ClipStatus.APPROVED
    assert env.history(clip.id)[-1].action == "approved"


def test_editor_without_a_clip_offers_a_picker(env: Store) -> None:
    at = run_app("pages/editor.py")
    assert at.selectbox(key=Key.E_PICK).options
    assert any("Pick a clip" in i.value for i in at.info)


# ------------------------------------------------------------------ published


def test_published_lists_in_website_order_and_reorders(env: Store) -> None:
    at = run_app("pages/published.py")
    published = env.list_published(30)
    assert published[0].featured
    unfeatured = [c for c in published if not c.featured]
    third = unfeatured[2]
    at.button(key=f"{Key.P_UP}{third.id}").click().run()
    assert not at.exception
    after = [c.id for c in env.list_published(30) if not c.featured]
    assert after.index(third.id) == 1
    assert env.history(third.id)[-1].action == "edit"


def test_unpublish(env: Store) -> None:
    at = run_app("pages/published.py")
    victim = env.list_published(5)[1]
    at.button(key=f"{Key.P_UNPUBLISH}{victim.id}").click().run()
    assert env.get_clip(victim.id).status is ClipStatus.NEW
    assert victim.id not in [c.id for c in env.list_published(30)]


# ------------------------------------------------------------------ add by URL


def test_add_clip_by_url(env: Store, feed_server: object) -> None:
    from tests.feedserver import FeedServer, Route

    server = feed_server
    assert isinstance(server, FeedServer)
    page = (Path(__file__).parent / "data" / "enrich" / "article.html").read_bytes()
    url = server.add("/2024/05/okafor-eviction", Route(body=page, headers={"Content-Type": "text/html"}))
    cfg = Path(__import__("os").environ["TRACKER_CONFIG"])
    data = yaml.safe_load(cfg.read_text())
    data["settings"] = {"allow_private_hosts": True}  # the test server is on 127.0.0.1
    cfg.write_text(yaml.safe_dump(data))
    at = run_app("pages/add.py")
    at.text_input(key=Key.A_URL).input(url)
    at.button(key=Key.A_FETCH).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.text_input(key=Key.A_TITLE).value == "Council advances Okafor's good cause eviction bill"
    assert at.multiselect(key=Key.A_MEMBERS).value == ["renata-okafor"]
    at.multiselect(key=Key.A_MEMBERS).select("grace-huang")
    at.run()
    at.date_input(key=Key.A_DATE).set_value(None)  # the page's date was wrong: staff clear it
    at.run()
    at.button(key=Key.A_SAVE).click().run()
    added = env.list_clips(ClipFilter(text="Okafor's good cause"), limit=5).clips
    assert len(added) == 1 and added[0].manual
    assert added[0].published_at is None  # dated when it was added, not by the page
    assert set(added[0].member_ids) == {"renata-okafor", "grace-huang"}
    assert "good-cause-eviction" in added[0].campaign_ids
    assert env.history(added[0].id)[0].user == "demo"


def test_publish_right_away_asks_first_about_a_clip_naming_no_one(env: Store, feed_server: object) -> None:
    from tests.feedserver import FeedServer, Route

    assert isinstance(feed_server, FeedServer)
    page = (Path(__file__).parent / "data" / "enrich" / "article.html").read_bytes()
    url = feed_server.add("/2024/05/okafor-eviction", Route(body=page, headers={"Content-Type": "text/html"}))
    cfg = Path(__import__("os").environ["TRACKER_CONFIG"])
    data = yaml.safe_load(cfg.read_text())
    data["settings"] = {"allow_private_hosts": True}
    cfg.write_text(yaml.safe_dump(data))
    at = run_app("pages/add.py")
    at.text_input(key=Key.A_URL).input(url)
    at.button(key=Key.A_FETCH).click().run()
    at.multiselect(key=Key.A_MEMBERS).set_value([])
    at.multiselect(key=Key.A_CAMPAIGNS).set_value([])
    at.checkbox(key=Key.A_APPROVE).check()
    at.run()
    at.button(key=Key.A_SAVE).click().run()
    (added,) = env.list_clips(ClipFilter(text="Okafor's good cause"), limit=5).clips
    assert added.status is ClipStatus.NEW  # not on the website yet: the editor asks
    assert any("Publish this clip?" in m.value for m in at.markdown), [m.value for m in at.markdown]
    at.button(key=Key.CONFIRM_YES).click().run()
    assert env.get_clip(added.id).status is ClipStatus.APPROVED


def test_add_refuses_private_hosts_by_default(env: Store, feed_server: object) -> None:
    from tests.feedserver import FeedServer

    assert isinstance(feed_server, FeedServer)
    url = feed_server.add("/private", body=b"<html></html>", headers={"Content-Type": "text/html"})
    at = run_app("pages/add.py")
    at.text_input(key=Key.A_URL).input(url)
    at.button(key=Key.A_FETCH).click().run()
    assert any("private" in e.value for e in at.error)


@pytest.mark.parametrize("url", ["http://[::1", "https://" + "a" * 64 + ".example.com/story"])
def test_a_mistyped_address_is_one_line_not_a_traceback(env: Store, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """urlsplit's ValueError for a bracket left open; the IDNA codec's UnicodeError for a 64-character label."""
    import socket

    local_only = socket.getaddrinfo  # the tests' stand-in (conftest) skips the encoding the real one does first

    def encoding_first(host: object, *args: object, **kwargs: object) -> object:
        if isinstance(host, str):
            host.encode("idna")
        return local_only(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", encoding_first)
    at = run_app("pages/add.py")
    at.text_input(key=Key.A_URL).input(url)
    at.button(key=Key.A_FETCH).click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value.replace("\\", "") for e in at.error] == [f"That is not a web address we can read: {url}"]


# ------------------------------------------------------------------ insights, feeds, registry


def test_insights_lists_members_without_coverage(env: Store) -> None:
    at = run_app("pages/insights.py")
    missing = at.table[-1].value
    # the seed gives the last two members of the roster no coverage at all
    assert {"Ivy Castellano", "Theo Brandt"} <= set(missing["member"])
    assert len(at.get("vega_lite_chart")) == 3


def test_insights_count_only_the_members_feeds_yml_lists_now(env: Store) -> None:
    # Feeds.yml loses a member whose clips stay: "covered" never exceeds the members listed.
    cfg = Path(__import__("os").environ["TRACKER_CONFIG"])
    data = yaml.safe_load(cfg.read_text())
    covered_before = metric_text(run_app("pages/insights.py"), "Members covered")
    data["members"] = data["members"][1:]
    cfg.write_text(yaml.safe_dump(data))
    shown = metric_text(run_app("pages/insights.py"), "Members covered")
    covered, of = (int(n.replace(",", "")) for n in shown.split(" of "))
    assert of == len(data["members"]) and covered <= of and shown != covered_before
    data["members"] = []
    cfg.write_text(yaml.safe_dump(data))
    at = run_app("pages/insights.py")
    assert not any("Every member has had coverage" in s.value for s in at.success)
    assert any("No members are listed" in i.value for i in at.info)


def test_insights_clip_count_leaves_out_a_rejected_storys_copies_as_its_stories_do(env: Store) -> None:
    """The Stories metric's help counted clips as all less rejected, so a rejected story's untouched
    copies (left out of every chart) were still counted there."""
    from tracker.syndication import place_new_clips

    place_new_clips(env, None, DASHBOARD_NOW, limit=10**9)  # the seed's wire copies become stories
    kept = [c.id for c in env.all_clips() if c.status is not ClipStatus.REJECTED]
    left_out = env.rejected_with_their_primary(kept)
    assert left_out  # the seed has stories whose primary staff rejected
    shown = next(m for m in run_app("pages/insights.py").metric if m.label == "Stories (not rejected)").help
    assert int(str(shown).split(" clips")[0].replace(",", "")) == len(kept) - len(left_out)


def metric_text(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def test_feeds_page_shows_problems(env: Store) -> None:
    at = run_app("pages/feeds.py")
    assert metric(at, "Need attention") >= 2
    assert any("503" in w.value for w in at.warning)


def test_feeds_page_shows_the_article_queue(env: Store) -> None:
    link = "https://paper.example.com/paywalled"
    entry = ParsedEntry(title="Paywalled story", link=link, guid=link, summary="", content="")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), ())
    env.queue_articles("sample-search", [item], DASHBOARD_NOW, search_for="member:kendra-brooks")
    (task,) = env.due_articles(5)
    env.finish_article(task, None, (), DASHBOARD_NOW, reason="HTTP 403 Forbidden")
    at = run_app("pages/feeds.py")
    queues = next(df.value for df in at.dataframe if "queue" in df.value.columns)
    articles = queues[queues["queue"] == "articles"].iloc[0]
    assert (articles["waiting"], articles["failed"]) == (0, 1)
    reasons = next(df.value for df in at.dataframe if "failed because" in df.value.columns)
    assert "HTTP 403 Forbidden" in set(reasons["failed because"])


def test_feeds_page_counts_articles_to_try_again(env: Store) -> None:
    link = "https://paper.example.com/busy"
    entry = ParsedEntry(title="Busy publisher", link=link, guid=link, summary="", content="")
    item = MatchedEntry(entry, canonical_url(link), clip_id_for(canonical_url(link)), ())
    env.queue_articles("sample-search", [item], DASHBOARD_NOW, search_for="member:kendra-brooks")
    (task,) = env.due_articles(5)
    env.finish_article(task, None, (), DASHBOARD_NOW, reason="HTTP 503 Service Unavailable", transient=True)
    at = run_app("pages/feeds.py")
    queues = next(df.value for df in at.dataframe if "queue" in df.value.columns)
    articles = queues[queues["queue"] == "articles"].iloc[0]
    assert (articles["waiting"], articles["to try again"], articles["failed"]) == (1, 1, 0)


def test_rule_trial(env: Store) -> None:
    at = run_app("pages/registry.py")
    at.segmented_control(key=Key.R_KIND).set_value("campaign").run()
    at.text_input(key=Key.R_NAME).input("Evictions")
    at.text_input(key=Key.R_TERMS).input("good cause eviction")
    at.button(key=Key.R_RUN).click().run()
    assert not at.exception
    assert metric(at, "Clips matched") > 0


def test_rule_trial_reports_bad_query(env: Store) -> None:
    at = run_app("pages/registry.py")
    at.segmented_control(key=Key.R_KIND).set_value("campaign").run()
    at.text_input(key=Key.R_QUERY).input('"unclosed AND (')
    at.button(key=Key.R_RUN).click().run()
    assert any("does not work" in e.value for e in at.error)


# ------------------------------------------------------------------ sign-in


def test_sign_in_required_outside_demo_mode(env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DEMO")
    UsersFile().add("maria", "correct horse battery")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert not at.metric, "no data before sign-in"
    with pytest.raises(ValueError):
        at.switch_page("pages/published.py")  # data pages are not even registered

    at.text_input(key=Key.LOGIN_USERNAME).input("maria")
    at.text_input(key=Key.LOGIN_PASSWORD).input("wrong password")
    at.button(key=Key.LOGIN_SUBMIT).click().run()
    assert any("Wrong username or password" in e.value for e in at.error)
    assert not at.metric

    at.text_input(key=Key.LOGIN_PASSWORD).input("correct horse battery")
    at.button(key=Key.LOGIN_SUBMIT).click().run()
    assert metric(at, "Waiting for review") > 0
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert env.history(first)[-1].user == "maria"


@pytest.mark.parametrize("how", ["TRACKER_DEMO=1", "-- --demo"])
def test_demo_mode_asked_for_on_a_real_database_still_asks_for_a_password(
    env: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Demo mode signs everyone in, so on any database but demo.db the dashboard ignores the request."""
    from tracker.demo import seed_store

    real = f"sqlite:///{tmp_path / 'real.db'}"
    staff = Store(real)
    seed_store(staff, 10, now=NOW)
    staff.close()
    monkeypatch.setenv("TRACKER_DATABASE_URL", real)
    if how == "-- --demo":
        monkeypatch.delenv("TRACKER_DEMO")
        monkeypatch.setattr("sys.argv", ["app.py", "--demo"])
    UsersFile().add("maria", "correct horse battery")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.text_input(key=Key.LOGIN_PASSWORD) is not None and Key.USER not in at.session_state
    assert not at.metric, "no data before sign-in"
    with pytest.raises(ValueError):
        at.switch_page("pages/review.py")  # data pages are not even registered
    assert any("only on a local SQLite file named demo.db" in w.value.replace("\\", "") for w in at.warning)


def _maria_signs_in() -> dict[str, object]:
    """What the sign-in form leaves in maria's session."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key=Key.LOGIN_USERNAME).input("maria")
    at.text_input(key=Key.LOGIN_PASSWORD).input("correct horse battery")
    at.button(key=Key.LOGIN_SUBMIT).click().run()
    assert metric(at, "Waiting for review") > 0
    return {Key.USER: at.session_state[Key.USER], Key.USER_STAMP: at.session_state[Key.USER_STAMP]}


def _her_next_visit(session: dict[str, object]) -> AppTest:
    """The app's next full run in that session (AppTest reruns only the page after a click)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("change", ["new password", "removed and made again"])
def test_a_password_reset_signs_out_the_sessions_of_the_old_one(env: Store, monkeypatch: pytest.MonkeyPatch,
                                                                 change: str) -> None:
    """Resetting a leaked password must close the tab of whoever used it, not only future sign-ins."""
    monkeypatch.delenv("TRACKER_DEMO")
    users = UsersFile()
    users.add("maria", "correct horse battery")
    session = _maria_signs_in()
    # Other changes to the file (a colleague added, her role changed) leave her signed in.
    users.add("sam", "correct horse battery")
    users.set_role("maria", Role.EDITOR)
    assert metric(_her_next_visit(session), "Waiting for review") > 0
    if change == "new password":
        users.add("maria", "another horse battery", replace=True)
    else:
        users.remove("maria")
        users.add("maria", "correct horse battery")  # the same password, a new account: a new salt
    at = _her_next_visit(session)
    assert not at.metric and Key.USER not in at.session_state
    assert at.text_input(key=Key.LOGIN_PASSWORD) is not None


def test_a_users_file_broken_by_hand_is_one_line_not_a_traceback(env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DEMO")
    UsersFile().add("maria", "correct horse battery")
    session = _maria_signs_in()
    Path(os.environ["TRACKER_USERS_FILE"]).write_text('{"users": {"maria": {"role": "editor"}}}', encoding="utf-8")
    at = _her_next_visit(session)
    assert any("has no password hash" in e.value for e in at.error)
    assert not at.metric


def test_sign_in_page_explains_how_to_create_a_user(env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DEMO")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("tracker users add" in i.value for i in at.info)


def test_seeded_dates_are_recent(env: Store) -> None:
    newest = env.list_clips(limit=1).clips[0].published_at
    assert isinstance(newest, datetime) and NOW - newest < timedelta(days=1)


def test_a_click_in_a_session_whose_password_was_reset_is_refused(env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A button's callback runs before app.py's sign-out check: the old session's next click must be
    refused by the data layer, not approved with the account's role."""
    monkeypatch.delenv("TRACKER_DEMO")
    users = UsersFile()
    users.add("maria", "correct horse battery", role=Role.EDITOR)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key=Key.LOGIN_USERNAME).input("maria")
    at.text_input(key=Key.LOGIN_PASSWORD).input("correct horse battery")
    at.button(key=Key.LOGIN_SUBMIT).click().run()
    first = queue_ids(at)[0]
    users.add("maria", "another horse battery", replace=True)
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert env.get_clip(first).status is ClipStatus.NEW

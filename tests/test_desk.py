"""The clip desk polished (issue #15): Published at scale, undo, asking before publishing, plain words.

AppTest against the seeded demo database of the `env` fixture, as tests/test_dashboard.py does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.data import PUBLISHED_PAGE_SIZE as SIZE
from dashboard.keys import Key
from dashboard.ui import UNDO_S
from tests.conftest import DASHBOARD_NOW
from tests.test_dashboard import APP, PAGES, metric, queue_ids, run_app
from tracker.export import select_for_export
from tracker.models import ClipFilter, ClipStatus, ClipView, FetchOutcome, Mention
from tracker.store import Store

PAGE_FILES = {p.split("/")[1].removesuffix(".py"): p for p in PAGES}
DEMO_NOTE = "Nothing you do here reaches the website's exports"


def website(store: Store) -> list[str]:
    return [c.id for c in select_for_export(store.all_clips(ClipFilter(status=ClipStatus.APPROVED)))]


def html_of(at: AppTest) -> str:
    return "".join(h.proto.body for h in at.get("html"))


def numbers(at: AppTest) -> list[int]:
    return [int(m.value.removeprefix("### ").replace(",", "")) for m in at.markdown if m.value.startswith("### ")]


def undo_button(at: AppTest) -> object | None:
    return next((b for b in at.button if b.key == Key.UNDO), None)


def in_the_editor(clip_id: str) -> AppTest:
    """The dashboard, with the editor open on this clip (as Edit on a card opens it)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[Key.EDIT_CLIP] = clip_id
    at.run()
    at.switch_page("pages/editor.py").run()
    return at


def add_clip(store: Store, clip_id: str, **changes: object) -> ClipView:
    base = store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    clip = replace(base, id=clip_id, url=f"https://x.example/{clip_id}", canonical_url=f"https://x.example/{clip_id}",
                   published_at=DASHBOARD_NOW + timedelta(hours=2), **changes)  # type: ignore[arg-type]
    store.insert_seed_clips([clip])
    return store.get_clip(clip_id)


# ------------------------------------------------------------------ Published at scale


def test_published_shows_the_total_and_pages_through(env: Store) -> None:
    at = run_app("pages/published.py")
    order = website(env)
    assert metric(at, "Published") == len(order) > SIZE
    assert numbers(at) == list(range(1, SIZE + 1))
    at.button(key=Key.P_NEXT).click().run()
    assert numbers(at)[0] == SIZE + 1
    shown = [str(b.key).removeprefix(str(Key.P_UNPUBLISH)) for b in at.button
             if str(b.key).startswith(str(Key.P_UNPUBLISH))]
    assert shown == order[SIZE:SIZE + len(shown)]
    at.button(key=Key.P_PREV).click().run()
    assert numbers(at)[0] == 1


def test_unpublishing_the_whole_last_page_goes_back_a_page(env: Store) -> None:
    at = run_app("pages/published.py")
    while not at.button(key=Key.P_NEXT).disabled:
        at.button(key=Key.P_NEXT).click().run()
    last_page = numbers(at)
    for clip_id in [str(b.key).removeprefix(str(Key.P_UNPUBLISH)) for b in at.button
                    if str(b.key).startswith(str(Key.P_UNPUBLISH))]:
        at.button(key=f"{Key.P_UNPUBLISH}{clip_id}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("No published clip matches" in i.value for i in at.info)
    assert numbers(at) and numbers(at)[-1] == last_page[0] - 1  # the page before, whole


def test_published_search_and_filter_keep_website_numbers(env: Store) -> None:
    at = run_app("pages/published.py")
    order = website(env)
    at.text_input(key=Key.P_TEXT).input("eviction").run()
    hits = [i for i in order if "eviction" in (env.get_clip(i).title + env.get_clip(i).summary).lower()]
    assert metric(at, "Matching the search") == len(hits) > 0
    assert [order[n - 1] for n in numbers(at)] == hits[: len(numbers(at))]
    at.button(key=Key.P_CLEAR).click().run()
    at.selectbox(key=Key.P_MEMBER).select("renata-okafor").run()
    for n in numbers(at):
        assert "renata-okafor" in env.get_clip(order[n - 1]).member_ids


def test_move_down_across_the_page_boundary_then_undo(env: Store) -> None:
    at = run_app("pages/published.py")
    before = website(env)
    last = before[SIZE - 1]  # the last on page 1, and not featured
    assert not env.get_clip(last).featured
    assert not at.button(key=f"{Key.P_DOWN}{last}").disabled, "many may follow: down is never blocked at a page's end"
    at.button(key=f"{Key.P_DOWN}{last}").click().run()
    assert not at.exception
    after = website(env)
    assert after.index(last) == SIZE and after[SIZE - 1] == before[SIZE]
    assert any(f"#{SIZE + 1} (page 2)" in m.value for m in at.markdown)
    undo = undo_button(at)
    assert undo is not None
    undo.click().run()  # type: ignore[attr-defined]
    assert website(env) == before


def test_move_to_a_place_by_number(env: Store) -> None:
    at = run_app("pages/published.py")
    before = website(env)
    assert len(before) > SIZE
    clip_id = before[-1]  # on the last page: moved without paging to it
    at.number_input(key=Key.P_FROM).set_value(len(before))
    at.number_input(key=Key.P_TO).set_value(3)
    at.button(key=Key.P_GO).click().run()
    after = website(env)
    featured = sum(env.get_clip(i).featured for i in before)
    assert after.index(clip_id) == max(2, featured)
    assert env.history(clip_id)[-1].user == "demo"


def test_published_buttons_say_what_they_do(env: Store) -> None:
    at = run_app("pages/published.py")
    first = website(env)[0]
    row = [b for b in at.button if str(b.key).endswith(first)]
    assert {b.label for b in row} == {"Up", "Down", "Unfeature", "Edit", "Unpublish"}
    assert all(b.label.strip() for b in at.button)


# ------------------------------------------------------------------ safer decisions


def test_approve_then_undo(env: Store) -> None:
    at = run_app()
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert env.get_clip(first).status is ClipStatus.APPROVED
    assert any("Approved 1 clip" in m.value for m in at.markdown)
    undo_button(at).click().run()  # type: ignore[union-attr]
    assert env.get_clip(first).status is ClipStatus.NEW
    assert [(h.user, h.action) for h in env.history(first)] == [("demo", "approved"), ("demo", "new")]
    assert first in queue_ids(at)
    assert undo_button(at) is None, "an undo is not undone twice"


def test_bulk_reject_then_undo(env: Store) -> None:
    at = run_app()
    ids = queue_ids(at)[:3]
    for i in ids:
        at.checkbox(key=f"{Key.Q_SELECT}{i}").check()
    at.run()
    at.button(key=Key.Q_BULK_REJECT).click().run()
    assert all(env.get_clip(i).status is ClipStatus.REJECTED for i in ids)
    assert at.session_state[Key.FLASH]["icon"] != ":material/delete:", "rejecting is not deleting"
    undo_button(at).click().run()  # type: ignore[union-attr]
    assert all(env.get_clip(i).status is ClipStatus.NEW for i in ids)


def test_reject_is_not_a_trash_can(env: Store) -> None:
    at = run_app()
    first = queue_ids(at)[0]
    assert "delete" not in at.button(key=f"{Key.Q_REJECT}{first}").proto.icon


def test_undo_lasts_only_a_few_seconds(env: Store) -> None:
    at = run_app()
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert undo_button(at) is not None
    data.clock.advance(seconds=UNDO_S - 1)  # type: ignore[attr-defined]
    at.run()
    assert undo_button(at) is not None
    data.clock.advance(seconds=2)  # type: ignore[attr-defined]
    at.run()
    assert undo_button(at) is None and Key.FLASH not in at.session_state


def test_a_notice_does_not_follow_to_the_next_page(env: Store) -> None:
    at = run_app()
    first = queue_ids(at)[0]
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    at.switch_page("pages/published.py").run()
    assert not any("Approved 1 clip" in m.value for m in at.markdown)
    assert undo_button(at) is None


def test_publishing_a_clip_with_no_member_or_campaign_asks_once(env: Store) -> None:
    stray = add_clip(env, "abababababababab", mentions=())
    at = run_app()
    assert queue_ids(at)[0] == stray.id
    at.button(key=f"{Key.Q_APPROVE}{stray.id}").click().run()
    assert env.get_clip(stray.id).status is ClipStatus.NEW, "asked first, not published"
    assert any("names no member and no campaign" in m.value for m in at.markdown)
    at.button(key=Key.CONFIRM_NO).click().run()
    assert env.get_clip(stray.id).status is ClipStatus.NEW
    assert not any(b.key == Key.CONFIRM_YES for b in at.button)

    at.button(key=f"{Key.Q_APPROVE}{stray.id}").click().run()
    at.button(key=Key.CONFIRM_YES).click().run()
    assert env.get_clip(stray.id).status is ClipStatus.APPROVED
    assert not any(b.key == Key.CONFIRM_YES for b in at.button), "asked once"


def test_a_question_left_unanswered_does_not_follow_staff_to_another_clip(env: Store) -> None:
    # Asked about a clip on Review, staff open another clip in the editor instead of answering:
    # the editor never shows the first clip's question, so "Publish anyway" cannot publish its clip.
    stray = add_clip(env, "abababababababab", mentions=())
    at = run_app()
    other = queue_ids(at)[1]
    at.button(key=f"{Key.Q_APPROVE}{stray.id}").click().run()
    assert any(b.key == Key.CONFIRM_YES for b in at.button)
    at.button(key=f"{Key.Q_EDIT}{other}").click().run()
    assert not any(b.key == Key.CONFIRM_YES for b in at.button)
    assert env.get_clip(other).status is ClipStatus.NEW and env.get_clip(stray.id).status is ClipStatus.NEW


def test_in_the_editor_a_question_about_one_clip_is_dropped_when_another_is_picked(env: Store) -> None:
    stray = add_clip(env, "abababababababab", mentions=())
    at = in_the_editor(stray.id)
    at.button(key=Key.E_APPROVE).click().run()
    assert any(b.key == Key.CONFIRM_YES for b in at.button)
    other = next(c.id for c in env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=10).clips if c.id != stray.id)
    at.selectbox(key=Key.E_PICK).set_value(other).run()
    assert not any(b.key == Key.CONFIRM_YES for b in at.button)
    assert env.get_clip(other).status is ClipStatus.NEW and env.get_clip(stray.id).status is ClipStatus.NEW


def test_a_clip_that_is_ready_is_published_without_a_question(env: Store) -> None:
    at = run_app()
    first = queue_ids(at)[0]
    assert env.get_clip(first).member_ids or env.get_clip(first).campaign_ids
    at.button(key=f"{Key.Q_APPROVE}{first}").click().run()
    assert env.get_clip(first).status is ClipStatus.APPROVED
    assert not any(b.key == Key.CONFIRM_YES for b in at.button)


def test_publishing_without_a_blurb_asks_when_the_export_shows_blurbs(env: Store, tmp_path: Path) -> None:
    import os

    cfg = Path(os.environ["TRACKER_CONFIG"])
    config = yaml.safe_load(cfg.read_text())
    config["settings"] = {"exports": [{"format": "html", "path": str(tmp_path / "news.html")}]}
    cfg.write_text(yaml.safe_dump(config))
    bare = add_clip(env, "cdcdcdcdcdcdcdcd", summary="", blurb=None)
    at = in_the_editor(bare.id)
    at.button(key=Key.E_APPROVE).click().run()
    assert env.get_clip(bare.id).status is ClipStatus.NEW
    assert any("no blurb" in m.value for m in at.markdown)
    at.button(key=Key.CONFIRM_YES).click().run()
    assert env.get_clip(bare.id).status is ClipStatus.APPROVED


@pytest.mark.parametrize("page", PAGES)
def test_demo_mode_says_so_on_every_page(env: Store, page: str) -> None:
    at = run_app(page)
    assert any(DEMO_NOTE in i.value for i in at.info), page


def test_a_page_opened_directly_without_sign_in_shows_nothing(env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh server runs pages/x.py itself for a first request to /x: no data without sign-in."""
    monkeypatch.delenv("TRACKER_DEMO")
    at = AppTest.from_file(str(Path(APP).parent / "pages" / "published.py"), default_timeout=60).run()
    assert not at.metric and not at.get("html")


# ------------------------------------------------------------------ plain language


def test_feeds_page_explains_errors_in_words(env: Store) -> None:
    feed = next(f.id for f in env.feed_health() if f.consecutive_failures and f.last_error == "HTTP 503 Service Unavailable")
    env.record_fetch(feed, FetchOutcome(
        ok=False, error="feed parser failed: SAXParseException: <unknown>:1:0: not well-formed (invalid token)",
    ), DASHBOARD_NOW)
    at = run_app("pages/feeds.py")
    text = " ".join(w.value for w in at.warning) + json.dumps(at.dataframe[0].value.to_dict(), default=str)
    assert "not a readable feed" in text
    assert "SAXParseException" not in text
    table = at.dataframe[0].value
    assert not table.isna().any().any() and "None" not in table.astype(str).to_numpy().tolist().__str__()
    assert "—" in table.astype(str).to_numpy().ravel().tolist()


def test_rule_columns_come_first(env: Store) -> None:
    at = run_app("pages/registry.py")
    members, campaigns = at.dataframe[0].value, at.dataframe[1].value
    assert list(members.columns[:4]) == ["name", "aliases", "require any", "exclude"]
    assert list(campaigns.columns[:5]) == ["name", "keywords", "query", "require any", "exclude"]


def test_rule_examples_show_headline_link_and_highlighted_words(env: Store) -> None:
    at = run_app("pages/registry.py")
    at.segmented_control(key=Key.R_KIND).set_value("campaign").run()
    at.text_input(key=Key.R_NAME).input("Evictions")
    at.text_input(key=Key.R_TERMS).input("good cause eviction")
    at.button(key=Key.R_RUN).click().run()
    examples = next(h.proto.body for h in at.get("html") if "mt-example" in h.proto.body)
    assert '<a href="https://' in examples and "<mark>" in examples
    assert "……" not in examples and "…<mark>" not in examples.replace("… <mark>", "")


def test_insights_labels_are_not_cut_and_the_no_coverage_table_is_whole(env: Store) -> None:
    at = run_app("pages/insights.py")
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    legend = specs[0]["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0
    assert all(s["encoding"]["y"]["axis"]["labelLimit"] >= 300 for s in specs[1:])
    assert {"Ivy Castellano", "Theo Brandt"} <= set(at.table[-1].value["member"])


def test_a_match_in_the_headline_is_highlighted_there_and_not_repeated(env: Store) -> None:
    title = "Renata Okafor wins the eviction vote"
    clip = add_clip(env, "efefefefefefefef", title=title, headline=None, summary="A long day at the council.",
                    mentions=(Mention("member", "renata-okafor", "Renata Okafor", "title", title, 0, 13),))
    at = run_app()
    card = next(h.proto.body for h in at.get("html") if clip.url in h.proto.body)
    assert '<mark>Renata Okafor</mark> wins the eviction vote' in card
    assert card.count("wins the eviction vote") == 1, "the headline is not shown again as a snippet"


def test_the_same_snippet_is_never_shown_twice(env: Store) -> None:
    snippet = "…council member Renata Okafor and Daniel Whitfield said on Tuesday…"
    clip = add_clip(env, "f0f0f0f0f0f0f0f0", mentions=(
        Mention("member", "renata-okafor", "Renata Okafor", "summary", snippet, 16, 29),
        Mention("member", "daniel-whitfield", "Daniel Whitfield", "content", snippet[:-1], 34, 50),
    ))
    at = run_app()
    card = next(h.proto.body for h in at.get("html") if clip.url in h.proto.body)
    assert card.count("said on Tuesday") == 1
    assert "<mark>Renata Okafor</mark>" in card and "<mark>Daniel Whitfield</mark>" in card


def test_empty_states_suggest_only_what_applies(env: Store) -> None:
    at = run_app()
    at.text_input(key=Key.F_TEXT).input("zzzzqqq").run()
    advice = " ".join(i.value for i in at.info)
    assert "spelling" in advice and "date range" not in advice
    at.text_input(key=Key.F_TEXT).input("").run()
    start = (DASHBOARD_NOW + timedelta(days=30)).date()
    at.date_input(key=Key.F_DATES).set_value((start, start + timedelta(days=1))).run()
    advice = " ".join(i.value for i in at.info)
    assert "date range" in advice and "spelling" not in advice


def test_tag_filter_shows_names(env: Store) -> None:
    at = run_app()
    options = at.selectbox(key=Key.F_TAG).options
    assert "Minnesota (MN)" in options and "mn" not in options
    at.selectbox(key=Key.F_TAG).select("mn").run()
    assert metric(at, "Matching these filters") > 0


def test_tag_filter_offers_staff_tags_and_finds_feed_or_staff_tagged_clips(env: Store) -> None:
    from tracker.models import ClipEdit

    clips = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=30).clips
    mn_before = env.count_clips(ClipFilter(status=ClipStatus.NEW, primary_only=True, feed_tag="mn"))
    from_mn = {c.id for c in env.all_clips(ClipFilter(feed_tag="mn"))}
    outside_mn = next(c for c in clips[1:] if c.id not in from_mn)
    env.edit_clip(clips[0].id, ClipEdit(tags=("op-ed",)), "maria", DASHBOARD_NOW)
    env.edit_clip(outside_mn.id, ClipEdit(tags=("mn",)), "maria", DASHBOARD_NOW)  # staff's own "mn"
    at = run_app()
    assert "op ed" in at.selectbox(key=Key.F_TAG).options  # as staff say it
    at.selectbox(key=Key.F_TAG).select("op-ed").run()
    assert queue_ids(at) == [clips[0].id]
    at.selectbox(key=Key.F_TAG).select("mn").run()
    assert metric(at, "Matching these filters") == mn_before + 1 and outside_mn.id in queue_ids(at)


def test_the_editor_address_links_to_its_clip(env: Store) -> None:
    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = in_the_editor(clip.id)
    assert at.query_params["clip"] in (clip.id, [clip.id])


def test_a_refused_saves_warning_goes_when_the_form_is_filled_afresh(env: Store) -> None:
    from tests.fakes import NOW
    from tracker.models import ClipEdit

    clip = env.list_clips(ClipFilter(status=ClipStatus.NEW), limit=1).clips[0]
    at = in_the_editor(clip.id)
    env.edit_clip(clip.id, ClipEdit(blurb="A colleague's blurb"), "sam", NOW)  # saved meanwhile
    at.text_input(key=f"{Key.E_HEADLINE}{clip.id}").input("My headline")
    at.button(key=Key.E_SAVE).click().run()
    assert any("changed since you opened it" in e.value for e in at.error)
    at.switch_page("pages/review.py").run()
    at.switch_page("pages/editor.py").run()  # the form is filled afresh, at the clip's version
    assert at.session_state[f"{Key.E_VERSION}{clip.id}"] == env.get_clip(clip.id).version
    assert not any("changed since you opened it" in e.value for e in at.error)


def test_a_decision_from_the_queue_is_not_made_over_a_colleagues_change_since_the_page_was_shown(env: Store) -> None:
    from tests.fakes import NOW

    at = run_app()
    first, second = queue_ids(at)[:2]
    env.set_status([first], ClipStatus.REJECTED, "sam", NOW)  # a colleague, while this page was on screen
    at.checkbox(key=f"{Key.Q_SELECT}{first}").check().run()
    at.checkbox(key=f"{Key.Q_SELECT}{second}").check().run()
    at.button(key=Key.Q_BULK_APPROVE).click().run()
    if any(b.key == Key.CONFIRM_YES for b in at.button):
        at.button(key=Key.CONFIRM_YES).click().run()
    assert env.get_clip(first).status is ClipStatus.REJECTED  # sam's decision stands
    assert env.get_clip(second).status is ClipStatus.APPROVED
    message = at.session_state[Key.FLASH]["message"]
    assert "Approved 1 clip" in message and "1 left as it is" in message


def test_a_bulk_decision_decides_the_rest_when_one_clip_is_gone(env: Store) -> None:
    from sqlalchemy import text

    at = run_app()
    first, second = queue_ids(at)[:2]
    with env.engine.begin() as conn:  # merged into another copy by the resolver meanwhile, say
        conn.execute(text("DELETE FROM clip WHERE id = :i"), {"i": first})
    at.checkbox(key=f"{Key.Q_SELECT}{first}").check().run()
    at.checkbox(key=f"{Key.Q_SELECT}{second}").check().run()
    at.button(key=Key.Q_BULK_REJECT).click().run()
    assert env.get_clip(second).status is ClipStatus.REJECTED
    assert "Rejected 1 clip" in at.session_state[Key.FLASH]["message"]

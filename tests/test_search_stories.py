"""Searching one card per story (the review queue's primary_only): a story is found when any of its
copies has every word typed, its other outlets and their articles too, and the total agrees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.fakes import NOW
from tests.test_search import add, found, sql_sent, walked
from tracker.models import ClipFilter, ClipStatus, StoryPlacement
from tracker.store import Store
from tracker.store.search import index_clips


def put_stories(store: Store) -> dict[str, str]:
    """Two wire stories, each also carried by the Inquirer, and a clip in no story."""
    ids = {
        "rent": add(store, "ap-rent", "Council passes rent cap", outlet="AP News", at=NOW - timedelta(hours=1)),
        "rent_inquirer": add(store, "inq-rent", "Rent cap passes council", outlet="Philadelphia Inquirer",
                             content="Germantown tenants packed the chamber.", at=NOW - timedelta(hours=2)),
        "transit": add(store, "reuters-transit", "Transit strike ends", outlet="Reuters", at=NOW - timedelta(hours=3)),
        "transit_inquirer": add(store, "inq-transit", "SEPTA strike is over", outlet="Philadelphia Inquirer",
                                at=NOW - timedelta(hours=4)),
        "alone": add(store, "alone", "Inquirer editors on the budget", outlet="City Paper", at=NOW - timedelta(hours=5)),
    }
    store.place_clips([
        StoryPlacement(ids["rent"], ids["rent"], "apnews.com", new_story=True),
        StoryPlacement(ids["rent_inquirer"], ids["rent"], "inquirer.com"),
        StoryPlacement(ids["transit"], ids["transit"], "reuters.com", new_story=True),
        StoryPlacement(ids["transit_inquirer"], ids["transit"], "inquirer.com"),
    ], NOW)
    return ids


@pytest.fixture(params=["narrow", "broad"])
def stories(store: Store, request: pytest.FixtureRequest) -> dict[str, str]:
    """The stories searched by the index's hits (narrow) and by walking the clips newest first
    (broad, forced by a cap of 1)."""
    if request.param == "broad":
        store.search_count_cap = 1
        store.search_sort_cost = float("inf")  # always walk
    return put_stories(store)


def test_a_story_is_found_by_the_words_of_any_of_its_copies(store: Store, stories: dict[str, str]) -> None:
    one_per_story = {"primary_only": True}
    # The card says "Also in: Philadelphia Inquirer": that outlet finds the story.
    assert found(store, "inquirer", **one_per_story) == {stories["rent"], stories["transit"], stories["alone"]}
    assert found(store, "germantown tenants", **one_per_story) == {stories["rent"]}  # another copy's article
    assert found(store, "septa", **one_per_story) == {stories["transit"]}
    assert found(store, "council rent", **one_per_story) == {stories["rent"]}  # both copies: one card
    assert found(store, "septa germantown", **one_per_story) == set()  # no copy has both
    # Listing every copy, each copy is found by its own text only.
    assert found(store, "germantown") == {stories["rent_inquirer"]}
    assert found(store, "inquirer") == {stories["rent_inquirer"], stories["transit_inquirer"], stories["alone"]}


def test_a_story_search_combines_with_the_queue_s_status_and_pages(store: Store, stories: dict[str, str]) -> None:
    store.set_status([stories["transit"]], ClipStatus.APPROVED, "maria", NOW)
    queue = {"primary_only": True, "status": ClipStatus.NEW}
    assert found(store, "inquirer", **queue) == {stories["rent"], stories["alone"]}
    assert found(store, "septa", **queue) == set()
    f = ClipFilter(text="inquirer", primary_only=True)
    first = store.list_clips(f, limit=2, with_total=True)
    rest = store.list_clips(f, limit=2, cursor=first.next_cursor, with_total=True)
    assert [c.id for c in first.clips + rest.clips] == [stories["rent"], stories["transit"], stories["alone"]]
    # The first page counts every hit, not the page's two; a later page counts them again (broad: "1+").
    expected = (1, True) if store.search_count_cap == 1 else (3, False)
    assert (first.total, first.total_capped) == expected == (rest.total, rest.total_capped)


def test_a_narrow_story_search_takes_its_hits_from_the_index(store: Store) -> None:
    """The index finds the matching copies and the story's primary is reached from them: no walk."""
    stories = put_stories(store)
    with sql_sent(store) as captured:
        assert found(store, "germantown", primary_only=True) == {stories["rent"]}
    assert not walked(captured)
    if store.dialect == "sqlite":
        assert any("MATCH" in s for s in captured)
    else:
        assert any("MATERIALIZED" in s for s in captured)


def stories_in_search(store: Store) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        return dict(conn.execute(text("SELECT clip_id, story_id FROM clip_search")).all())


def test_a_copy_moved_to_another_story_is_searched_with_that_story(store: Store, stories: dict[str, str]) -> None:
    """clip_search keeps each clip's story (migration 0013's triggers), however clip.story_id
    changes: placing (the ORM), or a plain UPDATE. A copy moved is found with its new story only."""
    queue = {"primary_only": True}
    assert found(store, "germantown", **queue) == {stories["rent"]}
    store.place_clips([StoryPlacement(stories["rent_inquirer"], stories["transit"], "inquirer.com")], NOW)
    assert found(store, "germantown", **queue) == {stories["transit"]}
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE clip SET story_id = :s WHERE id = :i"), {"s": stories["rent"], "i": stories["rent_inquirer"]})
    assert found(store, "germantown", **queue) == {stories["rent"]}
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE clip SET story_id = NULL WHERE id = :i"), {"i": stories["alone"]})
    assert found(store, "inquirer editors", **queue) == {stories["alone"]}  # in no story: its own text
    with store.engine.connect() as conn:
        clips = dict(conn.execute(text("SELECT id, story_id FROM clip")).all())
    assert stories_in_search(store) == clips


def test_a_clip_stored_after_its_story_was_chosen_takes_the_story_into_search(store: Store) -> None:
    """A search row written when the clip already has a story (a re-index, a rekeyed clip's row
    moved to its new id) takes the clip's story, not a stale or empty one."""
    stories = put_stories(store)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM clip_search WHERE clip_id = :i"), {"i": stories["rent_inquirer"]})
        index_clips(conn, [stories["rent_inquirer"]])
    assert stories_in_search(store)[stories["rent_inquirer"]] == stories["rent"]
    assert found(store, "germantown", primary_only=True) == {stories["rent"]}
    with store.engine.begin() as conn:  # as tracker.store.rekey moves a clip to a new key
        conn.execute(text("UPDATE clip_search SET story_id = NULL"))
        conn.execute(text("UPDATE clip_search SET clip_id = :i WHERE clip_id = :i"), {"i": stories["transit_inquirer"]})
    assert stories_in_search(store)[stories["transit_inquirer"]] == stories["transit"]


def test_a_story_set_again_to_the_same_does_not_rewrite_the_search_row(store: Store) -> None:
    """On PostgreSQL a rewritten search row is a new row version with new trigram entries for its
    whole text: only a story that changed is written through."""
    stories = put_stories(store)
    same = text("UPDATE clip SET story_id = story_id WHERE id = :i")
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            before = conn.execute(text("SELECT total_changes()")).scalar_one()
            conn.execute(same, {"i": stories["rent_inquirer"]})
            assert conn.execute(text("SELECT total_changes()")).scalar_one() - before == 1  # the clip row only
        else:
            version = text("SELECT xmin::text FROM clip_search WHERE clip_id = :i")
            before = conn.execute(version, {"i": stories["rent_inquirer"]}).scalar_one()
            conn.execute(same, {"i": stories["rent_inquirer"]})
            assert conn.execute(version, {"i": stories["rent_inquirer"]}).scalar_one() == before
    assert found(store, "germantown", primary_only=True) == {stories["rent"]}


@pytest.mark.parametrize("gather", [0, 15_000])
def test_the_queue_s_total_of_a_broad_search_counts_stories_found_by_another_copy(store: Store, gather: int) -> None:
    """A broad search's total within the queue (New, one card per story) counts a card when any copy
    of its story has the words, whether the window's cards are looked up among the index's hits,
    gathered once (few foretold), or each card's story text is tested (many)."""
    ids = put_stories(store)
    archive = [add(store, f"old{i}", f"Inquirer archive {i}", outlet="Philadelphia Inquirer",
                   at=NOW - timedelta(days=30 + i)) for i in range(4)]
    store.set_status(archive, ClipStatus.REJECTED, "maria", NOW)
    store.search_count_cap = 4  # 7 clips have the word: a broad search, walked
    store.search_sort_cost = float("inf")
    store.search_gather_hits = gather
    with sql_sent(store) as captured:
        page = store.list_clips(ClipFilter(text="inquirer", status=ClipStatus.NEW, primary_only=True), limit=2,
                                with_total=True)
    assert [c.id for c in page.clips] == [ids["rent"], ids["transit"]]  # each by its Inquirer copy
    assert (page.total, page.total_capped) == (3, False)  # and the clip in no story
    assert walked(captured)
    assert any(s.startswith("WITH hits") for s in captured) is (gather > 0)

"""Two staff editing one clip (issue #15): every staff edit or decision bumps the clip's version; a save
made from an older version is refused, never a silent overwrite. Ingest never touches staff fields."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.fakes import NOW, FakeClock
from tests.test_search import add
from tracker.errors import StaleEditError
from tracker.models import Actor, ClipEdit, ClipStatus, Role
from tracker.review import edit_clip, set_status, set_targets
from tracker.store import Store

MARIA, SAM = Actor("maria", Role.EDITOR), Actor("sam", Role.EDITOR)


def test_each_staff_change_bumps_the_version_and_a_no_op_does_not(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    clock = FakeClock(NOW)
    assert store.get_clip(clip_id).version == 1
    edit_clip(store, None, clip_id, ClipEdit(headline="Brooks on rents"), MARIA, clock=clock)
    assert store.get_clip(clip_id).version == 2
    edit_clip(store, None, clip_id, ClipEdit(headline="Brooks on rents"), MARIA, clock=clock)  # nothing changes
    assert store.get_clip(clip_id).version == 2
    set_status(store, None, [clip_id], ClipStatus.APPROVED, MARIA, clock=clock)
    set_targets(store, None, clip_id, [], ["good-cause"], MARIA, clock=clock)
    assert store.get_clip(clip_id).version == 4


def test_a_save_from_an_older_version_is_refused(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    opened = store.get_clip(clip_id)  # both open the clip at version 1
    edit_clip(store, None, clip_id, ClipEdit(headline="Sam's headline"), SAM, expected_version=opened.version,
              clock=FakeClock(NOW))
    with pytest.raises(StaleEditError, match=r"this clip changed since you opened it \(sam, "):
        edit_clip(store, None, clip_id, ClipEdit(headline="Maria's headline", blurb="Hers"), MARIA,
                  expected_version=opened.version, clock=FakeClock(NOW + timedelta(minutes=1)))
    after = store.get_clip(clip_id)
    assert (after.headline, after.blurb, after.version) == ("Sam's headline", None, 2)
    assert [h.user for h in store.history(clip_id)] == ["sam"]
    # Reloaded, Maria saves from the current version.
    edit_clip(store, None, clip_id, ClipEdit(blurb="Hers"), MARIA, expected_version=after.version,
              clock=FakeClock(NOW + timedelta(minutes=2)))
    assert store.get_clip(clip_id).blurb == "Hers"


def test_a_decision_also_makes_an_open_edit_stale(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    opened = store.get_clip(clip_id)
    set_status(store, None, [clip_id], ClipStatus.REJECTED, SAM, clock=FakeClock(NOW))
    with pytest.raises(StaleEditError):
        edit_clip(store, None, clip_id, ClipEdit(headline="x"), MARIA, expected_version=opened.version,
                  clock=FakeClock(NOW))


def test_of_two_saves_at_once_from_the_same_version_exactly_one_wins(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(actor: Actor) -> None:
        barrier.wait()
        try:
            edit_clip(store, None, clip_id, ClipEdit(headline=f"{actor.name}'s"), actor, expected_version=1,
                      clock=FakeClock(NOW))
            outcomes[actor.name] = "saved"
        except StaleEditError:
            outcomes[actor.name] = "stale"
        except Exception as exc:  # SQLite may refuse the second writer outright: refused, not overwritten
            outcomes[actor.name] = f"refused: {type(exc).__name__}"

    threads = [threading.Thread(target=save, args=(a,)) for a in (MARIA, SAM)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [name for name, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1, outcomes
    clip = store.get_clip(clip_id)
    assert clip.headline == f"{winners[0]}'s" and clip.version == 2
    assert [h.user for h in store.history(clip_id)] == winners


def test_ingest_never_overwrites_staff_fields_nor_makes_an_edit_stale(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents", summary="First summary")
    edit_clip(store, None, clip_id, ClipEdit(headline="Staff headline", blurb="Staff blurb", outlet_display="The Paper"),
              MARIA, clock=FakeClock(NOW))
    opened = store.get_clip(clip_id)
    add(store, "a", "Kendra Brooks on rents, updated", summary="Second summary", outlet="Paper Online",
        at=NOW + timedelta(hours=1))
    after = store.get_clip(clip_id)
    assert (after.title, after.summary) == ("Kendra Brooks on rents, updated", "Second summary")  # the feed's fields
    assert (after.headline, after.blurb, after.outlet_display) == ("Staff headline", "Staff blurb", "The Paper")
    assert after.version == opened.version  # the feed's refresh is no staff change
    edit_clip(store, None, clip_id, ClipEdit(image_credit="Photo: P"), MARIA, expected_version=opened.version,
              clock=FakeClock(NOW + timedelta(hours=2)))


def test_a_stale_save_is_called_stale_even_when_an_admin_changed_what_an_editor_may_not(store: Store) -> None:
    clip_id = add(store, "a", "Kendra Brooks on rents")
    opened = store.get_clip(clip_id)
    edit_clip(store, None, clip_id, ClipEdit(featured=True), Actor("ada", Role.ADMIN), clock=FakeClock(NOW))
    # The editor's form still holds featured=False, as opened: the save is stale, not a role problem.
    with pytest.raises(StaleEditError):
        edit_clip(store, None, clip_id, ClipEdit(headline="x", featured=False), MARIA,
                  expected_version=opened.version, clock=FakeClock(NOW))
    assert store.get_clip(clip_id).featured

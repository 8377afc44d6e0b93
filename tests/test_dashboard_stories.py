"""The dashboard with stories: one card per story, its other outlets, switching the primary, the Outlets page."""

from __future__ import annotations

from datetime import timedelta

from dashboard.keys import Key
from tests.conftest import DASHBOARD_NOW
from tests.test_dashboard import metric, queue_ids, run_app
from tests.test_stories import config, put_wire
from tracker.store import Store
from tracker.syndication import place_new_clips


def _wire(env: Store) -> dict[str, str]:
    ids = put_wire(env, base=DASHBOARD_NOW + timedelta(minutes=1))  # the newest clips in the queue
    place_new_clips(env, config(), DASHBOARD_NOW + timedelta(hours=6))
    return ids


def test_the_queue_shows_one_card_per_story_with_its_other_outlets(env: Store) -> None:
    ids = _wire(env)
    at = run_app()
    shown = queue_ids(at)
    assert ids["inquirer"] in shown
    assert not {ids[f] for f in ("apnews", "usnews", "wral", "newsday")} & set(shown)
    assert any(e.label == "Also in 4 outlets" for e in at.expander)
    # Insights count the story once, in five outlets.
    at.switch_page("pages/insights.py").run()
    assert not at.exception
    assert metric(at, "Outlets reached") >= 5


def test_staff_switch_the_primary_from_the_card(env: Store) -> None:
    ids = _wire(env)
    at = run_app()
    at.button(key=f"{Key.Q_PRIMARY}{ids['apnews']}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert env.get_clip(ids["apnews"]).primary and not env.get_clip(ids["inquirer"]).primary
    shown = queue_ids(at)
    assert ids["apnews"] in shown and ids["inquirer"] not in shown


def test_the_outlets_page_lists_and_edits_outlets(env: Store) -> None:
    _wire(env)
    at = run_app("pages/outlets.py")
    assert at.title[0].value == "Outlets"
    assert "inquirer.com" in at.dataframe[0].value["domain"].tolist()
    at.text_input(key=f"{Key.O_PLACE}apnews.com").input("New York")
    at.selectbox(key=f"{Key.O_TIER}apnews.com").select("national")
    at.button(key=f"{Key.O_SAVE}apnews.com").click().run()
    assert not at.exception, [e.message for e in at.exception]
    record = env.outlet_records()["apnews.com"]
    assert (record.place, record.tier) == ("New York", "national")


def test_feed_text_in_the_copies_list_and_outlet_labels_is_shown_literally(env: Store) -> None:
    # A headline with dollar amounts (Streamlit would set "$1,200 to $" as LaTeX), asterisks and
    # brackets, and an outlet named like a Markdown image (a tracking pixel if rendered).
    from tracker import syndication
    from tracker.models import ClipEdit, OutletEdit

    ids = _wire(env)
    env.edit_clip(ids["apnews"], ClipEdit(headline="Rents *doubled*: $1,200 to $2,400 [analysis](https://x.example)",
                                          outlet_display="The __Daily__"), "maria", DASHBOARD_NOW)
    syndication.edit_outlet(env, "wral.com", OutletEdit(name="*WRAL* ![px](https://t.example/p.png)"), "ada",
                            DASHBOARD_NOW)
    at = run_app()
    (row,) = [m.value for m in at.markdown if "analysis" in m.value]
    assert "\\*doubled\\*" in row and "\\$1,200" in row and "\\_\\_Daily\\_\\_" in row
    assert "\\[analysis\\]\\(https" in row and f"(<{env.get_clip(ids['apnews']).url}>)" in row
    at.switch_page("pages/outlets.py").run()
    at.text_input(key=Key.O_SEARCH).input("wral").run()
    label = next(e.label for e in at.expander if "wral" in e.label)
    assert "![px]" not in label and "\\*WRAL\\*" in label


def test_saving_one_field_of_an_outlet_leaves_the_others_unpinned(env: Store) -> None:
    _wire(env)
    before = env.outlet_records()["apnews.com"]
    at = run_app("pages/outlets.py")
    at.text_input(key=Key.O_SEARCH).input("apnews").run()
    at.selectbox(key=f"{Key.O_TIER}apnews.com").select("national")
    at.button(key=f"{Key.O_SAVE}apnews.com").click().run()
    after = env.outlet_records()["apnews.com"]
    assert after.tier == "national"
    # The name the pages gave stays theirs (a later site name still counts), and no state was set.
    assert (after.name_source, after.state) == (before.name_source, before.state) and after.name_source != "staff"


def test_feeds_yml_outlet_presets_apply_in_demo_mode(env: Store) -> None:
    import os
    from pathlib import Path

    import yaml

    _wire(env)
    cfg = Path(os.environ["TRACKER_CONFIG"])
    data = yaml.safe_load(cfg.read_text())
    data["outlets"] = [{"domain": "apnews.com", "state": "NY", "tier": "national"}]
    cfg.write_text(yaml.safe_dump(data))
    assert os.environ.get("TRACKER_DEMO")  # the env fixture's demo mode: exports off, presets still on
    at = run_app("pages/outlets.py")
    table = at.dataframe[0].value
    row = table[table["domain"] == "apnews.com"].iloc[0]
    assert (row["state"], row["from"], row["tier"]) == ("NY", "config", "national")

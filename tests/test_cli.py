"""The CLI contract from DESIGN.md, driven through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.feedserver import FeedServer
from tracker.cli import cli
from tracker.models import Role
from tracker.users import UsersFile

DATA = Path(__file__).parent / "data" / "feeds"

CONFIG = """
members:
  - name: Kendra Brooks
    require_any: [Philadelphia, Councilmember]
  - name: Nicholas O'Rourke
campaigns:
  - id: eats-act
    name: EATS Act
    keywords: [{text: "EATS Act", match_case: true}]
  - id: good-cause
    name: Good Cause Eviction
    keywords: ["Good Cause Eviction"]
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracker.cli", *args], capture_output=True, text=True,
                          input=input, timeout=60)


def test_match_prints_one_line_per_item_with_sorted_ids(config_path: Path, tmp_path: Path) -> None:
    items = [
        {"id": "a", "title": "Nicholas O’Rourke and Councilmember Kendra Brooks back the EATS Act fight"},
        {"id": "b", "title": "A dog eats act of kindness", "summary": "nothing"},
        {"id": 3, "title": "x", "summary": "<p>Good&nbsp;Cause Eviction</p>", "url": "https://x", "source": "Y"},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n\n", encoding="utf-8")
    result = run("--config", str(config_path), "match", str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"id": "a", "members": ["kendra-brooks", "nicholas-orourke"], "campaigns": ["eats-act"]},
        {"id": "b", "members": [], "campaigns": []},
        {"id": 3, "members": [], "campaigns": ["good-cause"]},
    ]


def test_match_explain_and_stdin(config_path: Path) -> None:
    result = run("--config", str(config_path), "match", "--explain", "-",
                 input=json.dumps({"id": "x", "title": "Kendra Brooks of Philadelphia"}) + "\n")
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    (mention,) = line["mentions"]
    assert mention["id"] == "kendra-brooks" and mention["field"] == "title"
    assert mention["snippet"][mention["start"]:mention["end"]] == "Kendra Brooks"


def test_match_bad_input_is_one_line_error(config_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\nnot json\n', encoding="utf-8")
    result = run("--config", str(config_path), "match", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "line 2: not JSON" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "said"), [
    (["stories", "list", "--days", "999999"], "999999 is not in the range"),
    (["prune", "--older-than", "999999d", "--dry-run"], "at most 36500d"),
    (["report", "--from", "2026-01-01", "--to", "9999-12-31", "--format", "csv", "--out", "-"], "between 1900 and 2999"),
    (["clips", "list", "--limit", str(10**20)], "is not in the range"),
    (["status", "--runs", str(10**20)], "is not in the range"),
    (["match", "{latin1}"], "near line 1: not UTF-8 text"),
    (["backup", "{under_a_file}"], "cannot create the folder"),
    (["ingest", "--feed", "no-such-feed"], "no feed 'no-such-feed' in the config"),  # it polled nothing, "ok"
    (["export", "--format", "json", "--out", "-", "--campaign", "good-cause-evictoin"],
     "no campaign with id 'good-cause-evictoin'"),  # it wrote an empty website file
])
def test_out_of_range_and_unreadable_input_is_one_line_error(config_path: Path, tmp_path: Path, args: list[str], said: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.cli import main

    latin1 = tmp_path / "items.jsonl"
    latin1.write_bytes('{"id": "a", "title": "Peñalosa"}\n'.encode("latin-1"))
    (tmp_path / "a-file").write_text("x")
    args = [a.format(latin1=latin1, under_a_file=tmp_path / "a-file" / "tracker.db") for a in args]
    with pytest.raises(SystemExit) as ended:
        main(["--config", str(config_path), "--db", f"sqlite:///{tmp_path / 't.db'}", *args])
    err = capsys.readouterr().err.strip()
    # One line saying what is wrong (after click's usage lines, for a bad option), never a traceback.
    assert ended.value.code not in (0, None) and said in err.splitlines()[-1] and "Traceback" not in err, err


def test_unknown_clip_id_is_one_line_error(config_path: Path, tmp_path: Path) -> None:
    result = run("--config", str(config_path), "--db", f"sqlite:///{tmp_path / 't.db'}", "clips", "approve", "nope")
    assert result.returncode == 1 and "no clip 'nope'" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line: no warnings from creating the database


def test_bad_db_url_is_one_line_error(config_path: Path) -> None:
    result = run("--config", str(config_path), "--db", "mysql://x/y", "clips", "list")
    assert result.returncode == 1 and "unsupported database" in result.stderr


def test_ingest_review_status_export_round_trip(config_path: Path, tmp_path: Path, feed_server: FeedServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_USERS_FILE", str(tmp_path / "users.json"))
    UsersFile().add("ana", "correct horse", role=Role.EDITOR)  # --user ana acts with ana's role
    feed_server.add("/city", body=(DATA / "city-desk.rss").read_bytes())
    config_path.write_text(CONFIG + f"feeds:\n  - url: {feed_server.url('/city')}\n    name: City Desk\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 't.db'}"
    base = ["--config", str(config_path), "--db", db]
    runner = CliRunner()

    result = runner.invoke(cli, [*base, "ingest", "-q"])
    assert result.exit_code == 0, result.output
    assert "1 feeds ok, 0 failed" in result.output and "1 new clips" in result.output

    listed = json.loads(runner.invoke(cli, [*base, "clips", "list", "--json"]).output)
    (clip,) = listed
    assert clip["status"] == "new" and clip["outlet"] == "City Desk & Hall"
    assert clip["members"] == ["kendra-brooks", "nicholas-orourke"]
    assert clip["url"].startswith("https://citydesk.example.com/")

    assert runner.invoke(cli, [*base, "clips", "approve", clip["id"], "--user", "ana"]).exit_code == 0
    approved = json.loads(runner.invoke(cli, [*base, "clips", "list", "--status", "approved", "--json"]).output)
    assert [c["id"] for c in approved] == [clip["id"]]

    out = tmp_path / "news.json"
    assert runner.invoke(cli, [*base, "export", "--format", "json", "--out", str(out)]).exit_code == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["version"] == 1 and [i["id"] for i in exported["items"]] == [clip["id"]]

    assert runner.invoke(cli, [*base, "clips", "reject", clip["id"]]).exit_code == 0
    assert runner.invoke(cli, [*base, "export", "--format", "json", "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["items"] == []  # rejected never exported

    status = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    (feed,) = status["feeds"]
    assert feed["name"] == "City Desk" and feed["state"] == "ok" and feed["last_status"] == 200
    assert status["runs"][0]["outcome"] == "ok" and status["runs"][0]["clips_new"] == 1


def test_clips_list_empty_state(config_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config_path), "--db", f"sqlite:///{tmp_path / 't.db'}", "clips", "list"])
    assert result.exit_code == 0 and "no clips yet" in result.output


def test_a_file_that_is_not_a_database_is_one_line_error(config_path: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("this is not a database\n" * 100, encoding="utf-8")
    result = run("--config", str(config_path), "--db", f"sqlite:///{garbage}", "clips", "list")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0
    assert "not a database" in result.stderr


def test_ctrl_c_during_ingest_stops_promptly_without_fetching_the_queue(tmp_path: Path, feed_server: FeedServer) -> None:
    import signal
    import time

    paths = [f"/slow{i}" for i in range(20)]
    for p in paths:
        feed_server.add(p, body=(DATA / "city-desk.rss").read_bytes(), delay_s=1.0)
    config = tmp_path / "feeds.yml"
    config.write_text(CONFIG + "settings:\n  workers: 2\n  per_host_limit: 2\nfeeds:\n"
                      + "".join(f"  - {feed_server.url(p)}\n" for p in paths), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tracker.cli", "--config", str(config), "--db",
                             f"sqlite:///{tmp_path / 't.db'}", "ingest", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(feed_server.requests) < 2:  # started up, and feeds are in flight
        assert time.monotonic() < deadline, "ingest never started fetching"
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert time.monotonic() - sent < 5  # not the ~8 s the queued feeds would take
    assert len(feed_server.requests) < 12  # the queue was dropped, not fetched for nothing


def test_a_decision_without_a_config_says_the_website_was_not_updated(tmp_path: Path) -> None:
    from tests.fakes import NOW
    from tracker.demo import seed_store
    from tracker.store import Store

    db = f"sqlite:///{tmp_path / 't.db'}"
    store = Store(db)
    seed_store(store, 5, now=NOW)
    clip = store.all_clips()[0].id
    store.close()
    result = run("--config", str(tmp_path / "not-here.yml"), "--db", db, "clips", "reject", clip)
    assert result.returncode == 0 and "rejected" in result.stdout
    assert "the website's exports were not regenerated" in result.stderr


def test_export_all_formats_writes_every_file_it_can_when_one_cannot_be_written(config_path: Path,
                                                                                  tmp_path: Path) -> None:
    """One format's file in the way (a folder where the RSS file goes) stopped the formats after it."""
    out = tmp_path / "out"
    (out / "in-the-news.xml").mkdir(parents=True)
    result = CliRunner().invoke(cli, ["--config", str(config_path), "--db", f"sqlite:///{tmp_path / 't.db'}",
                                      "export", "--all-formats", "--out-dir", str(out)])
    assert result.exit_code == 1 and "in-the-news.xml: Is a directory" in str(result.exception)
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        "in-the-news.json", "in-the-news.xml", "in-the-news.html", "in-the-news.csv"}
    assert (out / "in-the-news.csv").is_file() and (out / "in-the-news.html").is_file()

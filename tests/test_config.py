"""feeds.yml: a bad file is refused with a message naming the file, the entry and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import expand_searches, load_config
from tracker.errors import ConfigError
from tracker.models import Term

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
settings:
  poll: "*/30 * * * *"
  timeout_s: 5
  exports:
    - {format: json, path: out/news.json}
feeds:
  - url: https://www.example-paper.com/rss
    name: Example Paper
    tags: [pa]
  - https://other.example.org/feed.xml
searches:
  - template: "https://news.example.com/rss/search?q={query}&hl=en-US"
    for: [members, campaigns]
members:
  - name: Kendra Brooks
    aliases: ["Councilmember Kendra Brooks"]
    jurisdiction: Philadelphia
    state: PA
    require_any: [Philadelphia]
members_file: members.csv
campaigns:
  - id: good-cause-eviction
    name: Good Cause Eviction
    keywords: ["good cause eviction", "S305", {text: "EATS Act", match_case: true}]
    query: '"good cause" NEAR/3 evict*'
"""

CSV = "id,name,aliases,title,state,require_any\n,Nicholas O’Rourke,Nic O'Rourke; Councilmember O'Rourke,Councilmember,PA,Philadelphia\n"


def _write(tmp_path: Path, text: str, csv: str | None = CSV) -> Path:
    path = tmp_path / "feeds.yml"
    path.write_text(text, encoding="utf-8")
    if csv is not None:
        (tmp_path / "members.csv").write_text(csv, encoding="utf-8")
    return path


def test_good_config_loads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    assert config.settings.poll == "*/30 * * * *"
    assert config.settings.timeout_s == 5.0
    assert config.settings.exports[0].path == "out/news.json"
    assert [f.name for f in config.feeds] == ["Example Paper", ""]
    assert config.feeds[0].tags == ("pa",)
    brooks, orourke = config.members
    assert brooks.id == "kendra-brooks" and brooks.require_any == (Term("Philadelphia"),)
    assert orourke.id == "nicholas-orourke"
    assert orourke.aliases == ("Nic O'Rourke", "Councilmember O'Rourke")
    assert config.campaigns[0].keywords[2] == Term("EATS Act", match_case=True)


def test_search_feeds_generated_per_member_and_campaign(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    searches = expand_searches(config)
    assert len(searches) == 3  # two members + one campaign
    assert {s.search_for for s in searches} == {"member:kendra-brooks", "member:nicholas-orourke", "campaign:good-cause-eviction"}
    brooks = next(s for s in searches if s.search_for == "member:kendra-brooks")
    assert "q=%22Kendra+Brooks%22+Philadelphia" in brooks.url
    assert len({s.id for s in searches}) == 3
    assert len(config.all_feeds()) == 5


def test_a_listed_feed_may_stand_for_a_members_or_campaigns_search(tmp_path: Path) -> None:
    text = GOOD.replace("    name: Example Paper\n", "    name: Example Paper\n    search_for: campaign:good-cause-eviction\n")
    config = load_config(_write(tmp_path, text))
    saved, plain = config.feeds
    assert (saved.kind, saved.search_for, saved.reads_unmatched) == ("search", "campaign:good-cause-eviction", True)
    assert (plain.kind, plain.search_for, plain.reads_unmatched) == ("feed", "", False)
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.search_for.*'campaign:nope'"):
        load_config(_write(tmp_path, GOOD.replace("    name: Example Paper\n",
                                                  "    name: Example Paper\n    search_for: campaign:nope\n")))


def test_empty_file_is_a_valid_empty_config(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "", csv=None))
    assert config.feeds == () and config.members == () and config.campaigns == ()


BAD = [
    ("feeds:\n  - url: https://a.example.com/rss\n    colour: red\n", "feeds[0]: unknown key 'colour'"),
    ("surprise: 1\n", "top level: unknown key 'surprise'"),
    ("feeds:\n  - url: not a url\n", "feeds[0].url: bad URL"),
    ("feeds:\n  - url: ftp://a.example.com/rss\n", "feeds[0].url: bad URL"),
    # Malformed URLs urlsplit itself refuses (a ValueError, once a traceback and a stalled scheduler).
    ("feeds:\n  - 'http://[::1/rss'\n", "feeds[0].url: bad URL 'http://[::1/rss'"),
    ("feeds:\n  - 'https://a.example.com:99999/rss'\n", "feeds[0].url: bad URL"),
    ("searches:\n  - template: 'http://[news/rss?q={query}'\n", "searches[0].template: bad URL"),
    ("settings:\n  dashboard_url: 'http://[clips'\n", "settings.dashboard_url: bad URL"),
    ("outlets:\n  - {domain: '[inquirer.com'}\n", "outlets[0].domain: bad URL"),
    ("notify:\n  webhooks:\n    - {name: slack, url: 'https://[hooks.example.com/x'}\n", "notify.webhooks[0] (slack).url: bad URL"),
    ("feeds:\n  - {url: 'https://a.example.com/1', id: x}\n  - {url: 'https://a.example.com/2', id: x}\n", "duplicate id 'x'"),
    ("members:\n  - name: Ann Lee\n  - name: Ann Lee\n", "members: duplicate id 'ann-lee'"),
    ("members:\n  - aliases: [x]\n", "members[0].name: is required"),
    ("members:\n  - name: Ann Lee\n    id: 'Bad Id'\n", "members[0].id"),
    ("campaigns:\n  - name: X\n    query: '\"good cause'\n", "campaigns[0] (x).query"),
    ("campaigns:\n  - name: X\n    query: 'a AND'\n", "campaigns[0] (x).query"),
    ("campaigns:\n  - name: X\n    query: '(a OR b'\n", "campaigns[0] (x).query"),
    ("campaigns:\n  - name: X\n", "campaigns[0] (x): needs keywords or a query"),
    ("campaigns:\n  - name: X\n    keywords: [{text: y, match_case: maybe}]\n", "match_case: expected true or false"),
    ("settings:\n  poll: every hour\n", "settings.poll: not a cron expression"),
    ("settings:\n  timeout_s: -1\n", "settings.timeout_s: expected a number from 0.001 to 3,600, got '-1'"),
    ("settings:\n  timeout_s: .nan\n", "settings.timeout_s: expected a number from 0.001 to 3,600, got 'nan'"),
    ("settings:\n  timeout_s: .inf\n", "settings.timeout_s: expected a number from 0.001 to 3,600, got 'inf'"),
    ("settings:\n  story_window_days: 1000000\n", "settings.story_window_days: expected a whole number from 1 to 365"),
    ("settings:\n  enrich_per_cycle: 100000000000000000000\n",
     "settings.enrich_per_cycle: expected a whole number from 0 to 100,000 (0: no articles are read)"),
    ("settings:\n  site_url: localprogress.org/news\n", "settings.site_url: expected http(s)://host[/path]"),
    ("settings:\n  site_url: https://example.org/in the news\n", "settings.site_url: expected http(s)://host[/path]"),
    ("settings:\n  site_url: 'https://example.org/{x}'\n", "settings.site_url: expected http(s)://host[/path]"),
    ("settings:\n  exports:\n    - {format: json, path: out/a.json, campaign: good-cause-evictoin}\n",
     "settings.exports[0].campaign: no campaign 'good-cause-evictoin' in this config"),
    ("settings:\n  exports:\n    - {format: json, path: out/a.json}\n    - {format: rss, path: ./out/a.json}\n",
     "settings.exports[1].path: settings.exports[0] writes ./out/a.json too"),
    ("notify:\n  webhooks:\n    - {name: slack, url: 'https://hooks.slack.com/services/T/B/x', spike_ratio: .nan}\n",
     "notify.webhooks[0] (slack).spike_ratio: expected a positive number"),
    ("settings:\n  exports:\n    - {format: pdf, path: x}\n", "settings.exports[0].format: unknown format 'pdf'"),
    ("searches:\n  - template: https://news.example.com/rss\n", "searches[0].template: must contain {query}"),
    ("feeds: {url: x}\n", "feeds: expected a list"),
    ("feeds:\n  - url: [unclosed\n", "invalid YAML"),
    ("members_file: missing.csv\n", "members_file: cannot read"),
    ("settings:\n  surname_mentions: 'no'\n", "settings.surname_mentions: expected true or false"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config_is_refused_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text, csv=None)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    ("feeds:\n  - url: [unclosed\n", "line 3, column 1: invalid YAML (expected ',' or ']', but got '<stream end>')"),
    ("a: b: c\n", "line 1, column 5: invalid YAML (mapping values are not allowed here)"),
    ("a:\n\tb: 1\n", "line 2, column 1: invalid YAML (found character '\\t' that cannot start any token)"),
])
def test_yaml_errors_name_line_and_column_in_the_same_words_whichever_parser_reads_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text, csv=None)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize(("csv_text", "said"), [
    ("name,aliases\nBrooks, Kendra,Councilmember Brooks\n", "line 2: more cells than the header has columns"),
    ("name,title,title\nKendra Brooks,Councilmember,Mayor\n", "column 'title' appears twice in the header"),
])
def test_a_members_csv_that_would_lose_cells_is_refused(tmp_path: Path, csv_text: str, said: str) -> None:
    path = _write(tmp_path, "members_file: members.csv\n", csv=csv_text)
    with pytest.raises(ConfigError, match=said):
        load_config(path)


def test_a_schedule_that_never_fires_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 'settings:\n  poll: "0 0 30 2 *"\n', csv=None)
    with pytest.raises(ConfigError, match="never fires"):
        load_config(path)
    load_config(_write(tmp_path, 'settings:\n  poll: "0 0 29 2 *"\n', csv=None))  # leap years: fine


def test_bad_members_csv_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "members_file: members.csv\n", csv="name,colour\nAnn Lee,red\n")
    with pytest.raises(ConfigError, match="unknown column 'colour'"):
        load_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yml")


@pytest.mark.parametrize(("text", "message"), BAD[:6])
def test_cli_exits_2_with_one_line_and_runs_nothing(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text, csv=None)
    db = tmp_path / "t.db"
    result = CliRunner().invoke(cli, ["--config", str(path), "--db", f"sqlite:///{db}", "ingest", "-q"],
                                standalone_mode=False)
    assert isinstance(result.exception, ConfigError)
    assert result.exception.exit_code == 2
    assert not db.exists()  # nothing ran


def test_cli_main_prints_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.cli import main

    path = _write(tmp_path, BAD[0][0], csv=None)
    with pytest.raises(SystemExit) as info:
        main(["--config", str(path), "--db", f"sqlite:///{tmp_path / 't.db'}", "ingest"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'colour'" in err and "Traceback" not in err


def test_shipped_configs_are_valid() -> None:
    for rel in ("feeds.yml", "data/samples/demo.yml"):
        path = ROOT / rel
        if not path.exists():
            pytest.fail(f"{rel} is missing")
        config = load_config(path)
        assert config.members and config.campaigns


def test_non_utf8_files_are_a_clear_config_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yml"
    path.write_bytes("members:\n  - name: José Martínez\n".encode("cp1252"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
    path.write_text("members_file: members.csv\n", encoding="utf-8")
    (tmp_path / "members.csv").write_bytes("name\nJosé Martínez\n".encode("cp1252"))
    with pytest.raises(ConfigError, match=r"members_file: .* is not UTF-8"):
        load_config(path)


def test_members_csv_quoted_cells_keep_their_line_breaks_and_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yml"
    path.write_text("members_file: members.csv\n", encoding="utf-8")
    (tmp_path / "members.csv").write_bytes(
        '\ufeffname,aliases\r\nKendra Brooks,"Councilmember\r\nBrooks; KB"\r\n'.encode())
    (member,) = load_config(path).members
    assert member.name == "Kendra Brooks"
    assert member.aliases == ("Councilmember\nBrooks", "KB")
    from tracker.match import compile_matcher
    from tracker.models import MatchItem

    found = compile_matcher([member], []).match(MatchItem(title="Councilmember Brooks spoke"))
    assert [m.target_id for m in found] == ["kendra-brooks"]  # the break counts as a space


def test_surname_mentions_setting_reaches_every_member(tmp_path: Path) -> None:
    from tracker.match import compile_matcher
    from tracker.models import MatchItem

    members = "members:\n  - {name: Kendra Brooks, jurisdiction: Philadelphia}\n"
    item = MatchItem(title="Councilmember Brooks of Philadelphia")
    on = load_config(_write(tmp_path, members, csv=None))
    assert on.settings.surname_mentions is True  # the default
    assert compile_matcher(on.members, []).match_ids(item) == (("kendra-brooks",), ())
    off = load_config(_write(tmp_path, "settings:\n  surname_mentions: false\n" + members, csv=None))
    assert off.settings.surname_mentions is False
    assert [m.surname_mentions for m in off.members] == [False]
    assert compile_matcher(off.members, []).match_ids(item) == ((), ())


GOOGLE = '"https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"'


@pytest.mark.parametrize(("text", "message"), [
    # A second block pasted at the bottom of the file: YAML keeps the last one, without a word.
    ("feeds:\n  - url: https://a.example/rss\nsettings:\n  timeout_s: 10\nfeeds:\n  - url: https://b.example/rss\n",
     "line 5, column 1: invalid YAML (found key 'feeds' twice; YAML would keep only the last)"),
    ("feeds:\n  - url: https://a.example/rss\n    url: https://c.example/rss\n",
     "line 3, column 5: invalid YAML (found key 'url' twice; YAML would keep only the last)"),
    # Two members of one name and no jurisdiction: one search feed twice, which failed every ingest.
    ("members:\n  - name: John Smith\n  - {name: John Smith, id: john-smith-2}\n"
     f"searches:\n  - {{template: {GOOGLE}, for: [members]}}\n",
     "searches: member:john-smith and member:john-smith-2 make the same search feed"),
    (f"members:\n  - name: John Smith\nsearches:\n  - {{template: {GOOGLE}, for: [members]}}\n"
     f"  - {{template: {GOOGLE}, for: [members]}}\n", "make the same search feed"),
    ("members:\n  - name: John Smith\nfeeds:\n  - url: https://news.google.com/rss/search?q=%22John+Smith%22&hl=en-US&gl=US&ceid=US:en\n"
     f"searches:\n  - {{template: {GOOGLE}, for: [members]}}\n", "is the search feed generated for member:john-smith"),
])
def test_what_yaml_or_the_searches_would_silently_lose_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text, csv=None)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)


def test_a_merge_key_may_be_overridden_as_yaml_means(tmp_path: Path) -> None:
    text = "feeds:\n  - &paper {url: https://a.example/rss, tags: [pa]}\n  - <<: *paper\n    url: https://b.example/rss\n"
    config = load_config(_write(tmp_path, text, csv=None))
    assert [(f.url, f.tags) for f in config.feeds] == [("https://a.example/rss", ("pa",)), ("https://b.example/rss", ("pa",))]


@pytest.mark.parametrize("written", ["2026-11-24", "'2026-11-24'", "' 2026-11-24 '"])
def test_the_demos_sample_day_is_read_quoted_or_not(tmp_path: Path, written: str) -> None:
    from datetime import date

    config = load_config(_write(tmp_path, f"settings:\n  sample_dates_as_of: {written}\nfeeds: []\n", csv=None))
    assert config.settings.sample_dates_as_of == date(2026, 11, 24)
    assert load_config(_write(tmp_path, "feeds: []\n", csv=None)).settings.sample_dates_as_of is None


@pytest.mark.parametrize("written", ["'2026-11-31'", "yesterday", "2026-11-24 10:00:00", "20261124", "[]"])
def test_a_sample_day_that_is_not_a_day_is_one_line(tmp_path: Path, written: str) -> None:
    with pytest.raises(ConfigError, match=r"settings\.sample_dates_as_of: expected a day as YYYY-MM-DD"):
        load_config(_write(tmp_path, f"settings:\n  sample_dates_as_of: {written}\nfeeds: []\n", csv=None))


@pytest.mark.parametrize("key", ["sample_dates_as_of", "site_title"])
def test_an_impossible_date_anywhere_is_one_line_naming_its_place(tmp_path: Path, key: str) -> None:
    """YAML reads an unquoted 2026-11-31 as a date, and Python's date() raised a traceback on every command."""
    path = _write(tmp_path, f"settings:\n  {key}: 2026-11-31\nfeeds: []\n", csv=None)
    with pytest.raises(ConfigError, match=r"line 2, column \d+: invalid YAML \('2026-11-31' is not a real date"):
        load_config(path)


@pytest.mark.parametrize(("text", "message"), [
    ("members:\n  - name: Ann Lee\n    require_any: ['🏠']\n", "members[0].require_any[0]: '🏠' has no letter or digit"),
    ("members:\n  - name: Ann Lee\n    exclude: [Marvel, '—']\n", "members[0].exclude[1]: '—' has no letter or digit"),
    ("campaigns:\n  - name: X\n    keywords: ['&']\n", "campaigns[0] (x).keywords[0]: '&' has no letter or digit"),
    ("campaigns:\n  - name: X\n    keywords: [{text: '#!', match_case: true}]\n", "campaigns[0] (x).keywords[0]: '#!'"),
    ("campaigns:\n  - name: X\n    query: rent\n    require_any: ['...']\n", "campaigns[0] (x).require_any[0]: '...'"),
])
def test_a_term_with_no_letter_or_digit_is_refused_naming_its_key(tmp_path: Path, text: str, message: str) -> None:
    """Such a term can never be found as a word: as require_any it made its member never match, silently."""
    path = _write(tmp_path, text, csv=None)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_members_csv_term_with_no_letter_or_digit_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "members_file: members.csv\n", csv="name,require_any\nAnn Lee,Ohio; 🏠\n")
    with pytest.raises(ConfigError, match=r"members_file members\.csv line 2\.require_any\[1\]: '🏠'"):
        load_config(path)


def test_a_term_whose_letters_come_from_normalising_still_loads(tmp_path: Path) -> None:
    """The matcher's own rule decides: "℃" is "°c" to it, which has a letter; "#fairshare" is a word."""
    config = load_config(_write(tmp_path, "campaigns:\n  - name: X\n    keywords: ['℃', '#fairshare']\n", csv=None))
    assert [k.text for k in config.campaigns[0].keywords] == ["℃", "#fairshare"]

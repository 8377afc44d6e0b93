"""Load and validate feeds.yml into frozen dataclasses.

Every problem is reported as a ConfigError naming the file, the entry and the
problem; nothing runs on a bad config.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import hashlib
import io
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, quote_plus, urlsplit

from tracker.cron import cron_trigger
from tracker.errors import ConfigError, QueryError
from tracker.models import (
    CampaignConfig,
    ClipStatus,
    Config,
    DigestConfig,
    ExportTarget,
    FeedConfig,
    MemberConfig,
    NotifyConfig,
    NotifyFilter,
    OutletPreset,
    Role,
    RolesConfig,
    SearchConfig,
    Settings,
    SmtpConfig,
    Term,
    WebhookConfig,
)
from tracker.normalize import safe_http_url

DEFAULT_CONFIG_PATH = "feeds.yml"
DEFAULT_DB_URL = "sqlite:///data/tracker.db"

_TOP_KEYS = {"settings", "feeds", "searches", "members", "members_file", "campaigns", "notify", "roles", "outlets"}
_OUTLET_KEYS = {"domain", "name", "state", "place", "tier"}
_OUTLET_TIERS = ("local", "state", "national")
_US_STATES = frozenset(
    ["al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "pr", "gu", "vi", "as", "mp"]
)
_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_SETTINGS_KEYS = {
    "poll", "timeout_s", "user_agent", "allow_private_hosts", "exports", "max_body_bytes",
    "workers", "per_host_limit", "site_title", "site_url", "surname_mentions",
    "google_news_url", "google_news_min_interval_s", "resolve_per_cycle", "enrich_per_cycle", "sample_pages", "sample_links",
    "sample_dates_as_of", "dashboard_url", "story_window_days",
}
_FEED_KEYS = {"url", "name", "tags", "id", "enrich", "search_for"}
_ENRICH_VALUES = ("all", "matched")
_SEARCH_KEYS = {"template", "for"}
_MEMBER_KEYS = {
    "id", "name", "aliases", "title", "jurisdiction", "state", "chapter",
    "require_any", "exclude", "tags",
}
_CAMPAIGN_KEYS = {"id", "name", "keywords", "query", "require_any", "exclude", "tags"}
_EXPORT_KEYS = {"format", "path", "campaign", "member", "tag", "limit"}
_EXPORT_FORMATS = ("json", "rss", "csv", "html")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

T = TypeVar("T")


def slugify(text: str) -> str:
    """'Nicholas O’Rourke' -> 'nicholas-orourke'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['’]", "", ascii_text.lower())
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "x"


def feed_id_for_url(url: str) -> str:
    """A stable, readable id for a feed: host plus a short hash of the URL."""
    host = (urlsplit(url).hostname or "feed").removeprefix("www.")
    digest = hashlib.sha1(url.encode()).hexdigest()[:8]
    return f"{slugify(host)}-{digest}"


class _Ctx:
    """Where we are in the file, for messages."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {problem}")


def _check_keys(ctx: _Ctx, where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ctx.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _as_mapping(ctx: _Ctx, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ctx.fail(where, f"expected a mapping, got {type(value).__name__}")
    return value


def _as_list(ctx: _Ctx, where: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.fail(where, f"expected a list, got {type(value).__name__}")
    return value


def _as_str(ctx: _Ctx, where: str, value: Any, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise ctx.fail(where, "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ctx.fail(where, f"expected text, got {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise ctx.fail(where, "must not be empty")
    return text


def _str_tuple(ctx: _Ctx, where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    return tuple(_as_str(ctx, f"{where}[{i}]", v, required=True) for i, v in enumerate(_as_list(ctx, where, value)))


def _terms(ctx: _Ctx, where: str, value: Any) -> tuple[Term, ...]:
    if isinstance(value, str):
        value = [value]
    terms: list[Term] = []
    for i, raw in enumerate(_as_list(ctx, where, value)):
        here = f"{where}[{i}]"
        if isinstance(raw, Mapping):
            _check_keys(ctx, here, raw, {"text", "match_case"})
            text = _as_str(ctx, f"{here}.text", raw.get("text"), required=True)
            match_case = raw.get("match_case", False)
            if not isinstance(match_case, bool):
                raise ctx.fail(f"{here}.match_case", "expected true or false")
        else:
            text, match_case = _as_str(ctx, here, raw, required=True), False
        if not _has_word(text):
            raise ctx.fail(here, f"{text!r} has no letter or digit, so it can never be found as a word")
        terms.append(Term(text, match_case))
    return tuple(terms)


def _has_word(term: str) -> bool:
    """Does the term hold a letter or digit, as the matcher reads it (compatibility forms: "℃" is "°C")?"""
    return any(ch.isalnum() for ch in unicodedata.normalize("NFKC", term))


def _split_url(ctx: _Ctx, where: str, url: str, *, secret: bool = False) -> SplitResult:
    """urlsplit, with a malformed URL (`http://[::1/rss`, a bad port) a config error, not a ValueError.
    A `secret` URL (a Slack webhook's path is its password) is not repeated in the error, which
    reaches logs and the dashboard's banner."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ctx.fail(where, f"bad URL ({exc})" if secret else f"bad URL {url!r} ({exc})") from None
    return parts


def check_url(ctx: _Ctx, where: str, url: str) -> str:
    parts = _split_url(ctx, where, url)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.hostname) or (
        parts.scheme == "file" and not parts.path
    ):
        raise ctx.fail(where, f"bad URL {url!r} (expected http(s)://host/...)")
    return url


def _unique(ctx: _Ctx, section: str, items: Iterable[T], key: Callable[[T], str]) -> None:
    seen: set[str] = set()
    for item in items:
        k = key(item)
        if k in seen:
            raise ctx.fail(section, f"duplicate id {k!r}")
        seen.add(k)


# Numeric settings: (lowest, highest, whole number?, what 0 means). The highest are far past any real
# need and keep a typo (10**20, 1000000 days) from breaking a step of every cycle; NaN and infinity
# are no numbers here.
_SETTING_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "timeout_s": (0.001, 3600, False, ""),
    "max_body_bytes": (1, 2**30, True, ""),
    "workers": (1, 512, True, ""),
    "per_host_limit": (1, 64, True, ""),
    "story_window_days": (1, 365, True, ""),
    "resolve_per_cycle": (0, 100_000, True, "0: no lookups"),
    "enrich_per_cycle": (0, 100_000, True, "0: no articles are read"),
    "google_news_min_interval_s": (0, 3600, False, ""),
}


def _in_range(ctx: _Ctx, where: str, val: Any, low: float, high: float, *, whole: bool, note: str = "") -> Any:
    kind = "a whole number" if whole else "a number"
    if isinstance(val, bool) or not isinstance(val, int if whole else int | float) or not low <= val <= high:
        shown = f"{low:g}" if low else "0"
        raise ctx.fail(where, f"expected {kind} from {shown} to {high:,g}" + (f" ({note})" if note else "")
                       + f", got {str(val)[:30]!r}")
    return val


def _settings(ctx: _Ctx, raw: Any, base: Path | None = None) -> Settings:
    if raw is None:
        return Settings()
    data = _as_mapping(ctx, "settings", raw)
    _check_keys(ctx, "settings", data, _SETTINGS_KEYS)
    defaults = Settings()
    kwargs: dict[str, Any] = {}
    if "poll" in data:
        poll = _as_str(ctx, "settings.poll", data["poll"], required=True)
        _check_cron(ctx, poll)
        kwargs["poll"] = poll
    for key, (low, high, whole, note) in _SETTING_RANGES.items():
        if key in data:
            val = _in_range(ctx, f"settings.{key}", data[key], low, high, whole=whole, note=note)
            kwargs[key] = val if whole else float(val)
    if "dashboard_url" in data:
        dashboard_url = _as_str(ctx, "settings.dashboard_url", data["dashboard_url"], required=True)
        parts = _split_url(ctx, "settings.dashboard_url", dashboard_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ctx.fail("settings.dashboard_url", f"expected http(s)://host[/path], got {dashboard_url!r}")
        kwargs["dashboard_url"] = dashboard_url.rstrip("/")
    if "google_news_url" in data:
        kwargs["google_news_url"] = _service_base(
            ctx, "settings.google_news_url", _as_str(ctx, "settings.google_news_url", data["google_news_url"], required=True))
    for key in ("allow_private_hosts", "surname_mentions"):
        if key in data:
            if not isinstance(data[key], bool):
                raise ctx.fail(f"settings.{key}", "expected true or false")
            kwargs[key] = data[key]
    for key in ("user_agent", "site_title", "site_url"):
        if key in data:
            kwargs[key] = _as_str(ctx, f"settings.{key}", data[key], required=True)
    # The exports' links are made from it (a bad one failed every export, every cycle): the exporter's rule.
    if "site_url" in kwargs and safe_http_url(kwargs["site_url"]) != kwargs["site_url"]:
        raise ctx.fail("settings.site_url", f"expected http(s)://host[/path] (no spaces, backslashes or "
                                            f"braces), got {kwargs['site_url']!r}")
    exports: list[ExportTarget] = []
    for i, e in enumerate(_as_list(ctx, "settings.exports", data.get("exports"))):
        where = f"settings.exports[{i}]"
        em = _as_mapping(ctx, where, e)
        _check_keys(ctx, where, em, _EXPORT_KEYS)
        fmt = _as_str(ctx, f"{where}.format", em.get("format"), required=True)
        if fmt not in _EXPORT_FORMATS:
            raise ctx.fail(f"{where}.format", f"unknown format {fmt!r} (one of {', '.join(_EXPORT_FORMATS)})")
        limit = em.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
            raise ctx.fail(f"{where}.limit", "expected a positive whole number")
        exports.append(
            ExportTarget(
                format=fmt,  # type: ignore[arg-type]
                path=_as_str(ctx, f"{where}.path", em.get("path"), required=True),
                campaign=_as_str(ctx, f"{where}.campaign", em.get("campaign")) or None,
                member=_as_str(ctx, f"{where}.member", em.get("member")) or None,
                tag=_as_str(ctx, f"{where}.tag", em.get("tag")) or None,
                limit=limit,
            )
        )
    kwargs["exports"] = tuple(exports)
    # The offline demo's stand-ins for the network: a folder of article pages, a file of Google's answers.
    for key, is_there, kind in (("sample_pages", Path.is_dir, "folder"), ("sample_links", Path.is_file, "file")):
        if key in data:
            path = Path(_as_str(ctx, f"settings.{key}", data[key], required=True))
            path = path if path.is_absolute() or base is None else base / path
            if not is_there(path):
                raise ctx.fail(f"settings.{key}", f"no such {kind}: {path}")
            kwargs[key] = str(path.resolve())
    if "sample_dates_as_of" in data:
        kwargs["sample_dates_as_of"] = _as_day(ctx, "settings.sample_dates_as_of", data["sample_dates_as_of"])
    return Settings(**{**defaults.__dict__, **kwargs})


def _as_day(ctx: _Ctx, where: str, value: Any) -> date:
    # YAML reads an unquoted 2026-11-24 as a date, a quoted one as text: both are one day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ctx.fail(where, f"expected a day as YYYY-MM-DD, got {value!r}")


def _service_base(ctx: _Ctx, where: str, url: str) -> str:
    """A service's base: http(s)://host[:port], nothing after it (the paths are the service's)."""
    parts = _split_url(ctx, where, url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ctx.fail(where, f"expected http(s)://host[:port] with no path, got {url!r}")
    return url.rstrip("/")


def _check_cron(ctx: _Ctx, poll: str, where: str = "settings.poll", timezone: str = "UTC") -> None:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    try:
        trigger = cron_trigger(poll, ZoneInfo(timezone))
    except ValueError as exc:
        raise ctx.fail(where, f"not a cron expression ({exc})") from None
    # A fixed reference, not today: a valid expression fires within a few years of any date (29 February
    # does); one that never fires ("0 0 30 2 *") left the scheduler idle without a word.
    if trigger.get_next_fire_time(None, datetime(2001, 1, 1, tzinfo=UTC)) is None:
        raise ctx.fail(where, f"{poll!r} never fires (no such day)")


def _resolve_file_url(url: str, base: Path) -> str:
    """`file:samples/x.xml` is relative to the config file's folder (for offline demos)."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc:
        return url
    path = Path(parts.path)
    return (base / path).resolve().as_uri() if not path.is_absolute() else path.as_uri()


def _feeds(ctx: _Ctx, raw: Any, base: Path, targets: frozenset[str] = frozenset()) -> tuple[FeedConfig, ...]:
    """The configured feeds; `targets` are the "member:id"/"campaign:id" a feed's search_for may name."""
    feeds: list[FeedConfig] = []
    for i, f in enumerate(_as_list(ctx, "feeds", raw)):
        where = f"feeds[{i}]"
        if isinstance(f, str):
            f = {"url": f}
        fm = _as_mapping(ctx, where, f)
        _check_keys(ctx, where, fm, _FEED_KEYS)
        url = check_url(ctx, f"{where}.url", _as_str(ctx, f"{where}.url", fm.get("url"), required=True))
        url = _resolve_file_url(url, base)
        feed_id = _as_str(ctx, f"{where}.id", fm.get("id")) or feed_id_for_url(url)
        enrich = _as_str(ctx, f"{where}.enrich", fm.get("enrich")) or "matched"
        if enrich not in _ENRICH_VALUES:
            raise ctx.fail(f"{where}.enrich", f"expected one of {', '.join(_ENRICH_VALUES)} (read the articles of "
                           f"every item, or only of matched ones), got {enrich!r}")
        # A search made by hand (or a saved search file) for one member/campaign: read like a generated one.
        search_for = _as_str(ctx, f"{where}.search_for", fm.get("search_for")).strip()
        if search_for and search_for not in targets:
            raise ctx.fail(f"{where}.search_for", f"expected member:<id> or campaign:<id> of a configured "
                           f"member or campaign, got {search_for!r}")
        feeds.append(
            FeedConfig(
                id=feed_id,
                url=url,
                name=_as_str(ctx, f"{where}.name", fm.get("name")),
                tags=_str_tuple(ctx, f"{where}.tags", fm.get("tags")),
                enrich_all=enrich == "all",
                kind="search" if search_for else "feed",
                search_for=search_for,
            )
        )
    _unique(ctx, "feeds", feeds, lambda f: f.id)
    _unique(ctx, "feeds (url)", feeds, lambda f: f.url)
    return tuple(feeds)


def _searches(ctx: _Ctx, raw: Any) -> tuple[SearchConfig, ...]:
    out: list[SearchConfig] = []
    for i, s in enumerate(_as_list(ctx, "searches", raw)):
        where = f"searches[{i}]"
        sm = _as_mapping(ctx, where, s)
        _check_keys(ctx, where, sm, _SEARCH_KEYS)
        template = _as_str(ctx, f"{where}.template", sm.get("template"), required=True)
        if "{query}" not in template:
            raise ctx.fail(f"{where}.template", "must contain {query}")
        check_url(ctx, f"{where}.template", template.replace("{query}", "q"))
        for_ = _str_tuple(ctx, f"{where}.for", sm.get("for", ["members", "campaigns"]))
        for target in for_:
            if target not in ("members", "campaigns"):
                raise ctx.fail(f"{where}.for", f"unknown target {target!r} (members or campaigns)")
        out.append(SearchConfig(template=template, for_=for_))
    return tuple(out)


def _member(ctx: _Ctx, where: str, mm: Mapping[str, Any]) -> MemberConfig:
    _check_keys(ctx, where, mm, _MEMBER_KEYS)
    name = _as_str(ctx, f"{where}.name", mm.get("name"), required=True)
    member_id = _as_str(ctx, f"{where}.id", mm.get("id")) or slugify(name)
    if not _ID_RE.match(member_id):
        raise ctx.fail(f"{where}.id", f"{member_id!r} is not a valid id (lower-case letters, digits, - and _)")
    return MemberConfig(
        id=member_id,
        name=name,
        aliases=_str_tuple(ctx, f"{where}.aliases", mm.get("aliases")),
        title=_as_str(ctx, f"{where}.title", mm.get("title")),
        jurisdiction=_as_str(ctx, f"{where}.jurisdiction", mm.get("jurisdiction")),
        state=_as_str(ctx, f"{where}.state", mm.get("state")),
        chapter=_as_str(ctx, f"{where}.chapter", mm.get("chapter")),
        require_any=_terms(ctx, f"{where}.require_any", mm.get("require_any")),
        exclude=_terms(ctx, f"{where}.exclude", mm.get("exclude")),
        tags=_str_tuple(ctx, f"{where}.tags", mm.get("tags")),
    )


def _split_list_cell(cell: str) -> list[str]:
    """CSV list cells use ';' between values: 'Councilmember Brooks; Kendra Brooks'."""
    return [p.strip() for p in cell.split(";") if p.strip()]


def _members_file(ctx: _Ctx, base: Path, raw: Any) -> list[MemberConfig]:
    rel = _as_str(ctx, "members_file", raw)
    if not rel:
        return []
    path = (base / rel) if not Path(rel).is_absolute() else Path(rel)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ctx.fail("members_file", f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ctx.fail("members_file", f"{path} is not UTF-8 (in Excel: Save As → CSV UTF-8)") from None
    # newline="" keeps line breaks inside quoted cells, as the csv module expects.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "name" not in reader.fieldnames:
        raise ctx.fail("members_file", f"{path} needs a header row with at least a 'name' column")
    unknown = [f for f in reader.fieldnames if f and f not in _MEMBER_KEYS]
    if unknown:
        raise ctx.fail("members_file", f"{path}: unknown column {unknown[0]!r}")
    repeated = sorted({f for f in reader.fieldnames if f and reader.fieldnames.count(f) > 1})
    if repeated:
        raise ctx.fail("members_file", f"{path}: column {repeated[0]!r} appears twice in the header")
    members = []
    for line_no, row in enumerate(reader, start=2):
        if row.get(None):  # DictReader's key for cells past the header
            raise ctx.fail(f"members_file {path.name} line {line_no}",
                           "more cells than the header has columns (a cell with a comma needs quotes: \"Brooks, Kendra\")")
        data: dict[str, Any] = {}
        for key, cell in row.items():
            if key is None or cell is None or not cell.strip():
                continue
            if key in ("aliases", "require_any", "exclude", "tags"):
                data[key] = _split_list_cell(cell)
            else:
                data[key] = cell.strip()
        members.append(_member(ctx, f"members_file {path.name} line {line_no}", data))
    return members


def _campaigns(ctx: _Ctx, raw: Any) -> tuple[CampaignConfig, ...]:
    from tracker.query import parse_query  # pure; imported here to keep config cheap to import

    campaigns: list[CampaignConfig] = []
    for i, c in enumerate(_as_list(ctx, "campaigns", raw)):
        where = f"campaigns[{i}]"
        cm = _as_mapping(ctx, where, c)
        _check_keys(ctx, where, cm, _CAMPAIGN_KEYS)
        name = _as_str(ctx, f"{where}.name", cm.get("name"), required=True)
        campaign_id = _as_str(ctx, f"{where}.id", cm.get("id")) or slugify(name)
        if not _ID_RE.match(campaign_id):
            raise ctx.fail(f"{where}.id", f"{campaign_id!r} is not a valid id")
        where = f"campaigns[{i}] ({campaign_id})"
        query = _as_str(ctx, f"{where}.query", cm.get("query")) or None
        if query is not None:
            try:
                parse_query(query)
            except QueryError as exc:
                raise ctx.fail(f"{where}.query", str(exc)) from None
        keywords = _terms(ctx, f"{where}.keywords", cm.get("keywords"))
        if not keywords and query is None:
            raise ctx.fail(where, "needs keywords or a query")
        campaigns.append(
            CampaignConfig(
                id=campaign_id,
                name=name,
                keywords=keywords,
                query=query,
                require_any=_terms(ctx, f"{where}.require_any", cm.get("require_any")),
                exclude=_terms(ctx, f"{where}.exclude", cm.get("exclude")),
                tags=_str_tuple(ctx, f"{where}.tags", cm.get("tags")),
            )
        )
    _unique(ctx, "campaigns", campaigns, lambda c: c.id)
    return tuple(campaigns)


def _roles(ctx: _Ctx, raw: Any) -> RolesConfig:
    """`roles:` maps OIDC sign-ins to roles: `admin:`, `editor:`, `viewer:` list e-mail addresses or
    "@domain"; `default:` is the role of anyone else (`none` turns them away)."""
    if raw is None:
        return RolesConfig()
    data = _as_mapping(ctx, "roles", raw)
    _check_keys(ctx, "roles", data, {"default", *(r.value for r in Role)})
    default_raw = str(data.get("default", Role.VIEWER.value)).strip().lower()
    if default_raw not in {"none", *(r.value for r in Role)}:
        raise ctx.fail("roles.default", f"unknown role {default_raw!r} (use viewer, editor, admin or none)")
    emails: dict[str, Role] = {}
    for role in Role:
        for i, item in enumerate(_as_list(ctx, f"roles.{role.value}", data.get(role.value))):
            address = str(item).strip().lower()
            where = f"roles.{role.value}[{i}]"
            if "@" not in address or address.endswith("@") or " " in address:
                raise ctx.fail(where, f"{item!r} is not an e-mail address or an @domain")
            if address in emails:
                raise ctx.fail(where, f"{address} is already listed as {emails[address].value}")
            emails[address] = role
    return RolesConfig(default=None if default_raw == "none" else Role(default_raw), emails=tuple(emails.items()))


def _outlets(ctx: _Ctx, raw: Any) -> tuple[OutletPreset, ...]:
    """feeds.yml's outlets: what staff know about an outlet (README, "Outlets"). A URL or host is
    kept as its host; the stories step reduces it to the registrable domain."""
    out: list[OutletPreset] = []
    for i, o in enumerate(_as_list(ctx, "outlets", raw)):
        where = f"outlets[{i}]"
        om = _as_mapping(ctx, where, o)
        _check_keys(ctx, where, om, _OUTLET_KEYS)
        given = _as_str(ctx, f"{where}.domain", om.get("domain"), required=True).strip().lower()
        host = _split_url(ctx, f"{where}.domain", given if "//" in given else f"//{given}").hostname or ""
        if not _HOST_RE.match(host):
            raise ctx.fail(f"{where}.domain", f"expected a domain like inquirer.com, got {given!r}")
        state = _as_str(ctx, f"{where}.state", om.get("state")).strip()
        if state and state.lower() not in _US_STATES:
            raise ctx.fail(f"{where}.state", f"expected a US state code (PA, NY…), got {state!r}")
        tier = _as_str(ctx, f"{where}.tier", om.get("tier")).strip().lower()
        if tier and tier not in _OUTLET_TIERS:
            raise ctx.fail(f"{where}.tier", f"expected one of {', '.join(_OUTLET_TIERS)}, got {tier!r}")
        out.append(OutletPreset(domain=host, name=_as_str(ctx, f"{where}.name", om.get("name")).strip(),
                                state=state.upper(), place=_as_str(ctx, f"{where}.place", om.get("place")).strip(),
                                tier=tier))
    _unique(ctx, "outlets", out, lambda o: o.domain)
    return tuple(out)


def parse_config(data: Any, path: str = "<config>", base_dir: Path | None = None) -> Config:
    """Validate already-loaded YAML data. Pure except for reading members_file."""
    ctx = _Ctx(path)
    if data is None:
        data = {}
    top = _as_mapping(ctx, "top level", data)
    _check_keys(ctx, "top level", top, _TOP_KEYS)
    base = base_dir if base_dir is not None else Path(path).resolve().parent
    members = [
        _member(ctx, f"members[{i}]", _as_mapping(ctx, f"members[{i}]", m))
        for i, m in enumerate(_as_list(ctx, "members", top.get("members")))
    ]
    members += _members_file(ctx, base, top.get("members_file"))
    _unique(ctx, "members", members, lambda m: m.id)
    settings = _settings(ctx, top.get("settings"), base)
    if not settings.surname_mentions:
        members = [replace(m, surname_mentions=False) for m in members]
    campaigns = _campaigns(ctx, top.get("campaigns"))
    config = Config(
        path=path,
        settings=settings,
        feeds=_feeds(ctx, top.get("feeds"), base, frozenset(
            [f"member:{m.id}" for m in members] + [f"campaign:{c.id}" for c in campaigns])),
        searches=_searches(ctx, top.get("searches")),
        members=tuple(members),
        campaigns=campaigns,
        notify=parse_notify(ctx, top.get("notify"), members, campaigns),
        roles=_roles(ctx, top.get("roles")),
        outlets=_outlets(ctx, top.get("outlets")),
    )
    _export_targets(ctx, config, base)
    search_feeds = expand_searches(config)
    _one_feed_per_url(ctx, config.feeds, search_feeds)
    return replace(config, search_feeds=search_feeds)


def _export_targets(ctx: _Ctx, config: Config, base: Path) -> None:
    """An export's member or campaign must be one the config has (a typo wrote an empty file every cycle),
    and no two exports may write one file (each overwrote the other, every cycle)."""
    members = {m.id for m in config.members}
    campaigns = {c.id for c in config.campaigns}
    paths: dict[Path, int] = {}
    for i, target in enumerate(config.settings.exports):
        where = f"settings.exports[{i}]"
        if target.member is not None and target.member not in members:
            raise ctx.fail(f"{where}.member", f"no member {target.member!r} in this config")
        if target.campaign is not None and target.campaign not in campaigns:
            raise ctx.fail(f"{where}.campaign", f"no campaign {target.campaign!r} in this config")
        path = Path(target.path) if Path(target.path).is_absolute() else base / target.path
        key = Path(os.path.normpath(path))
        if key in paths:
            raise ctx.fail(f"{where}.path", f"settings.exports[{paths[key]}] writes {target.path} too: one file each")
        paths[key] = i


def _one_feed_per_url(ctx: _Ctx, listed: Sequence[FeedConfig], generated: Sequence[FeedConfig]) -> None:
    """Two members with the same name and no jurisdiction (or a template listed twice, or a listed feed
    that is a generated one) make one search feed twice: refused here, or every ingest would fail on
    it, and the one feed would poll for whichever came last."""
    first: dict[str, FeedConfig] = {f.id: f for f in listed}
    for feed in generated:
        other = first.get(feed.id)
        if other is None:
            first[feed.id] = feed
        elif other.kind == "search" and other in generated:
            raise ctx.fail("searches", f"{other.search_for} and {feed.search_for} make the same search feed "
                                       f"({feed.url}): give one a jurisdiction or an alias, or list the template once")
        else:
            raise ctx.fail("feeds", f"{other.url} is the search feed generated for {feed.search_for}: "
                                    "remove it from feeds (searches: makes it)")


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found (use --config or TRACKER_CONFIG)") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text (save it as UTF-8)") from None
    with _gc_paused():
        return parse_config(_parse_yaml(text, p), str(p), p.resolve().parent)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading makes tens of thousands of YAML nodes and containers that all live until it ends; the
    cyclic GC scanning them again and again took a third of the time (2,000 members: 0.27 -> 0.18 s CPU)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_yaml(text: str, p: Path) -> Any:
    """libyaml's loader (CSafeLoader) when PyYAML was built with it, else the pure-Python SafeLoader.

    libyaml words its errors differently, so a file it refuses is read again by SafeLoader: the
    message names the same line and column either way, in the words it has always used.
    """
    import yaml  # here, not at the top: commands that read no config never import it

    fast, plain = _strict_loaders(yaml)
    try:
        try:
            return yaml.load(text, Loader=fast)
        except yaml.YAMLError:
            if fast is plain:
                raise
            return yaml.load(text, Loader=plain)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}: {where}: invalid YAML ({problem})") from None


@functools.cache
def _strict_loaders(yaml: Any) -> tuple[Any, Any]:
    """libyaml's loader (when built) and the pure-Python one, both refusing a key written twice in one
    mapping: YAML keeps the last, so a second `feeds:` pasted at the bottom of the file silently
    dropped the first block's feeds."""
    from yaml.constructor import ConstructorError, SafeConstructor

    def construct_mapping(self: Any, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base constructor says so
                break
            if duplicate:
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       f"found key {key!r} twice; YAML would keep only the last", key_node.start_mark)
            seen.add(key)
        return SafeConstructor.construct_mapping(self, node, deep)

    def construct_timestamp(self: Any, node: Any) -> Any:
        # YAML reads 2026-11-31 as a date and lets Python's date() raise: a traceback, not a line number.
        try:
            return SafeConstructor.construct_yaml_timestamp(self, node)
        except ValueError as exc:
            raise ConstructorError(None, None, f"{node.value!r} is not a real date ({exc})", node.start_mark) from None

    plain = type("StrictSafeLoader", (yaml.SafeLoader,), {"construct_mapping": construct_mapping})
    c_loader = getattr(yaml, "CSafeLoader", None)
    fast = type("StrictCSafeLoader", (c_loader,), {"construct_mapping": construct_mapping}) if c_loader else plain
    loaders: set[Any] = {fast, plain}
    for loader in loaders:
        loader.add_constructor("tag:yaml.org,2002:timestamp", construct_timestamp)
    return fast, plain


# Google ignores the words of a query past the 32nd; Bing documents no limit. Every generated query
# stays within 32 words (OR and -word count as words) and 400 characters, for both engines; a
# longer one is split into several search feeds for the same member or campaign.
SEARCH_QUERY_MAX_WORDS = 32
SEARCH_QUERY_MAX_CHARS = 400


def _quoted(text: str) -> str:
    return '"' + text.replace('"', " ").strip() + '"'


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.casefold()))


def _distinct_phrases(phrases: Iterable[str]) -> list[str]:
    """Phrases without those another one already finds: a search for "Kendra Brooks" also returns
    every page saying "Councilmember Kendra Brooks", so that alias would only lengthen the query."""
    kept: list[tuple[str, tuple[str, ...]]] = []
    candidates = [(p, _words(p)) for p in phrases if _words(p)]
    for phrase, words in candidates:
        def found_by(other: tuple[str, ...], words: tuple[str, ...] = words) -> bool:
            n = len(other)
            return any(words[i : i + n] == other for i in range(len(words) - n + 1))

        if any(found_by(other) for p, other in candidates if p != phrase and other != words and len(other) < len(words)):
            continue
        if any(other == words for _, other in kept):
            continue
        kept.append((phrase, words))
    return [p for p, _ in kept]


def _query_words(query: str) -> int:
    return len(query.replace("(", " ").replace(")", " ").split())


def _fits(query: str) -> bool:
    return _query_words(query) <= SEARCH_QUERY_MAX_WORDS and len(query) <= SEARCH_QUERY_MAX_CHARS


_SINGLE_TERM_RE = re.compile(r'"[^"]*"|[\w-]+')


def _joined(alternatives: list[str], context: str) -> str:
    if len(alternatives) > 1:
        # Google binds OR tighter than adjacency: `"a" OR b c` would mean "a" OR b, AND c.
        alternatives = [a if _SINGLE_TERM_RE.fullmatch(a) else f"({a})" for a in alternatives]
    body = " OR ".join(alternatives)
    if context:
        return f"({body}) {context}" if len(alternatives) > 1 else f"{body} {context}"
    return body


def _packed(alternatives: list[str], context: str = "") -> tuple[str, ...]:
    """One query OR-ing the alternatives (AND the context), or several when one would be too long.

    An alternative too long on its own gets a query of its own, which the engine cuts short.
    """
    queries: list[str] = []
    current: list[str] = []
    for alternative in alternatives:
        if current and not _fits(_joined([*current, alternative], context)):
            queries.append(_joined(current, context))
            current = []
        current.append(alternative)
    if current:
        queries.append(_joined(current, context))
    return tuple(queries)


def search_queries_for_member(member: MemberConfig) -> tuple[str, ...]:
    """The news-search queries for a member: the name and aliases, quoted and OR-ed, and the place
    for context: `("Kendra Brooks" OR "Councilmember Brooks") Philadelphia`."""
    phrases = _distinct_phrases([member.name, *member.aliases])
    return _packed([_quoted(p) for p in phrases], member.jurisdiction)


def search_queries_for_campaign(campaign: CampaignConfig) -> tuple[str, ...]:
    """The news-search queries for a campaign: its keywords, quoted and OR-ed, OR its query in the
    engines' syntax (tracker.query.engine_query: NEAR becomes AND)."""
    from tracker.query import Or, engine_query, parse_query

    alternatives = [_quoted(p) for p in _distinct_phrases(k.text for k in campaign.keywords)]
    if campaign.query:
        node = parse_query(campaign.query)
        # A top-level OR splits into its alternatives, so that a long query can be spread over feeds.
        for part in node.children if isinstance(node, Or) else (node,):
            alternatives.append(engine_query(part))
    return _packed(alternatives or [_quoted(campaign.name)])


def expand_searches(config: Config) -> tuple[FeedConfig, ...]:
    """Search feeds per member/campaign and search template: one each, or several when the query is long.

    A feed's id is a hash of its URL, so a member whose query did not change keeps its feed and history.
    """
    out: list[FeedConfig] = []
    for search in config.searches:
        targets: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = []
        if "members" in search.for_:
            targets += [
                (f"member:{m.id}", m.name, search_queries_for_member(m), m.tags)
                for m in config.members
            ]
        if "campaigns" in search.for_:
            targets += [
                (f"campaign:{c.id}", c.name, search_queries_for_campaign(c), c.tags)
                for c in config.campaigns
            ]
        for target, name, queries, tags in targets:
            for n, query in enumerate(queries, start=1):
                url = search.template.replace("{query}", quote_plus(query))
                out.append(
                    FeedConfig(
                        id=feed_id_for_url(url),
                        url=url,
                        name=f"Search: {name}" + (f" ({n}/{len(queries)})" if len(queries) > 1 else ""),
                        tags=tags,
                        kind="search",
                        search_for=target,
                    )
                )
    return tuple(out)


# ---------------------------------------------------------------- notify: (README, "Telling the team")

_NOTIFY_KEYS = {"smtp", "digests", "webhooks"}
_SMTP_KEYS = {"host", "port", "security", "sender", "username_env", "password_env", "timeout_s"}
_DIGEST_KEYS = {"name", "recipients", "schedule", "timezone", "filter", "subject", "send_empty"}
_WEBHOOK_KEYS = {"name", "url", "kind", "events", "filter", "spike_ratio", "spike_min_stories", "timezone",
                 "max_per_hour"}
_FILTER_KEYS = {"members", "campaigns", "chapters", "status"}
# Keys that would put a secret in the file: refused with a pointer to the environment instead.
_SECRET_KEYS = {"password", "username", "user", "login", "token"}
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")


def _timezone(ctx: _Ctx, where: str, raw: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = _as_str(ctx, where, raw) or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ctx.fail(where, f"unknown time zone {name!r} (e.g. America/New_York)") from None
    return name


def _address(ctx: _Ctx, where: str, raw: Any) -> str:
    address = _as_str(ctx, where, raw, required=True)
    if not _ADDRESS_RE.match(address):
        raise ctx.fail(where, f"{address!r} is not an e-mail address")
    return address


def _positive(ctx: _Ctx, where: str, raw: Any, *, whole: bool = False) -> Any:
    if (isinstance(raw, bool) or not isinstance(raw, int if whole else int | float) or not raw > 0
            or not math.isfinite(raw)):  # NaN is never > 0; infinity is no ratio either
        raise ctx.fail(where, "expected a positive whole number" if whole else "expected a positive number")
    return raw


def _smtp(ctx: _Ctx, raw: Any) -> SmtpConfig | None:
    if raw is None:
        return None
    data = _as_mapping(ctx, "notify.smtp", raw)
    secrets = sorted(_SECRET_KEYS & set(data))
    if secrets:
        raise ctx.fail(f"notify.smtp.{secrets[0]}", "credentials never go in this file: set the environment "
                       "variables named by username_env/password_env, or [smtp] in .streamlit/secrets.toml")
    _check_keys(ctx, "notify.smtp", data, _SMTP_KEYS)
    security = _as_str(ctx, "notify.smtp.security", data.get("security")) or "starttls"
    if security not in ("starttls", "tls", "none"):
        raise ctx.fail("notify.smtp.security", f"unknown {security!r} (starttls, tls or none)")
    port = _positive(ctx, "notify.smtp.port", data.get("port", 465 if security == "tls" else 587), whole=True)
    if port > 65535:
        raise ctx.fail("notify.smtp.port", "expected a port number (1-65535)")
    kwargs: dict[str, Any] = {}
    for key in ("username_env", "password_env"):
        if key in data:
            env = _as_str(ctx, f"notify.smtp.{key}", data[key], required=True)
            if not _ENV_NAME_RE.match(env):
                raise ctx.fail(f"notify.smtp.{key}", f"{env!r} is not an environment variable name")
            kwargs[key] = env
    if "timeout_s" in data:
        kwargs["timeout_s"] = float(_positive(ctx, "notify.smtp.timeout_s", data["timeout_s"]))
    return SmtpConfig(
        host=_as_str(ctx, "notify.smtp.host", data.get("host"), required=True),
        port=port,
        security=security,  # type: ignore[arg-type]
        sender=_address(ctx, "notify.smtp.sender", data.get("sender")),
        **kwargs,
    )


def _notify_filter(ctx: _Ctx, where: str, raw: Any, member_ids: set[str], campaign_ids: set[str],
                   chapters: set[str]) -> NotifyFilter:
    if raw is None:
        return NotifyFilter()
    data = _as_mapping(ctx, where, raw)
    _check_keys(ctx, where, data, _FILTER_KEYS)
    members = _str_tuple(ctx, f"{where}.members", data.get("members"))
    for m in members:
        if m not in member_ids:
            raise ctx.fail(f"{where}.members", f"no member with id {m!r}")
    campaigns = _str_tuple(ctx, f"{where}.campaigns", data.get("campaigns"))
    for c in campaigns:
        if c not in campaign_ids:
            raise ctx.fail(f"{where}.campaigns", f"no campaign with id {c!r}")
    wanted_chapters = _str_tuple(ctx, f"{where}.chapters", data.get("chapters"))
    for ch in wanted_chapters:
        if ch.casefold() not in chapters:
            raise ctx.fail(f"{where}.chapters", f"no member has chapter or state {ch!r}")
    raw_status = data.get("status")
    statuses: tuple[ClipStatus, ...] = NotifyFilter().statuses
    if raw_status is not None:
        names = _str_tuple(ctx, f"{where}.status", raw_status)
        for n in names:
            if n not in ("new", "approved"):
                raise ctx.fail(f"{where}.status", f"unknown status {n!r} (new or approved)")
        statuses = tuple(ClipStatus(n) for n in names)
    return NotifyFilter(members=members, campaigns=campaigns, chapters=wanted_chapters, statuses=statuses)


def _named_entries(ctx: _Ctx, section: str, raw: object,
                   keys: set[str]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Each entry of a list of named mappings (digests, webhooks): where it is for error messages
    ("notify.digests[0] (weekly)"), its name, and its checked keys."""
    for i, entry in enumerate(_as_list(ctx, section, raw)):
        where = f"{section}[{i}]"
        mapping = _as_mapping(ctx, where, entry)
        _check_keys(ctx, where, mapping, keys)
        name = _notify_name(ctx, f"{where}.name", mapping.get("name"))
        yield f"{section}[{i}] ({name})", name, mapping


def _notify_name(ctx: _Ctx, where: str, raw: Any) -> str:
    name = _as_str(ctx, where, raw, required=True)
    if not _NAME_RE.match(name):
        raise ctx.fail(where, f"{name!r}: use letters, digits, spaces, '.', '_' and '-'")
    return name


def _subject(ctx: _Ctx, where: str, raw: Any) -> str:
    """A digest's subject line: one line (a header cannot hold a line break; YAML's `>` with a blank
    line makes one)."""
    subject = _as_str(ctx, where, raw)
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in subject):
        raise ctx.fail(where, "must be one line, without line breaks, tabs or other control characters")
    return subject


def parse_notify(ctx: _Ctx, raw: Any, members: Iterable[MemberConfig],
                 campaigns: Iterable[CampaignConfig]) -> NotifyConfig:
    if raw is None:
        return NotifyConfig()
    data = _as_mapping(ctx, "notify", raw)
    _check_keys(ctx, "notify", data, _NOTIFY_KEYS)
    members = list(members)
    member_ids = {m.id for m in members}
    campaign_ids = {c.id for c in campaigns}
    chapters = {v.casefold() for m in members for v in (m.chapter, m.state) if v}
    smtp = _smtp(ctx, data.get("smtp"))
    digests: list[DigestConfig] = []
    for where, name, dm in _named_entries(ctx, "notify.digests", data.get("digests"), _DIGEST_KEYS):
        recipients = tuple(_address(ctx, f"{where}.recipients[{j}]", r)
                           for j, r in enumerate(_as_list(ctx, f"{where}.recipients", dm.get("recipients"))))
        if not recipients:
            raise ctx.fail(f"{where}.recipients", "needs at least one address")
        timezone = _timezone(ctx, f"{where}.timezone", dm.get("timezone"))
        schedule = _as_str(ctx, f"{where}.schedule", dm.get("schedule")) or DigestConfig.schedule
        _check_cron(ctx, schedule, f"{where}.schedule", timezone)
        send_empty = dm.get("send_empty", False)
        if not isinstance(send_empty, bool):
            raise ctx.fail(f"{where}.send_empty", "expected true or false")
        digests.append(DigestConfig(
            name=name, recipients=recipients, schedule=schedule, timezone=timezone,
            filter=_notify_filter(ctx, f"{where}.filter", dm.get("filter"), member_ids, campaign_ids, chapters),
            subject=_subject(ctx, f"{where}.subject", dm.get("subject")), send_empty=send_empty,
        ))
    _unique(ctx, "notify.digests", digests, lambda d: d.name)
    if digests and smtp is None:
        raise ctx.fail("notify.smtp", "digests need an smtp server (host, sender)")
    webhooks: list[WebhookConfig] = []
    for where, name, wm in _named_entries(ctx, "notify.webhooks", data.get("webhooks"), _WEBHOOK_KEYS):
        url = _as_str(ctx, f"{where}.url", wm.get("url"), required=True)
        parts = _split_url(ctx, f"{where}.url", url, secret=True)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ctx.fail(f"{where}.url", "expected an http(s):// webhook URL")
        kind = _as_str(ctx, f"{where}.kind", wm.get("kind")) or "slack"
        if kind not in ("slack", "teams"):
            raise ctx.fail(f"{where}.kind", f"unknown kind {kind!r} (slack or teams)")
        events = _str_tuple(ctx, f"{where}.events", wm.get("events", list(WebhookConfig.events)))
        for e in events:
            if e not in ("new_clips", "spike", "failing_feeds"):
                raise ctx.fail(f"{where}.events", f"unknown event {e!r} (new_clips, spike, failing_feeds)")
        kwargs: dict[str, Any] = {}
        if "spike_ratio" in wm:
            kwargs["spike_ratio"] = float(_positive(ctx, f"{where}.spike_ratio", wm["spike_ratio"]))
        for key in ("spike_min_stories", "max_per_hour"):
            if key in wm:
                kwargs[key] = _positive(ctx, f"{where}.{key}", wm[key], whole=True)
        webhooks.append(WebhookConfig(
            name=name, url=url, kind=kind, events=events,  # type: ignore[arg-type]
            filter=_notify_filter(ctx, f"{where}.filter", wm.get("filter"), member_ids, campaign_ids, chapters),
            timezone=_timezone(ctx, f"{where}.timezone", wm.get("timezone")), **kwargs,
        ))
    _unique(ctx, "notify.webhooks", webhooks, lambda w: w.name)
    return NotifyConfig(smtp=smtp, digests=tuple(digests), webhooks=tuple(webhooks))

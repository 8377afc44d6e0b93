"""The dashboard's only door to data: every page calls these functions, never the store directly.

Reads are cached briefly (st.cache_data) and the cache is cleared on every write, so
a decision shows at once for the person who made it and within seconds for others.
Writes go through tracker.review / tracker.enrich: the same code the CLI runs, audited
with the signed-in user.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard.keys import Key
from tracker import review, syndication
from tracker.clock import Clock, system_clock
from tracker.config import load_config
from tracker.demo import demo_config
from tracker.demo_mode import demo_db_url, demo_requested
from tracker.demo_mode import demo_mode as demo_mode_for
from tracker.enrich import PageMeta, add_clip_from_page, fetch_page_meta, match_page
from tracker.errors import (
    ConfigError,
    ExportError,
    NotAWebAddress,
    NotFoundError,
    NotifyError,
    TrackerError,
)
from tracker.export import Registry, render_card
from tracker.export.html_writer import preview_css
from tracker.health import FeedStatus, HealthReport, health_report, plain_problem
from tracker.history import describe_history
from tracker.models import (
    Actor,
    AuditEntry,
    CampaignConfig,
    ClipEdit,
    ClipFilter,
    ClipPage,
    ClipStatus,
    ClipView,
    Config,
    DeliveryView,
    MemberConfig,
    Mention,
    NotifyConfig,
    OutletEdit,
    OutletView,
    PublishedPage,
    Role,
    RolesConfig,
    Undo,
    UndoResult,
    staff_mention,
)
from tracker.rematch import RuleTrial, try_rule
from tracker.report import CoverageReport, ReportFormat, ReportRequest, build_report, render_report
from tracker.resolve.resolver import publisher_link
from tracker.roles import Permission, can, require, role_for_email
from tracker.store import Store, resolve_db_url
from tracker.users import UsersFile

CONFIG_ENV = "TRACKER_CONFIG"
DEFAULT_CONFIG = "feeds.yml"
READ_TTL_S = 30  # short: several staff review at once, and ingest adds clips hourly
# 15, not 25: a card costs the browser ~14 ms to draw, and the queue's first load is the desk's
# slowest moment (bench/README.md, "Dashboard in a browser"); a screen shows about five cards.
PAGE_SIZE = 15
PUBLISHED_PAGE_SIZE = 20  # five buttons a row: more rows would make the page slow to draw
# The dashboard's one source of "now" (audit stamps, Insights windows, feed health).
clock: Clock = system_clock

__all__ = [
    "PAGE_SIZE", "PUBLISHED_PAGE_SIZE", "AuditEntry", "ClipStatus", "ClipView", "DeliveryView", "HealthReport",
    "OutletEdit", "OutletView", "PageMeta", "Permission", "PublishedPage", "QueueQuery", "RuleTrial", "TrackerError",
    "Undo",
    "UndoResult",
]


# ------------------------------------------------------------------ environment


def _demo_requested() -> bool:
    return demo_requested("--demo" in sys.argv[1:], os.environ)


def demo_refusal() -> str | None:
    """Why demo mode was asked for but refused (sign-in is then required), for the sign-in page."""
    try:
        demo_mode_for(_demo_requested(), db_url())
    except TrackerError as exc:
        return str(exc)
    return None


def demo_mode() -> bool:
    """`-- --demo` or TRACKER_DEMO=1, on the demo's own database only (tracker.demo_mode's rule):
    signed in as "demo", no password. Refused anywhere else, and then everyone signs in."""
    try:
        return demo_mode_for(_demo_requested(), db_url())
    except TrackerError:
        return False


def db_url() -> str:
    try:
        if _demo_requested():
            return demo_db_url(os.environ.get("TRACKER_DATABASE_URL"))
    except TrackerError:
        pass  # a TRACKER_DEMO value that means nothing: not demo mode, the configured database
    return resolve_db_url(None)


def config_path() -> str:
    return os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def store() -> Store:
    return _store(db_url())


@st.cache_resource(show_spinner=False)
def _config(path: str, mtime: float, demo: bool) -> Config:
    if mtime < 0:
        return demo_config(path) if demo else Config(path=path)
    return load_config(path)


def config() -> Config:
    """feeds.yml as of its last change; reloaded when the file changes."""
    path = config_path()
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        mtime = -1.0
    return _config(path, mtime, demo_mode())


def config_problem() -> str | None:
    """Why feeds.yml could not be used, for a banner; None when fine."""
    path = config_path()
    if not Path(path).exists():
        return None if demo_mode() else f"{path} not found: member and campaign names are shown as ids"
    try:
        config()
    except ConfigError as exc:
        return str(exc)
    return None


def safe_config() -> Config:
    try:
        return config()
    except ConfigError:
        return Config(path=config_path())


def _config_for_exports() -> Config | None:
    """Exports are regenerated only from a real feeds.yml, and never in demo mode: a demo
    approval must not put sample clips on the live website."""
    if demo_mode() or not Path(config_path()).exists():
        return None
    return safe_config()


def registry() -> Registry:
    return Registry.from_config(safe_config())


def members() -> tuple[MemberConfig, ...]:
    return safe_config().members


def campaigns() -> tuple[CampaignConfig, ...]:
    return safe_config().campaigns


# ------------------------------------------------------------------ users


def users_file() -> UsersFile:
    return UsersFile()


def check_password(username: str, password: str) -> bool:
    return users_file().verify(username, password)


def has_local_users() -> bool:
    return bool(users_file().load())


def oidc_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return False


def role_of(user: str) -> Role | None:
    """The signed-in user's role: admin in demo mode (its own database only); by e-mail from feeds.yml
    `roles:` with OIDC; else from the users file. None: not (or no longer) allowed in."""
    if demo_mode():
        return Role.ADMIN
    if oidc_configured():
        return role_for_email(oidc_roles(), user)
    return users_file().role_of(user)


_LAST_GOOD_ROLES: dict[str, RolesConfig] = {}  # feeds.yml path -> the roles it last gave


def oidc_roles() -> RolesConfig:
    """feeds.yml `roles:`. While the file is broken or missing, the roles it last gave in this process, else
    nobody's: the fallback config's default (viewer) would let in everyone the provider admits, even where
    `default: none` keeps the desk to listed staff."""
    path = config_path()
    if Path(path).exists():
        try:
            roles = config().roles
        except ConfigError:
            pass
        else:
            _LAST_GOOD_ROLES[path] = roles
            return roles
    return _LAST_GOOD_ROLES.get(path, RolesConfig(default=None))


def no_admin_problem() -> str | None:
    """With OIDC, a feeds.yml that names no admin (as every file did before roles): nobody can set the
    published order, and nothing in the dashboard can change that. Said on every page until fixed."""
    if demo_mode() or not oidc_configured():
        return None
    roles = oidc_roles()
    if roles.default is Role.ADMIN or any(role is Role.ADMIN for _, role in roles.emails):
        return None
    return ("Nobody is an admin: add an address under `roles: admin:` in feeds.yml so someone can set the "
            "published order and featured clips.")


def account_stamp(user: str) -> str | None:
    """What a local sign-in holds on to: a digest of the account's password hash (None: no such account).
    A new password, or the account removed and made again, signs out every session of the old one."""
    record = users_file().load().get(user)
    return hashlib.sha256(record.password_hash.encode()).hexdigest()[:32] if record is not None else None


def actor(user: str) -> Actor:
    """Who every write below acts as: the user with their role, looked up afresh on each write, so a
    role taken away applies at once. Someone with no role acts as a viewer: refused every change, and
    so is a local session whose password was changed since it signed in (a button's callback runs
    before app.py could sign it out)."""
    if signed_in_before_a_reset(user):
        return Actor(user, Role.VIEWER)
    return Actor(user, role_of(user) or Role.VIEWER)


def signed_in_before_a_reset(user: str) -> bool:
    """A local session whose account's password changed (or was removed) since it signed in."""
    if demo_mode() or oidc_configured() or st.session_state.get(Key.USER) != user:
        return False
    return st.session_state.get(Key.USER_STAMP) != account_stamp(user)


def may(user: str, permission: Permission) -> bool:
    """Whether to show a control at all (the functions below refuse anyway)."""
    return can(actor(user), permission)


# ------------------------------------------------------------------ review queue


@dataclass(frozen=True)
class QueueQuery:
    """The review queue's filters as the page holds them (all optional)."""

    status: str | None = ClipStatus.NEW.value
    member: str | None = None
    campaign: str | None = None
    outlet: str | None = None
    state: str | None = None  # a member state or chapter: clips mentioning any member of it
    tag: str | None = None  # a feed tag (state feeds, topic lists) or a staff tag on the clip
    since: date | None = None
    until: date | None = None  # inclusive
    text: str | None = None
    primary_only: bool = True  # one card per story (README, "Stories")

    def to_filter(self, cfg: Config) -> ClipFilter:
        member_ids = None
        if self.state:
            wanted = self.state.lower()
            member_ids = tuple(m.id for m in cfg.members if wanted in (m.state.lower(), m.chapter.lower()))
        return ClipFilter(
            status=ClipStatus(self.status) if self.status else None,
            member=self.member or None,
            campaign=self.campaign or None,
            outlet=self.outlet or None,
            member_ids=member_ids,
            any_tag=self.tag or None,  # "pa" finds clips from PA's feeds and clips staff tagged pa
            since=_day_start(self.since) if self.since else None,
            until=_day_start(self.until) + timedelta(days=1) if self.until else None,
            text=(self.text or "").strip() or None,
            primary_only=self.primary_only,
        )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _clip_page(url: str, f: ClipFilter, cursor: str | None, limit: int) -> ClipPage:
    return _store(url).list_clips(f, limit=limit, cursor=cursor, with_total=True)


def clip_page(query: QueueQuery, cursor: str | None = None, limit: int = PAGE_SIZE) -> ClipPage:
    return _clip_page(db_url(), query.to_filter(safe_config()), cursor, limit)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _finds_any(url: str, f: ClipFilter) -> bool:
    return bool(_store(url).list_clips(f, limit=1).clips)


def finds_any(query: QueueQuery) -> bool:
    """Whether these filters find a clip at all (one is read, none counted)."""
    return _finds_any(db_url(), query.to_filter(safe_config()))


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _status_counts(url: str) -> dict[str, int]:
    s = _store(url)
    # Stories, not copies: a story is reviewed (and published) through its primary.
    return {status.value: s.count_clips(ClipFilter(status=status, primary_only=True)) for status in ClipStatus}


def status_counts() -> dict[str, int]:
    return _status_counts(db_url())


@st.cache_data(ttl=300, show_spinner=False)
def _outlets(url: str) -> list[str]:
    return _store(url).outlets()


def outlets() -> list[str]:
    return _outlets(db_url())


def states() -> list[str]:
    cfg = safe_config()
    return sorted({v for m in cfg.members for v in (m.state, m.chapter) if v})


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _staff_tags(url: str) -> list[str]:
    return _store(url).staff_tags()


def tags() -> list[str]:
    """The tag filter's choices: the feeds' tags (states, topic lists) and the tags staff gave clips."""
    return sorted({t for f in safe_config().all_feeds() for t in f.tags} | set(_staff_tags(db_url())))


# Feed tags are mostly state codes (feeds.yml: `tags: [pa]`); staff know states by name.
_US_STATES = {
    "al": "Alabama", "ak": "Alaska", "az": "Arizona", "ar": "Arkansas", "ca": "California", "co": "Colorado",
    "ct": "Connecticut", "de": "Delaware", "dc": "District of Columbia", "fl": "Florida", "ga": "Georgia",
    "hi": "Hawaii", "id": "Idaho", "il": "Illinois", "in": "Indiana", "ia": "Iowa", "ks": "Kansas",
    "ky": "Kentucky", "la": "Louisiana", "me": "Maine", "md": "Maryland", "ma": "Massachusetts", "mi": "Michigan",
    "mn": "Minnesota", "ms": "Mississippi", "mo": "Missouri", "mt": "Montana", "ne": "Nebraska", "nv": "Nevada",
    "nh": "New Hampshire", "nj": "New Jersey", "nm": "New Mexico", "ny": "New York", "nc": "North Carolina",
    "nd": "North Dakota", "oh": "Ohio", "ok": "Oklahoma", "or": "Oregon", "pa": "Pennsylvania",
    "ri": "Rhode Island", "sc": "South Carolina", "sd": "South Dakota", "tn": "Tennessee", "tx": "Texas",
    "ut": "Utah", "vt": "Vermont", "va": "Virginia", "wa": "Washington", "wv": "West Virginia", "wi": "Wisconsin",
    "wy": "Wyoming",
}


def tag_label(tag: str) -> str:
    """A tag as staff say it: a state code by the state's name ("mn" → "Minnesota (MN)"), any
    other tag with its dashes made spaces ("good-cause" → "good cause")."""
    name = _US_STATES.get(tag.lower())
    if name:
        return f"{name} ({tag.upper()})"
    return tag.replace("-", " ").replace("_", " ")


# ------------------------------------------------------------------ single clips


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _clip(url: str, clip_id: str) -> ClipView:
    return _store(url).get_clip(clip_id)


def clip(clip_id: str) -> ClipView:
    return _clip(db_url(), clip_id)


def clip_version(clip_id: str) -> int | None:
    """The clip's version as stored now (not the read cache's); None when it is gone."""
    try:
        return store().get_clip(clip_id).version
    except NotFoundError:
        return None


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _history(url: str, clip_id: str) -> list[AuditEntry]:
    return _store(url).history(clip_id)


def history(clip_id: str) -> list[AuditEntry]:
    return _history(db_url(), clip_id)


def history_lines(clip_view: ClipView) -> list[str]:
    """The clip's history as sentences, newest first (tracker.history)."""
    reg = registry()
    names = {f"member:{i}": n for i, n in reg.members.items()} | {f"campaign:{i}": n for i, n in reg.campaigns.items()}
    entries = history(clip_view.id)
    return [f"{e.at:%Y-%m-%d %H:%M} UTC · {line}"
            for e, line in reversed(list(zip(entries, describe_history(entries, clip_view, names), strict=True)))]


def clips(clip_ids: Sequence[str]) -> list[ClipView]:
    out = []
    for clip_id in clip_ids:
        try:
            out.append(clip(clip_id))
        except TrackerError:
            continue  # removed since: nothing to show
    return out


def recent_clips(limit: int = 60, text: str | None = None) -> list[ClipView]:
    """For the editor's picker: newest clips that are not rejected."""
    page = _clip_page(db_url(), ClipFilter(text=(text or "").strip() or None), None, limit)
    return [c for c in page.clips if c.status is not ClipStatus.REJECTED]


def preview_html(clip_view: ClipView) -> str:
    """The clip's card exactly as the HTML export renders it, with the export's suggested styles
    scoped to the preview box (they style `body`, which must not restyle the dashboard)."""
    rules = []
    for block in preview_css().split("}"):
        if "{" not in block:
            continue
        selectors, body = block.split("{", 1)
        selectors = selectors.split("*/")[-1].strip()
        if selectors == "body":
            selectors = ""
        scoped = ", ".join(f".itn-preview {s.strip()}".strip() for s in selectors.split(","))
        rules.append(f"{scoped} {{{body}}}")
    return f"<style>{''.join(rules)}</style><div class='itn-preview'>{render_card(clip_view, registry())}</div>"


def with_edit(clip_view: ClipView, edit: ClipEdit) -> ClipView:
    """What the clip would look like with edit applied ("" returns a field to the feed's value)."""
    changes: dict[str, Any] = {}
    for attr, value in vars(edit).items():
        if value is None:
            continue
        changes[attr] = None if value == "" and attr not in ("featured", "position", "tags") else value
    return replace(clip_view, **changes)


# ------------------------------------------------------------------ writes (all audited)


def _invalidate() -> None:
    st.cache_data.clear()


@contextmanager
def _write() -> Iterator[None]:
    """One staff write: caches cleared after it; an export failure (the change itself is saved)
    becomes a banner until a later write succeeds, not a traceback."""
    try:
        yield
        st.session_state.pop(Key.EXPORT_PROBLEM, None)
    except ExportError as exc:
        st.session_state[Key.EXPORT_PROBLEM] = str(exc)
    finally:
        _invalidate()


def export_problem() -> str | None:
    problem = st.session_state.get(Key.EXPORT_PROBLEM)
    return str(problem) if problem else None


def set_status(clip_ids: Sequence[str], status: ClipStatus, user: str) -> int:
    changed = 0
    with _write():
        try:
            changed = review.set_status(store(), _config_for_exports(), list(clip_ids), status, actor(user),
                                        clock=clock)
        except ExportError as exc:
            changed = exc.changed  # saved all the same: the flash still says what happened
            raise
    return changed


def approve(clip_ids: Sequence[str], user: str) -> int:
    return set_status(clip_ids, ClipStatus.APPROVED, user)


def reject(clip_ids: Sequence[str], user: str) -> int:
    return set_status(clip_ids, ClipStatus.REJECTED, user)


def decide(clip_ids: Sequence[str], status: ClipStatus, user: str,
           *, shown: Mapping[str, int] | None = None) -> tuple[int, Undo, tuple[str, ...]]:
    """A status change, what takes it back (for the notice's Undo), and the clips left alone.

    With `shown` (each clip's version as the page showed it, read up to READ_TTL_S before), a clip
    someone changed since (a colleague's rejection, an edit) is left as it is rather than decided
    over: the page was out of date. A clip gone meanwhile (merged by the resolver, pruned) is left
    too, and the others are decided."""
    current = store().clip_versions(clip_ids)
    left = tuple(i for i in clip_ids if i not in current
                 or (shown is not None and i in shown and current[i][0] != shown[i]))
    ids = [i for i in clip_ids if i not in left]
    if not ids:
        return 0, Undo(), left
    record = review.status_undo(store(), ids, status)
    changed = set_status(ids, status, user)
    return changed, review.sealed(store(), record), left


def undo(record: Undo, user: str) -> UndoResult:
    """Take a decision back; clips a colleague changed since are left as they are (in the result)."""
    result = UndoResult(0)
    with _write():
        try:
            result = review.undo(store(), _config_for_exports(), record, actor(user), clock=clock)
        except ExportError as exc:
            result = UndoResult(exc.changed)  # taken back all the same: the notice says so
            raise
    return result


def publish_warnings(clip_ids: Sequence[str]) -> dict[str, list[str]]:
    """Clips that staff should look at again before they go on the website, with why.
    Asked in demo mode too: it is where staff learn the desk."""
    cfg = safe_config()
    found = {}
    for c in clips(clip_ids):
        problems = review.publish_warnings(cfg, c)
        if problems:
            found[c.id] = problems
    return found


def unpublish(clip_id: str, user: str) -> int:
    """Off the website and back into the review queue (not rejected: it may return)."""
    return set_status([clip_id], ClipStatus.NEW, user)


def edit(clip_id: str, clip_edit: ClipEdit, user: str, *, version: int | None = None,
         clear_position: bool = False) -> ClipView:
    """Save staff edits. With version (the one the editor opened), a save over someone else's later
    change is refused with StaleEditError."""
    with _write():
        review.edit_clip(store(), _config_for_exports(), clip_id, clip_edit, actor(user), expected_version=version,
                         clear_position=clear_position, clock=clock)
    return store().get_clip(clip_id)


def set_targets(clip_id: str, member_ids: Sequence[str], campaign_ids: Sequence[str],
                user: str, *, version: int | None = None) -> tuple[list[str], list[str]]:
    """Correct a clip's members/campaigns; returns what was (added, removed) as 'kind:id'. With the
    version the editor opened, a correction over a colleague's later change is refused."""
    before = store().get_clip(clip_id)
    with _write():
        review.set_targets(store(), _config_for_exports(), clip_id, member_ids, campaign_ids, actor(user), clock=clock,
                           expected_version=version)
    # Read back rather than use the return value: an export failure still saved the change.
    after = store().get_clip(clip_id)

    def targets(c: ClipView) -> set[str]:
        return {f"{m.kind}:{m.target_id}" for m in c.mentions}

    return sorted(targets(after) - targets(before)), sorted(targets(before) - targets(after))


def clear_position(clip_id: str, user: str) -> None:
    with _write():
        review.clear_position(store(), _config_for_exports(), clip_id, actor(user), clock=clock)


# ------------------------------------------------------------------ published


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _published(url: str, limit: int) -> list[ClipView]:
    return _store(url).list_published(limit)


def published(limit: int = 30) -> list[ClipView]:
    return _published(db_url(), limit)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _published_page(url: str, f: ClipFilter, offset: int, limit: int) -> PublishedPage:
    return _store(url).published_page(f, offset=offset, limit=limit)


def published_page(query: QueueQuery, offset: int = 0, limit: int = PUBLISHED_PAGE_SIZE) -> PublishedPage:
    """A page of the website's list; the query's filters narrow it, numbers stay the website's."""
    return _published_page(db_url(), replace(query, status=None).to_filter(safe_config()), offset, limit)


def published_at_number(number: int) -> str | None:
    """The id of the clip at place `number` on the website (1 = top), None past the end. Read fresh,
    not from the read cache: a move acts on it, and a colleague may have reordered meanwhile."""
    page = store().published_page(ClipFilter(), offset=max(number - 1, 0), limit=1)
    return page.clips[0].id if page.clips else None


def published_number(clip_id: str) -> int | None:
    """The clip's place on the website (1 = top), None when it is not published."""
    place = store().published_place(clip_id)
    if place is None:
        return None
    featured, index, _size = place
    return index + 1 + (0 if featured else store().featured_on_website())


def feature(clip_id: str, featured: bool, user: str) -> bool:
    """Feature a published clip on the website (or no longer); False, and nothing saved, when it is not
    published now (a colleague unpublished it meanwhile). Saved at the version just read, so a change
    in between is refused as stale rather than featuring a clip that has just left the website."""
    current = store().get_clip(clip_id)
    if current.status is not ClipStatus.APPROVED:
        return False
    edit(clip_id, ClipEdit(featured=featured), user, version=current.version)
    return True


def move(clip_id: str, offset: int, user: str) -> Undo | None:
    """Move a published clip up (-1) or down (+1), across pages too (tracker.review.move_published)."""
    record = None
    with _write():
        try:
            record = review.move_published(store(), _config_for_exports(), clip_id, offset, actor(user), clock=clock)
        except ExportError as exc:
            record = exc.record if isinstance(exc.record, Undo) else None  # moved all the same
            raise
    return record


def move_to(clip_id: str, number: int, user: str) -> Undo | None:
    """Put a published clip at place `number` on the website (tracker.review.move_published_to)."""
    record = None
    with _write():
        try:
            record = review.move_published_to(store(), _config_for_exports(), clip_id, number, actor(user), clock=clock)
        except ExportError as exc:
            record = exc.record if isinstance(exc.record, Undo) else None  # moved all the same
            raise
    return record


# ------------------------------------------------------------------ add by URL


def fetch_page(url: str) -> PageMeta:
    """The page staff pasted; a Google News or Bing link is decoded to the publisher's first. A mistyped
    address is NotAWebAddress, not the ValueError (UnicodeError, for a host name) the URL parsers raise."""
    settings = safe_config().settings
    try:
        return fetch_page_meta(publisher_link(url, settings), settings)
    except TrackerError:
        raise  # ConfigError is a ValueError too: not this
    except ValueError:
        raise NotAWebAddress(url.strip()) from None


def page_mentions(meta: PageMeta) -> list[Mention]:
    return match_page(safe_config(), meta)


def add_page(meta: PageMeta, member_ids: Sequence[str], campaign_ids: Sequence[str], user: str) -> tuple[ClipView, bool]:
    """Store the page as a clip with the members/campaigns staff chose (matched ones keep their snippet)."""
    found = {(m.kind, m.target_id): m for m in page_mentions(meta)}
    chosen = [found.get(("member", i)) or staff_mention("member", i) for i in member_ids]
    chosen += [found.get(("campaign", i)) or staff_mention("campaign", i) for i in campaign_ids]
    with _write():
        clip_view, created = add_clip_from_page(store(), meta, user=actor(user), mentions=chosen, clock=clock)
    return store().get_clip(clip_view.id), created


# ------------------------------------------------------------------ insights


@st.cache_data(ttl=120, show_spinner=False)
def _mentions_frame(url: str, days: int) -> pd.DataFrame:
    since = clock() - timedelta(days=days)
    rows = syndication.coverage_rows(_store(url), safe_config(), since)  # the outlets: presets count in demo mode too
    return pd.DataFrame(rows, columns=["clip_id", "story", "kind", "target_id", "at", "outlet"])


def coverage(days: int) -> pd.DataFrame:
    """One row per mention in the last `days` days (rejected clips left out), with display names; `story`
    groups the copies of one story, `outlet` is the outlet's name by identity (one per domain)."""
    frame = _mentions_frame(db_url(), days).copy()
    reg = registry()
    frame["name"] = [
        reg.member_name(t) if k == "member" else reg.campaign_name(t)
        for k, t in zip(frame["kind"], frame["target_id"], strict=True)
    ]
    return frame


@st.cache_data(ttl=120, show_spinner=False)
def _clip_count_since(url: str, days: int, status: str | None) -> int:
    since = clock() - timedelta(days=days)
    return _store(url).count_clips(ClipFilter(since=since, status=ClipStatus(status) if status else None))


def clip_count_since(days: int, status: ClipStatus | None = None) -> int:
    return _clip_count_since(db_url(), days, status.value if status else None)


# ------------------------------------------------------------------ feeds and registry


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _health(url: str) -> HealthReport:
    return health_report(_store(url), clock(), runs=10)


def health() -> HealthReport:
    return _health(db_url())


def feed_problem(status: FeedStatus) -> str | None:
    """A feed's problem in words staff understand (tracker.health.explain_error)."""
    return plain_problem(status)


# ------------------------------------------------------------------ stories and outlets


def switch_primary(clip_id: str, user: str) -> bool:
    """Make this copy the one the website links (its story's review moves to it)."""
    changed = False
    with _write():
        changed = review.switch_primary(store(), _config_for_exports(), clip_id, actor(user), clock=clock)
    return changed


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _outlet_list(url: str) -> list[OutletView]:
    return syndication.outlets(_store(url), safe_config())  # feeds.yml's outlets: apply in demo mode too


def outlet_list() -> list[OutletView]:
    return _outlet_list(db_url())


def edit_outlet(domain: str, outlet_edit: OutletEdit, user: str) -> None:
    with _write():
        syndication.edit_outlet(store(), domain, outlet_edit, actor(user), clock())


def test_rule(draft: MemberConfig | CampaignConfig) -> RuleTrial:
    return try_rule(safe_config(), store(), draft)


# ------------------------------------------------------------------ telling the team: notifications and reports


def can_manage_notifications() -> bool:
    """Who may see and test digests and webhooks: admins (they hold the settings)."""
    user = st.session_state.get(Key.USER)
    return bool(user) and may(str(user), Permission.SETTINGS)


def notify_settings() -> NotifyConfig:
    # The demo shows none of the organisation's recipients and channels, and can reach none of them.
    return NotifyConfig() if demo_mode() else safe_config().notify


def _refuse_in_demo() -> None:
    if demo_mode():
        raise NotifyError("demo mode sends nothing: run the dashboard without --demo to test notifications")


def recent_deliveries(status: str | None = None, limit: int = 50) -> list[DeliveryView]:
    return store().recent_deliveries(status=status, limit=limit)


def owed_failures(limit: int = 50) -> tuple[list[DeliveryView], int]:
    """The newest failed deliveries the next send still retries, and how many there are in all. A failure
    a later send covered is owed no more (the rule digests use to reach back)."""
    return store().owed_failures(limit), store().count_owed_failures()


def send_test_digest(name: str, address: str, user: str) -> str:
    """Send digest `name` now to one address (what `tracker digest send NAME --to ADDRESS` does).
    Admins only, as the page is: refused here too, not only hidden there."""
    from tracker.notify import send_digest

    require(actor(user), Permission.SETTINGS)
    _refuse_in_demo()
    result = send_digest(config(), store(), name, clock(), to=[address])
    (r,) = result.results
    if r.error:
        raise NotifyError(r.error)
    return f"Sent {r.stories} {'story' if r.stories == 1 else 'stories'} to {address}." if r.sent else (
        f"Nothing new for {address}: every story in this digest has reached them already.")


def send_test_webhook(name: str, user: str) -> str:
    """Post a harmless test message to webhook `name`; admins only (refused here, not only hidden)."""
    from tracker.notify import run_webhook

    require(actor(user), Permission.SETTINGS)
    _refuse_in_demo()
    hook = next((w for w in config().notify.webhooks if w.name == name), None)
    if hook is None:
        raise NotifyError(f"no webhook named {name!r}")
    result = run_webhook(config(), store(), hook, clock(), test=True)
    if result.error:
        raise NotifyError(result.error)
    return f"Test message posted to {name}."


def chapters() -> list[str]:
    """Members' chapters and states, for the report's filter."""
    return sorted({v for m in members() for v in (m.chapter, m.state) if v}, key=str.casefold)


def coverage_report(start: date, end: date, *, campaign: str | None = None, member: str | None = None,
                    chapter: str | None = None, approved_only: bool = False) -> CoverageReport:
    request = ReportRequest(start=start, end=end, campaign=campaign, member=member, chapter=chapter,
                            approved_only=approved_only)
    return build_report(safe_config(), store(), request, clock())


def report_file(report: CoverageReport, fmt: ReportFormat) -> bytes:
    """The same bytes `tracker report --format FMT` writes."""
    return render_report(report, safe_config(), fmt)

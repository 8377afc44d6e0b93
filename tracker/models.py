"""Frozen records that cross module boundaries. No I/O, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

MentionKind = Literal["member", "campaign"]


class ClipStatus(StrEnum):
    NEW = "new"
    APPROVED = "approved"
    REJECTED = "rejected"


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Term:
    """A word or phrase to look for; case-insensitive unless match_case."""

    text: str
    match_case: bool = False


@dataclass(frozen=True)
class MemberConfig:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    title: str = ""
    jurisdiction: str = ""
    state: str = ""
    chapter: str = ""
    require_any: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    tags: tuple[str, ...] = ()
    # "Councilmember Brooks" counts (with context): settings.surname_mentions, copied onto
    # each member when the config loads so that every matcher built from it agrees.
    surname_mentions: bool = True


@dataclass(frozen=True)
class CampaignConfig:
    id: str
    name: str
    keywords: tuple[Term, ...] = ()
    query: str | None = None
    require_any: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedConfig:
    """A feed to poll. `id` is stable across runs (slug of the URL unless given)."""

    id: str
    url: str
    name: str = ""
    tags: tuple[str, ...] = ()
    kind: Literal["feed", "search"] = "feed"
    # For search feeds: which member/campaign the query was generated for.
    search_for: str = ""
    # `enrich: all` in feeds.yml: read the article of every new item, not only of matched ones.
    enrich_all: bool = False

    @property
    def reads_unmatched(self) -> bool:
        """Are this feed's unmatched items kept to have their article read (search feeds, `enrich: all`)?"""
        return self.enrich_all or (self.kind == "search" and bool(self.search_for))


@dataclass(frozen=True)
class SearchConfig:
    template: str
    for_: tuple[str, ...] = ("members", "campaigns")


@dataclass(frozen=True)
class ExportTarget:
    format: Literal["json", "rss", "csv", "html"]
    path: str
    campaign: str | None = None
    member: str | None = None
    tag: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Settings:
    poll: str = "0 * * * *"
    timeout_s: float = 20.0
    user_agent: str = "media-tracker/0.1 (+https://github.com/media-tracker)"
    allow_private_hosts: bool = False
    max_body_bytes: int = 10 * 1024 * 1024
    workers: int = 64  # fetch threads: a poll is mostly waiting on publishers
    per_host_limit: int = 2
    exports: tuple[ExportTarget, ...] = ()
    site_title: str = "In The News"
    site_url: str = "https://example.org/news"
    # Search links (README, "Search coverage"): Google News' base, the pause between two lookups
    # there (Google answers 429 after ~15 quick ones), and how many links one cycle looks up.
    google_news_url: str = "https://news.google.com"
    google_news_min_interval_s: float = 4.0
    resolve_per_cycle: int = 40
    # Articles read per cycle (README, "Search coverage"); the rest wait in the database for the next.
    enrich_per_cycle: int = 100
    # Offline demos only: article URLs are read from files under this folder (<dir>/<host><path>.html),
    # never from the network. None (the default): articles are fetched.
    sample_pages: str | None = None
    # Offline demos only: where each Google News id leads, from this JSON file ({"id": "url"}), as
    # Google's lookup would say; never asked of Google. None (the default): Google is asked.
    sample_links: str | None = None
    # Offline demos only: the day the sample feeds were written. Their dates move forward by the days
    # since, so the demo's news is as recent on any day as on that one. None (the default): dates as given.
    sample_dates_as_of: date | None = None
    surname_mentions: bool = True  # "Councilmember Brooks" is a mention (README, "Matching")
    # Where staff open the dashboard: digests and alerts link to `{dashboard_url}/?clip=<id>`.
    dashboard_url: str = ""
    story_window_days: int = 14  # a new copy joins a story first seen within this many days (README, "Stories")


# ---------------------------------------------------------------- notify: digests, webhooks (README, "Telling the team")

SmtpSecurity = Literal["starttls", "tls", "none"]
WebhookKind = Literal["slack", "teams"]
WebhookEvent = Literal["new_clips", "spike", "failing_feeds"]


@dataclass(frozen=True)
class SmtpConfig:
    """The mail server. Credentials are never in the file: they come from the environment
    variables named here, else from Streamlit's secrets.toml ([smtp] username, password)."""

    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    sender: str = ""
    username_env: str = "TRACKER_SMTP_USERNAME"
    password_env: str = "TRACKER_SMTP_PASSWORD"
    timeout_s: float = 30.0


@dataclass(frozen=True)
class NotifyFilter:
    """Which stories a digest or webhook is about. Empty tuples mean "any"."""

    members: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()  # members' chapter or state (e.g. "Philadelphia", "PA")
    statuses: tuple[ClipStatus, ...] = (ClipStatus.NEW, ClipStatus.APPROVED)


@dataclass(frozen=True)
class DigestConfig:
    name: str
    recipients: tuple[str, ...]
    schedule: str = "0 7 * * mon-fri"  # cron, in `timezone`
    timezone: str = "UTC"
    filter: NotifyFilter = field(default_factory=NotifyFilter)
    subject: str = ""  # default: "<name>: N stories"
    send_empty: bool = False  # a digest with no stories is not sent unless this is set


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    url: str  # a Slack/Teams webhook URL is a secret of its own: logs and the log table name the webhook, never this
    kind: WebhookKind = "slack"
    events: tuple[WebhookEvent, ...] = ("new_clips", "spike", "failing_feeds")
    filter: NotifyFilter = field(default_factory=NotifyFilter)
    spike_ratio: float = 3.0  # today's stories at least this many times the 14-day daily average
    spike_min_stories: int = 3  # and at least this many stories today
    timezone: str = "UTC"  # where "today" is, for spikes
    max_per_hour: int = 30  # alerts (stories, spikes, feeds) a webhook posts in an hour; the rest wait


@dataclass(frozen=True)
class NotifyConfig:
    smtp: SmtpConfig | None = None
    digests: tuple[DigestConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()

    def digest(self, name: str) -> DigestConfig | None:
        return next((d for d in self.digests if d.name == name), None)


class Role(StrEnum):
    """What a dashboard user may do (tracker.roles): read, or also review, or also run the place."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """Someone acting on clips, with the role they act in; recorded with every change they make."""

    name: str
    role: Role


@dataclass(frozen=True)
class RolesConfig:
    """feeds.yml `roles:`: the role of each OIDC user, by e-mail address or by "@domain"."""

    default: Role | None = Role.VIEWER  # anyone not listed; None turns them away
    emails: tuple[tuple[str, Role], ...] = ()  # lower-cased address or "@domain", and its role



@dataclass(frozen=True)
class OutletPreset:
    """feeds.yml's `outlets:` entry: what staff know about an outlet before any clip arrives."""

    domain: str  # registrable domain (inquirer.com); a URL or host in the file is reduced to it
    name: str = ""
    state: str = ""
    place: str = ""
    tier: str = ""  # local | state | national | ""


@dataclass(frozen=True)
class Config:
    path: str
    settings: Settings = field(default_factory=Settings)
    roles: RolesConfig = field(default_factory=RolesConfig)
    feeds: tuple[FeedConfig, ...] = ()
    searches: tuple[SearchConfig, ...] = ()
    members: tuple[MemberConfig, ...] = ()
    campaigns: tuple[CampaignConfig, ...] = ()
    # One generated feed per member/campaign and search template, expanded when the file is loaded.
    search_feeds: tuple[FeedConfig, ...] = ()
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    outlets: tuple[OutletPreset, ...] = ()

    def all_feeds(self) -> tuple[FeedConfig, ...]:
        """Listed feeds plus the generated search feeds."""
        return self.feeds + self.search_feeds


# ---------------------------------------------------------------- feeds: state before a fetch, outcome after


@dataclass(frozen=True)
class FeedState:
    """What ingest needs to know about a feed before fetching it."""

    id: str
    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None
    min_interval_s: int | None
    newest_item_at: datetime | None = None


@dataclass(frozen=True)
class FetchOutcome:
    """What happened to one feed in one cycle, as ingest records it."""

    ok: bool
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    title: str | None = None
    new_url: str | None = None  # a permanent redirect moved the feed
    next_attempt_at: datetime | None = None
    min_interval_s: int | None = None
    items_seen: int | None = 0  # None: not parsed this time (304, same bytes), keep the last count
    had_new_items: bool = False
    newest_item_at: datetime | None = None
    disable_reason: str | None = None
    alert: str | None = None  # ParsedFeed.alert; ignored when items_seen is None (not parsed)


# ---------------------------------------------------------------- fetch / parse


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL finally answered (after redirects)
    status: int
    body: bytes | None  # None when not modified (304)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    permanent_redirect_to: str | None = None  # set when a 301/308 chain moved the feed
    max_age_s: int | None = None  # Cache-Control: max-age
    retry_after_s: float | None = None
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class ParsedEntry:
    title: str
    link: str
    guid: str
    summary: str  # plain text
    content: str  # plain text
    author: str = ""
    published_at: datetime | None = None  # UTC
    published_raw: str = ""
    image_url: str | None = None
    source_outlet: str = ""  # <source> of aggregator feeds, else the feed's title
    # Google News lists other outlets' copies of the story in the description: (headline, outlet) pairs.
    related: tuple[tuple[str, str], ...] = ()
    image_credit: str | None = None  # the feed's media:credit for its image (Media RSS)


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[ParsedEntry, ...]
    problem: str | None = None  # feedparser's bozo exception, as text
    ttl_minutes: int | None = None
    # What staff must hear about even though the feed was read: items left unread, nothing
    # readable, no item with a link. Shown in feed health until a later parse is clean.
    alert: str | None = None


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class MatchItem:
    """The text matched against: fields as plain text (HTML already stripped)."""

    title: str = ""
    summary: str = ""
    content: str = ""
    article: str = ""


@dataclass(frozen=True)
class Mention:
    kind: MentionKind
    target_id: str
    term: str  # the configured term (or query) that fired
    field: str  # title | summary | content | article
    snippet: str  # about 80 characters either side of the hit, plain text
    start: int = 0  # offsets of the hit inside `snippet`, for highlighting
    end: int = 0


@dataclass(frozen=True)
class MatchedEntry:
    """A feed entry that mentions someone: what parsing hands to storage (picklable for the pool)."""

    entry: ParsedEntry
    canonical_url: str
    clip_id: str
    mentions: tuple[Mention, ...]
    # A search engine's redirect link the entry came with ("" for a publisher's own link). When
    # `resolved`, entry.link is the publisher's URL decoded from it; else entry.link is this link,
    # kept until the resolver learns where it leads.
    search_link: str = ""
    resolved: bool = True


@dataclass(frozen=True)
class Article:
    """What an article page says about itself (tracker.enrich reads it; trafilatura does most)."""

    url: str  # the address finally answered
    title: str
    outlet: str  # the site's name
    image_url: str | None
    published_at: datetime | None
    description: str
    author: str = ""
    text: str = ""  # the main text, for matching
    canonical_url: str | None = None  # rel=canonical / og:url, when the page names one
    image_credit: str | None = None  # schema.org ImageObject, <figcaption>, media:credit
    image_caption: str | None = None


@dataclass(frozen=True)
class EnrichTask:
    """An item whose article is to be read: a stored clip's, or a search item's not stored yet."""

    key: str  # the item's canonical URL when it was queued
    url: str  # the address to read (the publisher's)
    feed_id: str
    clip_id: str | None = None  # None: an unmatched item, stored only if its article names someone
    search_for: str = ""  # "member:id" / "campaign:id" of the search that found it
    entry: ParsedEntry | None = None  # the feed's item (a stored clip's text), matched with the article
    link_failed: str | None = None  # the resolver gave up on its search link: nothing to read


@dataclass(frozen=True)
class EnrichQueueStatus:
    """The article queue for `tracker status` and the Feeds page."""

    waiting: int = 0
    done: int = 0
    failed: int = 0
    dropped: int = 0  # read, and it named nobody
    failures: tuple[tuple[str, int], ...] = ()  # (reason, articles), most frequent first
    retrying: int = 0  # of the waiting: tried already, after a timeout, connection error, 429 or 5xx


@dataclass(frozen=True)
class StoreOutcome:
    """What storing one feed's matched entries changed."""

    new_clips: int
    updated_clips: int
    new_sources: int
    new_ids: tuple[str, ...] = ()  # entries (by the clip id they came with) that became new clips


def staff_mention(kind: str, target_id: str) -> Mention:
    """A member/campaign attached by hand, with no text evidence."""
    return Mention(kind="member" if kind == "member" else "campaign", target_id=target_id,
                   term="(attached by staff)", field="manual", snippet="")


# ---------------------------------------------------------------- clips as the rest of the code sees them


@dataclass(frozen=True)
class StoryCopy:
    """Another copy of a clip's story: what `also_in` lists."""

    clip_id: str
    url: str
    outlet: str
    headline: str
    # The website lists only copies whose link is the publisher's (not a search redirect) and that
    # staff have not rejected as not belonging to the story.
    resolved: bool = True
    rejected: bool = False


@dataclass(frozen=True)
class ClipView:
    id: str
    url: str
    canonical_url: str
    title: str
    summary: str
    outlet: str
    published_at: datetime | None
    first_seen_at: datetime
    status: ClipStatus
    image_url: str | None
    mentions: tuple[Mention, ...] = ()
    feed_ids: tuple[str, ...] = ()
    # staff edits: None means "use the feed's value"
    headline: str | None = None
    blurb: str | None = None
    image_override_url: str | None = None
    image_credit: str | None = None
    image_alt: str | None = None
    outlet_display: str | None = None
    featured: bool = False
    position: int | None = None
    tags: tuple[str, ...] = ()
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    manual: bool = False  # added by staff, not from a feed
    updated_at: datetime | None = None  # last change by ingest or staff
    # False while `url` is still a search engine's redirect ("link not resolved yet");
    # resolve_error says why the resolver gave up on it, when it has.
    resolved: bool = True
    resolve_error: str | None = None
    version: int = 1  # bumped by each staff edit or decision; a save from an older one is refused
    # A search item kept although its article could not be read ("unverified: found by the search,
    # article unreadable"): staff decide.
    unverified: bool = False
    image_found_credit: str | None = None  # the credit the article gave its image (staff's wins)
    source_links: tuple[tuple[str, str], ...] = ()  # (feed id, the link as that feed gave it)
    # Syndication (README, "Stories"): the story all copies share, whether this copy is the one the
    # website links, and the others. None until the stories step has placed the clip.
    story_id: str | None = None
    primary: bool = True
    also_in: tuple[StoryCopy, ...] = ()
    outlet_domain: str | None = None

    @property
    def display_headline(self) -> str:
        return self.headline or self.title

    @property
    def display_blurb(self) -> str:
        return self.blurb if self.blurb is not None else self.summary

    @property
    def display_outlet(self) -> str:
        return self.outlet_display or self.outlet

    @property
    def display_image_url(self) -> str | None:
        return self.image_override_url or self.image_url

    @property
    def display_image_credit(self) -> str | None:
        """Staff's credit, else the article's for the article's own image (not for one staff chose)."""
        return self.image_credit or (None if self.image_override_url else self.image_found_credit)

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(sorted({m.target_id for m in self.mentions if m.kind == "member"}))

    @property
    def campaign_ids(self) -> tuple[str, ...]:
        return tuple(sorted({m.target_id for m in self.mentions if m.kind == "campaign"}))


@dataclass(frozen=True)
class ClipFilter:
    status: ClipStatus | None = None
    member: str | None = None
    campaign: str | None = None
    outlet: str | None = None
    tag: str | None = None
    feed_tag: str | None = None  # state/chapter tags of the feeds a clip came from
    any_tag: str | None = None  # a staff tag on the clip, or a tag of a feed it came from
    member_ids: tuple[str, ...] | None = None  # any of these (e.g. all members of a state)
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # every word, normalised as matching does, in headline, summary, outlet or article text
    featured: bool | None = None
    primary_only: bool = False  # one clip per story: its primary (clips not placed yet count as their own)
    story_id: str | None = None


@dataclass(frozen=True)
class ClipPage:
    clips: tuple[ClipView, ...]
    next_cursor: str | None
    total: int | None = None
    total_capped: bool = False  # a search's total stops counting at a cap: more than `total` match


@dataclass(frozen=True)
class PublishedPage:
    """One page of the Published list: the clips with their place in the website's whole list."""

    clips: tuple[ClipView, ...]
    numbers: tuple[int, ...]  # each clip's place on the website, 1 = top (featured ones come first)
    total: int  # published clips matching the filter
    featured: int  # featured clips on the website
    published: int  # all published clips


@dataclass(frozen=True)
class Undo:
    """What a staff decision changed, so it can be taken back: each clip's status and
    position before it (only the clips the decision really changed)."""

    statuses: tuple[tuple[str, ClipStatus], ...] = ()
    positions: tuple[tuple[str, int | None], ...] = ()
    # Each clip's version right after the decision: a clip someone changed since is left as they
    # left it (tracker.review.undo).
    versions: tuple[tuple[str, int], ...] = ()
    # A move of the published order: the clip and its place (1 = top) before it, and the history's
    # last entry right after it. Undone exactly (every position as it was) when the order has not
    # changed since; else by moving the clip back to its place, so a colleague's moves are kept.
    moved: tuple[str, int] | None = None
    order_mark: int = 0

    def __bool__(self) -> bool:
        return bool(self.statuses or self.positions or self.moved)


@dataclass(frozen=True)
class UndoResult:
    """What an undo did: how many changes it took back, and the clips it left alone because someone
    changed them after the decision."""

    changed: int
    left_alone: tuple[str, ...] = ()
    moved: tuple[tuple[str, int], ...] = ()  # how many versions it moved each clip by (an open form follows)


@dataclass(frozen=True)
class ClipEdit:
    """Fields staff may change; a None attribute is left as it is."""

    headline: str | None = None
    blurb: str | None = None
    image_override_url: str | None = None
    image_credit: str | None = None
    image_alt: str | None = None
    outlet_display: str | None = None
    featured: bool | None = None
    position: int | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AuditEntry:
    clip_id: str
    user: str
    action: str
    at: datetime
    detail: str = ""
    role: str | None = None  # the role the user acted in (None before roles existed)


@dataclass(frozen=True)
class StoryInput:
    """A clip the stories step must place (new), or whose outlet it must name (re-keyed by the resolver)."""

    id: str
    url: str
    title: str
    summary: str
    article: str
    outlet: str
    at: datetime
    story_id: str | None
    staff_touched: bool  # reviewed or edited by staff: never merged away under another staff choice
    member_ids: tuple[str, ...] = ()
    campaign_ids: tuple[str, ...] = ()
    related: tuple[str, ...] = ()  # headlines a news-search item names as copies in other outlets


@dataclass(frozen=True)
class StoredSignature:
    """A placed clip of the window, as the LSH index is rebuilt from it."""

    clip_id: str
    story_id: str
    hashvalues: bytes
    shingles: int
    title: str = ""
    outlet: str = ""
    related: tuple[str, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True)
class StoryPlacement:
    """What the stories step decided for one clip."""

    clip_id: str
    story_id: str
    outlet_domain: str
    hashvalues: bytes | None = None
    shingles: int = 0
    new_story: bool = False


@dataclass(frozen=True)
class StoryCopyInfo:
    """One copy of a story, as choosing the primary needs it."""

    clip_id: str
    at: datetime
    outlet_domain: str
    primary: bool
    staff_touched: bool
    status: ClipStatus
    member_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoryRecord:
    id: str
    first_seen_at: datetime
    primary_by: str | None = None  # staff who chose the primary; None: chosen by the rules
    primary_at: datetime | None = None


@dataclass(frozen=True)
class StoryView:
    """A story and its copies, the primary first."""

    id: str
    copies: tuple[ClipView, ...]
    primary_by: str | None = None

    @property
    def primary(self) -> ClipView:
        return self.copies[0]

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.outlet_domain or c.display_outlet for c in self.copies))


@dataclass(frozen=True)
class OutletRecord:
    """What the outlet table holds: a name from the pages or feeds, and staff's edits (None: not edited)."""

    domain: str
    name: str = ""
    name_source: str = ""  # site | feed | source | staff
    state: str | None = None
    place: str | None = None
    tier: str | None = None
    edited_by: str | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True)
class OutletView:
    domain: str
    name: str
    state: str
    state_source: str  # staff | config | feed tags | unknown
    place: str
    tier: str
    clips: int = 0
    stories: int = 0
    edited_by: str | None = None


@dataclass(frozen=True)
class OutletEdit:
    """Staff's changes to an outlet; None leaves a field, "" clears the staff value."""

    name: str | None = None
    state: str | None = None
    place: str | None = None
    tier: str | None = None


@dataclass(frozen=True)
class ResolveTask:
    """A search link waiting for the resolver, and the clip that carries it."""

    key: str  # the link's canonical form: the unresolved clip's canonical URL
    link: str
    clip_id: str | None
    attempts: int = 0


@dataclass(frozen=True)
class ResolverState:
    """The resolver's back-off, kept across cycles: Google's 429 is for the whole client."""

    backoff_until: datetime | None = None
    backoff_level: int = 0  # 429s in a row
    last_error: str | None = None


@dataclass(frozen=True)
class Resolution:
    """What one clip's resolution changed."""

    old_clip_id: str
    clip_id: str
    url: str
    merged: bool  # another clip already had this URL (an outlet's feed): the two are one now


@dataclass(frozen=True)
class ResolveQueueStatus:
    """The resolver's queue for `tracker status`."""

    waiting: int = 0
    done: int = 0
    failed: int = 0
    failures: tuple[tuple[str, int], ...] = ()  # (reason, links), most frequent first
    next_attempt_at: datetime | None = None  # the earliest waiting link not due yet
    state: ResolverState = field(default_factory=ResolverState)


@dataclass(frozen=True)
class FeedHealth:
    id: str
    url: str
    name: str
    kind: str
    tags: tuple[str, ...]
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    last_new_item_at: datetime | None
    disabled_reason: str | None
    items_seen_last: int = 0
    moved_from: str | None = None
    last_alert: str | None = None


@dataclass(frozen=True)
class IngestRunView:
    id: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # running | ok | partial | interrupted | failed
    feeds_total: int
    feeds_ok: int
    feeds_failed: int
    feeds_skipped: int
    items_seen: int
    clips_new: int
    owner: str = ""
    error: str | None = None  # why it failed or was interrupted


@dataclass(frozen=True)
class PruneReport:
    """What `tracker prune` removed (or, in a dry run, would remove) from before `cutoff`."""

    cutoff: datetime
    dry_run: bool
    rejected_clips: int
    mentions: int  # of those clips
    clip_sources: int  # of those clips
    ingest_runs: int
    feeds: int  # rows of feeds no longer configured, not polled since the cutoff, with no clip left
    audit: int  # only with include_audit
    articles: int = 0  # finished rows of the article queue (read, unreadable, dropped); never waiting ones
    search_links: int = 0  # finished lookups of search links whose item is no clip
    deliveries: int = 0  # records of digests and alerts sent (or failed) long before the cutoff


# ---------------------------------------------------------------- notify: what was delivered


@dataclass(frozen=True)
class DeliveryView:
    """One row of the delivery log: an item (a story, an alert) to one recipient (an address, a webhook)."""

    channel: str  # digest | webhook
    name: str  # the digest's or webhook's name
    recipient: str
    item_key: str
    status: str  # sent | failed
    attempts: int
    last_attempt_at: datetime
    sent_at: datetime | None = None
    error: str | None = None

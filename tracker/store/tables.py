"""SQLModel tables. They never leave tracker.store: callers get frozen records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from tracker.store.types import JSONList, UTCDateTime


def _dt(index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


class FeedRow(SQLModel, table=True):
    __tablename__ = "feed"

    id: str = Field(primary_key=True, max_length=200)
    url: str = Field(sa_column=Column(Text, nullable=False))  # current URL (a 301 moves it)
    configured_url: str = Field(sa_column=Column(Text, nullable=False))
    name: str = ""
    kind: str = "feed"
    search_for: str = ""
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONList(), nullable=False))
    active: bool = True
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_attempt_at: datetime | None = _dt()
    last_success_at: datetime | None = _dt()
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = _dt(index=True)
    last_new_item_at: datetime | None = _dt()
    newest_item_at: datetime | None = _dt()  # newest entry date the feed has shown (migration 0003)
    disabled_reason: str | None = None
    min_interval_s: int | None = None
    moved_from: str | None = Field(default=None, sa_column=Column(Text))
    items_seen_last: int = 0
    last_alert: str | None = Field(default=None, sa_column=Column(Text))  # migration 0005
    # Multi-worker cycles: which worker holds this feed in which cycle, until when.
    claim_owner: str | None = None
    claim_cycle: int | None = None
    claim_expires_at: datetime | None = _dt()


class ClipRow(SQLModel, table=True):
    __tablename__ = "clip"
    __table_args__ = (
        Index("ix_clip_status_published", "status", "published_at"),
        Index("ix_clip_published_id", "published_at", "id"),
        # The dashboard's newest-first order (migration 0002): pages read the index, never sort the table.
        Index("ix_clip_sort_at_id", text("coalesce(published_at, first_seen_at)"), "id"),
        Index("ix_clip_status_sort_at_id", "status", text("coalesce(published_at, first_seen_at)"), "id"),
        # The desk's story counts by status, from the index alone (migration 0014).
        Index("ix_clip_status_story", "status", "story_primary", "story_id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    canonical_url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    url: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    author: str = ""
    published_at: datetime | None = _dt()
    published_raw: str = ""
    image_url: str | None = Field(default=None, sa_column=Column(Text))
    outlet: str = Field(default="", index=True)
    first_seen_at: datetime = _dt(index=True, nullable=False)
    updated_at: datetime = _dt(nullable=False)
    status: str = Field(default="new", index=True, max_length=16)
    featured: bool = False
    position: int | None = None
    headline: str | None = Field(default=None, sa_column=Column(Text))
    blurb: str | None = Field(default=None, sa_column=Column(Text))
    image_override_url: str | None = Field(default=None, sa_column=Column(Text))
    image_credit: str | None = None
    image_alt: str | None = None
    outlet_display: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONList(), nullable=False))
    reviewed_by: str | None = None
    reviewed_at: datetime | None = _dt()
    manual: bool = False
    # Bumped by every staff edit or decision (migration 0008): a save names the version it was
    # made from, and one made from an older version is refused rather than overwriting.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default=text("1")))
    # Migration 0007: the article's main text (matched on, kept for rematching), its image credit, and
    # a search item kept although its article could not be read.
    article: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    image_found_credit: str | None = Field(default=None, sa_column=Column(Text))
    unverified: bool = Field(default=False, sa_column_kwargs={"server_default": false()})

    # Syndication (migration 0009): the story this copy belongs to, whether the website links this copy,
    # its MinHash signature (the window's LSH index is rebuilt from these) and its outlet (registrable domain).
    story_id: str | None = Field(default=None, index=True, max_length=32)
    story_primary: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    story_sig: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    story_shingles: int | None = None
    outlet_domain: str | None = Field(default=None, index=True, max_length=255)
    # Headlines a news-search item lists as the same story elsewhere: hints for its other copies.
    story_hints: list[str] = Field(default_factory=list, sa_column=Column(JSONList(), nullable=False, server_default="[]"))


class ClipSearchRow(SQLModel, table=True):
    """A clip's searchable text (headline, summary, outlet, article text), normalised as the
    matcher normalises it (migration 0008). tracker.store.search keeps it in step with clip and
    indexes it: FTS5 trigram on SQLite, a pg_trgm GIN index on PostgreSQL."""

    __tablename__ = "clip_search"

    # An integer key of its own: SQLite's FTS5 table points at rows by it, and a plain rowid may change on VACUUM.
    id: int | None = Field(default=None, primary_key=True)
    clip_id: str = Field(sa_column=Column(
        String(32), ForeignKey("clip.id", ondelete="CASCADE", onupdate="CASCADE"), nullable=False, unique=True,
    ))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The clip's story (migration 0013), kept equal to clip.story_id by triggers
    # (tracker.store.search.create_story_triggers): a story is searched by any copy in one lookup.
    story_id: str | None = Field(default=None, index=True, max_length=32)


class MentionRow(SQLModel, table=True):
    __tablename__ = "mention"
    __table_args__ = (
        UniqueConstraint("clip_id", "kind", "target_id", name="uq_mention_clip_target"),
        Index("ix_mention_target", "kind", "target_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clip_id: str = Field(foreign_key="clip.id", ondelete="CASCADE", index=True, max_length=32)
    kind: str = Field(max_length=16)
    target_id: str = Field(max_length=200)
    term: str = ""
    field: str = ""
    snippet: str = Field(default="", sa_column=Column(Text, nullable=False))
    hit_start: int = 0
    hit_end: int = 0
    manual: bool = False  # attached by staff; kept by rematch
    # Removed by staff (always manual too): hidden everywhere, and holds the target so no rematch re-adds it.
    suppressed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ClipSourceRow(SQLModel, table=True):
    __tablename__ = "clip_source"

    clip_id: str = Field(foreign_key="clip.id", ondelete="CASCADE", primary_key=True, max_length=32)
    feed_id: str = Field(primary_key=True, max_length=200)
    guid: str = Field(default="", sa_column=Column(Text, nullable=False))
    first_seen_at: datetime = _dt(nullable=False)
    link: str | None = Field(default=None, sa_column=Column(Text))  # as this feed gave it (migration 0007)


class IngestRunRow(SQLModel, table=True):
    __tablename__ = "ingest_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _dt(index=True, nullable=False)
    finished_at: datetime | None = _dt()
    outcome: str = "running"
    owner: str = ""
    feeds_total: int = 0
    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_skipped: int = 0
    items_seen: int = 0
    clips_new: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    clip_id: str = Field(index=True, max_length=32)
    user: str = ""
    role: str | None = Field(default=None, max_length=16)  # the user's role when they acted (migration 0008)
    action: str = ""
    at: datetime = _dt(index=True, nullable=False)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class LeaseRow(SQLModel, table=True):
    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=100)
    owner: str = ""
    acquired_at: datetime = _dt(nullable=False)
    expires_at: datetime = _dt(nullable=False)


class LinkResolutionRow(SQLModel, table=True):
    """A search link and where it leads: waiting for the resolver, done, or given up (migration 0006)."""

    __tablename__ = "link_resolution"
    __table_args__ = (Index("ix_link_resolution_due", "state", "next_attempt_at"),)

    # The link's canonical form, which is the canonical URL of the clip carrying it until it is resolved.
    link_key: str = Field(sa_column=Column(Text, primary_key=True))
    link: str = Field(sa_column=Column(Text, nullable=False))  # as the feed gave it (its hl/gl/ceid)
    engine: str = Field(default="google_news", max_length=32)
    clip_id: str | None = Field(default=None, index=True, max_length=32)  # no FK: resolution re-keys clips
    state: str = Field(default="waiting", max_length=16)  # waiting | done | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    resolved_url: str | None = Field(default=None, sa_column=Column(Text))
    queued_at: datetime = _dt(nullable=False)
    next_attempt_at: datetime | None = _dt()
    finished_at: datetime | None = _dt()


class ResolverStateRow(SQLModel, table=True):
    """The resolver's back-off after Google's 429, kept across cycles and processes (migration 0006)."""

    __tablename__ = "resolver_state"

    name: str = Field(primary_key=True, max_length=64)
    backoff_until: datetime | None = _dt()
    backoff_level: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime | None = _dt()


class NotifyDeliveryRow(SQLModel, table=True):
    """What was sent to whom (migration 0010): a story or alert reaches a recipient once; a failure
    is kept with its error and retried at the next send."""

    __tablename__ = "notify_delivery"
    __table_args__ = (
        UniqueConstraint("channel", "recipient", "item_key", name="uq_notify_delivery_item"),
        Index("ix_notify_delivery_name_attempt", "channel", "name", "last_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)  # digest | webhook
    name: str = Field(max_length=200)  # the digest's or webhook's name
    recipient: str = Field(max_length=320)  # an e-mail address, or the webhook's name (never its URL)
    item_key: str = Field(max_length=300)  # a story id, or an alert's key
    status: str = Field(max_length=16)  # sent | failed
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    first_attempt_at: datetime = _dt(nullable=False)
    last_attempt_at: datetime = _dt(nullable=False)
    sent_at: datetime | None = _dt()


class EnrichmentRow(SQLModel, table=True):
    """An item whose article is to be read, across cycles: waiting, done, failed or dropped (migration 0007)."""

    __tablename__ = "enrichment"
    __table_args__ = (Index("ix_enrichment_due", "state", "queued_at"),)

    item_key: str = Field(sa_column=Column(Text, primary_key=True))  # the item's canonical URL when queued
    clip_id: str | None = Field(default=None, index=True, max_length=32)  # None until its article names someone
    feed_id: str = Field(default="", max_length=200)
    search_for: str = Field(default="", max_length=250)
    link: str = Field(sa_column=Column(Text, nullable=False))  # the link as the feed gave it
    entry: str | None = Field(default=None, sa_column=Column(Text))  # JSON of the feed's item, while no clip has it
    state: str = Field(default="waiting", max_length=16)  # waiting | done | failed | dropped
    attempts: int = 0
    reason: str | None = Field(default=None, sa_column=Column(Text))
    queued_at: datetime = _dt(nullable=False)
    finished_at: datetime | None = _dt()


class StoryRow(SQLModel, table=True):
    """Copies of one story (clip.story_id); the primary is the clip with story_primary (migration 0009)."""

    __tablename__ = "story"

    id: str = Field(primary_key=True, max_length=32)
    first_seen_at: datetime = _dt(index=True, nullable=False)
    updated_at: datetime = _dt(nullable=False)
    primary_by: str | None = None  # staff who chose the primary; None while the rules choose it
    primary_at: datetime | None = _dt()


class OutletRow(SQLModel, table=True):
    """One outlet per registrable domain: its name, and staff's edits (migration 0009)."""

    __tablename__ = "outlet"

    domain: str = Field(primary_key=True, max_length=255)
    name: str = ""
    name_source: str = Field(default="", max_length=16)
    state: str | None = Field(default=None, max_length=8)
    place: str | None = None
    tier: str | None = Field(default=None, max_length=16)
    edited_by: str | None = None
    edited_at: datetime | None = _dt()

"""ClipView → ExportItem: staff edits applied, text cleaned, URLs vetted, once for all writers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tracker.export.registry import Registry
from tracker.export.sanitize import EPOCH_ISO, as_utc, clean_text, iso_utc, safe_http_url
from tracker.models import ClipView


@dataclass(frozen=True)
class ExportImage:
    url: str
    credit: str  # "" when nobody recorded one
    alt: str  # "" = decorative: better than repeating the headline to screen readers


@dataclass(frozen=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True)
class OtherCopy:
    """Another outlet's copy of the same story (README, "Stories")."""

    url: str
    outlet: str


@dataclass(frozen=True)
class ExportItem:
    """One clip as the website sees it. Every str here is clean; URLs are http(s) or None."""

    id: str
    status: str
    url: str | None
    headline: str
    outlet: str
    published_at: datetime  # aware UTC; first_seen_at when the feed gave no date
    blurb: str
    image: ExportImage | None
    members: tuple[Named, ...]
    campaigns: tuple[Named, ...]
    featured: bool
    position: int | None
    also_in: tuple[OtherCopy, ...] = ()


def prepare_item(clip: ClipView, registry: Registry) -> ExportItem:
    # Prefer the link as published; the canonical form is a fallback, not a rewrite.
    url = safe_http_url(clip.url) or safe_http_url(clip.canonical_url)
    image_url = safe_http_url(clip.display_image_url)
    image = (
        ExportImage(
            url=image_url,
            credit=clean_text(clip.display_image_credit),
            alt=clean_text(clip.image_alt),
        )
        if image_url
        else None
    )
    return ExportItem(
        id=clean_text(clip.id),
        status=clean_text(str(clip.status)),
        url=url,
        headline=clean_text(clip.display_headline),
        outlet=clean_text(clip.display_outlet),
        published_at=as_utc(clip.published_at or clip.first_seen_at),
        blurb=clean_text(clip.display_blurb),
        image=image,
        members=tuple(
            Named(clean_text(i), clean_text(registry.member_name(i))) for i in clip.member_ids
        ),
        campaigns=tuple(
            Named(clean_text(i), clean_text(registry.campaign_name(i))) for i in clip.campaign_ids
        ),
        featured=clip.featured,
        position=clip.position,
        also_in=tuple(
            OtherCopy(u, clean_text(c.outlet)) for c in clip.also_in
            if c.resolved and not c.rejected and (u := safe_http_url(c.url)) is not None
        ),
    )


def prepare_items(clips: Sequence[ClipView], registry: Registry) -> list[ExportItem]:
    return [prepare_item(clip, registry) for clip in clips]


def _last_change(clip: ClipView) -> datetime:
    return as_utc(clip.updated_at or clip.reviewed_at or clip.first_seen_at)


def generated_at(clips: Sequence[ClipView], floor: datetime | None = None) -> str:
    """The newest change among the exported clips (or `floor`, when a clip last left the
    site), not the wall clock.

    Same clips → same bytes, so an unchanged export is not rewritten and the
    website's caches stay valid; taking the newest clip down still moves it forward.
    """
    stamps = [_last_change(clip) for clip in clips] + ([as_utc(floor)] if floor is not None else [])
    if not stamps:
        return EPOCH_ISO
    return iso_utc(max(stamps))

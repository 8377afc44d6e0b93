"""Names for ids, and the site an export is for: the non-clip inputs of every writer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from tracker.errors import ConfigError
from tracker.export.sanitize import clean_text, safe_http_url
from tracker.models import CampaignConfig, Config, MemberConfig, Settings


def _frozen(pairs: Iterable[tuple[str, str]]) -> Mapping[str, str]:
    return MappingProxyType(dict(pairs))


@dataclass(frozen=True)
class Registry:
    """member id → name and campaign id → name, so exports show people, not slugs.

    An id missing here (a member removed from feeds.yml after clips were matched)
    falls back to the id itself rather than dropping the mention.
    """

    members: Mapping[str, str] = field(default_factory=lambda: _frozen(()))
    campaigns: Mapping[str, str] = field(default_factory=lambda: _frozen(()))

    @classmethod
    def build(
        cls,
        members: Iterable[MemberConfig] = (),
        campaigns: Iterable[CampaignConfig] = (),
    ) -> Registry:
        return cls(
            members=_frozen((m.id, m.name) for m in members),
            campaigns=_frozen((c.id, c.name) for c in campaigns),
        )

    @classmethod
    def from_config(cls, config: Config) -> Registry:
        return cls.build(config.members, config.campaigns)

    def member_name(self, member_id: str) -> str:
        return self.members.get(member_id) or member_id

    def campaign_name(self, campaign_id: str) -> str:
        return self.campaigns.get(campaign_id) or campaign_id


@dataclass(frozen=True)
class SiteInfo:
    """The website the export is for: channel title/link in RSS, heading in previews."""

    title: str = "In The News"
    url: str = "https://example.org/news"
    # When a clip last left the site (unpublished/rejected after approval): generated_at never
    # goes back in time when the newest clip is taken down.
    changed_at: datetime | None = None

    def __post_init__(self) -> None:
        # Comes from feeds.yml, not a feed, but it lands in markup: same rules apply.
        if safe_http_url(self.url) != self.url:
            raise ConfigError(f"site_url must be an absolute http(s) URL, got {self.url!r}")
        object.__setattr__(self, "title", clean_text(self.title) or "In The News")

    @classmethod
    def from_settings(cls, settings: Settings) -> SiteInfo:
        return cls(title=settings.site_title, url=settings.site_url)

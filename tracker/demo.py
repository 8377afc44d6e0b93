"""Demo data: realistic clips for demos, screenshots and the 100,000-clip benchmark.

Clips are generated from the configured members and campaigns (or a built-in demo
roster when the config has none) and run through the real matcher, so chips,
snippets and highlights look exactly as they would after an ingest. Everything is
derived from `seed` and `now`: the same arguments give the same database.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.config import slugify
from tracker.match import compile_matcher
from tracker.models import (
    CampaignConfig,
    ClipStatus,
    ClipView,
    Config,
    FeedConfig,
    FetchOutcome,
    MatchItem,
    MemberConfig,
    Term,
)
from tracker.normalize import canonical_url, clip_id_for
from tracker.store import Store

DEMO_USER = "demo"

# A fictional roster: demo data should never put words in real officials' mouths.
_DEMO_MEMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("Renata Okafor", "Councilmember", "Philadelphia", "PA"),
    ("Daniel Whitfield", "Councilmember", "Pittsburgh", "PA"),
    ("Amara Lindqvist", "Council Member", "New York City", "NY"),
    ("Tomás Ibarra", "Legislator", "Albany County", "NY"),
    ("Grace Huang", "Council Member", "Minneapolis", "MN"),
    ("Marcus Bellweather", "City Council Member", "St. Paul", "MN"),
    ("Lucía Montoya", "Council Member", "Houston", "TX"),
    ("Jordan Ashby", "Council Member", "Austin", "TX"),
    ("Priya Raman", "Supervisor", "San Francisco", "CA"),
    ("Eli Vasquez", "Councilmember", "Richmond", "CA"),
    ("Hannah Osei", "Councilmember", "Seattle", "WA"),
    ("Walter Kim", "Alderperson", "Chicago", "IL"),
    ("Nadia Farouk", "School Board Member", "Atlanta Public Schools", "GA"),
    ("Samuel Reyes-Blake", "County Commissioner", "Dane County", "WI"),
    ("Ivy Castellano", "Council Member", "Baltimore", "MD"),
    ("Theo Brandt", "School Board Member", "Denver Public Schools", "CO"),
)

_DEMO_CAMPAIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Good Cause Eviction", ("good cause eviction", "good cause protections")),
    ("Police-Free Schools", ("police-free schools", "school resource officers")),
    ("Local Democracy", ("preemption", "local control")),
    ("Kia & Hyundai Recall", ("Kia and Hyundai", "vehicle thefts")),
    ("Landlord Anti-Collusion", ("rent-setting software", "landlord collusion")),
    ("Heat Protections", ("water breaks", "heat protections")),
)

# (outlet, domain, state tag); the feeds the demo pretends to poll.
_OUTLETS: tuple[tuple[str, str, str], ...] = (
    ("The Philadelphia Inquirer", "inquirer.com", "pa"),
    ("WHYY", "whyy.org", "pa"),
    ("Pittsburgh Post-Gazette", "post-gazette.com", "pa"),
    ("City Limits", "citylimits.org", "ny"),
    ("Gothamist", "gothamist.com", "ny"),
    ("Times Union", "timesunion.com", "ny"),
    ("Star Tribune", "startribune.com", "mn"),
    ("Sahan Journal", "sahanjournal.com", "mn"),
    ("The Texas Tribune", "texastribune.org", "tx"),
    ("Houston Chronicle", "houstonchronicle.com", "tx"),
    ("Austin American-Statesman", "statesman.com", "tx"),
    ("San Francisco Chronicle", "sfchronicle.com", "ca"),
    ("Richmond Confidential", "richmondconfidential.org", "ca"),
    ("The Seattle Times", "seattletimes.com", "wa"),
    ("Block Club Chicago", "blockclubchicago.org", "il"),
    ("Atlanta Journal-Constitution", "ajc.com", "ga"),
    ("Baltimore Banner", "thebaltimorebanner.com", "md"),
    ("Bolts", "boltsmag.org", "national"),
    ("The American Prospect", "prospect.org", "national"),
    ("Route Fifty", "route-fifty.com", "national"),
)

_HEADLINES: dict[str, tuple[str, ...]] = {
    "Good Cause Eviction": (
        "{name} pushes good cause eviction bill as rents climb in {place}",
        "Tenants rally with {name} for good cause protections",
        "{place} council weighs good cause eviction; {last} says renters can't wait",
        "Why {name} thinks good cause eviction is the fix {place} needs",
    ),
    "Police-Free Schools": (
        "{name} calls for police-free schools after restraint incident",
        "{place} board debates school resource officers; {last} leads opposition",
        "Students and {name} make the case for police-free schools",
    ),
    "Local Democracy": (
        "{name} joins local officials fighting state preemption law",
        "'They want to silence cities': {name} on the preemption fight",
        "{place} sues state over preemption, backed by {name}",
        "Local control under attack, {name} warns legislators",
    ),
    "Kia & Hyundai Recall": (
        "{name} among local leaders demanding Kia and Hyundai recall",
        "Vehicle thefts soar in {place}; {name} wants federal action",
    ),
    "Landlord Anti-Collusion": (
        "Committee advances {name}'s ban on rent-setting software",
        "{name}: landlord collusion is driving up rents in {place}",
        "{place} moves to outlaw rent-setting software, led by {last}",
    ),
    "Heat Protections": (
        "{name} proposes mandatory water breaks for outdoor workers",
        "As heat records fall, {name} fights for heat protections in {place}",
    ),
}
_GENERIC_HEADLINES = (
    "{name} unveils budget priorities for {place}",
    "{place} council passes {name}'s housing package",
    "Q&A: {name} on two years in office",
    "{name} hosts town hall on public safety in {place}",
    "{title} {name} announces re-election bid",
    "{place} residents pack hearing as {name} presses for answers",
)
_SUMMARIES = (
    "{title} {name} of {place} said the measure would protect working families and that the council "
    "would vote before the end of the month. Opponents argued it goes too far.",
    "Speaking at a crowded hearing, {name} told colleagues that {place} cannot wait for state action. "
    "The proposal drew support from tenant unions and faith leaders.",
    "The effort, championed by {title} {name}, follows months of organizing by residents in {place} and "
    "a coalition of local elected officials from across the country.",
    "{name} said the city had a responsibility to act. \u201cThis is what local government is for,\u201d "
    "the {title_lower} said on Tuesday.",
)
_CAMPAIGN_SENTENCES: dict[str, str] = {
    "Good Cause Eviction": " Advocates say good cause eviction would stop arbitrary rent hikes.",
    "Police-Free Schools": " Parents called for police-free schools and counselors instead of officers.",
    "Local Democracy": " The bill is the latest example of state preemption of city ordinances.",
    "Kia & Hyundai Recall": " Kia and Hyundai models without immobilizers account for most vehicle thefts.",
    "Landlord Anti-Collusion": " The ordinance bans rent-setting software that lets landlords share pricing data.",
    "Heat Protections": " Workers testified that water breaks are often skipped on the hottest days.",
}
_CREDITS = ("Photo: Jessica Griffin / Staff", "Credit: Sahan Journal", "AP Photo", "Courtesy of the council office",
            "Photo by Marcus Lee for the Tribune", "City Council photo")


def demo_members() -> tuple[MemberConfig, ...]:
    return tuple(
        MemberConfig(id=slugify(name), name=name, title=title, jurisdiction=place, state=state,
                     aliases=(f"{title} {name.split()[-1]}",))
        for name, title, place, state in _DEMO_MEMBERS
    )


def demo_campaigns() -> tuple[CampaignConfig, ...]:
    return tuple(
        CampaignConfig(id=slugify(name), name=name, keywords=tuple(Term(k) for k in keywords))
        for name, keywords in _DEMO_CAMPAIGNS
    )


def demo_feeds() -> tuple[FeedConfig, ...]:
    return tuple(
        FeedConfig(id=slugify(domain), url=f"https://www.{domain}/feed/", name=outlet, tags=(tag,))
        for outlet, domain, tag in _OUTLETS
    )


def demo_config(path: str = "<demo>") -> Config:
    """The roster used when feeds.yml has no members (and for `tracker dashboard --demo`)."""
    return Config(path=path, feeds=demo_feeds(), members=demo_members(), campaigns=demo_campaigns())


def demo_config_data() -> dict[str, object]:
    """The demo roster as feeds.yml data (for tests and for starting a config from the demo)."""
    return {
        "feeds": [{"url": f.url, "name": f.name, "id": f.id, "tags": list(f.tags)} for f in demo_feeds()],
        "members": [
            {"id": m.id, "name": m.name, "title": m.title, "jurisdiction": m.jurisdiction, "state": m.state,
             "aliases": list(m.aliases)}
            for m in demo_members()
        ],
        "campaigns": [{"id": c.id, "name": c.name, "keywords": [t.text for t in c.keywords]} for c in demo_campaigns()],
    }


@dataclass(frozen=True)
class SeedReport:
    clips: int
    new: int
    approved: int
    rejected: int
    feeds: int


def _roster(config: Config | None) -> tuple[tuple[MemberConfig, ...], tuple[CampaignConfig, ...], tuple[FeedConfig, ...]]:
    members = config.members if config and config.members else demo_members()
    campaigns = config.campaigns if config and config.campaigns else demo_campaigns()
    feeds = config.feeds if config and config.feeds else demo_feeds()
    return members, campaigns, feeds


def generate_clips(
    n: int,
    *,
    config: Config | None = None,
    now: datetime,
    seed: int = 7,
    days: int | None = None,
    new_days: float = 4.0,
) -> list[ClipView]:
    """n clips spread over `days` (default: about 150 a day, at least 180 days) up to now.

    Clips from the last `new_days` days are waiting for review; older ones were
    reviewed (roughly a third approved). Approved clips carry staff edits.
    """
    rng = random.Random(seed)
    members, campaigns, feeds = _roster(config)
    member_by_id = {m.id: m for m in members}
    campaign_names = [c.name for c in campaigns]
    matcher = compile_matcher(members, campaigns)
    span = timedelta(days=days if days is not None else max(180, n // 150))
    feeds_by_tag: dict[str, list[FeedConfig]] = {}
    for f in feeds:
        for tag in f.tags or ("national",):
            feeds_by_tag.setdefault(tag, []).append(f)
    # Coverage is uneven on purpose: a few members get most of it, two get none (the Insights page shows them).
    weights = [1.0 / (i + 1) ** 0.9 for i in range(len(members))]
    if len(members) > 4:
        weights[-1] = weights[-2] = 0.0
    clips: list[ClipView] = []
    positions = 0
    for i in range(n):
        member = rng.choices(members, weights=weights)[0]
        place = member.jurisdiction or member.state or "the city"
        campaign_name = rng.choice(campaign_names) if campaign_names and rng.random() < 0.7 else None
        templates = _HEADLINES.get(campaign_name or "", _GENERIC_HEADLINES) if campaign_name else _GENERIC_HEADLINES
        fields = {
            "name": member.name, "last": member.name.split()[-1], "place": place,
            "title": member.title or "Councilmember", "title_lower": (member.title or "councilmember").lower(),
        }
        title = rng.choice(templates).format(**fields)
        summary = rng.choice(_SUMMARIES).format(**fields) + _CAMPAIGN_SENTENCES.get(campaign_name or "", "")
        state_feeds = feeds_by_tag.get(member.state.lower()) or feeds
        feed = rng.choice(state_feeds if rng.random() < 0.8 else feeds)
        outlet = feed.name or feed.id
        # Newest first is the queue's order: spread times with a daily rhythm (more by day than night).
        age = span * (i / max(n, 1)) + timedelta(minutes=rng.randint(0, 90))
        published = (now - age).replace(second=0, microsecond=0)
        first_seen = published + timedelta(minutes=rng.randint(5, 70))
        if first_seen > now:
            first_seen = now
        domain = feed.url.split("/")[2].removeprefix("www.") if "://" in feed.url else "example.org"
        url = f"https://www.{domain}/news/{published:%Y/%m/%d}/{slugify(title)[:60]}-{i}"
        canonical = canonical_url(url)
        mentions = tuple(matcher.match(MatchItem(title=title, summary=summary)))
        age_days = (now - published).total_seconds() / 86400
        if age_days < new_days:
            status = ClipStatus.NEW
        else:
            status = ClipStatus.APPROVED if rng.random() < 0.32 else ClipStatus.REJECTED
        image_url = f"https://images.{domain}/{published:%Y%m}/{clip_id_for(canonical)}.jpg" if rng.random() < 0.6 else None
        edits: dict[str, object] = {}
        if status is ClipStatus.APPROVED:
            m = member_by_id.get(member.id, member)
            edits = {
                "blurb": f"{m.title} {m.name} " + summary.split(". ", 1)[-1] if rng.random() < 0.5 else None,
                "image_credit": rng.choice(_CREDITS) if image_url else None,
                "image_alt": f"{m.name} speaking at a press conference in {place}" if image_url else None,
                "reviewed_by": rng.choice(("maria", "devon", "sam")),
                "reviewed_at": first_seen + timedelta(hours=rng.randint(1, 20)),
            }
            if positions < 3 and age_days < 60:
                positions += 1
                edits["featured"] = positions == 1
                edits["position"] = positions
        elif status is ClipStatus.REJECTED:
            edits = {"reviewed_by": rng.choice(("maria", "devon", "sam")),
                     "reviewed_at": first_seen + timedelta(hours=rng.randint(1, 20))}
        clips.append(
            ClipView(
                id=clip_id_for(canonical), url=url, canonical_url=canonical, title=title, summary=summary,
                outlet=outlet, published_at=published, first_seen_at=first_seen, status=status,
                image_url=image_url, mentions=mentions, feed_ids=(feed.id,), updated_at=first_seen,
                **edits,  # type: ignore[arg-type]
            )
        )
    return clips


def _seed_feed_health(store: Store, feeds: Sequence[FeedConfig], now: datetime, rng: random.Random) -> None:
    """Give the Feeds page something to say: mostly healthy, one failing, one quiet, one gone."""
    store.sync_feeds(feeds)
    for i, feed in enumerate(feeds):
        if i == 1:  # failing for two days
            store.record_fetch(feed.id, FetchOutcome(ok=True, status=200, items_seen=20, had_new_items=True),
                               now - timedelta(days=3))
            for hours in (48, 24, 6, 1):
                store.record_fetch(
                    feed.id,
                    FetchOutcome(ok=False, status=503, error="HTTP 503 Service Unavailable",
                                 next_attempt_at=now + timedelta(hours=2)),
                    now - timedelta(hours=hours),
                )
        elif i == 4:  # answers, but has had nothing new for weeks
            store.record_fetch(feed.id, FetchOutcome(ok=True, status=200, items_seen=15, had_new_items=True),
                               now - timedelta(days=30))
            store.record_fetch(feed.id, FetchOutcome(ok=True, status=304, items_seen=15), now - timedelta(minutes=40))
        elif i == 7:
            store.record_fetch(feed.id, FetchOutcome(ok=False, status=410, error="HTTP 410 Gone",
                                                     disable_reason="feed is gone (HTTP 410); remove it from feeds.yml"),
                               now - timedelta(hours=5))
        else:
            store.record_fetch(
                feed.id,
                FetchOutcome(ok=True, status=200, items_seen=rng.randint(10, 50), had_new_items=True,
                             next_attempt_at=now + timedelta(minutes=20)),
                now - timedelta(minutes=rng.randint(5, 55)),
            )
    for hours in (3, 2, 1):
        started = now - timedelta(hours=hours)
        run = store.start_run("demo-scheduler", len(feeds), started)
        store.finish_run(run, outcome="partial", now=started + timedelta(seconds=rng.randint(20, 90)),
                         feeds_ok=len(feeds) - 2, feeds_failed=2, feeds_skipped=0,
                         items_seen=rng.randint(300, 600), clips_new=rng.randint(2, 12))


def seed_store(
    store: Store,
    n: int,
    *,
    config: Config | None = None,
    now: datetime,
    seed: int = 7,
    days: int | None = None,
    batch: int = 5000,
) -> SeedReport:
    """Fill store with n demo clips plus feed health and ingest runs. Existing clip ids are skipped."""
    clips = generate_clips(n, config=config, now=now, seed=seed, days=days)
    known = store.known_clip_ids([c.id for c in clips])
    fresh = [c for c in clips if c.id not in known]
    for start in range(0, len(fresh), batch):
        store.insert_seed_clips(fresh[start : start + batch])
    _, _, feeds = _roster(config)
    _seed_feed_health(store, feeds, now, random.Random(seed))
    return SeedReport(
        clips=len(fresh),
        new=sum(c.status is ClipStatus.NEW for c in fresh),
        approved=sum(c.status is ClipStatus.APPROVED for c in fresh),
        rejected=sum(c.status is ClipStatus.REJECTED for c in fresh),
        feeds=len(feeds),
    )

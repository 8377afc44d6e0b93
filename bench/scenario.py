"""A deterministic benchmark scenario: a registry of members and campaigns, and N news feeds.

Every feed is an RSS 2.0 document of 30 realistic items (headline, HTML description,
content:encoded on about half the feeds, author, image, pubDate). About 2% of items
mention a member (by name or alias, with the context their require_any asks for) or
a campaign keyword; the rest is local-news filler that mentions nobody, so the
matcher does the work it does in production: scan everything, fire rarely.

Same seed, same bytes: the tracker and `reader` are compared on identical feeds.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from tracker.models import CampaignConfig, Config, FeedConfig, MemberConfig, Settings, Term

DEFAULT_WORKERS = Settings().workers  # fetch threads: the tracker's default, for every system measured

ITEMS_PER_FEED = 30
MENTION_RATE = 0.02
BASE_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Aaliyah Abdul Adriana Alejandro Amara Andre Anika Arjun Beatriz Benjamin Bianca Carlos Carmen "
    "Cedric Chen Chioma Daniel Dara Deepa Desmond Dolores Elena Elijah Esperanza Fatima Felix Gloria "
    "Grace Hamid Hannah Hector Imani Ingrid Isaac Jamal Janelle Javier Jin Jonah Kalani Kendra Keisha "
    "Kofi Lakshmi Leon Lucia Malik Marcus Maribel Mateo Maya Mei Miguel Nadia Naomi Nasir Nia Omar "
    "Oscar Paloma Priya Rafael Ramona Rashid Renee Ricardo Rosa Samira Santiago Selena Shauna Simone "
    "Tamika Tariq Teresa Tobias Valeria Vikram Wanda Xavier Yara Yusuf Zainab Zora Ruth Walter Agnes "
    "Bernard Colette Dmitri Esther Frances Gustavo Helga Ignacio"
)
_LAST = _words(
    "Abernathy Acosta Adeyemi Alvarado Amsel Arceneaux Baptiste Barrientos Bellweather Benavides "
    "Blackwood Bocanegra Brightwater Calloway Castellanos Chakraborty Cisneros Coldiron Dalrymple "
    "Delacroix Dombrowski Duchesne Easterbrook Echeverria Eriksen Fairbanks Falconer Figueroa "
    "Fitzwilliam Galindo Gallagher Giordano Greenleaf Gutierrez Halvorsen Hargrove Hawthorne Herrera "
    "Holloway Ibarra Iwasaki Jablonski Jaramillo Kaczmarek Kapoor Kingsley Kowalczyk Lachance "
    "Lindqvist Llewellyn Lockridge Macintyre Maldonado Marchetti Montgomery Nakamura Navarrete "
    "Nightingale Okonkwo Oyelaran Pacheco Pemberton Quintanilla Ravensworth Rosenthal Saltonstall "
    "Santangelo Sorensen Stanislaus Thistlewood Trujillo Underhill Valdivia Vanderpool Wadsworth "
    "Whitfield Winterbourne Yamaguchi Zapata Zielinski Ashcombe Birchfield Crestwood Dunleavy "
    "Ellingsworth Foxworthy Goldsberry Hazelwood Ironside Juniper Kettleborough Larkspur Merriweather "
    "Northcott Oakenshield Pennington Quarrington Rutherford Stonebridge Thornbury Umberfield "
    "Vickersley Wolverton Yardley Zimmerly Ambrose Blanchette Corriveau Desrosiers Fontaine "
    "Gagnon Lacroix Thibodeaux"
)
_CITIES = _words(
    "Philadelphia Pittsburgh Rochester Albany Houston Austin Denver Tucson Phoenix Milwaukee Madison "
    "Minneapolis Chicago Detroit Cleveland Columbus Atlanta Durham Richmond Baltimore Boston Providence "
    "Hartford Portland Seattle Tacoma Oakland Sacramento Fresno Albuquerque Omaha Kansas Memphis "
    "Nashville Louisville Orlando Tampa Miami Newark Buffalo"
)
_STATES = _words("PA NY TX CO AZ WI MN IL MI OH GA NC VA MD MA RI CT OR WA CA NM NE MO TN KY FL NJ")
_TOPICS = (
    "budget hearing", "school board vote", "transit expansion", "zoning overhaul", "water main repair",
    "library hours", "police oversight", "property tax levy", "bike lane plan", "stadium financing",
    "park renovation", "snow removal contract", "housing authority audit", "minimum wage study",
    "pension reform", "broadband rollout", "wastewater treatment", "heat emergency plan",
)
_WORDS = _words(
    "residents officials council committee meeting proposal funding neighborhood district county "
    "city state plan vote hearing public report week month year program community local department "
    "agency contract costs million services families workers business owners downtown project board "
    "approved delayed reviewed discussed announced expected schedule street avenue center support "
    "opposition commissioners staff analysis data survey estimate revenue spending capital repairs "
    "safety traffic health schools teachers students parents seniors tenants landlords developers "
    "construction permits inspection complaints response timeline deadline priority coalition"
)
_CAMPAIGN_NAMES = (
    "Good Cause Eviction", "Right to Counsel", "Fair Workweek", "Paid Sick Leave", "Tenant Opportunity",
    "Participatory Budgeting", "Green New Deal for Schools", "Wage Theft Prevention", "Clean Slate",
    "Community Land Trust", "Just Cause Protections", "Heat Standard", "Public Bank", "Universal Pre-K",
    "Lead Pipe Replacement", "Fare Free Transit", "Rent Stabilization", "Domestic Workers Bill of Rights",
    "Civilian Crisis Response", "Climate Resilience Hubs", "Municipal Broadband", "Source of Income",
    "Language Access", "Worker Cooperatives", "Guaranteed Income", "Housing First", "Police Budget Cuts",
    "Sanctuary City Ordinance", "Living Wage", "Healthy Homes", "Youth Jobs Guarantee",
    "Small Business Relief", "Vacancy Tax", "Social Housing", "Cash Bail Reform", "Voting Rights Restoration",
    "Paid Family Leave", "Safe Staffing", "Street Vendor Permits", "Death Star Preemption",
)


@dataclass(frozen=True)
class Registry:
    members: tuple[MemberConfig, ...]
    campaigns: tuple[CampaignConfig, ...]


@dataclass(frozen=True)
class Scenario:
    feeds: int = 1000
    members: int = 1500
    campaigns: int = 40
    items_per_feed: int = ITEMS_PER_FEED
    mention_rate: float = MENTION_RATE
    seed: int = 7
    registry: Registry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "registry", make_registry(self.members, self.campaigns, self.seed))

    def feed_path(self, index: int) -> str:
        return f"/feeds/{index:05d}.xml"

    def feed_configs(self, base_url: str) -> tuple[FeedConfig, ...]:
        return tuple(
            FeedConfig(id=f"bench-{i:05d}", url=base_url + self.feed_path(i), name=f"Bench Outlet {i}")
            for i in range(self.feeds)
        )

    def config(self, base_url: str, *, workers: int = DEFAULT_WORKERS, with_registry: bool = True) -> Config:
        """The tracker config for this scenario.

        All feeds live on one loopback server that stands in for about a thousand
        publishers, so the per-host politeness limit is raised to the worker count
        (otherwise it, not the code, would set the pace).
        """
        reg = self.registry
        return Config(
            path="<bench>",
            # No article step: these benchmarks measure polling feeds (bench/enrich.py measures articles,
            # and the scenario's links lead nowhere).
            settings=Settings(workers=workers, per_host_limit=workers, timeout_s=30.0,
                              allow_private_hosts=True, user_agent="media-tracker-bench/1.0", enrich_per_cycle=0),
            feeds=self.feed_configs(base_url),
            members=reg.members if with_registry else (),
            campaigns=reg.campaigns if with_registry else (),
        )

    def render(self, index: int, version: int = 0) -> bytes:
        return render_feed(self, index, version)


def _slug(text: str) -> str:
    return "-".join("".join(ch.lower() if ch.isalnum() else " " for ch in text).split())


def make_registry(n_members: int, n_campaigns: int, seed: int) -> Registry:
    rng = random.Random(seed)
    pairs = [(f, last) for f in _FIRST for last in _LAST]
    rng.shuffle(pairs)
    if n_members > len(pairs):
        raise ValueError(f"at most {len(pairs)} distinct member names")
    members: list[MemberConfig] = []
    for i, (first, last) in enumerate(pairs[:n_members]):
        city = rng.choice(_CITIES)
        title = rng.choice(("Councilmember", "Council Member", "Alderperson", "Commissioner", "Supervisor"))
        aliases = (f"{title} {first} {last}",) if i % 3 == 0 else ()
        # A fifth of members share a name with someone famous elsewhere: they need their city nearby.
        require_any = (Term(city),) if i % 5 == 0 else ()
        members.append(
            MemberConfig(
                id=_slug(f"{first} {last}"), name=f"{first} {last}", aliases=aliases, title=title,
                jurisdiction=city, state=rng.choice(_STATES), require_any=require_any,
            )
        )
    campaigns: list[CampaignConfig] = []
    for i, name in enumerate(_CAMPAIGN_NAMES[:n_campaigns]):
        keywords = (Term(name), Term(f"{name} ordinance"))
        query = f'"{name.split()[0]}" NEAR/4 (ordinance OR bill)' if i % 4 == 0 else None
        campaigns.append(CampaignConfig(id=_slug(name), name=name, keywords=keywords, query=query))
    return Registry(tuple(members), tuple(campaigns))


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 18)) for _ in range(sentences))


def _mention(rng: random.Random, reg: Registry) -> str:
    if rng.random() < 0.8 or not reg.campaigns:
        m = rng.choice(reg.members)
        name = rng.choice((m.name, *m.aliases))
        return f"{name} of {m.jurisdiction} said the {rng.choice(_TOPICS)} needs more public input."
    c = rng.choice(reg.campaigns)
    return f"Supporters of the {c.keywords[0].text} push packed the chamber on Tuesday."


def render_feed(sc: Scenario, index: int, version: int = 0) -> bytes:
    """Feed `index` at `version`: each new version adds five stories on top, the oldest fall off."""
    rng = random.Random(sc.seed * 1_000_003 + index)
    city = rng.choice(_CITIES)
    outlet = f"The {city} {rng.choice(('Ledger', 'Courier', 'Tribune', 'Gazette', 'Observer', 'Dispatch'))} #{index}"
    rich = index % 2 == 0  # WordPress-style feeds carry the whole article in content:encoded
    newest = 5 * version + sc.items_per_feed  # item numbers are stable, so old stories keep their guid
    items: list[str] = []
    for n in range(newest - 1, newest - 1 - sc.items_per_feed, -1):
        irng = random.Random(f"{sc.seed}:{index}:{n}")
        topic = irng.choice(_TOPICS)
        headline = f"{city} {topic}: {_sentence(irng, irng.randint(6, 11))[:-1]}"
        paras = [_paragraph(irng, irng.randint(2, 3)) for _ in range(2)]
        if irng.random() < sc.mention_rate:
            paras.insert(1, _mention(irng, sc.registry))
        description = "".join(f"<p>{escape(p)}</p>" for p in paras[:2])
        link = f"https://news{index}.example.com/{city.lower()}/{n}-{_slug(topic)}"
        published = BASE_TIME + timedelta(hours=n) - timedelta(minutes=index % 60)
        extra = ""
        if rich:
            body = paras + [_paragraph(irng, irng.randint(3, 5)) for _ in range(3)]
            html = "".join(f"<p>{escape(p)}</p>" for p in body)
            extra = f"<content:encoded><![CDATA[{html}]]></content:encoded>"
        items.append(
            "<item>"
            f"<title>{escape(headline)}</title><link>{link}?utm_source=rss</link>"
            f'<guid isPermaLink="false">{index}-{n}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<dc:creator>{irng.choice(_FIRST)} {irng.choice(_LAST)}</dc:creator>"
            f"<description>{escape(description)}</description>{extra}"
            f'<media:content url="https://news{index}.example.com/img/{n}.jpg" medium="image" width="1200"/>'
            "</item>"
        )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>{escape(outlet)}</title><link>https://news{index}.example.com/</link>"
        f"<description>Local news from {city}</description><language>en-us</language>"
        + "\n".join(items)
        + "</channel></rss>"
    )
    return doc.encode()


def write_config(sc: Scenario, base_url: str, folder: Path, *, workers: int = DEFAULT_WORKERS) -> Path:
    """feeds.yml + members.csv for running the real `tracker` CLI on the scenario."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "members.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "name", "aliases", "title", "jurisdiction", "state", "require_any"])
        for m in sc.registry.members:
            out.writerow([m.id, m.name, ";".join(m.aliases), m.title, m.jurisdiction, m.state,
                          ";".join(t.text for t in m.require_any)])
    data = {
        "settings": {"workers": workers, "per_host_limit": workers, "timeout_s": 30,
                     "allow_private_hosts": True, "user_agent": "media-tracker-bench/1.0", "enrich_per_cycle": 0},
        "feeds": [{"id": f.id, "url": f.url, "name": f.name} for f in sc.feed_configs(base_url)],
        "members_file": "members.csv",
        "campaigns": [
            {"id": c.id, "name": c.name, "keywords": [k.text for k in c.keywords],
             **({"query": c.query} if c.query else {})}
            for c in sc.registry.campaigns
        ],
    }
    path = folder / "feeds.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def without_registry(config: Config) -> Config:
    """The same config with nobody to look for: what ingest costs without matching."""
    return replace(config, members=(), campaigns=())


if __name__ == "__main__":
    sc = Scenario(feeds=20)
    sizes = [len(sc.render(i)) for i in range(sc.feeds)]
    print(f"{len(sc.registry.members)} members, {len(sc.registry.campaigns)} campaigns, "
          f"feeds of {min(sizes)}..{max(sizes)} bytes")

"""Outlet identity and the primary copy of a story. Pure (tldextract reads its bundled suffix list only).

An outlet is a registrable domain: www.inquirer.com, m.inquirer.com, amp.inquirer.com and an AMP
cache's www-inquirer-com.cdn.ampproject.org are all inquirer.com, whatever name each feed gives
it ("Inquirer", "The Philadelphia Inquirer").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from tracker.match.text import normalize_text
from tracker.models import MemberConfig

# The suffix list bundled with tldextract; never fetched at run time (no network, no cache dir).
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

US_STATES = frozenset(
    ["al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy", "pr", "gu", "vi", "as", "mp"]
)
TIERS = ("local", "state", "national")
# Hosts that serve other sites' pages: the outlet is the page's own host, inside the URL.
_AMP_CACHE = ".cdn.ampproject.org"
_GOOGLE_AMP = re.compile(r"^/amp/(?:s/)?([^/]+)/")
_AMP_CACHE_PATH = re.compile(r"^/[a-z]/(?:s/)?([^/]+)/")


def _amp_cache_host(label: str) -> str:
    # The AMP cache encodes a host as one label: '-' for '.', '--' for '-'.
    return label.replace("--", "\x00").replace("-", ".").replace("\x00", "-")


def _page_host(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if host.endswith(_AMP_CACHE):
        inner = _AMP_CACHE_PATH.match(parts.path)
        return inner.group(1).lower() if inner else _amp_cache_host(host[: -len(_AMP_CACHE)])
    if host in ("www.google.com", "google.com"):
        inner = _GOOGLE_AMP.match(parts.path)
        if inner:
            return inner.group(1).lower()
    return host


@lru_cache(maxsize=65536)
def outlet_domain(url: str) -> str:
    """The outlet a page belongs to: its registrable domain ('' for a URL without a host)."""
    try:
        host = _page_host(url)
    except ValueError:
        return ""
    if not host:
        return ""
    found = _EXTRACT(host)
    return found.top_domain_under_public_suffix or host  # an IP address or 'localhost' stands for itself


# Platforms whose every subdomain is another publisher's (the Public Suffix List's private section
# names blogspot.com, github.io, wixsite.com…, but not these).
_TENANT_PLATFORMS = frozenset({"substack.com", "wordpress.com", "tumblr.com", "medium.com", "ghost.io",
                               "beehiiv.com", "squarespace.com"})


def site_domain(url: str) -> str:
    """The site a page belongs to, for trusting what it says of itself: its registrable domain, a
    hosting platform's tenant counting as a site ('' for an address with no public suffix)."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    found = _EXTRACT(host, include_psl_private_domains=True)
    domain = found.top_domain_under_public_suffix
    if not domain or not found.suffix:
        return ""
    if domain in _TENANT_PLATFORMS and found.subdomain not in ("", "www"):
        return f"{found.subdomain.rsplit('.', 1)[-1]}.{domain}"
    return domain


def name_key(name: str) -> str:
    """A display name for comparison: 'The Philadelphia Inquirer' → 'philadelphia inquirer'."""
    words = re.findall(r"\w+", normalize_text(name))
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def same_outlet_name(a: str, b: str) -> bool:
    """'Inquirer' and 'The Philadelphia Inquirer' name one outlet; 'Enquirer' does not."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return False
    short, long = sorted((ka, kb), key=len)
    return long == short or long.endswith(" " + short)


def outlet_state(staff: str | None, preset: str | None, feed_tags: Sequence[str]) -> tuple[str, str]:
    """(state, where it came from): a staff edit, then feeds.yml's outlets:, then the state tags of
    the listed feeds the outlet publishes (one state only: two states prove nothing), else unknown."""
    if staff:
        return staff.upper(), "staff"
    if preset:
        return preset.upper(), "config"
    states = sorted({t.lower() for t in feed_tags if t.lower() in US_STATES})
    if len(states) == 1:
        return states[0].upper(), "feed tags"
    return "", "unknown"


@dataclass(frozen=True)
class Copy:
    """One copy of a story, as choosing its primary needs it."""

    clip_id: str
    at: datetime
    outlet_state: str = ""
    outlet_place: str = ""
    member_ids: tuple[str, ...] = ()


def locality(copy: Copy, members: Mapping[str, MemberConfig]) -> int:
    """2: the outlet's place is a matched member's jurisdiction; 1: its state is the member's; else 0."""
    best = 0
    for member_id in copy.member_ids:
        member = members.get(member_id)
        if member is None:
            continue
        if copy.outlet_place and member.jurisdiction and name_key(copy.outlet_place) == name_key(member.jurisdiction):
            return 2
        if copy.outlet_state and member.state and copy.outlet_state.upper() == member.state.upper():
            best = 1
    return best


def choose_primary(copies: Sequence[Copy], members: Mapping[str, MemberConfig]) -> str:
    """The copy the website should link: the member's local outlet, else the earliest."""
    if not copies:
        raise ValueError("a story has at least one copy")
    # The members of the story are those of any copy: a local copy may have cut the name from its lead.
    story_members = tuple(sorted({m for c in copies for m in c.member_ids}))
    return min(
        copies,
        key=lambda c: (-locality(Copy(c.clip_id, c.at, c.outlet_state, c.outlet_place, story_members), members),
                       c.at, c.clip_id),
    ).clip_id

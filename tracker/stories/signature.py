"""A clip's text as a MinHash signature, and how alike two signatures say two clips are. Pure.

The text is the headline (without a trailing " - Outlet", as search engines add it) and the
summary, plus the lead of the article when enrichment has fetched it: wire copies share the
lead, and a longer shared text makes the estimate firmer. It is normalised like matching text
(tracker.match.text), cut into overlapping three-word shingles and signed with datasketch's
MinHash (128 permutations); the signature is stored as 512 bytes, so the window's index is
rebuilt from the database without shingling anything again.

Two clips are one story when their estimated Jaccard similarity reaches JACCARD_SAME, or when
the smaller text is mostly inside the larger (CONTAINMENT_SAME, for a feed summary against a
full article, or a copy with a local paragraph added). The thresholds were set on wire copies
and same-day different stories (tests/test_stories.py holds both sides).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING

import numpy as np

from tracker.match.text import normalize_text

if TYPE_CHECKING:
    from datasketch import LeanMinHash

# datasketch is imported where a signature is made or compared, not here: its package imports
# scipy (for LSH tuning), ~0.6 s that the dashboard and the CLI would pay on every start.

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # datasketch 2.0's default: 32-bit hash values, stored as little-endian uint32
SHINGLE_WORDS = 3
LEAD_WORDS = 250  # of an article's text: the wire lead, before local additions and page furniture
# Same story: an edited headline and an added local paragraph keep a wire copy near 0.5;
# two different stories about one member share a name and a few phrases, under 0.15.
JACCARD_SAME = 0.35
CONTAINMENT_SAME = 0.6
MIN_CONTAINED_SHINGLES = 12  # containment of a shorter text (a headline alone) proves nothing

_WORD = re.compile(r"\w+")
@cache
def _permutations() -> object:
    """Drawing 128 permutations costs more than signing a clip: drawn once, shared by every MinHash."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _hash32(shingle: bytes) -> int:
    # CRC-32 (C, no object per call) instead of datasketch's SHA-1: signing is 2-3x faster, and the
    # permutations on top supply the randomness. Stored signatures depend on it: never change it.
    return zlib.crc32(shingle)


@dataclass(frozen=True)
class Signature:
    """A clip's MinHash (hash values as bytes) and how many distinct shingles it summarises."""

    hashvalues: bytes
    shingles: int

    @cached_property
    def values(self) -> np.ndarray:
        return np.frombuffer(self.hashvalues, dtype="<u4").astype(np.uint32)

    def minhash(self) -> LeanMinHash:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=SEED, hashvalues=self.values, scheme=SCHEME)

    def jaccard(self, other: Signature) -> float:
        """The estimated Jaccard similarity: the share of equal hash values (as datasketch computes it)."""
        return float(np.count_nonzero(self.values == other.values)) / NUM_PERM


def strip_outlet_suffix(title: str, outlet: str) -> str:
    """'Headline - The Outlet' → 'Headline' (Google News and Bing titles name the outlet)."""
    if outlet:
        for sep in (" - ", " | ", " — ", " – "):
            tail = sep + outlet
            if title.endswith(tail) and len(title) > len(tail):
                return title[: -len(tail)]
    return title


def story_text(title: str, summary: str, article: str = "", outlet: str = "") -> str:
    """The text compared: headline, summary, and the article's lead when there is one."""
    lead = " ".join(article.split()[:LEAD_WORDS])
    return "\n".join(part for part in (strip_outlet_suffix(title, outlet), summary, lead) if part)


MIN_HEADLINE_WORDS = 4  # a shorter headline ("Rent cap") names no one story


def headline_key(title: str, outlet: str = "") -> str:
    """A headline for exact comparison with a search item's hints ('' when too short to mean one story)."""
    words = _WORD.findall(normalize_text(strip_outlet_suffix(title, outlet)))
    return " ".join(words) if len(words) >= MIN_HEADLINE_WORDS else ""


def shingles(text: str) -> set[bytes]:
    words = _WORD.findall(normalize_text(text))
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


def sign(text: str) -> Signature | None:
    """The text's signature; None when it has no words (nothing to compare)."""
    found = shingles(text)
    if not found:
        return None
    from datasketch import MinHash

    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations(), scheme=SCHEME, hashfunc=_hash32)
    mh.update_batch(sorted(found))
    return Signature(np.asarray(mh.hashvalues, dtype="<u4").tobytes(), len(found))


def similarity(a: Signature, b: Signature) -> tuple[float, float]:
    """(estimated Jaccard, estimated containment of the smaller shingle set in the larger)."""
    jaccard = a.jaccard(b)
    return jaccard, containment(jaccard, a.shingles, b.shingles)


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    # |A ∩ B| = J (|A| + |B|) / (1 + J), over the smaller set.
    smaller = min(size_a, size_b)
    if smaller <= 0:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / (1 + jaccard) / smaller)


def same_story(jaccard: float, contained: float, smaller_shingles: int) -> bool:
    return jaccard >= JACCARD_SAME or (smaller_shingles >= MIN_CONTAINED_SHINGLES and contained >= CONTAINMENT_SAME)

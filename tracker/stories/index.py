"""Where a new clip belongs: a story of the window, or a story of its own. Pure.

StoryIndex is a datasketch MinHashLSH over stored signatures. The caller fills it with the
window's clips that could be copies of the new ones (tracker.syndication loads those sharing a
member or campaign with a new clip: every copy of a story matched, so it names one of them) and
then places the new clips one by one, oldest first; each placed clip joins the index, so copies
arriving in the same cycle find each other. The LSH only proposes candidates (at a lower
threshold than the decision, so few copies are missed); the decision is signature.same_story
on the best candidate's estimated similarity.

Google News items list the same story's headlines in other outlets; a clip whose headline is one
of those (or whose own list names a clip's headline) joins that story even when the texts differ:
a search item's text is often its headline alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from datasketch import MinHashLSH

from tracker.stories.signature import NUM_PERM, Signature, containment, same_story

# Candidates from the LSH: (28 bands of 2) finds a pair at Jaccard 0.35 with 97% probability.
LSH_THRESHOLD = 0.2


@dataclass(frozen=True)
class Candidate:
    """A clip already placed: its story and signature."""

    clip_id: str
    story_id: str
    signature: Signature | None
    headline: str = ""  # headline_key of its title
    hints: tuple[str, ...] = ()  # headline_keys of the copies a search item listed
    at: datetime | None = None  # its date: the window drops it when it is older than the window


@dataclass(frozen=True)
class Placement:
    story_id: str | None  # None: a story of its own
    jaccard: float = 0.0
    containment: float = 0.0
    like: str | None = None  # the clip it was found like
    by_hint: bool = False


class StoryIndex:
    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._clips: dict[str, Candidate] = {}
        self._by_headline: dict[str, Candidate] = {}
        self._by_hint: dict[str, Candidate] = {}

    def __len__(self) -> int:
        return len(self._clips)

    def add(self, candidate: Candidate) -> None:
        if candidate.clip_id in self._clips:
            return
        self._clips[candidate.clip_id] = candidate
        if candidate.signature is not None:
            self._lsh.insert(candidate.clip_id, candidate.signature.minhash(), check_duplication=False)
        if candidate.headline:
            self._by_headline.setdefault(candidate.headline, candidate)
        for hint in candidate.hints:
            self._by_hint.setdefault(hint, candidate)

    def expire(self, before: datetime) -> int:
        """Drop candidates dated before `before` (the window moved on); how many were dropped."""
        old = [c for c in self._clips.values() if c.at is not None and c.at < before]
        for c in old:
            del self._clips[c.clip_id]
            if c.signature is not None:
                self._lsh.remove(c.clip_id)
            if self._by_headline.get(c.headline) is c:
                del self._by_headline[c.headline]
            for hint in c.hints:
                if self._by_hint.get(hint) is c:
                    del self._by_hint[hint]
        return len(old)

    def place(self, signature: Signature | None, exclude: frozenset[str] = frozenset(), *, headline: str = "",
              hints: tuple[str, ...] = ()) -> Placement:
        """The story whose copy is most like this signature, if like enough (ties: the first placed); else
        the story a search item's hints tie this headline to; else None."""
        found = self._by_text(signature, exclude) if signature is not None else None
        if found is not None:
            return found
        for hinted in ([self._by_hint.get(headline)] if headline else []) + [self._by_headline.get(h) for h in hints]:
            if hinted is not None and hinted.clip_id not in exclude and hinted.story_id not in exclude:
                return Placement(hinted.story_id, like=hinted.clip_id, by_hint=True)
        return Placement(None)

    def _by_text(self, signature: Signature, exclude: frozenset[str]) -> Placement | None:
        best: Placement | None = None
        for key in sorted(self._lsh.query(signature.minhash())):  # sorted: the same answer on every run
            found = self._clips[str(key)]
            if found.clip_id in exclude or found.story_id in exclude or found.signature is None:
                continue
            jaccard = found.signature.jaccard(signature)
            contained = containment(jaccard, signature.shingles, found.signature.shingles)
            if not same_story(jaccard, contained, min(signature.shingles, found.signature.shingles)):
                continue
            score = max(jaccard, contained)
            if best is None or score > max(best.jaccard, best.containment):
                best = Placement(found.story_id, jaccard, contained, found.clip_id)
        return best

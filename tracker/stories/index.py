"""Where a new clip belongs: a story of the window, or a story of its own. Pure.

StoryIndex is a datasketch MinHashLSH over stored signatures. The caller fills it with the
window's clips that could be copies of the new ones (tracker.syndication loads those sharing a
member or campaign with a new clip: every copy of a story matched, so it names one of them) and
then places the new clips one by one, oldest first; each placed clip joins the index, so copies
arriving in the same cycle find each other. The LSH only proposes candidates (at a lower
threshold than the decision, so few copies are missed); the decision is signature.same_story
on the best candidate's estimated similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasketch import MinHashLSH

from tracker.stories.signature import NUM_PERM, Signature, containment, same_story

# Candidates from the LSH: (28 bands of 2) finds a pair at Jaccard 0.35 with 97% probability.
LSH_THRESHOLD = 0.2


@dataclass(frozen=True)
class Candidate:
    """A clip already placed: its story and signature."""

    clip_id: str
    story_id: str
    signature: Signature


@dataclass(frozen=True)
class Placement:
    story_id: str | None  # None: a story of its own
    jaccard: float = 0.0
    containment: float = 0.0
    like: str | None = None  # the clip it was found like


class StoryIndex:
    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._clips: dict[str, Candidate] = {}

    def __len__(self) -> int:
        return len(self._clips)

    def add(self, candidate: Candidate) -> None:
        if candidate.clip_id in self._clips:
            return
        self._clips[candidate.clip_id] = candidate
        self._lsh.insert(candidate.clip_id, candidate.signature.minhash(), check_duplication=False)

    def place(self, signature: Signature, exclude: frozenset[str] = frozenset()) -> Placement:
        """The story whose copy is most like this signature, if like enough (ties: the first placed)."""
        mh = signature.minhash()
        best: Placement | None = None
        for key in sorted(self._lsh.query(mh)):  # sorted: the same answer on every run
            found = self._clips[str(key)]
            if found.clip_id in exclude or found.story_id in exclude:
                continue
            jaccard = float(mh.jaccard(found.signature.minhash()))
            contained = containment(jaccard, signature.shingles, found.signature.shingles)
            if not same_story(jaccard, contained, min(signature.shingles, found.signature.shingles)):
                continue
            score = max(jaccard, contained)
            if best is None or score > max(best.jaccard, best.containment):
                best = Placement(found.story_id, jaccard, contained, found.clip_id)
        return best or Placement(None)

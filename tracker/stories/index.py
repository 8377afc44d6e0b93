"""Where each new clip belongs: a story of the window, or a story of its own. Pure.

StoryIndex is a datasketch MinHashLSH over one batch's *new* clips (a cycle's hundred, or a few
thousand of a first build), and the window's stored clips stream through it: each stored clip's
signature queries the index, and every new clip it proposes keeps the best-scoring story seen.
Indexing the small side keeps memory to the batch (an LSH entry costs ~8 KB in datasketch's
in-memory storage: 100,000 window clips would be ~850 MB, bench/README.md "Stories"), and the
window is read once per batch, never held.

The caller (tracker.syndication) offers the window's clips that name one of the batch's members
or campaigns (every copy of a story matched, so it names one of them), then places the new clips
oldest first: a clip joins the best of its window match and the earlier new clips it is like, so
copies arriving together find each other. The LSH only proposes pairs (at a lower threshold than
the decision, so few copies are missed); the decision is signature.same_story.

Google News items list the same story's headlines in other outlets; a clip whose headline is one
of those (or whose own list names a clip's headline) joins that story even when the texts differ:
a search item's text is often its headline alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from tracker.stories.signature import NUM_PERM, Signature, containment, same_story

# Pairs from the LSH: (28 bands of 2) proposes a pair at Jaccard 0.35 with 97% probability.
LSH_THRESHOLD = 0.2


@dataclass(frozen=True)
class Candidate:
    """A clip already placed (or being placed): its story, signature, headline and hints."""

    clip_id: str
    story_id: str
    signature: Signature | None
    headline: str = ""  # headline_key of its title
    hints: tuple[str, ...] = ()  # headline_keys of the copies a search item listed
    at: datetime | None = None


@dataclass(frozen=True)
class NewClip:
    clip_id: str
    signature: Signature | None
    headline: str = ""
    hints: tuple[str, ...] = ()
    at: datetime | None = None  # when it ran: a copy is another outlet's within the story window of it


# Stored clips remembered per new clip for its hints: a generic headline is on many clips' lists.
MAX_HINTED = 50

@dataclass(frozen=True)
class Placement:
    story_id: str | None  # None: a story of its own
    jaccard: float = 0.0
    containment: float = 0.0
    like: str | None = None  # the clip it was found like
    by_hint: bool = False

    @property
    def score(self) -> float:
        return max(self.jaccard, self.containment)


def _compare(new: Signature, other: Signature, story_id: str, clip_id: str) -> Placement | None:
    jaccard = new.jaccard(other)
    contained = containment(jaccard, new.shingles, other.shingles)
    if same_story(jaccard, contained, min(new.shingles, other.shingles)):
        return Placement(story_id, jaccard, contained, clip_id)
    return None


class StoryIndex:
    def __init__(self, batch: Sequence[NewClip], window: timedelta | None = None) -> None:
        from datasketch import (
            MinHashLSH,  # imports scipy: only where stories are placed (signature.py)
        )

        self.batch = list(batch)
        # Two clips further apart than this are two stories, however alike (a weekly notice, a
        # template press release); a first build's batch spans months, so each pair is checked.
        self.window = window
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._by_headline: dict[str, list[int]] = defaultdict(list)
        self._by_hint: dict[str, list[int]] = defaultdict(list)
        for i, clip in enumerate(self.batch):
            if clip.signature is not None:
                self._lsh.insert(i, clip.signature.minhash(), check_duplication=False)
            if clip.headline:
                self._by_headline[clip.headline].append(i)
            for hint in clip.hints:
                self._by_hint[hint].append(i)
        # The same bands as the LSH (its hashranges), as one uint64 per band and clip: the window's clips
        # are matched against the batch a few thousand at a time in numpy, not one LSH query each.
        self._bands: list[dict[int, list[int]]] = [defaultdict(list) for _ in self._lsh.hashranges]
        for i, clip in enumerate(self.batch):
            if clip.signature is not None:
                keys = _band_keys(clip.signature.values[np.newaxis, :], self._lsh.hashranges)[0]
                for b, key in enumerate(keys.tolist()):
                    self._bands[b][key].append(i)
        self._band_arrays = [np.fromiter(band.keys(), dtype=np.uint64, count=len(band)) for band in self._bands]
        self._by_text: list[Placement | None] = [None] * len(self.batch)
        # Every stored clip a new clip's hints tie it to, in the order offered: the caller may accept only
        # some (one naming the same member), so the first is not the only one tried.
        self._hinted: list[list[Placement]] = [[] for _ in self.batch]
        self._placed: list[Candidate | None] = [None] * len(self.batch)

    def __len__(self) -> int:
        return len(self.batch)

    @property
    def wants_headlines(self) -> bool:
        """Whether offered clips' headlines can matter (a new clip carries a search item's hints)."""
        return bool(self._by_hint)

    def offer_many(self, stored: Sequence[Candidate]) -> None:
        """Clips of the window, in order: each is remembered by every new clip it is like (the best one
        wins; ties, the first offered). A pair is compared when any LSH band is equal, as the LSH would."""
        signed = [c for c in stored if c.signature is not None]
        if signed and self.batch:
            matrix = np.stack([c.signature.values for c in signed if c.signature is not None])
            keys = _band_keys(matrix, self._lsh.hashranges)
            pairs: set[tuple[int, int]] = set()
            for b, band in enumerate(self._bands):
                if not band:
                    continue
                for row in np.nonzero(np.isin(keys[:, b], self._band_arrays[b]))[0].tolist():
                    pairs.update((row, i) for i in band[int(keys[row, b])])
            for row, i in sorted(pairs):
                self._consider(i, signed[row])
        for c in stored:
            self._hints(c)

    def offer(self, stored: Candidate) -> None:
        self.offer_many([stored])

    def _near(self, a: datetime | None, b: datetime | None) -> bool:
        return self.window is None or a is None or b is None or abs(a - b) <= self.window

    def _consider(self, i: int, stored: Candidate) -> None:
        mine = self.batch[i].signature
        if mine is None or stored.signature is None or not self._near(self.batch[i].at, stored.at):
            return
        found = _compare(mine, stored.signature, stored.story_id, stored.clip_id)
        best = self._by_text[i]
        if found is not None and (best is None or found.score > best.score):
            self._by_text[i] = found

    def _hints(self, stored: Candidate) -> None:
        for i in [*self._by_hint.get(stored.headline, ()), *(j for h in stored.hints for j in self._by_headline.get(h, ()))]:
            # A headline on a search item's list ties copies within the window only, as text does.
            if self._near(self.batch[i].at, stored.at) and len(self._hinted[i]) < MAX_HINTED:
                self._hinted[i].append(Placement(stored.story_id, like=stored.clip_id, by_hint=True))

    def place(self, i: int, exclude: frozenset[str] = frozenset(),
              hint_ok: Callable[[str | None], bool] = lambda _like: True) -> Placement:
        """New clip i's story: its best text match among the window and the new clips placed before it,
        else the first story a search item's hints tie it to whose clip `hint_ok` accepts, else None (a
        story of its own)."""
        clip = self.batch[i]
        best = self._by_text[i]
        if best is not None and best.story_id in exclude:
            best = None
        if clip.signature is not None:
            for j in sorted(int(k) for k in self._lsh.query(clip.signature.minhash())):
                earlier = self._placed[j] if j < i else None
                if earlier is None or earlier.signature is None or earlier.story_id in exclude:
                    continue
                if not self._near(clip.at, earlier.at):
                    continue
                found = _compare(clip.signature, earlier.signature, earlier.story_id, earlier.clip_id)
                if found is not None and (best is None or found.score > best.score):
                    best = found
        if best is not None:
            return best
        for hinted in self._hinted[i]:
            if hinted.story_id not in exclude and hint_ok(hinted.like):
                return hinted
        for j in [*self._by_hint.get(clip.headline, ()), *(k for h in clip.hints for k in self._by_headline.get(h, ()))]:
            earlier = self._placed[j] if j < i else None
            if (earlier is not None and earlier.story_id not in exclude and self._near(clip.at, earlier.at)
                    and hint_ok(earlier.clip_id)):
                return Placement(earlier.story_id, like=earlier.clip_id, by_hint=True)
        return Placement(None)

    def placed(self, i: int, story_id: str) -> None:
        """Record where new clip i went, so the new clips after it can join it."""
        clip = self.batch[i]
        self._placed[i] = Candidate(clip.clip_id, story_id, clip.signature, clip.headline, clip.hints, clip.at)


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                 0x94D049BB133111EB, 0xBF58476D1CE4E5B9, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53], dtype=np.uint64)


def _band_keys(values: np.ndarray, hashranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """One uint64 per (clip, band): equal bands give equal keys (a rare unequal pair sharing a key is
    only compared, never wrongly joined)."""
    wide = values.astype(np.uint64)
    out = np.zeros((values.shape[0], len(hashranges)), dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around multiplication is the mixing
        for b, (start, end) in enumerate(hashranges):
            if end - start == 2:
                out[:, b] = (wide[:, start] << np.uint64(32)) | wide[:, start + 1]
            else:
                for k, col in enumerate(range(start, end)):
                    out[:, b] += wide[:, col] * _MIX[k % len(_MIX)]
    return out

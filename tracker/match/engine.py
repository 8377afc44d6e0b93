"""Run compiled members and campaigns over an item; decide mentions and quote them.

The automaton runs once over the item's skeleton and reports whole-word candidates only;
they are checked against the real text in Python (punctuation, possessives, middle
initials, `match_case`), then `require_any`/`exclude` and queries decide. An item whose
candidates are all context terms stops before any of that. Snippets quote the field as the
reader saw it: an offset map back to display text is built only for fields that matched.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from tracker.match.text import (
    FOLD,
    KEEP_CASE,
    SEP,
    OffsetMap,
    display_text,
    left_ok,
    normalise_for_scan,
    right_ok,
    unescape,
)
from tracker.models import MatchItem, Mention, MentionKind
from tracker.query import And, LiteralNode, Not, Or, Phrase, QueryNode, Word

__all__ = [
    "CASED",
    "EXACT",
    "FIELDS",
    "PREFIX",
    "SNIPPET_RADIUS",
    "KeyValue",
    "Matcher",
    "Pattern",
    "Target",
    "build_automaton",
]

FIELDS = ("title", "summary", "content", "article")
SNIPPET_RADIUS = 80
# Word positions of different fields are this far apart, so NEAR never spans two fields.
_FIELD_GAP = 1 << 40


# ------------------------------------------------------------------ compiled form (compile.py builds it)


EXACT, PREFIX, CASED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Pattern:
    """A normalised term. Its automaton key is the skeleton of `norm` padded by spaces."""

    id: int
    norm: str  # normalised, case folded
    lead: int  # characters of `norm` before its first word character ("#fairshare": 1)
    mode: int  # EXACT, PREFIX (`evict*`) or CASED (match_case: checked on unfolded text)
    cased: str  # normalised with case kept (only meaningful for CASED)
    check_left: bool  # does norm start with a word character (so a boundary is needed)?
    check_right: bool
    # Names, keywords and the literals a query is indexed by can make a match; context
    # terms (require_any, exclude) only matter once something else did.
    trigger: bool = False


# What the automaton holds for one key (compile.py writes it, Matcher._scan reads it): the
# key's length, the patterns under it, the first name's middle-initial variants (rest of
# the name, member index) or None, and whether a hit on it can make a match at all.
KeyValue = tuple[int, tuple[Pattern, ...], tuple[str, tuple[tuple[str, int], ...]] | None, bool]

def build_automaton(items: Iterable[tuple[str, KeyValue]]) -> ahocorasick.Automaton | None:
    """The automaton over these keys (None when there are none)."""
    automaton = ahocorasick.Automaton()
    for key, value in items:
        automaton.add_word(key, value)
    if not len(automaton):
        return None
    automaton.make_automaton()
    return automaton


# An occurrence under a query: (first word, last word, start char, end char) in the item.
_Span = tuple[int, int, int, int]
# Where a target was found: (start, end) in the folded text, or in the case-kept text.
_Hit = tuple[int, int, bool]


@dataclass(frozen=True)
class Target:
    """A member or campaign: the pattern ids of its context terms, its parsed query."""

    kind: MentionKind
    id: str
    require: frozenset[int]
    exclude: frozenset[int]
    query_text: str | None = None
    query: QueryNode | None = None
    query_pids: dict[LiteralNode, int] = field(default_factory=dict)
    query_groups: tuple[frozenset[int], ...] = ()  # see tracker.query.required_groups


@dataclass
class _Scan:
    """Per-item working state: the normalised text and what the automaton found in it."""

    raw: str
    folded: str
    occurrences: dict[int, list[tuple[int, int]]]
    cased_hits: dict[int, _Hit]
    initial_hits: list[tuple[int, int, int]]  # (member index, start, end)
    kept: str | None = None


class Matcher:
    """Members and campaigns compiled for matching; build with `compile_matcher`."""

    def __init__(
        self,
        automaton: ahocorasick.Automaton | None,
        pattern_count: int,
        name_index: dict[int, tuple[tuple[int, str], ...]],
        keyword_index: dict[int, tuple[tuple[int, str], ...]],
        query_index: dict[int, tuple[int, ...]],
        members: list[Target],
        member_names: list[str],
        campaigns: list[Target],
    ) -> None:
        self._automaton = automaton
        self._pattern_count = pattern_count
        self._name_index = name_index
        self._keyword_index = keyword_index
        self._query_index = query_index
        self._members = members
        self._member_names = member_names
        self._campaigns = campaigns

    # pyahocorasick (2.3.1) leaks the whole dump on every pickle of an Automaton (its issue #219,
    # fix unreleased): sending the matcher to the parse processes every cycle grew the scheduler
    # by ~1.5 MB a cycle. The automaton travels as its keys and values and is rebuilt on arrival
    # (~25 ms for 20,000 keys), so no Automaton is ever pickled.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        automaton = state.pop("_automaton")
        state["_automaton_items"] = None if automaton is None else list(automaton.items())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        items = state.pop("_automaton_items")
        self.__dict__.update(state)
        self._automaton = None if items is None else build_automaton(items)

    @property
    def pattern_count(self) -> int:
        return self._pattern_count

    # -------------------------------------------------------------- public

    def match(self, item: MatchItem) -> list[Mention]:
        """Mentions in the item: one per matched member/campaign, sorted by (kind, id)."""
        scan = self._scan(item)
        if scan is None:
            return []
        mentions = []
        displays: dict[tuple[int, bool], tuple[str, OffsetMap | None]] = {}
        for target, term, hit in self._resolve(scan):
            mentions.append(self._mention(scan, target, term, hit, displays))
        return mentions

    def match_ids(self, item: MatchItem) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(member ids, campaign ids), each sorted; no snippets are built."""
        scan = self._scan(item)
        if scan is None:
            return (), ()
        members: list[str] = []
        campaigns: list[str] = []
        for target, _term, _hit in self._resolve(scan):
            (members if target.kind == "member" else campaigns).append(target.id)
        return tuple(members), tuple(campaigns)

    # -------------------------------------------------------------- scanning

    def _scan(self, item: MatchItem) -> _Scan | None:
        automaton = self._automaton
        if automaton is None:
            return None
        raw = SEP.join((item.title, item.summary, item.content, item.article))
        if raw.count(SEP) != 3:  # a NUL inside a field would shift the field boundaries
            raw = SEP.join(
                f.replace(SEP, " ") for f in (item.title, item.summary, item.content, item.article)
            )
        if "&" in raw:
            raw = unescape(raw)
        text, skeleton = normalise_for_scan(raw, fold_case=True)

        occurrences: dict[int, list[tuple[int, int]]] = {}
        cased: list[tuple[Pattern, int, int]] = []
        initial_hits: list[tuple[int, int, int]] = []
        # Hits on keys that can only give context (require_any, exclude, query words that
        # cannot start a match) are set aside: most items have nothing else, and then they
        # are never looked at.
        context_hits: list[tuple[int, tuple[Pattern, ...]]] = []
        triggered = False
        last = len(skeleton) - 1
        for end, (klen, patterns, initials, can_trigger) in automaton.iter(skeleton):  # KeyValue
            # the key is " core " in the padded skeleton; its core starts here in `text`
            core = end - klen + 1
            if not can_trigger:
                context_hits.append((core, patterns))
                continue
            # "first X rest": in the skeleton a single letter then a space (either " " or
            # ". "); most first-name hits fail this without a function call
            if initials is not None and end + 2 < last and skeleton[end + 2] == " " and skeleton[end + 1] != " ":
                _initial_hits(text, core, initials, initial_hits)
            if patterns and _verify(text, core, patterns, occurrences, cased):
                triggered = True
        if not triggered and not initial_hits:
            return None  # only context terms (a place name, say): nothing can match
        for core, patterns in context_hits:
            _verify(text, core, patterns, occurrences, cased)
        scan = _Scan(raw, text, occurrences, {}, initial_hits)
        if cased:
            self._verify_cased(scan, cased)
        return scan

    def _verify_cased(self, scan: _Scan, candidates: list[tuple[Pattern, int, int]]) -> None:
        """Confirm match_case candidates against the text with its case kept."""
        kept, _ = normalise_for_scan(scan.raw, fold_case=False, skeleton=False)
        if len(kept) == len(scan.folded):
            # No character changed length when folded, so positions line up.
            for pat, start, stop in candidates:
                if pat.id not in scan.cased_hits and kept.startswith(pat.cased, start):
                    scan.cased_hits[pat.id] = (start, stop, False)
            return
        scan.kept = kept  # "ß" -> "ss" and the like: search the unfolded text itself
        for pat, _start, _stop in candidates:
            needle = pat.cased
            i = kept.find(needle)
            while i >= 0 and pat.id not in scan.cased_hits:
                j = i + len(needle)
                if (not pat.check_left or left_ok(kept, i)) and (
                    not pat.check_right or right_ok(kept, j)
                ):
                    scan.cased_hits[pat.id] = (i, j, True)
                i = kept.find(needle, i + 1)

    # -------------------------------------------------------------- deciding

    def _resolve(self, scan: _Scan) -> list[tuple[Target, str, _Hit]]:
        """Matched targets with the term that fired and where, sorted by (kind, id)."""
        found = set(scan.occurrences) | set(scan.cased_hits)
        best: dict[int, tuple[_Hit, str]] = {}  # member index -> earliest hit

        def offer(table: dict[int, tuple[_Hit, str]], idx: int, hit: _Hit, term: str) -> None:
            old = table.get(idx)
            # earliest position wins: fields are joined in order, so the title is preferred
            if old is None or hit[0] < old[0][0]:
                table[idx] = (hit, term)

        for pid, occ in scan.occurrences.items():
            for midx, term in self._name_index.get(pid, ()):
                offer(best, midx, (occ[0][0], occ[0][1], False), term)
        for midx, start, stop in scan.initial_hits:
            offer(best, midx, (start, stop, False), self._member_names[midx])

        cbest: dict[int, tuple[_Hit, str]] = {}
        for pid, occ in scan.occurrences.items():
            for cidx, term in self._keyword_index.get(pid, ()):
                offer(cbest, cidx, (occ[0][0], occ[0][1], False), term)
        for pid, hit in scan.cased_hits.items():
            for cidx, term in self._keyword_index.get(pid, ()):
                offer(cbest, cidx, hit, term)
        queried: set[int] = set()
        for pid in scan.occurrences:
            queried.update(self._query_index.get(pid, ()))
        for cidx in queried:
            target = self._campaigns[cidx]
            assert target.query is not None and target.query_text is not None
            if any(group.isdisjoint(found) for group in target.query_groups):
                continue  # a word the query needs is missing: skip evaluating it
            spans = _evaluate(target.query, target.query_pids, scan)
            if spans:
                first = min(spans, key=lambda sp: sp[2])
                offer(cbest, cidx, (first[2], first[3], False), target.query_text)

        out: list[tuple[Target, str, _Hit]] = []
        for targets, hits in ((self._members, best), (self._campaigns, cbest)):
            for idx, (hit, term) in hits.items():
                target = targets[idx]
                if target.exclude and not target.exclude.isdisjoint(found):
                    continue
                if target.require and target.require.isdisjoint(found):
                    continue
                out.append((target, term, hit))
        out.sort(key=lambda t: (t[0].kind, t[0].id))
        return out

    # -------------------------------------------------------------- reporting

    def _mention(
        self,
        scan: _Scan,
        target: Target,
        term: str,
        hit: _Hit,
        displays: dict[tuple[int, bool], tuple[str, OffsetMap | None]],
    ) -> Mention:
        start, stop, kept_case = hit
        text = scan.kept if kept_case and scan.kept is not None else scan.folded
        field_no = text.count(SEP, 0, start)
        seg_start = text.rfind(SEP, 0, start) + 1
        seg_end = text.find(SEP, start)
        segment = text[seg_start : seg_end if seg_end >= 0 else len(text)]
        key = (field_no, kept_case)
        if key not in displays:
            display = display_text(scan.raw.split(SEP)[field_no])
            mapping = OffsetMap(display, KEEP_CASE if kept_case else FOLD)
            # they only differ for an entity re-formed by NFKC ("＆amp;"): quote normalised text
            displays[key] = (display, mapping) if mapping.text == segment else (segment, None)
        display, offsets = displays[key]
        local_start, local_stop = start - seg_start, stop - seg_start
        if offsets is None:
            d_start, d_stop = local_start, local_stop
        else:
            d_start, d_stop = offsets.display_pos(local_start), offsets.display_pos(local_stop - 1) + 1
        snippet, s_start, s_stop = _snippet(display, d_start, d_stop)
        return Mention(
            kind=target.kind,
            target_id=target.id,
            term=term,
            field=FIELDS[field_no],
            snippet=snippet,
            start=s_start,
            end=s_stop,
        )


def _verify(
    text: str,
    core: int,
    patterns: tuple[Pattern, ...],
    occurrences: dict[int, list[tuple[int, int]]],
    cased: list[tuple[Pattern, int, int]],
) -> bool:
    """Check an automaton hit against the real text; record it. True if a trigger held."""
    triggered = False
    for pat in patterns:
        start = core - pat.lead
        # the skeleton hides punctuation (and field breaks): compare the real text
        if start < 0 or not text.startswith(pat.norm, start):
            continue
        # The skeleton already put a non-word character on both sides; what is left to
        # check is the apostrophe: "O'Neil" is one word, "Brooks's" a possessive.
        if pat.check_left and start > 1 and text[start - 1] == "'" and text[start - 2].isalnum():
            continue
        stop = start + len(pat.norm)
        if pat.mode == PREFIX:
            while stop < len(text) and text[stop].isalnum():
                stop += 1  # report the whole word ("evictions"), not just "evict"
        elif pat.check_right and stop < len(text) and text[stop] == "'" and not right_ok(text, stop):
            continue
        triggered = triggered or pat.trigger
        if pat.mode == CASED:
            cased.append((pat, start, stop))
        else:
            occurrences.setdefault(pat.id, []).append((start, stop))
    return triggered


def _initial_hits(
    text: str,
    start: int,
    initials: tuple[str, tuple[tuple[str, int], ...]],
    out: list[tuple[int, int, int]],
) -> None:
    """At `start` a first name may begin: look for "first X rest" / "first X. rest"."""
    first, rests = initials
    if not text.startswith(first, start) or not left_ok(text, start):
        return
    n = len(text)
    p = start + len(first)
    if p + 2 >= n or text[p] != " " or not text[p + 1].isalpha():
        return
    if text[p + 2] == " ":
        after = p + 3
    elif text[p + 2] == "." and p + 3 < n and text[p + 3] == " ":
        after = p + 4
    else:
        return
    for rest, midx in rests:
        if text.startswith(rest, after) and right_ok(text, after + len(rest)):
            out.append((midx, start, after + len(rest)))


def _snippet(display: str, start: int, stop: int) -> tuple[str, int, int]:
    """About SNIPPET_RADIUS characters either side, cut at spaces, '…' where truncated."""
    lo = max(0, start - SNIPPET_RADIUS)
    hi = min(len(display), stop + SNIPPET_RADIUS)
    if lo > 0 and display[lo - 1] != " ":
        space = display.find(" ", lo, start)
        if space >= 0:
            lo = space + 1
    if hi < len(display) and display[hi] != " ":
        space = display.rfind(" ", stop, hi)
        if space >= 0:
            hi = space
    head = "…" if lo > 0 else ""
    tail = "…" if hi < len(display) else ""
    snippet = head + display[lo:hi].strip() + tail
    # strip() above can only remove spaces at the ends, never inside the hit
    offset = len(head) + (start - lo) - (len(display[lo:hi]) - len(display[lo:hi].lstrip()))
    return snippet, offset, offset + (stop - start)


# ------------------------------------------------------------------ queries


def _word_span(text: str, start: int, stop: int) -> _Span:
    first = text.count(" ", 0, start) + _FIELD_GAP * text.count(SEP, 0, start)
    return first, first + text.count(" ", start, stop), start, stop


def _evaluate(node: QueryNode, pids: dict[LiteralNode, int], scan: _Scan) -> list[_Span] | None:
    """None if false; otherwise the spans that make it true (empty for a true NOT)."""
    if isinstance(node, Word | Phrase):
        occ = scan.occurrences.get(pids[node])
        if not occ:
            return None
        return [_word_span(scan.folded, s, e) for s, e in occ]
    if isinstance(node, Not):
        return [] if _evaluate(node.child, pids, scan) is None else None
    if isinstance(node, And):
        spans: list[_Span] = []
        for child in node.children:
            got = _evaluate(child, pids, scan)
            if got is None:
                return None
            spans.extend(got)
        return spans
    if isinstance(node, Or):
        result: list[_Span] | None = None
        for child in node.children:
            got = _evaluate(child, pids, scan)
            if got is not None:
                result = (result or []) + got
        return result
    left = _evaluate(node.left, pids, scan)
    right = _evaluate(node.right, pids, scan) if left else None
    if not left or not right:
        return None
    return _near(left, right, node.distance) or None


def _near(left: list[_Span], right: list[_Span], distance: int) -> list[_Span]:
    """Pairs of non-overlapping spans with at most `distance` words between them, merged."""
    by_start = sorted(right)
    starts = [sp[0] for sp in by_start]
    by_end = sorted(right, key=lambda sp: sp[1])
    ends = [sp[1] for sp in by_end]
    out: list[_Span] = []
    for a0, a1, s, e in left:
        # right side after the left one: its first word in (a1, a1 + distance + 1]
        after = by_start[bisect_right(starts, a1) : bisect_right(starts, a1 + distance + 1)]
        out.extend((a0, b[1], s, b[3]) for b in after)
        # right side before: its last word in [a0 - distance - 1, a0)
        before = by_end[bisect_left(ends, a0 - distance - 1) : bisect_left(ends, a0)]
        out.extend((b[0], a1, b[2], e) for b in before)
    return out

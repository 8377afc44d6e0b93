"""Run compiled members and campaigns over an item; decide mentions and quote them.

The automaton runs once over the item's skeleton and reports whole-word candidates only;
they are checked against the real text in Python (punctuation, possessives, middle
initials, `match_case`, a title before a surname), then `require_any`/`exclude` and queries
decide. An item whose candidates are all context terms stops before any of that. Snippets
quote the field as the reader saw it: an offset map back to display text is built only for
fields that matched.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from tracker.match.names import (
    LIST_WORDS,
    NAME_SUFFIXES,
    OPENERS,
    TITLE_SURNAME,
    TitleIndex,
    without_suffix,
)
from tracker.match.text import (
    FOLD,
    KEEP_CASE,
    SEP,
    OffsetMap,
    capitals_view,
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
    "SurnameRule",
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
    # Characters that, right after a letter or digit, glue this term to the word before:
    # the apostrophe ("O'Neil" is one word); for a bill number the dot too ("U.S. 30" is
    # not bill S30, "H.F. 3489" not F3489).
    glue: str = "'"
    # A bill number: "AB 5" is not the start of "AB 5,000 workers" or "AB 5.2 million".
    number: bool = False
    # A name written without its suffix ("Curtis Jones" for Curtis Jones Jr.): not when a suffix
    # follows, which is someone else's ("Curtis Jones Sr.").
    bare: bool = False


# A first name's middle-initial variants: (first name, ((rest of the name, member), ...)).
Initials = tuple[str, tuple[tuple[str, int], ...]]
# A surname key's value: (surname normalised, members with that surname) for each surname
# with this skeleton (usually one; "O'Brien" and "O Brien" would share it).
SurnameKey = tuple[tuple[str, tuple[int, ...]], ...]

_Names = tuple[Initials | None, SurnameKey | None]

# What the automaton holds for one key (compile.py writes it, Matcher._scan reads it): the
# key's length, the patterns under it, None or the name rules the key starts (middle
# initials after this first name, title + this surname: either may be None), and whether a
# hit on it can make a match at all: True, False (context only) or None (a surname and
# nothing else, which the scan handles first). The two name rules share one slot so that
# the most common hits, on other keys, pay for one test, not two.
KeyValue = tuple[int, tuple[Pattern, ...], _Names | None, bool | None]

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
_NO_TITLES = TitleIndex(frozenset(), {}, None, frozenset())
# A title before a surname: (title form, where the title starts, surname start, surname
# end, members with that surname).
_TitleHit = tuple[str, int, int, int, tuple[int, ...]]


@dataclass(frozen=True)
class SurnameRule:
    """When "title + surname" counts for one member (see compile.py)."""

    own_titles: frozenset[str]  # forms of the member's own title that are not defaults
    context: frozenset[int]  # require_any pattern ids, else the jurisdiction's
    ambiguous: bool  # another member with this surname shares the jurisdiction


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
    title_hits: list[_TitleHit]
    kept: str | None = None
    # Where the words of `folded` start (tokens with a letter or digit: "/", "&", "•" are no words),
    # and where its fields part; worked out once, for a query's NEAR, not per occurrence.
    word_starts: list[int] | None = None
    field_starts: list[int] | None = None

    def word_index(self) -> tuple[list[int], list[int]]:
        if self.word_starts is None or self.field_starts is None:
            text = self.folded
            self.word_starts = [m.start() for m in _WORD_TOKEN.finditer(text)]
            self.field_starts = [i for i, ch in enumerate(text) if ch == SEP] if SEP in text else []
        return self.word_starts, self.field_starts


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
        titles: TitleIndex | None = None,
        surname_rules: dict[int, SurnameRule] | None = None,
    ) -> None:
        self._automaton = automaton
        self._pattern_count = pattern_count
        self._name_index = name_index
        self._keyword_index = keyword_index
        self._query_index = query_index
        self._members = members
        self._member_names = member_names
        self._campaigns = campaigns
        self._titles = titles
        self._surname_rules = surname_rules or {}
        # Members whose name ends in a suffix: after their surname "Jr." is part of the name, not a
        # first name that ends it ("Councilmember Jones Jr. said"); after anyone else's it is not theirs.
        self._suffixed = frozenset(i for i, name in enumerate(member_names) if without_suffix(name) is not None)

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
        title_hits: list[_TitleHit] = []
        titles = self._titles or _NO_TITLES
        title_endings = titles.endings
        # Hits on keys that can only give context (require_any, exclude, query words that
        # cannot start a match) are set aside: most items have nothing else, and then they
        # are never looked at.
        context_hits: list[tuple[int, tuple[Pattern, ...]]] = []
        triggered = False
        last = len(skeleton) - 1
        for end, (klen, patterns, names, can_trigger) in automaton.iter(skeleton):  # KeyValue
            # the key is " core " in the padded skeleton; its core starts here in `text`
            core = end - klen + 1
            if not can_trigger:
                # Most surname hits follow a first name and stop at the three characters
                # before the space before them. ~2 hits per bench item are surnames, so they
                # take the shortest way there is (a call per hit cost 10% of the bench).
                if can_trigger is None:  # the key is a surname and nothing else
                    if text[core - 4 : core - 1] in title_endings:
                        _title_hit(text, core, names, titles, title_hits)
                    continue
                context_hits.append((core, patterns))
                continue
            if names is not None:
                initials, surname = names
                # "first X rest": in the skeleton a single letter then a space (either " "
                # or ". "); most first-name hits fail this without a function call
                if initials is not None and end + 2 < last and skeleton[end + 2] == " " and skeleton[end + 1] != " ":
                    _initial_hits(text, core, initials, initial_hits)
                if surname is not None and text[core - 4 : core - 1] in title_endings:
                    _title_hit(text, core, names, titles, title_hits)
            if patterns and _verify(text, core, patterns, occurrences, cased):
                triggered = True
        if title_hits:
            # News capitalises a title before a name ("Judge Brooks", not "to judge Brooks"),
            # and a surname followed by another name is a first name ("Director James Comey").
            view = capitals_view(raw)
            title_hits = [h for h in title_hits if _as_printed(view, h, self._suffixed)]
        if not triggered and not initial_hits and not title_hits:
            return None  # only context terms (a place name, say): nothing can match
        for core, patterns in context_hits:
            _verify(text, core, patterns, occurrences, cased)
        scan = _Scan(raw, text, occurrences, {}, initial_hits, title_hits)
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
                glued = i > 1 and kept[i - 1] in pat.glue and kept[i - 2].isalnum()
                if (not pat.check_left or (left_ok(kept, i) and not glued)) and (
                    not pat.check_right or right_ok(kept, j)
                ) and not (pat.number and _number_goes_on(kept, j)):
                    scan.cased_hits[pat.id] = (i, j, True)
                i = kept.find(needle, i + 1)

    # -------------------------------------------------------------- deciding

    def _resolve(self, scan: _Scan) -> list[tuple[Target, str, _Hit]]:
        """Matched targets with the term that fired and where, sorted by (kind, id)."""
        found = set(scan.occurrences) | set(scan.cased_hits)
        best: dict[int, tuple[_Hit, str]] = {}  # member index -> earliest hit
        offer = _offer

        for pid, occ in scan.occurrences.items():
            for midx, term in self._name_index.get(pid, ()):
                offer(best, midx, (occ[0][0], occ[0][1], False), term)
        for midx, start, stop in scan.initial_hits:
            offer(best, midx, (start, stop, False), self._member_names[midx])
        if scan.title_hits:
            self._resolve_titles(scan, found, best)

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

    def _resolve_titles(
        self,
        scan: _Scan,
        found: set[int],
        best: dict[int, tuple[_Hit, str]],
    ) -> None:
        """Title + surname: a mention of a member the item carries the context of, unless
        another member of that place shares the surname. A member the item names in full is
        a mention already, by that name, which explain shows as the stronger evidence."""
        assert self._titles is not None
        defaults = self._titles.defaults
        named = set(best)  # by name, alias or middle initial
        for form, title_start, _start, stop, midxs in scan.title_hits:
            for midx in midxs:
                rule = self._surname_rules[midx]
                if midx in named or rule.ambiguous or rule.context.isdisjoint(found):
                    continue
                if form in defaults or form in rule.own_titles:
                    _offer(best, midx, (title_start, stop, False), TITLE_SURNAME)

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
            # A combining accent after the last letter ("Andre\u0301") maps to nothing: keep it in the hit.
            while d_stop < len(display) and unicodedata.combining(display[d_stop]):
                d_stop += 1
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


def _offer(table: dict[int, tuple[_Hit, str]], idx: int, hit: _Hit, term: str) -> None:
    old = table.get(idx)
    # earliest position wins: fields are joined in order, so the title is preferred; at one
    # position the longer hit ("Curtis Jones Jr." over "Curtis Jones") is the one to quote
    if old is None or hit[0] < old[0][0] or (hit[0] == old[0][0] and hit[1] > old[0][1]):
        table[idx] = (hit, term)


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
        if pat.check_left and start > 1 and text[start - 1] in pat.glue and text[start - 2].isalnum():
            continue
        stop = start + len(pat.norm)
        if pat.mode == PREFIX:
            while stop < len(text) and text[stop].isalnum():
                stop += 1  # report the whole word ("evictions"), not just "evict"
        elif pat.check_right and stop < len(text) and text[stop] == "'" and not right_ok(text, stop):
            continue
        if pat.number and _number_goes_on(text, stop):
            continue
        if pat.bare and _suffix_follows(text, stop):
            continue
        triggered = triggered or pat.trigger
        if pat.mode == CASED:
            cased.append((pat, start, stop))
        else:
            occurrences.setdefault(pat.id, []).append((start, stop))
    return triggered


def _suffix_follows(text: str, stop: int) -> bool:
    """Does a name ending at `stop` go on with a suffix ("curtis jones sr.", "curtis jones, jr")?"""
    rest = text[stop : stop + 8].lstrip(", ")
    word = rest.split(" ", 1)[0].rstrip(".,;:")
    return rest[:1] != "" and word in NAME_SUFFIXES and text[stop : stop + 1] in (" ", ",")


def _number_goes_on(text: str, stop: int) -> bool:
    """Does a number ending at `stop` go on past a thousands comma or a decimal point ("5,000", "5.2")?"""
    return text[stop : stop + 1] in (",", ".") and text[stop + 1 : stop + 2].isdigit()


def _initial_hits(
    text: str,
    start: int,
    initials: Initials,
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


def _title_hit(
    text: str, start: int, names: _Names | None, titles: TitleIndex, out: list[_TitleHit]
) -> None:
    """At `start` a surname may begin: is it one, and is it right after a title (or in a
    list of names headed by a plural title)? Capitals are checked later, on a view of the
    text with its case kept."""
    surname = names[1] if names is not None else None
    if surname is None or start < 3 or text[start - 1] != " ":
        return
    lo = start - 48 if start > 48 else 0
    space = max(text.rfind(" ", lo, start - 1), text.rfind(SEP, lo, start - 1))
    word = text[space + 1 if space >= 0 else lo : start - 1]
    forms = titles.by_last_word.get(word)
    if forms is None and word[:1] in OPENERS:
        forms = titles.by_last_word.get(word[1:])
    in_list = forms is None and (word in LIST_WORDS or word[-1:] == ",")
    if forms is None and not in_list:
        return
    found = next(((n, m) for n, m in surname if text.startswith(n, start)), None)
    if found is None:
        return
    norm, midxs = found
    stop = start + len(norm)
    if stop < len(text) and text[stop] == "'" and not right_ok(text, stop):
        return  # "Brooks'ville"
    if forms is not None:
        _title_forms_at(text, start - 1, forms, len(text), (start, stop, midxs), out)
        return
    if titles.list_reversed is None:
        return
    window = text[max(0, start - 160) : start]
    window = window[window.rfind(SEP) + 1 :]
    m = titles.list_reversed.match(window[::-1])
    if m is not None:
        plural = m.group("title")[::-1]
        title_end = start - m.end() + len(plural)
        last_word = plural.rsplit(" ", 1)[-1]
        _title_forms_at(text, title_end, titles.by_last_word[last_word], len(plural), (start, stop, midxs), out)


def _title_forms_at(
    text: str,
    end: int,
    forms: tuple[str, ...],
    longest: int,
    surname: tuple[int, int, tuple[int, ...]],
    out: list[_TitleHit],
) -> None:
    """Every form (of at most `longest` characters) that ends at `end`. Not only the longest:
    in "County Supervisor Miley" "County Supervisor" may be another member's own title while
    "Supervisor" is a default one, and each member takes the forms that are theirs."""
    start, stop, midxs = surname
    for form in forms:
        title_start = end - len(form)
        if (len(form) <= longest and title_start >= 0 and text.startswith(form, title_start)
                and left_ok(text, title_start)):
            out.append((form, title_start, start, stop, midxs))


def _as_printed(view: str, hit: _TitleHit, suffixed: frozenset[int] = frozenset()) -> bool:
    """Does the text read like a title before this surname, as news prints one? The title
    starts with a capital, the surname has one (and so has every name in a list), and the
    surname is not a first name: "Director James Comey said" is not about Letitia James."""
    form, title_start, start, stop, midxs = hit
    if not view[title_start].isupper() or view[start:stop].islower():
        return False
    between = view[title_start + len(form) : start].replace(",", " ").split()
    if not all(w.lower() in LIST_WORDS or not w.islower() for w in between):
        return False
    return not _first_name_here(view, stop, suffix_is_name=not suffixed.isdisjoint(midxs))


def _first_name_here(view: str, stop: int, *, suffix_is_name: bool = False) -> bool:
    """Is the word ending at `stop` a first name, being followed by a capitalised word that
    ends the name ("James Comey said", "James Comey.")? Not if that word is a day or month
    ("Mayor Bass Tuesday said"), nor in a run of capitalised words (a headline in title
    case: "Mayor Bass Signs Budget")."""
    if view[stop : stop + 1] != " ":
        return False
    end = view.find(" ", stop + 1)
    end = len(view) if end < 0 else end
    word = view[stop + 1 : end]
    name = word.split(SEP, 1)[0].rstrip(".,;:!?)\"'")
    if not name[:1].isupper() or not name.replace("'", "").replace("-", "").isalpha():
        return False
    if name.lower() in NAME_SUFFIXES:  # "Councilmember Jones Jr. said": his, if his name has one
        return not suffix_is_name
    if name.lower().rstrip(".") in _CALENDAR:
        return False
    if name != word:  # punctuation or a field break right after it: the name ends there
        return True
    after = view[end + 1 : end + 2]
    return not after.isupper()


_CALENDAR = frozenset(
    {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "jan", "feb", "aug", "sept", "oct", "nov", "dec",
    }
)


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


# A word: a run between spaces (or field separators) holding at least one letter or digit.
_WORD_TOKEN = re.compile(rf"(?:(?<=[ {re.escape(SEP)}])|^)[^ {re.escape(SEP)}]*?\w[^ {re.escape(SEP)}]*")


def _word_span(scan: _Scan, start: int, stop: int) -> _Span:
    """(first word, last word, start, stop) of an occurrence: word numbers count words only, so
    `rent / eviction` has nothing between its two words; fields are _FIELD_GAP apart. Bisects an
    index made once per item (counting spaces per occurrence was quadratic in a long article)."""
    words, fields = scan.word_index()
    first = bisect_left(words, start) + _FIELD_GAP * bisect_left(fields, start)
    last = bisect_left(words, stop) - 1 + _FIELD_GAP * bisect_left(fields, start)
    return first, max(first, last), start, stop


def _evaluate(node: QueryNode, pids: dict[LiteralNode, int], scan: _Scan) -> list[_Span] | None:
    """None if false; otherwise the spans that make it true (empty for a true NOT)."""
    if isinstance(node, Word | Phrase):
        occ = scan.occurrences.get(pids[node])
        if not occ:
            return None
        return [_word_span(scan, s, e) for s, e in occ]
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

"""Compile members and campaigns into what the engine runs: one automaton and its indexes.

Every name, alias, keyword, context term (require_any, exclude) and query literal is
normalised once and becomes a Pattern; patterns share an automaton key, the skeleton of
the term padded by spaces (a prefix literal is padded on the left only). The indexes say
which member or campaign a pattern can trigger; context terms only count once one did.
A bill-number keyword becomes one pattern per spelling (S305, S 305, S.305, S. 305); a
member's surname is a key of its own, looked at only when a title stands before it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import ahocorasick

from tracker.match.engine import (
    CASED,
    EXACT,
    PREFIX,
    Initials,
    KeyValue,
    Matcher,
    Pattern,
    SurnameKey,
    SurnameRule,
    Target,
    build_automaton,
)
from tracker.match.names import (
    TitleIndex,
    jurisdiction_term,
    name_variants,
    surname_of,
    title_forms,
    without_suffix,
)
from tracker.match.text import SKELETON, normalize_text, skeleton_core
from tracker.models import CampaignConfig, MemberConfig, Term
from tracker.query import (
    LiteralNode,
    QueryNode,
    literals,
    parse_query,
    positive_literals,
    required_groups,
)

__all__ = ["bill_number_spellings", "compile_matcher"]


@dataclass
class _KeyInfo:
    """What one automaton key stands for. Several patterns may share a key."""

    patterns: list[Pattern] = field(default_factory=list)
    first_name: str = ""  # for middle initials: the key is this first name
    initials: list[tuple[str, int]] = field(default_factory=list)  # (rest of name, member)
    # for title + surname: the key is the skeleton of these surnames (normalised -> members)
    surnames: dict[str, list[int]] = field(default_factory=dict)


_NEVER_FOUND = frozenset((-1,))  # no pattern has id -1


class _Builder:
    def __init__(self) -> None:
        self.patterns: dict[tuple[str, str, int, bool, bool], Pattern] = {}
        self.keys: dict[str, _KeyInfo] = {}

    def pattern(
        self, text: str, *, match_case: bool = False, prefix: bool = False, bill: bool = False, bare: bool = False,
    ) -> int | None:
        """Pattern id for a term (shared by equal terms); None if it has no word characters,
        since such a term cannot be matched as a whole word."""
        norm = normalize_text(text)
        core = skeleton_core(norm)
        if not core:
            return None
        mode = CASED if match_case else PREFIX if prefix else EXACT
        cased = normalize_text(text, fold_case=False) if match_case else ""
        pat = self.patterns.get((norm, cased, mode, bill, bare))
        if pat is None:
            lead = len(norm) - len(norm.translate(SKELETON).lstrip(" "))
            pat = Pattern(
                id=len(self.patterns),
                norm=norm,
                lead=lead,
                mode=mode,
                cased=cased,
                check_left=norm[0].isalnum(),
                check_right=norm[-1].isalnum(),
                glue="'." if bill else "'",
                number=bill,
                bare=bare,
            )
            self.patterns[(norm, cased, mode, bill, bare)] = pat
            key = " " + core if prefix else " " + core + " "
            self.keys.setdefault(key, _KeyInfo()).patterns.append(pat)
        return pat.id

    def terms(self, terms: Sequence[Term]) -> frozenset[int]:
        pids = frozenset(
            p for p in (self.pattern(t.text, match_case=t.match_case) for t in terms) if p is not None
        )
        if terms and not pids:
            # Every term was punctuation only: "at least one must occur" can never hold,
            # which is not the same as having no require_any at all.
            return _NEVER_FOUND
        return pids

    def initial(self, name: str, midx: int) -> None:
        """Let "Kendra Brooks" also match "Kendra A. Brooks" / "Kendra A Brooks". The first name is
        the name's first word as written: "D'Andre Smith" -> "D'Andre J. Smith", "Jean-Pierre Smith" ->
        "Jean-Pierre A. Smith" (and "Mary-Kate Smith" is not "Mary J. Kate Smith")."""
        written = name.split()
        if len(written) < 2 or len(written[1].rstrip(".")) == 1:  # one word, or a middle initial already
            return
        first, rest = normalize_text(written[0]), normalize_text(" ".join(written[1:]))
        if len(first) < 2 or not any(ch.isalpha() for ch in first) or not rest:
            return
        info = self.keys.setdefault(" " + skeleton_core(first) + " ", _KeyInfo())  # the automaton's view
        info.first_name = first
        info.initials.append((rest, midx))

    def surname(self, surname: str, midx: int) -> None:
        """Let a title before this surname ("Councilmember Brooks") be looked at."""
        info = self.keys.setdefault(" " + skeleton_core(surname) + " ", _KeyInfo())
        info.surnames.setdefault(surname, []).append(midx)

    def automaton(self, triggers: set[int]) -> ahocorasick.Automaton | None:
        return build_automaton(self._key_values(triggers))

    def _key_values(self, triggers: set[int]) -> Iterator[tuple[str, KeyValue]]:
        for key, info in self.keys.items():
            initials: Initials | None = (info.first_name, tuple(info.initials)) if info.initials else None
            surname: SurnameKey | None = (
                tuple((s, tuple(m)) for s, m in info.surnames.items()) if info.surnames else None
            )
            patterns = tuple(replace(p, trigger=p.id in triggers) for p in info.patterns)
            names = (initials, surname) if initials is not None or surname is not None else None
            can_trigger: bool | None = names is not None or any(p.trigger for p in patterns)
            if initials is None and not patterns and surname is not None:
                can_trigger = None  # a surname and nothing else: the engine's short way
            value: KeyValue = (len(key), patterns, names, can_trigger)
            yield key, value


def _add(index: dict[int, list[tuple[int, str]]], pid: int | None, idx: int, term: str) -> None:
    if pid is not None:
        index.setdefault(pid, []).append((idx, term))


def compile_matcher(
    members: Sequence[MemberConfig], campaigns: Sequence[CampaignConfig]
) -> Matcher:
    """Compile once (per config load); the Matcher is then safe to share and reuse.

    Raises QueryError if a campaign query does not parse (config validation normally
    catches that first).
    """
    b = _Builder()
    name_index: dict[int, list[tuple[int, str]]] = {}
    keyword_index: dict[int, list[tuple[int, str]]] = {}
    query_index: dict[int, list[int]] = {}
    member_targets: list[Target] = []
    campaign_targets: list[Target] = []
    triggers: set[int] = set()
    surname_rules: dict[int, SurnameRule] = {}
    own_titles: list[tuple[frozenset[str], frozenset[str]]] = []
    shared = _shared_surnames(members)

    bare_names = _bare_names(members)
    for midx, m in enumerate(members):
        for text in (m.name, *m.aliases):
            for spelling in name_variants(text):
                _add(name_index, b.pattern(spelling), midx, text)
        for spelling in name_variants(m.name):
            b.initial(spelling, midx)
        if midx in bare_names:
            _add(name_index, b.pattern(bare_names[midx], bare=True), midx, m.name)
            b.initial(bare_names[midx], midx)
        require = b.terms(m.require_any)
        member_targets.append(Target("member", m.id, require, b.terms(m.exclude)))
        surname = surname_of(m.name) if m.surname_mentions else ""
        if surname:
            b.surname(surname, midx)
            singular, plural = title_forms(m.title) if m.title else (frozenset(), frozenset())
            own_titles.append((singular, plural))
            place = jurisdiction_term(m.jurisdiction)
            context = require if m.require_any else b.terms((Term(place),)) if place else frozenset()
            surname_rules[midx] = SurnameRule(
                own_titles=singular | plural,
                context=context,
                ambiguous=midx in shared,
            )

    for cidx, c in enumerate(campaigns):
        for kw in c.keywords:
            spellings = bill_number_spellings(kw.text, match_case=kw.match_case)
            if spellings is None:
                _add(keyword_index, b.pattern(kw.text, match_case=kw.match_case), cidx, kw.text)
                continue
            for text, cased in spellings:
                _add(keyword_index, b.pattern(text, match_case=cased, bill=True), cidx, kw.text)
        node: QueryNode | None = None
        pids: dict[LiteralNode, int] = {}
        groups: tuple[frozenset[LiteralNode], ...] = ()
        if c.query:
            node = parse_query(c.query)
            for lit in literals(node):
                pid = b.pattern(lit.text, prefix=lit.prefix)
                assert pid is not None  # the parser refuses literals without letters/digits
                pids[lit] = pid
            groups = required_groups(node)
            # Index the query under the group least likely to occur, so a common word
            # elsewhere in the query does not make every item evaluate it.
            index_by = max(groups, key=_rarity) if groups else positive_literals(node)
            for lit in index_by:
                query_index.setdefault(pids[lit], []).append(cidx)
        campaign_targets.append(
            Target(
                "campaign",
                c.id,
                b.terms(c.require_any),
                b.terms(c.exclude),
                query_text=c.query if node is not None else None,
                query=node,
                query_pids=pids,
                query_groups=tuple(frozenset(pids[lit] for lit in g) for g in groups),
            )
        )

    triggers.update(name_index, keyword_index, query_index)
    titles = TitleIndex.build(own_titles) if surname_rules else None
    return Matcher(
        automaton=b.automaton(triggers),
        pattern_count=len(b.patterns),
        name_index={k: tuple(v) for k, v in name_index.items()},
        keyword_index={k: tuple(v) for k, v in keyword_index.items()},
        query_index={k: tuple(dict.fromkeys(v)) for k, v in query_index.items()},
        members=member_targets,
        member_names=[m.name for m in members],
        campaigns=campaign_targets,
        titles=titles,
        surname_rules=surname_rules,
    )


def _bare_names(members: Sequence[MemberConfig]) -> dict[int, str]:
    """A name with a suffix, as news often prints it, without ("Curtis Jones" for Curtis Jones Jr.):
    only the name (an alias keeps its suffix: "Councilmember Jones Jr." tells two Joneses apart), and
    only when no other member's name is the same without theirs (Jr. and Sr. both members: neither)."""
    written = [normalize_text(without_suffix(m.name) or m.name) for m in members]
    counts = Counter(written)
    return {midx: bare for midx, m in enumerate(members)
            if (bare := without_suffix(m.name)) is not None and counts[written[midx]] == 1}


def _shared_surnames(members: Sequence[MemberConfig]) -> set[int]:
    """Members whose surname another member of their place shares: "Mayor Cohen" is neither of
    them on its own. The place is compared as the context term reads it ("City of Philadelphia"
    is Philadelphia); a member with no jurisdiction shares every place."""
    places: dict[str, Counter[str]] = {}
    for m in members:
        places.setdefault(surname_of(m.name), Counter())[_place(m)] += 1
    shared = set()
    for midx, m in enumerate(members):
        here, place = places[surname_of(m.name)], _place(m)
        sharing = here.total() if not place else here[place] + here[""]
        if sharing > 1:
            shared.add(midx)
    return shared


def _place(member: MemberConfig) -> str:
    return normalize_text(jurisdiction_term(member.jurisdiction))


_BILL_NUMBER = re.compile(r"([A-Z]{1,4}) ?([0-9]{1,6})")


def bill_number_spellings(keyword: str, *, match_case: bool = False) -> list[tuple[str, bool]] | None:
    """The ways a bill number is printed, as (text, match_case) pairs; None if `keyword` is
    not one to four capital letters then digits ("S305", "HF 3489", "HB 2127").

    The keyword as written keeps its own case rule; the other spellings need the letters in
    capitals, as bills are printed, so that "a 4454-seat arena" is not bill A4454. A keyword
    written with punctuation ("S.305") is not a bill number here: it matches as written.
    """
    written = normalize_text(keyword, fold_case=False)
    m = _BILL_NUMBER.fullmatch(written)
    if m is None:
        return None
    letters, digits = m.groups()
    spellings = [letters + digits, f"{letters} {digits}", f"{letters}.{digits}", f"{letters}. {digits}"]
    if len(letters) > 1:  # H.F.3489, H.F. 3489, H. F. 3489
        dotted = ".".join(letters) + "."
        spellings += [dotted + digits, f"{dotted} {digits}", ". ".join(letters) + f". {digits}"]
    return [(keyword, match_case)] + [(s, True) for s in spellings if s != written]


def _rarity(group: frozenset[LiteralNode]) -> tuple[int, int]:
    """Longer whole words are rarer than short ones and than prefixes (a guess, no data)."""
    return (
        min(len(normalize_text(lit.text)) - (4 if lit.prefix else 0) for lit in group),
        -len(group),
    )

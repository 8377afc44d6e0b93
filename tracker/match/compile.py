"""Compile members and campaigns into what the engine runs: one automaton and its indexes.

Every name, alias, keyword, context term (require_any, exclude) and query literal is
normalised once and becomes a Pattern; patterns share an automaton key, the skeleton of
the term padded by spaces (a prefix literal is padded on the left only). The indexes say
which member or campaign a pattern can trigger; context terms only count once one did.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import ahocorasick

from tracker.match.engine import (
    CASED,
    EXACT,
    PREFIX,
    KeyValue,
    Matcher,
    Pattern,
    Target,
    build_automaton,
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

__all__ = ["compile_matcher"]


@dataclass
class _KeyInfo:
    """What one automaton key stands for. Several patterns may share a key."""

    patterns: list[Pattern] = field(default_factory=list)
    first_name: str = ""  # for middle initials: the key is this first name
    initials: list[tuple[str, int]] = field(default_factory=list)  # (rest of name, member)


_NEVER_FOUND = frozenset((-1,))  # no pattern has id -1


class _Builder:
    def __init__(self) -> None:
        self.patterns: dict[tuple[str, str, int], Pattern] = {}
        self.keys: dict[str, _KeyInfo] = {}

    def pattern(self, text: str, *, match_case: bool = False, prefix: bool = False) -> int | None:
        """Pattern id for a term (shared by equal terms); None if it has no word characters,
        since such a term cannot be matched as a whole word."""
        norm = normalize_text(text)
        core = skeleton_core(norm)
        if not core:
            return None
        mode = CASED if match_case else PREFIX if prefix else EXACT
        cased = normalize_text(text, fold_case=False) if match_case else ""
        pat = self.patterns.get((norm, cased, mode))
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
            )
            self.patterns[(norm, cased, mode)] = pat
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
        """Let "Kendra Brooks" also match "Kendra A. Brooks" / "Kendra A Brooks"."""
        words = normalize_text(name).split(" ")
        if len(words) < 2 or not words[0].isalpha() or len(words[0]) < 2:
            return
        if len(words[1].rstrip(".")) == 1:  # already has a middle initial
            return
        info = self.keys.setdefault(" " + words[0] + " ", _KeyInfo())
        info.first_name = words[0]
        info.initials.append((" ".join(words[1:]), midx))

    def automaton(self, triggers: set[int]) -> ahocorasick.Automaton | None:
        return build_automaton(self._key_values(triggers))

    def _key_values(self, triggers: set[int]) -> Iterator[tuple[str, KeyValue]]:
        for key, info in self.keys.items():
            initials = (info.first_name, tuple(info.initials)) if info.initials else None
            patterns = tuple(replace(p, trigger=p.id in triggers) for p in info.patterns)
            can_trigger = initials is not None or any(p.trigger for p in patterns)
            yield key, (len(key), patterns, initials, can_trigger)


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

    for midx, m in enumerate(members):
        for text in (m.name, *m.aliases):
            _add(name_index, b.pattern(text), midx, text)
        b.initial(m.name, midx)
        member_targets.append(Target("member", m.id, b.terms(m.require_any), b.terms(m.exclude)))

    for cidx, c in enumerate(campaigns):
        for kw in c.keywords:
            _add(keyword_index, b.pattern(kw.text, match_case=kw.match_case), cidx, kw.text)
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
    return Matcher(
        automaton=b.automaton(triggers),
        pattern_count=len(b.patterns),
        name_index={k: tuple(v) for k, v in name_index.items()},
        keyword_index={k: tuple(v) for k, v in keyword_index.items()},
        query_index={k: tuple(dict.fromkeys(v)) for k, v in query_index.items()},
        members=member_targets,
        member_names=[m.name for m in members],
        campaigns=campaign_targets,
    )


def _rarity(group: frozenset[LiteralNode]) -> tuple[int, int]:
    """Longer whole words are rarer than short ones and than prefixes (a guess, no data)."""
    return (
        min(len(normalize_text(lit.text)) - (4 if lit.prefix else 0) for lit in group),
        -len(group),
    )

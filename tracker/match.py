"""Find mentions of members and campaigns in an item's text. Pure: values in, values out.

How it stays fast with thousands of names: every name, alias, keyword, context term and
query literal is normalised once at compile time and put into ONE Aho-Corasick automaton.
Per item, the fields are normalised with C-level string operations (`str.translate`
through a lazily filled per-character table, `split`/`join`), joined with a separator,
and scanned in one pass. Only the automaton's hits are looked at in Python: word
boundaries, middle initials, `match_case`, `require_any`/`exclude`, queries. Items
without hits (the vast majority) cost a translate, a join and an automaton pass.

Snippets quote the field as the reader saw it (entities decoded, white space collapsed),
so an offset map from normalised back to display text is built, only for fields that
matched.
"""

from __future__ import annotations

import html
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import ahocorasick

from tracker.models import CampaignConfig, MatchItem, MemberConfig, Mention, MentionKind, Term
from tracker.query import (
    And,
    LiteralNode,
    Not,
    Or,
    Phrase,
    QueryNode,
    Word,
    literals,
    parse_query,
    positive_literals,
)

__all__ = ["FIELDS", "SNIPPET_RADIUS", "Matcher", "compile_matcher", "normalize_text"]

FIELDS = ("title", "summary", "content", "article")
SNIPPET_RADIUS = 80

# Fields are joined with NUL before scanning: it is never produced by normalisation (control
# characters become spaces), is not a word character, and no key contains it, so nothing
# matches across two fields.
_SEP = "\x00"
# Word positions of different fields are this far apart, so NEAR never spans two fields.
_FIELD_GAP = 1 << 40

# ------------------------------------------------------------------ normalisation

_APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u02bb\u0060\u00b4\uff07"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\u301d\u301e\uff02"
# Dash-like characters that are not category Pd; Pd itself is handled generically.
_EXTRA_DASHES = "\u2212\u2043\u02d7\u2e3a\u2e3b\ufe58"
# Invisible characters that sit inside words (soft hyphen, joiners, BOM): deleted, so
# "Ken\u00addra" still reads as one word. A zero-width *space* separates words instead.
_INVISIBLE = "\u00ad\u200c\u200d\u2060\ufeff"


def _special(ch: str) -> str:
    """The punctuation / spacing rules for one character, before and after decomposition."""
    if ch in _APOSTROPHES:
        return "'"
    if ch in _QUOTES:
        return '"'
    if ch in _INVISIBLE:
        return ""
    if ch == "\u200b" or ch.isspace() or ch in _EXTRA_DASHES:
        return " "
    category = unicodedata.category(ch)
    if category == "Pd" or category == "Cc":
        return " "
    if category == "Cf":
        return ""  # bidi marks and other format controls carry no text
    return ch


def _step(text: str, fold_case: bool) -> str:
    out = []
    for ch in text:
        s = _special(ch)
        s = unicodedata.normalize("NFKD", s)
        # Dropping every combining mark removes accents (é -> e) and leaves nothing that
        # canonical reordering could move, which keeps the mapping per character.
        s = "".join(c for c in s if not unicodedata.combining(c) and unicodedata.category(c) != "Mn")
        if fold_case:
            s = s.casefold()
        out.append("".join(_special(c) for c in s))
    return "".join(out)


def _normalize_char(ch: str, fold_case: bool) -> str:
    # Iterate to a fixed point so that every character we emit maps to itself: that is
    # what makes normalize_text idempotent (casefold can emit characters that decompose).
    current = ch
    for _ in range(8):
        nxt = _step(current, fold_case)
        if nxt == current:
            break
        current = nxt
    return current


class _CharTable(dict[int, str]):
    """code point -> normalised text, computed on first use; `str.translate` consults it.

    Filling lazily avoids a 1.1-million-entry table; ASCII input hits CPython's fast
    translate path after the first few calls.
    """

    def __init__(self, fold_case: bool) -> None:
        super().__init__()
        self.fold_case = fold_case

    def __missing__(self, code: int) -> str:
        # NUL is kept for the matcher's field separator; normalize_text removes it first.
        out = _SEP if code == 0 else _normalize_char(chr(code), self.fold_case)
        self[code] = out
        return out


_FOLD = _CharTable(fold_case=True)
_KEEP_CASE = _CharTable(fold_case=False)


def _unescape(text: str) -> str:
    """Decode HTML entities until none are left (`&amp;amp;` is a double-escaped `&`)."""
    while "&" in text:
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def _has_entity(text: str) -> bool:
    return "&" in text and html.unescape(text) != text


def normalize_text(text: str, *, fold_case: bool = True) -> str:
    """Normalise text (or a term) for comparison; idempotent.

    HTML entities decoded, compatibility-decomposed (NFKC's letters) with accents and other
    combining marks removed, case folded unless `fold_case=False`, curly quotes and
    apostrophes made straight, dashes and hyphens turned into spaces, white space
    (NBSP, newlines…) collapsed to single spaces and stripped.
    """
    table = _FOLD if fold_case else _KEEP_CASE
    out = text.replace(_SEP, " ")
    for _ in range(8):  # a full-width '＆amp;' only becomes an entity after translation
        out = " ".join(_unescape(out).translate(table).split())
        if not _has_entity(out):
            break
    return out


def _display_text(raw: str) -> str:
    """What a reader sees: entities decoded, white space collapsed (snippets quote this)."""
    return " ".join(_unescape(raw).split())


def _offset_map(display: str, table: _CharTable) -> tuple[str, list[int] | None]:
    """Normalise `display`, returning the text and, per output char, its index in `display`.

    None as the map means identity (the common case for plain ASCII prose).
    """
    translated = display.translate(table)
    if len(translated) == len(display):
        collapsed = " ".join(translated.split())
        if collapsed == translated:
            return collapsed, None
    chars: list[str] = []
    index: list[int] = []
    after_space = True  # drops leading spaces
    for i, ch in enumerate(display):
        for c in table[ord(ch)]:
            if c == " ":
                if after_space:
                    continue
                after_space = True
            else:
                after_space = False
            chars.append(c)
            index.append(i)
    if chars and chars[-1] == " ":
        chars.pop()
        index.pop()
    return "".join(chars), index


# ------------------------------------------------------------------ word boundaries


def _left_ok(text: str, start: int) -> bool:
    if start == 0:
        return True
    c = text[start - 1]
    if c.isalnum():
        return False
    # "O'Neil" is one word: "Neil" must not match inside it.
    return not (c == "'" and start > 1 and text[start - 2].isalnum())


def _right_ok(text: str, end: int) -> bool:
    n = len(text)
    if end >= n:
        return True
    c = text[end]
    if c.isalnum():
        return False
    if c != "'" or end + 1 >= n:
        return True
    # Possessives match ("Brooks'", "Brooks's"); contractions and "Brooks'ville" do not.
    c2 = text[end + 1]
    if not c2.isalnum():
        return True
    if c2 != "s":
        return False
    return end + 2 >= n or not text[end + 2].isalnum()


# ------------------------------------------------------------------ compiled form


@dataclass
class _KeyInfo:
    """What one automaton key stands for. Several patterns may share a key."""

    exact: list[int] = field(default_factory=list)  # whole-word patterns
    prefix: list[int] = field(default_factory=list)  # `evict*`: left boundary only
    cased: list[int] = field(default_factory=list)  # match_case: verified on unfolded text
    initials: list[tuple[str, int]] = field(default_factory=list)  # (rest of name, member)


# An occurrence under a query: (first word, last word, start char, end char) in the item.
_Span = tuple[int, int, int, int]
# Where a target was found: (start, end) in the folded text, or in the case-kept text.
_Hit = tuple[int, int, bool]


@dataclass(frozen=True)
class _Target:
    kind: MentionKind
    id: str
    require: frozenset[int]
    exclude: frozenset[int]
    query_text: str | None = None
    query: QueryNode | None = None
    query_pids: dict[LiteralNode, int] = field(default_factory=dict)


@dataclass
class _Scan:
    """Per-item working state: the normalised text and what the automaton found in it."""

    raw: str
    folded: str
    occurrences: dict[int, list[tuple[int, int]]]
    cased_hits: dict[int, tuple[int, int]]
    initial_hits: list[tuple[int, int, int]]  # (member index, start, end)
    kept: str | None = None


class Matcher:
    """Members and campaigns compiled for matching; build with `compile_matcher`."""

    def __init__(
        self,
        automaton: ahocorasick.Automaton | None,
        pattern_cased: list[str | None],
        name_index: dict[int, tuple[tuple[int, str], ...]],
        keyword_index: dict[int, tuple[tuple[int, str], ...]],
        query_index: dict[int, tuple[int, ...]],
        members: list[_Target],
        member_names: list[str],
        campaigns: list[_Target],
    ) -> None:
        self._automaton = automaton
        self._pattern_cased = pattern_cased
        self._name_index = name_index
        self._keyword_index = keyword_index
        self._query_index = query_index
        self._members = members
        self._member_names = member_names
        self._campaigns = campaigns

    @property
    def pattern_count(self) -> int:
        return len(self._pattern_cased)

    # -------------------------------------------------------------- public

    def match(self, item: MatchItem) -> list[Mention]:
        """Mentions in the item: one per matched member/campaign, sorted by (kind, id)."""
        scan = self._scan(item)
        if scan is None:
            return []
        mentions = []
        displays: dict[tuple[int, bool], tuple[str, str, list[int] | None]] = {}
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
        raw = _SEP.join((item.title, item.summary, item.content, item.article))
        if raw.count(_SEP) != 3:  # a NUL inside a field would shift the field boundaries
            raw = _SEP.join(
                f.replace(_SEP, " ") for f in (item.title, item.summary, item.content, item.article)
            )
        if "&" in raw:
            raw = _unescape(raw)
        text = " ".join(raw.translate(_FOLD).split()).replace(" \x00", _SEP).replace("\x00 ", _SEP)

        occurrences: dict[int, list[tuple[int, int]]] = {}
        cased: set[int] = set()
        initial_hits: list[tuple[int, int, int]] = []
        for end, info in automaton.iter(text):
            klen, need_left, need_right, exact, prefix, cased_pids, initials = info
            start = end - klen + 1
            if need_left and start and not _left_ok(text, start):
                continue
            stop = end + 1
            if prefix:
                word_end = stop  # report the whole word ("evictions"), not just "evict"
                while word_end < len(text) and text[word_end].isalnum():
                    word_end += 1
                for pid in prefix:
                    occurrences.setdefault(pid, []).append((start, word_end))
            if (exact or cased_pids) and (not need_right or _right_ok(text, stop)):
                for pid in exact:
                    occurrences.setdefault(pid, []).append((start, stop))
                cased.update(cased_pids)
            if initials:
                _initial_hits(text, start, stop, initials, initial_hits)
        if not occurrences and not cased and not initial_hits:
            return None
        scan = _Scan(raw, text, occurrences, {}, initial_hits)
        if cased:
            self._verify_cased(scan, cased)
        return scan

    def _verify_cased(self, scan: _Scan, pids: set[int]) -> None:
        """Confirm match_case candidates against the text with its case kept."""
        kept = " ".join(scan.raw.translate(_KEEP_CASE).split())
        scan.kept = kept.replace(" \x00", _SEP).replace("\x00 ", _SEP)
        for pid in sorted(pids):
            needle = self._pattern_cased[pid]
            assert needle is not None
            i = scan.kept.find(needle)
            while i >= 0:
                j = i + len(needle)
                if (not needle[0].isalnum() or _left_ok(scan.kept, i)) and (
                    not needle[-1].isalnum() or _right_ok(scan.kept, j)
                ):
                    scan.cased_hits[pid] = (i, j)
                    break
                i = scan.kept.find(needle, i + 1)

    # -------------------------------------------------------------- deciding

    def _resolve(self, scan: _Scan) -> list[tuple[_Target, str, _Hit]]:
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
        for pid, (start, stop) in scan.cased_hits.items():
            for cidx, term in self._keyword_index.get(pid, ()):
                offer(cbest, cidx, (start, stop, True), term)
        queried: set[int] = set()
        for pid in scan.occurrences:
            queried.update(self._query_index.get(pid, ()))
        for cidx in queried:
            target = self._campaigns[cidx]
            assert target.query is not None and target.query_text is not None
            spans = _evaluate(target.query, target.query_pids, scan)
            if spans:
                first = min(spans, key=lambda sp: sp[2])
                offer(cbest, cidx, (first[2], first[3], False), target.query_text)

        out: list[tuple[_Target, str, _Hit]] = []
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
        target: _Target,
        term: str,
        hit: _Hit,
        displays: dict[tuple[int, bool], tuple[str, str, list[int] | None]],
    ) -> Mention:
        start, stop, kept_case = hit
        text = scan.kept if kept_case and scan.kept is not None else scan.folded
        field_no = text.count(_SEP, 0, start)
        seg_start = text.rfind(_SEP, 0, start) + 1
        seg_end = text.find(_SEP, start)
        segment = text[seg_start : seg_end if seg_end >= 0 else len(text)]
        key = (field_no, kept_case)
        if key not in displays:
            raw_field = scan.raw.split(_SEP)[field_no]
            display = _display_text(raw_field)
            normalised, index = _offset_map(display, _KEEP_CASE if kept_case else _FOLD)
            if normalised != segment:  # pragma: no cover - only for pathological entities
                display, index = segment, None
            displays[key] = (display, normalised, index)
        display, _normalised, index = displays[key]
        local_start, local_stop = start - seg_start, stop - seg_start
        if index is None:
            d_start, d_stop = local_start, local_stop
        else:
            d_start, d_stop = index[local_start], index[local_stop - 1] + 1
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


def _initial_hits(
    text: str,
    start: int,
    stop: int,
    initials: tuple[tuple[str, int], ...],
    out: list[tuple[int, int, int]],
) -> None:
    """`stop` is just after "first ": look for "X " or "X. " and then the rest of a name."""
    n = len(text)
    if stop + 1 >= n or not text[stop].isalpha():
        return
    if text[stop + 1] == " ":
        after = stop + 2
    elif text[stop + 1] == "." and stop + 2 < n and text[stop + 2] == " ":
        after = stop + 3
    else:
        return
    for rest, midx in initials:
        if text.startswith(rest, after) and _right_ok(text, after + len(rest)):
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
    first = text.count(" ", 0, start) + _FIELD_GAP * text.count(_SEP, 0, start)
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


# ------------------------------------------------------------------ compiling


class _Builder:
    def __init__(self) -> None:
        self.patterns: dict[tuple[str, str | None, bool], int] = {}
        self.pattern_cased: list[str | None] = []
        self.keys: dict[str, _KeyInfo] = {}

    def pattern(self, text: str, *, match_case: bool = False, prefix: bool = False) -> int | None:
        """Pattern id for a term (shared by equal terms), or None if nothing is left of it."""
        folded = normalize_text(text)
        if not folded:
            return None
        cased = normalize_text(text, fold_case=False) if match_case else None
        key = (folded, cased, prefix)
        pid = self.patterns.get(key)
        if pid is None:
            pid = self.patterns[key] = len(self.pattern_cased)
            self.pattern_cased.append(cased)
            info = self.keys.setdefault(folded, _KeyInfo())
            (info.cased if match_case else info.prefix if prefix else info.exact).append(pid)
        return pid

    def terms(self, terms: Sequence[Term]) -> frozenset[int]:
        pids = (self.pattern(t.text, match_case=t.match_case) for t in terms)
        return frozenset(p for p in pids if p is not None)

    def initial(self, name: str, midx: int) -> None:
        """Let "Kendra Brooks" also match "Kendra A. Brooks" / "Kendra A Brooks"."""
        words = normalize_text(name).split(" ")
        if len(words) < 2 or not words[0].isalpha() or len(words[0]) < 2:
            return
        if len(words[1].rstrip(".")) == 1:  # already has a middle initial
            return
        first_key = words[0] + " "
        self.keys.setdefault(first_key, _KeyInfo()).initials.append((" ".join(words[1:]), midx))

    def automaton(self) -> ahocorasick.Automaton | None:
        if not self.keys:
            return None
        automaton = ahocorasick.Automaton()
        for key, info in self.keys.items():
            automaton.add_word(
                key,
                (
                    len(key),
                    key[0].isalnum(),
                    key[-1].isalnum(),
                    tuple(info.exact),
                    tuple(info.prefix),
                    tuple(info.cased),
                    tuple(info.initials),
                ),
            )
        automaton.make_automaton()
        return automaton


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
    member_targets: list[_Target] = []
    campaign_targets: list[_Target] = []

    for midx, m in enumerate(members):
        for text in (m.name, *m.aliases):
            _add(name_index, b.pattern(text), midx, text)
        b.initial(m.name, midx)
        member_targets.append(_Target("member", m.id, b.terms(m.require_any), b.terms(m.exclude)))

    for cidx, c in enumerate(campaigns):
        for kw in c.keywords:
            _add(keyword_index, b.pattern(kw.text, match_case=kw.match_case), cidx, kw.text)
        node: QueryNode | None = None
        pids: dict[LiteralNode, int] = {}
        if c.query:
            node = parse_query(c.query)
            for lit in literals(node):
                pid = b.pattern(lit.text, prefix=lit.prefix)
                assert pid is not None  # the parser refuses literals without letters/digits
                pids[lit] = pid
            for lit in positive_literals(node):
                query_index.setdefault(pids[lit], []).append(cidx)
        campaign_targets.append(
            _Target(
                "campaign",
                c.id,
                b.terms(c.require_any),
                b.terms(c.exclude),
                query_text=c.query if node is not None else None,
                query=node,
                query_pids=pids,
            )
        )

    return Matcher(
        automaton=b.automaton(),
        pattern_cased=b.pattern_cased,
        name_index={k: tuple(v) for k, v in name_index.items()},
        keyword_index={k: tuple(v) for k, v in keyword_index.items()},
        query_index={k: tuple(dict.fromkeys(v)) for k, v in query_index.items()},
        members=member_targets,
        member_names=[m.name for m in members],
        campaigns=campaign_targets,
    )

"""Find mentions of members and campaigns in an item's text. Pure: values in, values out.

How it stays fast with thousands of names: every name, alias, keyword, context term and
query literal is normalised once at compile time and put into ONE Aho-Corasick automaton.
Per item, the four fields are joined with NUL, normalised once (bytes.translate for ASCII,
lazily filled per-character tables otherwise) and the automaton runs once over the text's
"skeleton" (every non-word character a space), with keys padded by spaces, so it only
reports whole-word candidates. Only those are looked at in Python: punctuation, word
boundaries and possessives, middle initials, `match_case`, `require_any`/`exclude`,
queries. An item whose candidates are all context terms stops there.

Snippets quote the field as the reader saw it (entities decoded, white space collapsed):
an offset map from normalised back to display text is built, only for fields that matched.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate

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
    required_groups,
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


class _SkeletonTable(dict[int, str]):
    """Normalised char -> itself if it is a word character, else a space (same length).

    The automaton scans this "skeleton" of the text with keys padded by spaces, so it only
    reports whole-word candidates: "or" no longer fires inside "for" or "report".
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = ch if ch.isalnum() else " "
        self[code] = out
        return out


_SKELETON = _SkeletonTable()


def _ascii_table(table: dict[int, str]) -> bytes:
    """The ASCII part of a table as a bytes.translate table (several times faster)."""
    out = bytearray(range(256))
    for code in range(128):
        mapped = table[code]
        assert len(mapped) == 1 and mapped.isascii()  # every ASCII char maps to one ASCII char
        out[code] = ord(mapped)
    return bytes(out)


_ASCII_FOLD = _ascii_table(_FOLD)
_ASCII_KEEP_CASE = _ascii_table(_KEEP_CASE)
_ASCII_SKELETON = _ascii_table(_SKELETON)


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


class _OffsetMap:
    """Maps a position in normalised text back to the display text it came from.

    Built from C-level operations only (translate, map, accumulate, one regex): a per
    character Python loop costs a millisecond on an article-length field.
    """

    def __init__(self, display: str, table: _CharTable) -> None:
        if display.isascii():
            self.ends: list[int] | None = None  # ASCII: one character in, one out
            translated = display.translate(table)
        else:
            chunks = list(map(table.__getitem__, map(ord, display)))
            # ends[i]: where display char i's output ends in the translated text
            self.ends = list(accumulate(map(len, chunks)))
            translated = "".join(chunks)
        # Collapsing spaces deletes ranges of the translated text; remember them as
        # (position in normalised text where the deletion happens, length deleted).
        self.cuts: list[int] = []
        self.shift: list[int] = []
        deleted = 0
        for m in _SPACE_RUN.finditer(translated):
            a, b = m.span()
            if a > 0 and b < len(translated):
                a += 1  # an inner run keeps one space
            if b > a:
                self.cuts.append(a - deleted)
                deleted += b - a
                self.shift.append(deleted)
        self.text = " ".join(translated.split())

    def display_pos(self, pos: int) -> int:
        """Index in the display text of the character at `pos` in the normalised text."""
        i = bisect_right(self.cuts, pos)
        t = pos + (self.shift[i - 1] if i else 0)
        return t if self.ends is None else bisect_right(self.ends, t)


_SPACE_RUN = re.compile(r"^ +| +$| {2,}")


def _space_beside_sep(data: bytes) -> bool:
    # three memchr-speed finds beat `b" \x00" in data`, whose search trips over every space
    i = data.find(0)
    while i >= 0:
        if (i and data[i - 1] == 32) or (i + 1 < len(data) and data[i + 1] == 32):
            return True
        i = data.find(0, i + 1)
    return False


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _normalise_for_scan(raw: str, *, fold_case: bool, skeleton: bool = True) -> tuple[str, str]:
    """(normalised text, padded skeleton) of the joined fields; the hot path of matching.

    Equal to normalize_text per field (fields stay separated by NUL), but fast: ASCII goes
    through bytes.translate, and white space is only re-joined when there is something to
    collapse. Text that is mostly ASCII ("José", "’") first has its few non-ASCII runs
    mapped through the table: the table's output maps to itself, so mapping the rest
    afterwards gives the same result as mapping every character once.
    """
    table = _FOLD if fold_case else _KEEP_CASE
    if not raw.isascii():
        raw = _NON_ASCII_RUN.sub(lambda m: m.group().translate(table), raw)
    if raw.isascii():
        data = raw.encode("ascii").translate(_ASCII_FOLD if fold_case else _ASCII_KEEP_CASE)
        if b"  " in data:
            data = b" ".join(data.split())
        data = data.strip(b" ")
        if _space_beside_sep(data):
            data = data.replace(b" \x00", b"\x00").replace(b"\x00 ", b"\x00")
        text = data.decode("ascii")
        if not skeleton:
            return text, ""
        return text, " " + data.translate(_ASCII_SKELETON).decode("ascii") + " "
    # Non-Latin text: the same mapping, character by character through the lazy tables.
    text = " ".join(raw.translate(table).split())
    text = text.replace(" \x00", _SEP).replace("\x00 ", _SEP)
    if not skeleton:
        return text, ""
    return text, " " + text.translate(_SKELETON) + " "


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


_EXACT, _PREFIX, _CASED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A normalised term. Its automaton key is the skeleton of `norm` padded by spaces."""

    id: int
    norm: str  # normalised, case folded
    lead: int  # characters of `norm` before its first word character ("#fairshare": 1)
    mode: int  # _EXACT, _PREFIX (`evict*`) or _CASED (match_case: checked on unfolded text)
    cased: str  # normalised with case kept (only meaningful for _CASED)
    check_left: bool  # does norm start with a word character (so a boundary is needed)?
    check_right: bool
    # Names, keywords and the literals a query is indexed by can make a match; context
    # terms (require_any, exclude) only matter once something else did.
    trigger: bool = False


@dataclass
class _KeyInfo:
    """What one automaton key stands for. Several patterns may share a key."""

    patterns: list[_Pattern] = field(default_factory=list)
    first_name: str = ""  # for middle initials: the key is this first name
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
        members: list[_Target],
        member_names: list[str],
        campaigns: list[_Target],
    ) -> None:
        self._automaton = automaton
        self._pattern_count = pattern_count
        self._name_index = name_index
        self._keyword_index = keyword_index
        self._query_index = query_index
        self._members = members
        self._member_names = member_names
        self._campaigns = campaigns

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
        displays: dict[tuple[int, bool], tuple[str, _OffsetMap | None]] = {}
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
        text, skeleton = _normalise_for_scan(raw, fold_case=True)

        occurrences: dict[int, list[tuple[int, int]]] = {}
        cased: list[tuple[_Pattern, int, int]] = []
        initial_hits: list[tuple[int, int, int]] = []
        # Hits on keys that can only give context (require_any, exclude, query words that
        # cannot start a match) are set aside: most items have nothing else, and then they
        # are never looked at.
        context_hits: list[tuple[int, tuple[_Pattern, ...]]] = []
        triggered = False
        last = len(skeleton) - 1
        for end, (klen, patterns, initials, can_trigger) in automaton.iter(skeleton):
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

    def _verify_cased(self, scan: _Scan, candidates: list[tuple[_Pattern, int, int]]) -> None:
        """Confirm match_case candidates against the text with its case kept."""
        kept, _ = _normalise_for_scan(scan.raw, fold_case=False, skeleton=False)
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
                if (not pat.check_left or _left_ok(kept, i)) and (
                    not pat.check_right or _right_ok(kept, j)
                ):
                    scan.cased_hits[pat.id] = (i, j, True)
                i = kept.find(needle, i + 1)

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
        displays: dict[tuple[int, bool], tuple[str, _OffsetMap | None]],
    ) -> Mention:
        start, stop, kept_case = hit
        text = scan.kept if kept_case and scan.kept is not None else scan.folded
        field_no = text.count(_SEP, 0, start)
        seg_start = text.rfind(_SEP, 0, start) + 1
        seg_end = text.find(_SEP, start)
        segment = text[seg_start : seg_end if seg_end >= 0 else len(text)]
        key = (field_no, kept_case)
        if key not in displays:
            display = _display_text(scan.raw.split(_SEP)[field_no])
            mapping = _OffsetMap(display, _KEEP_CASE if kept_case else _FOLD)
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
    patterns: tuple[_Pattern, ...],
    occurrences: dict[int, list[tuple[int, int]]],
    cased: list[tuple[_Pattern, int, int]],
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
        if pat.mode == _PREFIX:
            while stop < len(text) and text[stop].isalnum():
                stop += 1  # report the whole word ("evictions"), not just "evict"
        elif pat.check_right and stop < len(text) and text[stop] == "'" and not _right_ok(text, stop):
            continue
        triggered = triggered or pat.trigger
        if pat.mode == _CASED:
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
    if not text.startswith(first, start) or not _left_ok(text, start):
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


_NEVER_FOUND = frozenset((-1,))  # no pattern has id -1


def _skeleton_core(norm: str) -> str:
    """The automaton's view of a normalised term: word characters, other chars as spaces."""
    return norm.translate(_SKELETON).strip(" ")


class _Builder:
    def __init__(self) -> None:
        self.patterns: dict[tuple[str, str, int], _Pattern] = {}
        self.keys: dict[str, _KeyInfo] = {}

    def pattern(self, text: str, *, match_case: bool = False, prefix: bool = False) -> int | None:
        """Pattern id for a term (shared by equal terms); None if it has no word characters,
        since such a term cannot be matched as a whole word."""
        norm = normalize_text(text)
        core = _skeleton_core(norm)
        if not core:
            return None
        mode = _CASED if match_case else _PREFIX if prefix else _EXACT
        cased = normalize_text(text, fold_case=False) if match_case else ""
        pat = self.patterns.get((norm, cased, mode))
        if pat is None:
            lead = len(norm) - len(norm.translate(_SKELETON).lstrip(" "))
            pat = _Pattern(
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
        if not self.keys:
            return None
        automaton = ahocorasick.Automaton()
        for key, info in self.keys.items():
            initials = (info.first_name, tuple(info.initials)) if info.initials else None
            patterns = tuple(replace(p, trigger=p.id in triggers) for p in info.patterns)
            can_trigger = initials is not None or any(p.trigger for p in patterns)
            automaton.add_word(key, (len(key), patterns, initials, can_trigger))
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
    triggers: set[int] = set()

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
            _Target(
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

"""Text in the form the matcher compares, and the way back to what the reader saw. Pure.

normalize_text is the one normalisation for terms and text alike (entities decoded, accents
and case folded, quotes straightened, dashes and white space made single spaces); its tables
are filled lazily per character, with bytes.translate tables for ASCII. normalise_for_scan is
the same mapping over an item's joined fields on the hot path, plus the "skeleton" (every
non-word character a space) that the automaton scans. OffsetMap maps a position in
normalised text back to the display text (entities decoded, white space collapsed) that
snippets quote. left_ok / right_ok say where a whole word may start and end.
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

__all__ = [
    "FOLD",
    "KEEP_CASE",
    "SEP",
    "SKELETON",
    "CharTable",
    "OffsetMap",
    "capitals_view",
    "display_text",
    "left_ok",
    "normalise_for_scan",
    "normalize_text",
    "right_ok",
    "skeleton_core",
    "unescape",
]

# Fields are joined with NUL before scanning: it is never produced by normalisation (control
# characters become spaces), is not a word character, and no key contains it, so nothing
# matches across two fields.
SEP = "\x00"

# ------------------------------------------------------------------ normalisation

_APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u02bb\u0060\u00b4\uff07"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\u301d\u301e\uff02"
# Dash-like characters that are not category Pd; Pd itself is handled generically.
_EXTRA_DASHES = "\u2212\u2043\u02d7\u2e3a\u2e3b\ufe58"
# Invisible characters that sit inside words (soft hyphen, joiners, BOM): deleted, so
# "Ken\u00addra" still reads as one word. A zero-width *space* separates words instead.
_INVISIBLE = "\u00ad\u200c\u200d\u2060\ufeff"
# Letters with a stroke, which Unicode does not decompose into a letter and an accent: folded by hand,
# so "Tam Dang" is "Tâm Đặng" and "Lukasz" is "Łukasz" (migration 0011 re-indexes stored text).
_STROKED = {"Đ": "D", "đ": "d", "Ɖ": "D", "ɖ": "d", "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Ħ": "H", "ħ": "h",
            "Ŧ": "T", "ŧ": "t", "Ƶ": "Z", "ƶ": "z"}
STROKED_FOLDED = "".join(sorted({k.casefold() for k in _STROKED}))  # as they appear in casefolded text


def _special(ch: str) -> str:
    """The punctuation / spacing rules for one character, before and after decomposition."""
    if ch in _APOSTROPHES:
        return "'"
    if ch in _QUOTES:
        return '"'
    if ch in _INVISIBLE:
        return ""
    if ch in _STROKED:
        return _STROKED[ch]
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


class CharTable(dict[int, str]):
    """code point -> normalised text, computed on first use; `str.translate` consults it.

    Filling lazily avoids a 1.1-million-entry table; ASCII input hits CPython's fast
    translate path after the first few calls.
    """

    def __init__(self, fold_case: bool) -> None:
        super().__init__()
        self.fold_case = fold_case

    def __missing__(self, code: int) -> str:
        # NUL is kept for the matcher's field separator; normalize_text removes it first.
        out = SEP if code == 0 else _normalize_char(chr(code), self.fold_case)
        self[code] = out
        return out


FOLD = CharTable(fold_case=True)
KEEP_CASE = CharTable(fold_case=False)


class _SkeletonTable(dict[int, str]):
    """Normalised char -> itself if it is a word character, else a space (same length).

    The automaton scans this "skeleton" of the text with keys padded by spaces, so it only
    reports whole-word candidates: "or" no longer fires inside "for" or "report".
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = ch if word_char(ch) else " "
        self[code] = out
        return out


def word_char(c: str) -> bool:
    """A letter or digit, or a mark that is part of one: the vowel signs of Devanagari, Bengali or
    Tamil (category Mc, which normalisation keeps) sit inside words, so कमल is not found in कमला."""
    return c.isalnum() or (c > "\x7f" and unicodedata.category(c)[0] == "M")


SKELETON = _SkeletonTable()


def skeleton_core(norm: str) -> str:
    """The automaton's view of a normalised term: word characters, other chars as spaces."""
    return norm.translate(SKELETON).strip(" ")


def _ascii_table(table: dict[int, str]) -> bytes:
    """The ASCII part of a table as a bytes.translate table (several times faster)."""
    out = bytearray(range(256))
    for code in range(128):
        mapped = table[code]
        assert len(mapped) == 1 and mapped.isascii()  # every ASCII char maps to one ASCII char
        out[code] = ord(mapped)
    return bytes(out)


_ASCII_FOLD = _ascii_table(FOLD)
_ASCII_KEEP_CASE = _ascii_table(KEEP_CASE)
_ASCII_SKELETON = _ascii_table(SKELETON)


def unescape(text: str) -> str:
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
    table = FOLD if fold_case else KEEP_CASE
    out = text.replace(SEP, " ")
    for _ in range(8):  # a full-width '＆amp;' only becomes an entity after translation
        out = " ".join(unescape(out).translate(table).split())
        if not _has_entity(out):
            break
    return out


def display_text(raw: str) -> str:
    """What a reader sees: entities decoded, white space collapsed (snippets quote this)."""
    return " ".join(unescape(raw).split())


class OffsetMap:
    """Maps a position in normalised text back to the display text it came from.

    Built from C-level operations only (translate, map, accumulate, a substring search): a
    per character Python loop costs a millisecond on an article-length field.
    """

    def __init__(self, display: str, table: CharTable) -> None:
        if display.isascii():
            self.ends: list[int] | None = None  # ASCII: one character in, one out
            ascii_table = _ASCII_FOLD if table is FOLD else _ASCII_KEEP_CASE if table is KEEP_CASE else None
            if ascii_table is None:
                translated = display.translate(table)
            else:  # bytes.translate: ~8x faster than str.translate through the dict
                translated = display.encode("ascii").translate(ascii_table).decode("ascii")
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
        n = len(translated)
        for a, b in _space_runs(translated):
            if a > 0 and b < n:
                a += 1  # an inner run keeps one space
            if b > a:
                self.cuts.append(a - deleted)
                deleted += b - a
                self.shift.append(deleted)
        self.text = " ".join(translated.split()) if self.cuts else translated

    def display_pos(self, pos: int) -> int:
        """Index in the display text of the character at `pos` in the normalised text."""
        i = bisect_right(self.cuts, pos)
        t = pos + (self.shift[i - 1] if i else 0)
        return t if self.ends is None else bisect_right(self.ends, t)


def _space_runs(text: str) -> list[tuple[int, int]]:
    """Where collapsing white space deletes: a leading or trailing run of spaces, or an
    inner run of two or more. (A regex alternation for the same costs ~15 µs on 400
    characters; a search for two spaces is one C call, and usually finds nothing.)"""
    n = len(text)
    lead = n - len(text.lstrip(" "))
    if lead == n:
        return [(0, n)] if n else []
    trail = len(text.rstrip(" "))
    runs = [(0, lead)] if lead else []
    if "  " in text:
        runs += [m.span() for m in _INNER_SPACES.finditer(text, lead, trail)]
    if trail < n:
        runs.append((trail, n))
    return runs


_INNER_SPACES = re.compile("   *")  # starts with the literal "  ", which re searches for fast


def _space_beside_sep(data: bytes) -> bool:
    # three memchr-speed finds beat `b" \x00" in data`, whose search trips over every space
    i = data.find(0)
    while i >= 0:
        if (i and data[i - 1] == 32) or (i + 1 < len(data) and data[i + 1] == 32):
            return True
        i = data.find(0, i + 1)
    return False


class _NotAscii(Exception):
    """A run of non-ASCII text whose normal form is not ASCII either (Greek, CJK…)."""


def _ascii_runs(table: CharTable) -> Callable[[UnicodeError], tuple[str, int]]:
    def fold_run(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeEncodeError):
            raise exc
        out = exc.object[exc.start : exc.end].translate(table)
        if not out.isascii():
            raise _NotAscii
        return out, exc.end

    return fold_run


# The ASCII encoder hands each run of non-ASCII characters to these, so mostly-ASCII text
# ("José", "’") is normalised at C speed between runs; a regex sub over every character
# (the way before) cost ~6 µs on a 450-character item.
codecs.register_error("tracker-fold", _ascii_runs(FOLD))
codecs.register_error("tracker-keep-case", _ascii_runs(KEEP_CASE))


def normalise_for_scan(raw: str, *, fold_case: bool, skeleton: bool = True) -> tuple[str, str]:
    """(normalised text, padded skeleton) of the joined fields; the hot path of matching.

    Equal to normalize_text per field (fields stay separated by NUL), but fast: ASCII goes
    through bytes.translate, and white space is only re-joined when there is something to
    collapse. Text that is mostly ASCII ("José", "’") first has its few non-ASCII runs
    mapped through the table while it is encoded: the table's output maps to itself, so
    mapping the rest afterwards gives the same result as mapping every character once.
    """
    table = FOLD if fold_case else KEEP_CASE
    encoded: bytes | None
    try:
        encoded = raw.encode("ascii", "tracker-fold" if fold_case else "tracker-keep-case")
    except _NotAscii:
        encoded = None
    if encoded is not None:
        data = encoded.translate(_ASCII_FOLD if fold_case else _ASCII_KEEP_CASE)
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
    text = text.replace(" \x00", SEP).replace("\x00 ", SEP)
    if not skeleton:
        return text, ""
    return text, " " + text.translate(SKELETON) + " "


class _CapitalsTable(dict[int, str]):
    """code point -> its folded form, in capitals if the character was a capital letter.

    Same length and same spaces as FOLD's output, so the text it makes lines up with the
    folded text character for character.
    """

    def __missing__(self, code: int) -> str:
        folded = FOLD[code]
        if any(c.isupper() for c in KEEP_CASE[code]):
            folded = "".join(c.upper() if len(c.upper()) == 1 else c for c in folded)
        self[code] = folded
        return folded


_CAPITALS = _CapitalsTable()


def capitals_view(raw: str) -> str:
    """The folded text of normalise_for_scan(raw), with capital letters left in capitals.

    Same length and positions as the folded text (which "ß" -> "ss" would break for a text
    normalised with its case kept), so a position found in one can be read in the other.
    """
    if raw.isascii():
        return normalise_for_scan(raw, fold_case=False, skeleton=False)[0]
    text = " ".join(raw.translate(_CAPITALS).split())
    return text.replace(" \x00", SEP).replace("\x00 ", SEP)


# ------------------------------------------------------------------ word boundaries


def left_ok(text: str, start: int) -> bool:
    if start == 0:
        return True
    c = text[start - 1]
    if word_char(c):
        return False
    # "O'Neil" is one word: "Neil" must not match inside it.
    return not (c == "'" and start > 1 and text[start - 2].isalnum())


def right_ok(text: str, end: int) -> bool:
    n = len(text)
    if end >= n:
        return True
    c = text[end]
    if word_char(c):
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

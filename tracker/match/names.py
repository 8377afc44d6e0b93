"""Title + surname references: the titles news puts before a surname, and a name's surname.

"Councilmember Brooks", "Mayor-elect Cohen", "Sens. Hawley and Blumenthal". The default
titles are listed here once (README, "Matching", shows the same list); a member's own
`title` adds its forms for that member only. Everything is normalised like any other term,
so "Council Member" and "Council-member" are one form. Pure: values in, values out.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from tracker.match.text import normalize_text

__all__ = [
    "DEFAULT_TITLES",
    "LIST_WORDS",
    "NAME_SUFFIXES",
    "OPENERS",
    "TITLE_SURNAME",
    "TitleIndex",
    "jurisdiction_term",
    "name_variants",
    "surname_of",
    "title_forms",
    "without_suffix",
]

# What Mention.term says when this rule made the match (explain output, the dashboard).
TITLE_SURNAME = "title+surname"

# title -> (forms before one surname, plural forms before a list of surnames)
DEFAULT_TITLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Councilmember": (("Councilmember", "Council Member"), ("Councilmembers", "Council Members")),
    "Councilwoman": (("Councilwoman",), ("Councilwomen",)),
    "Councilman": (("Councilman",), ("Councilmen",)),
    "Council President": (("Council President",), ("Council Presidents",)),
    "Alder": (("Alder",), ("Alders",)),
    "Alderperson": (("Alderperson",), ("Alderpersons", "Alderpeople")),
    "Alderman": (("Alderman", "Alderwoman", "Ald."), ("Aldermen", "Alderwomen")),
    "Supervisor": (("Supervisor",), ("Supervisors",)),
    "Commissioner": (("Commissioner",), ("Commissioners",)),
    "Mayor": (("Mayor",), ("Mayors",)),
    "Deputy Mayor": (("Deputy Mayor",), ("Deputy Mayors",)),
    "Board Member": (("Board Member",), ("Board Members",)),
    "School Board Member": (("School Board Member",), ("School Board Members",)),
    "Trustee": (("Trustee",), ("Trustees",)),
    "Director": (("Director",), ("Directors",)),
    "Representative": (("Representative", "Rep."), ("Representatives", "Reps.")),
    "Senator": (("Senator", "Sen."), ("Senators", "Sens.")),
    "Assemblymember": (("Assemblymember", "Assembly Member", "Asm."), ("Assemblymembers", "Assembly Members")),
    "Assemblywoman": (("Assemblywoman",), ("Assemblywomen",)),
    "Assemblyman": (("Assemblyman",), ("Assemblymen",)),
    "Delegate": (("Delegate", "Del."), ("Delegates", "Dels.")),
    "Judge": (("Judge",), ("Judges",)),
    "Sheriff": (("Sheriff",), ("Sheriffs",)),
    "Clerk": (("Clerk",), ("Clerks",)),
    "Controller": (("Controller",), ("Controllers",)),
    "Comptroller": (("Comptroller",), ("Comptrollers",)),
    "Treasurer": (("Treasurer",), ("Treasurers",)),
    "Auditor": (("Auditor",), ("Auditors",)),
    "Public Advocate": (("Public Advocate",), ("Public Advocates",)),
}

# Forms of titles that are not defaults but have a usual abbreviation: used when a member's
# own `title` is one of them ("Governor" -> "Gov. Shapiro"). Any other title is taken as
# written, with an "s" for the plural.
_OTHER_TITLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Governor": (("Governor", "Gov."), ("Governors", "Govs.")),
    "Lieutenant Governor": (("Lieutenant Governor", "Lt. Gov.", "Lt. Governor"), ("Lieutenant Governors",)),
    "Attorney General": (("Attorney General",), ()),
    "Councilor": (("Councilor",), ("Councilors",)),
    "Councillor": (("Councillor", "Cllr."), ("Councillors",)),
}

# Forms that came with the title and are used before the surname too: "Mayor-elect Cohen".
_ELECT = " elect"


def _normalised(forms: Iterable[str]) -> frozenset[str]:
    return frozenset(f for f in (normalize_text(x) for x in forms) if f)


def title_forms(title: str) -> tuple[frozenset[str], frozenset[str]]:
    """(singular forms, plural forms) of one title, normalised; "-elect" forms included."""
    norm = normalize_text(title)
    if not norm:
        return frozenset(), frozenset()
    for table in (DEFAULT_TITLES, _OTHER_TITLES):
        for name, (singular, plural) in table.items():
            if normalize_text(name) == norm:
                one = _normalised(singular)
                return one | {f + _ELECT for f in one}, _normalised(plural)
    return frozenset({norm, norm + _ELECT}), frozenset({norm + "s"})


def _default_forms() -> tuple[frozenset[str], frozenset[str]]:
    singular: set[str] = set()
    plural: set[str] = set()
    for title in DEFAULT_TITLES:
        one, many = title_forms(title)
        singular |= one
        plural |= many
    return frozenset(singular), frozenset(plural)


# Words after a surname that are not a first name: "Curtis Jones Jr." (normalised, any period dropped).
NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Lower-case words that belong to the surname that follows ("Mayor De La Cruz").
_PARTICLES = frozenset(
    {"de", "del", "della", "der", "den", "di", "da", "das", "dos", "du", "la", "le", "van", "von",
     "st.", "ten", "ter", "bin", "ibn", "al", "el"}
)


def surname_of(name: str) -> str:
    """The surname of a configured name, normalised: its last word, with particles before it
    ("Lisa De La Cruz" -> "de la cruz") and without a suffix ("Jr.", "III"); "" for one word."""
    words = [w.rstrip(",") for w in name.split()]
    while len(words) > 2 and normalize_text(words[-1]).rstrip(".") in NAME_SUFFIXES:
        words.pop()
    if len(words) < 2:
        return ""
    i = len(words) - 1
    while i > 1 and normalize_text(words[i - 1]) in _PARTICLES:
        i -= 1
    surname = normalize_text(" ".join(words[i:]))
    # a surname must start and end with a letter to be found as a whole word after a title
    if not surname or not surname[0].isalnum() or not surname[-1].isalnum():
        return ""
    return surname


def without_suffix(name: str) -> str | None:
    """A configured name ending in a suffix ("Curtis Jones Jr.") without it ("Curtis Jones"); None
    for a name with none (or too short to have one: "Prince Jr." is its own name)."""
    words = name.split()
    if len(words) < 3 or normalize_text(words[-1]).rstrip(".") not in NAME_SUFFIXES:
        return None
    return " ".join(words[:-1]).rstrip(",")


def name_variants(name: str) -> tuple[str, ...]:
    """The ways news prints a configured name with its suffix: as written, and with the suffix's
    period or without, after a comma or not ("Curtis Jones Jr", "Curtis Jones, Jr.")."""
    base = without_suffix(name)
    if base is None:
        return (name,)
    suffix = name.split()[-1].rstrip(".")
    spellings = (f"{base}{comma} {suffix}{dot}" for comma in ("", ",") for dot in ("", "."))
    return tuple(dict.fromkeys((name, *spellings)))


_PLACE_PREFIX = re.compile(r"^(?:city|town|village|borough|township|county) of ", re.IGNORECASE)


def jurisdiction_term(jurisdiction: str) -> str:
    """The words a story about this jurisdiction carries: "City of Seattle" -> "Seattle"."""
    return _PLACE_PREFIX.sub("", jurisdiction.strip())


# What may stand between an opening bracket or quote and a title: "(Councilmember Brooks)".
OPENERS = frozenset("(\"'[")
# Between names in a list, besides commas.
LIST_WORDS = frozenset({"and", "&"})

# What ends a name before the comma in a list ("Brooks, Gauthier"), or precedes " &":
# ASCII, since accents are gone by then (a name in another script is not looked for in a list).
_NAME_END = string.ascii_lowercase + string.digits + ".'\")"


def _endings(words: Iterable[str]) -> frozenset[str]:
    """Every three characters that may stand before the space before a surname."""
    out = {a + b + "," for a in _NAME_END for b in _NAME_END}
    for word in words:
        if len(word) >= 3:
            out.add(word[-3:])
        else:  # "&", after a name and a space
            out.update((c + " " + word)[-3:] for c in _NAME_END)
    return frozenset(out)

# Before a surname in a list ("Councilmembers Brooks, Gauthier and Landau"): what may
# separate it from the previous name, read backwards (", " "and " ", and " "& ").
_LIST_SEPARATORS_REVERSED = r"(?: dna ,| dna | & ,| & | ,)"
_LIST_ITEM_REVERSED = r"[^ ,\x00]+(?: [^ ,\x00]+){0,2}?"  # a name of up to three words


@dataclass(frozen=True)
class TitleIndex:
    """Every title form the matcher knows, arranged for looking backwards from a surname.

    `by_last_word` maps the word just before a surname to the forms ending with that word
    (longest first); `list_reversed` matches, on the text before a surname read backwards,
    a list of names headed by a plural title. `endings` holds the last three characters
    before the space before a surname that make it worth a closer look (a title's last
    word, "and", "&", a word ending in a comma): a cheap first test, since most surnames
    follow a first name.
    """

    defaults: frozenset[str]
    by_last_word: dict[str, tuple[str, ...]]
    list_reversed: re.Pattern[str] | None
    endings: frozenset[str]

    @classmethod
    def build(cls, extra: Iterable[tuple[frozenset[str], frozenset[str]]] = ()) -> TitleIndex:
        singular, plural = _default_forms()
        defaults = singular | plural
        all_singular, all_plural = set(singular), set(plural)
        for one, many in extra:
            all_singular |= one
            all_plural |= many
        by_word: dict[str, list[str]] = {}
        for form in all_singular | all_plural:
            by_word.setdefault(form.rsplit(" ", 1)[-1], []).append(form)
        alternatives = "|".join(re.escape(f[::-1]) for f in sorted(all_plural, key=len, reverse=True))
        list_reversed = (
            re.compile(
                rf"(?:{_LIST_SEPARATORS_REVERSED}{_LIST_ITEM_REVERSED})+? (?P<title>{alternatives})(?!\w)"
            )
            if alternatives
            else None
        )
        return cls(
            defaults=defaults,
            by_last_word={w: tuple(sorted(fs, key=len, reverse=True)) for w, fs in by_word.items()},
            list_reversed=list_reversed,
            endings=_endings((*by_word, *LIST_WORDS)),
        )

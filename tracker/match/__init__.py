"""Find mentions of members and campaigns in an item's text. Pure: values in, values out.

How it stays fast with thousands of names: every name, alias, keyword, context term and
query literal is normalised once at compile time and put into ONE Aho-Corasick automaton.
Per item, the four fields are joined with NUL, normalised once (bytes.translate for ASCII,
lazily filled per-character tables otherwise) and the automaton runs once over the text's
"skeleton" (every non-word character a space), with keys padded by spaces, so it only
reports whole-word candidates. Only those are looked at in Python.

    text.py     normalisation tables, the skeleton, offsets back to display text
    names.py    title + surname: the default titles, a name's surname, the title index
    compile.py  members and campaigns -> patterns, one automaton, indexes (compile_matcher)
    engine.py   Matcher: the automaton pass over an item, deciding mentions, snippets
    jsonl.py    the `tracker match` line format: a JSON object in, mentions out
"""

from __future__ import annotations

from tracker.match.compile import compile_matcher
from tracker.match.engine import SNIPPET_RADIUS, Matcher
from tracker.match.jsonl import item_from_json, mentions_json
from tracker.match.text import normalize_text

__all__ = [
    "SNIPPET_RADIUS",
    "Matcher",
    "compile_matcher",
    "item_from_json",
    "mentions_json",
    "normalize_text",
]

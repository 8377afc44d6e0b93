"""The campaign query language: a pure parser from text to a tree of frozen nodes.

Syntax (AND, OR and NOT are upper-case, as in Google News and most media-monitoring tools, and
their lower-case forms are refused rather than searched for silently; NEAR/n may be written in any
case, since the /n cannot be an ordinary word)::

    word  "a quoted phrase"  evict*  (group)
    A AND B      A B          both (adjacency means AND)
    A OR B                    either
    NOT A                     A does not occur anywhere in the item
    A NEAR/n B                both occur, either order, at most n words between them

Precedence, tightest first: NOT > NEAR > AND/adjacency > OR.

Matching (normalisation, word boundaries, positions) lives in `tracker.match`; this module
only knows the shape of a query, so `tracker.config` can validate queries cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tracker.errors import QueryError

__all__ = [
    "And",
    "LiteralNode",
    "Near",
    "Not",
    "Or",
    "Phrase",
    "QueryNode",
    "Word",
    "engine_query",
    "literals",
    "matches_empty",
    "parse_query",
    "positive_literals",
    "required_groups",
]

# A prefix shorter than this would put a one- or two-letter key in the automaton and fire on
# almost every word of every item, so it is refused rather than silently made slow.
MIN_PREFIX_CHARS = 3
# Larger distances are almost certainly typos and would make NEAR meaningless.
MAX_NEAR_DISTANCE = 1000


@dataclass(frozen=True)
class Word:
    """A single word as written (without the trailing `*`); `prefix` for `evict*`."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """A "quoted phrase": its words must occur consecutively. `prefix` if it ended in `*`."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class And:
    children: tuple[QueryNode, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[QueryNode, ...]


@dataclass(frozen=True)
class Not:
    child: QueryNode


@dataclass(frozen=True)
class Near:
    left: QueryNode
    right: QueryNode
    distance: int  # at most this many words between the two sides


LiteralNode = Word | Phrase
QueryNode = Word | Phrase | And | Or | Not | Near


# ------------------------------------------------------------------ tokenizer

_NEAR_RE = re.compile(r"NEAR/(\d+)\Z", re.IGNORECASE)
_SPECIAL = frozenset('()"')


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE AND OR NOT NEAR LPAREN RPAREN END
    text: str
    pos: int
    distance: int = 0


def _fail(query: str, reason: str, pos: int) -> QueryError:
    return QueryError(f"query {query!r}: {reason} at position {pos}", query, pos)


# Quotes a word processor or phone types for `"`: the same phrase (one character each, so positions hold).
_CURLY_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"',
                               "\u00bb": '"', "\u2033": '"'})
MAX_DEPTH = 50  # nesting of parentheses, NOT and NEAR: deeper is a typo, and would exhaust the stack


def _tokens(query: str) -> Iterator[_Token]:
    query = query.translate(_CURLY_QUOTES)
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "(":
            yield _Token("LPAREN", c, i)
            i += 1
        elif c == ")":
            yield _Token("RPAREN", c, i)
            i += 1
        elif c == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise _fail(query, "unclosed quote", i)
            yield _Token("PHRASE", query[i + 1 : close], i)
            i = close + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in _SPECIAL:
                j += 1
            text = query[i:j]
            if text in ("AND", "OR", "NOT"):
                yield _Token(text, text, i)
            elif text.upper() in ("AND", "OR", "NOT"):
                # `"good cause" or "just cause"` would silently require the word "or" and match
                # almost nothing: say so instead.
                raise _fail(query, f"{text!r} is an operator only in capitals: write {text.upper()}, "
                                   f'or "{text}" in quotes to search for the word', i)
            elif m := _NEAR_RE.match(text):
                distance = int(m.group(1))
                if distance > MAX_NEAR_DISTANCE:
                    raise _fail(query, f"NEAR distance {distance} is larger than {MAX_NEAR_DISTANCE}", i)
                yield _Token("NEAR", text, i, distance)
            elif text == "NEAR" or text.upper().startswith("NEAR/"):
                raise _fail(query, "NEAR needs a distance in words, like NEAR/3,", i)
            else:
                yield _Token("WORD", text, i)
            i = j
    yield _Token("END", "", n)


# ------------------------------------------------------------------ parser


class _Parser:
    """Recursive descent, one method per precedence level."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = list(_tokens(query))
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> QueryNode:
        if self.tok.kind == "END":
            raise _fail(self.query, "query is empty", 0)
        node = self.or_expr()
        if self.tok.kind == "RPAREN":
            raise _fail(self.query, "unmatched ')'", self.tok.pos)
        if self.tok.kind != "END":  # pragma: no cover - every other token starts an operand
            raise _fail(self.query, f"unexpected {self.tok.text!r}", self.tok.pos)
        return node

    def or_expr(self) -> QueryNode:
        children = [self.and_expr()]
        while self.tok.kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> QueryNode:
        children = [self.near_expr()]
        while True:
            if self.tok.kind == "AND":
                self.take()
            elif self.tok.kind not in ("WORD", "PHRASE", "NOT", "LPAREN"):
                break  # OR, ')' or the end close this AND; anything else is adjacency
            children.append(self.near_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def near_expr(self) -> QueryNode:
        left = self.unary()
        while self.tok.kind == "NEAR":
            op = self.take()
            right = self.unary()
            for side in (left, right):
                if _contains_not(side):
                    # "NOT x NEAR y" has no position to measure from; say so instead of
                    # silently never matching.
                    raise _fail(self.query, "NEAR needs words or phrases on both sides, not NOT", op.pos)
            left = Near(left, right, op.distance)
        return left

    def unary(self) -> QueryNode:
        if self.tok.kind == "NOT":
            self.take()
            inner = self.unary()
            return inner.child if isinstance(inner, Not) else Not(inner)  # NOT NOT x is x
        return self.primary()

    def primary(self) -> QueryNode:
        tok = self.take()
        if tok.kind == "WORD":
            return self.literal(tok, phrase=False)
        if tok.kind == "PHRASE":
            return self.literal(tok, phrase=True)
        if tok.kind == "LPAREN":
            if self.tok.kind == "RPAREN":
                raise _fail(self.query, "empty parentheses", tok.pos)
            node = self.or_expr()
            if self.tok.kind != "RPAREN":
                raise _fail(self.query, "'(' is never closed", tok.pos)
            self.take()
            return node
        if tok.kind == "END":
            raise _fail(self.query, "expected a word, phrase or '(' but the query ends", tok.pos)
        raise _fail(self.query, f"expected a word, phrase or '(' but found {tok.text!r}", tok.pos)

    def literal(self, tok: _Token, *, phrase: bool) -> QueryNode:
        text = tok.text.strip()
        prefix = text.endswith("*")
        if prefix:
            text = text[:-1].rstrip()
        if "*" in text:
            # a phrase's text starts one character after its opening quote
            star = tok.pos + int(phrase) + tok.text.find("*")
            raise _fail(self.query, "'*' is only allowed at the end of a word", star)
        if not any(ch.isalnum() for ch in text):
            what = "phrase" if phrase else "word"
            raise _fail(self.query, f"{what} {tok.text!r} has no letters or digits", tok.pos)
        if prefix and sum(ch.isalnum() for ch in text) < MIN_PREFIX_CHARS:
            raise _fail(self.query, f"a wildcard needs at least {MIN_PREFIX_CHARS} letters before '*'", tok.pos)
        return Phrase(text, prefix) if phrase else Word(text, prefix)


def _contains_not(node: QueryNode) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And | Or):
        return any(_contains_not(c) for c in node.children)
    if isinstance(node, Near):
        return _contains_not(node.left) or _contains_not(node.right)
    return False


def parse_query(text: str) -> QueryNode:
    """Parse a campaign query; raise QueryError (with the position) if it is not valid.

    A query that would match an item containing none of its words (`NOT rent`) is refused:
    it would tag nearly every clip with the campaign.
    """
    try:
        node = _Parser(text).parse()
    except RecursionError:
        raise _fail(text, f"nested more than {MAX_DEPTH} deep", 0) from None
    if _depth(node) > MAX_DEPTH:
        raise _fail(text, f"nested more than {MAX_DEPTH} deep", 0)
    if matches_empty(node):
        raise _fail(text, "query would match every item (it only excludes words)", 0)
    return node


# ------------------------------------------------------------------ analysis


def _depth(node: QueryNode) -> int:
    """How deep the tree goes, without recursion (the matcher's evaluation recurses as deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, And | Or):
            stack.extend((c, depth + 1) for c in current.children)
        elif isinstance(current, Not):
            stack.append((current.child, depth + 1))
        elif isinstance(current, Near):
            stack.extend(((current.left, depth + 1), (current.right, depth + 1)))
    return deepest


def matches_empty(node: QueryNode) -> bool:
    """Whether the query is true for an item in which none of its literals occur."""
    if isinstance(node, Word | Phrase | Near):
        return False
    if isinstance(node, Not):
        return not matches_empty(node.child)
    if isinstance(node, And):
        return all(matches_empty(c) for c in node.children)
    return any(matches_empty(c) for c in node.children)


def _walk(node: QueryNode, negated: bool) -> Iterator[tuple[LiteralNode, bool]]:
    if isinstance(node, Word | Phrase):
        yield node, negated
    elif isinstance(node, Not):
        yield from _walk(node.child, not negated)
    elif isinstance(node, Near):
        yield from _walk(node.left, negated)
        yield from _walk(node.right, negated)
    else:
        for child in node.children:
            yield from _walk(child, negated)


def literals(node: QueryNode) -> tuple[LiteralNode, ...]:
    """Every distinct word, phrase and prefix in the query, in order of appearance.

    The matcher feeds these to its automaton: a query can only be true on positions where
    they occur.
    """
    return tuple(dict.fromkeys(lit for lit, _ in _walk(node, False)))


def positive_literals(node: QueryNode) -> tuple[LiteralNode, ...]:
    """Literals that appear under an even number of NOTs.

    A query that is false on an empty item (`parse_query` guarantees it) can only become
    true when one of these occurs, so the matcher evaluates it only then.
    """
    return tuple(dict.fromkeys(lit for lit, neg in _walk(node, False) if not neg))


def required_groups(node: QueryNode) -> tuple[frozenset[LiteralNode], ...]:
    """Sets of literals of which at least one each must occur for the query to be true.

    `"good cause" NEAR/3 evict*` gives ({"good cause"}, {evict*}); `(a OR b) c NOT d` gives
    ({a, b}, {c}). Cheaper to check than evaluating the query, so the matcher tests these
    first. May be empty (`NOT NOT a`): then there is no shortcut, not no requirement.
    """
    if isinstance(node, Word | Phrase):
        return (frozenset((node,)),)
    if isinstance(node, Not):
        return ()
    if isinstance(node, Near):
        return required_groups(node.left) + required_groups(node.right)
    if isinstance(node, And):
        return tuple(g for child in node.children for g in required_groups(child))
    union: set[LiteralNode] = set()
    for child in node.children:
        groups = required_groups(child)
        if not groups:
            return ()  # one alternative requires nothing we can name
        union |= groups[0]
    return (frozenset(union),)


# ------------------------------------------------------------------ search engines' syntax

_PLAIN_WORD_RE = re.compile(r"\w+\Z")


def _engine_term(lit: LiteralNode) -> str:
    # Engines stem words and have no prefix wildcard: `evict*` searches for `evict`.
    text = lit.text.replace('"', " ").strip()
    return text if isinstance(lit, Word) and _PLAIN_WORD_RE.match(text) else f'"{text}"'


def _engine_negation(node: QueryNode) -> str | None:
    if isinstance(node, Word | Phrase):
        return "-" + _engine_term(node)
    if isinstance(node, Or) and all(isinstance(c, Word | Phrase) for c in node.children):
        return " ".join("-" + _engine_term(c) for c in node.children)  # type: ignore[arg-type]
    if isinstance(node, Not):
        return _engine(node.child)
    return None  # NOT of a group: the engines cannot say it, and leaving it out only widens the search


def _engine(node: QueryNode) -> str | None:
    """None: this part cannot be said to the engine; it is only ever a restriction, left out."""
    if isinstance(node, Word | Phrase):
        return _engine_term(node)
    if isinstance(node, Not):
        return _engine_negation(node.child)
    if isinstance(node, Near):
        return _engine(And((node.left, node.right)))
    if isinstance(node, And):
        parts = []
        for child in node.children:
            text = _engine(child)
            if text:
                parts.append(f"({text})" if isinstance(child, Or) else text)
        return " ".join(parts) or None
    alternatives = []
    for child in node.children:
        text = _engine(child)
        if text is None:
            return None
        # Google binds OR tighter than adjacency: `a b OR c` would mean a (b OR c).
        alternatives.append(f"({text})" if isinstance(child, And | Near) and " " in text else text)
    return " OR ".join(alternatives)


def engine_query(node: QueryNode) -> str:
    """The query in the syntax Google News and Bing search accept, never narrower than ours.

    `A NEAR/n B` becomes `A B` (both), `evict*` becomes `evict` (the engines stem words; neither has
    prefix wildcards), `NOT x` becomes `-x`, and a NOT the engines cannot express (of a group) is
    left out. Results are matched by our own rules afterwards, so a wider search costs nothing.
    """
    text = _engine(node)
    if text:
        return text
    return " OR ".join(_engine_term(lit) for lit in positive_literals(node))

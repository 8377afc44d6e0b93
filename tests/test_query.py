"""The campaign query language: parse trees, precedence, and errors with positions."""

from __future__ import annotations

import pytest

from tracker.errors import ConfigError, QueryError
from tracker.query import (
    And,
    Near,
    Not,
    Or,
    Phrase,
    QueryNode,
    Word,
    literals,
    matches_empty,
    parse_query,
    positive_literals,
    required_groups,
)

W = Word

PARSES: list[tuple[str, QueryNode]] = [
    ("rent", W("rent")),
    ('"good cause"', Phrase("good cause")),
    ("evict*", W("evict", prefix=True)),
    ('"good cau*"', Phrase("good cau", prefix=True)),
    ("rent AND evict", And((W("rent"), W("evict")))),
    ("rent evict", And((W("rent"), W("evict")))),  # adjacency is AND
    ("rent OR evict", Or((W("rent"), W("evict")))),
    ("rent NOT car", And((W("rent"), Not(W("car"))))),
    ("rent AND NOT car", And((W("rent"), Not(W("car"))))),
    ("rent NEAR/3 evict", Near(W("rent"), W("evict"), 3)),
    ("rent near/3 evict", Near(W("rent"), W("evict"), 3)),  # the /n makes it unambiguous
    # precedence: AND binds tighter than OR
    ("a OR b c", Or((W("a"), And((W("b"), W("c")))))),
    ("a b OR c", Or((And((W("a"), W("b"))), W("c")))),
    # NEAR binds tighter than AND
    ("a NEAR/2 b c", And((Near(W("a"), W("b"), 2), W("c")))),
    ("c a NEAR/2 b", And((W("c"), Near(W("a"), W("b"), 2)))),
    # NOT binds tighter than AND
    ("NOT a b", And((Not(W("a")), W("b")))),
    ("NOT NOT a", W("a")),  # a double negation is the word itself
    # parentheses override precedence
    ("(a OR b) c", And((Or((W("a"), W("b"))), W("c")))),
    ("(a OR b) NEAR/1 c", Near(Or((W("a"), W("b"))), W("c"), 1)),
    ("NOT (a OR b) c", And((Not(Or((W("a"), W("b")))), W("c")))),
    # NEAR chains to the left
    ("a NEAR/1 b NEAR/2 c", Near(Near(W("a"), W("b"), 1), W("c"), 2)),
    # a quoted operator is an ordinary word
    ('rent "or" evict', And((W("rent"), Phrase("or"), W("evict")))),
    # punctuation inside a word stays part of it; normalisation happens in the matcher
    ("Ocasio-Cortez", W("Ocasio-Cortez")),
    ('"good cause" NEAR/3 evict*', Near(Phrase("good cause"), W("evict", prefix=True), 3)),
]


@pytest.mark.parametrize(("query", "tree"), PARSES, ids=[q for q, _ in PARSES])
def test_parses(query: str, tree: QueryNode) -> None:
    assert parse_query(query) == tree


ERRORS = [
    # (query, position, words the message must contain)
    # lower-case operators would silently be required words: refused with the fix
    ('"good cause" or "just cause"', 13, "only in capitals: write OR"),
    ("rent and evict", 5, "only in capitals: write AND"),
    ("Not rent", 0, "only in capitals: write NOT"),
    ('"good cause', 0, "unclosed quote"),
    ('rent "good cause', 5, "unclosed quote"),
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("(rent", 0, "never closed"),
    ("rent)", 4, "unmatched ')'"),
    ("()", 0, "empty parentheses"),
    ("AND rent", 0, "found 'AND'"),
    ("rent OR", 7, "query ends"),
    ("rent AND OR evict", 9, "found 'OR'"),
    ("rent NOT", 8, "query ends"),
    ("rent NEAR evict", 5, "NEAR needs a distance"),
    ("rent NEAR/x evict", 5, "NEAR needs a distance"),
    ("rent NEAR/5000 evict", 5, "larger than"),
    ("NOT rent NEAR/3 evict", 9, "not NOT"),
    ("rent NEAR/3 (evict OR NOT car)", 5, "not NOT"),
    ("ev*ct", 2, "only allowed at the end"),
    ('"good *cause"', 6, "only allowed at the end"),
    ("ab*", 0, "at least 3 letters"),
    ("*", 0, "no letters or digits"),
    ("rent --", 5, "no letters or digits"),
    ("NOT rent", 0, "match every item"),
    ("rent OR NOT evict", 0, "match every item"),
]


@pytest.mark.parametrize(("query", "position", "reason"), ERRORS, ids=[q or "<empty>" for q, _, _ in ERRORS])
def test_errors_name_position_and_reason(query: str, position: int, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    err = info.value
    assert err.position == position
    assert err.query == query
    message = str(err)
    assert reason in message
    assert f"at position {position}" in message
    assert repr(query) in message  # the whole query is quoted so the user sees which one


def test_unclosed_quote_message() -> None:
    with pytest.raises(QueryError, match=r"""^query '"good cause': unclosed quote at position 0$"""):
        parse_query('"good cause')


def test_query_error_is_a_config_error() -> None:
    # config.py reports it as a ConfigError for the campaign entry
    with pytest.raises(ConfigError):
        parse_query("(")


def test_literals_in_order_without_duplicates() -> None:
    node = parse_query('rent NOT "rent a car" (rent OR evict*) NEAR/2 tenant')
    assert literals(node) == (W("rent"), Phrase("rent a car"), W("evict", prefix=True), W("tenant"))


def test_positive_literals_skip_negated_ones() -> None:
    node = parse_query('rent NOT "rent a car" NOT NOT landlord')
    assert positive_literals(node) == (W("rent"), W("landlord"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a", False),
        ("a OR b", False),
        ("a NEAR/1 b", False),
        ("a NOT b", False),
        ("(NOT a) OR b", True),
        ("NOT a NOT b", True),
    ],
)
def test_matches_empty(query: str, expected: bool) -> None:
    from tracker.query import _Parser  # the raw parse, before parse_query refuses these

    assert matches_empty(_Parser(query).parse()) is expected


@pytest.mark.parametrize(
    ("query", "groups"),
    [
        ("a", [{"a"}]),
        ('"good cause" NEAR/3 evict*', [{"good cause"}, {"evict"}]),
        ("(a OR b) c NOT d", [{"a", "b"}, {"c"}]),
        ("a OR b c", [{"a", "b"}]),
        ("a OR (NOT b c)", [{"a", "c"}]),
        ("NOT NOT a", [{"a"}]),  # the word itself
    ],
)
def test_required_groups(query: str, groups: list[set[str]]) -> None:
    got = required_groups(parse_query(query))
    assert [{lit.text for lit in g} for g in got] == groups


def test_curly_quotes_make_a_phrase_as_straight_ones_do() -> None:
    # Typed in a word processor or on a phone: the same phrase, not words glued to quote marks.
    assert parse_query("\u201cgood cause\u201d NEAR/3 evict*") == parse_query('"good cause" NEAR/3 evict*')
    assert parse_query("\u00abgood cause\u00bb") == Phrase("good cause")


def test_a_double_negation_is_the_word_itself() -> None:
    # Accepted, it must be able to match: NOT NOT rent matched nothing at all.
    from tracker.match import compile_matcher
    from tracker.models import CampaignConfig, MatchItem

    assert parse_query("NOT NOT rent") == Word("rent")
    matcher = compile_matcher([], [CampaignConfig(id="c", name="C", query="NOT NOT rent OR eviction")])
    assert [m.target_id for m in matcher.match(MatchItem(summary="Rent control passed"))] == ["c"]


def _nested(levels: int) -> str:
    """w0 OR (w1 a1 OR (…)): an OR and an AND for each level."""
    query = "rent"
    for i in range(levels):
        query = f"w{i} OR ({query} a{i})"
    return query


@pytest.mark.parametrize("query", ["(" * 300 + "rent" + ")" * 300, "NOT (" * 600 + "rent" + ")" * 600,
                                   " NEAR/1 ".join(["rent"] * 2000), _nested(60)])
def test_a_query_nested_too_deep_is_refused_not_a_traceback(query: str) -> None:
    with pytest.raises(QueryError, match="nested more than 50 deep"):
        parse_query(query)
    parse_query(_nested(20))  # deep enough for any real query

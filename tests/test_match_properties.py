"""Properties of normalisation and matching over arbitrary Unicode."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.match import compile_matcher, normalize_text
from tracker.match.names import DEFAULT_TITLES, TITLE_SURNAME, surname_of, title_forms
from tracker.models import CampaignConfig, MatchItem, MemberConfig, Term

MATCHER_QUERY = '"good cause" NEAR/3 evict* OR (rent NOT car)'
MATCHER = compile_matcher(
    [
        MemberConfig(id="kendra-brooks", name="Kendra Brooks", aliases=("Councilmember Brooks",)),
        MemberConfig(id="jose", name="José García", require_any=(Term("Texas"),)),
        MemberConfig(id="aoc", name="Alexandria Ocasio-Cortez", exclude=(Term("SNL", match_case=True),)),
    ],
    [
        CampaignConfig(
            id="gce",
            name="Good Cause",
            keywords=(Term("good cause eviction"), Term("EATS Act", match_case=True)),
            query=MATCHER_QUERY,
        )
    ],
)

NAMES = {"kendra-brooks": "Kendra Brooks", "jose": "José García", "aoc": "Alexandria Ocasio-Cortez"}
TITLE_FIRST_WORDS = {form.split(" ")[0] for title in DEFAULT_TITLES for form in title_forms(title)[0] | title_forms(title)[1]}

# Text made of the pieces matching cares about, so that hits (and their snippets) happen.
PIECES = st.sampled_from(
    [
        "Kendra", "Brooks", "kendra", "BROOKS", "’s", "'", "A.", " ", "\u00a0", "\n", "-", "—",
        "&amp;", "&#8217;", "&nbsp;", "José", "Garcia", "GARCÍA", "Texas", "Ocasio", "Cortez",
        "Alexandria", "SNL", "EATS", "Act", "eats", "good", "cause", "evictions", "rent", "car",
        "ﬁ", "ß", "İ", "\u0301", "\u00ad", "\x00", "Councilmember", ".", ",", "“", "”", "ǅ",
    ]
)
MATCHY_TEXT = st.lists(PIECES | st.text(max_size=3), max_size=30).map("".join)


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_normalize_keep_case_is_idempotent(text: str) -> None:
    once = normalize_text(text, fold_case=False)
    assert normalize_text(once, fold_case=False) == once


@given(MATCHY_TEXT)
def test_normalize_is_idempotent_on_matchy_text(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_normalized_text_has_single_spaces_only(text: str) -> None:
    out = normalize_text(text)
    assert out == out.strip()
    assert "  " not in out
    assert not any(c.isspace() and c != " " for c in out)


@given(st.text(), st.text(), st.text(), st.text())
def test_match_never_raises(title: str, summary: str, content: str, article: str) -> None:
    item = MatchItem(title=title, summary=summary, content=content, article=article)
    MATCHER.match(item)
    MATCHER.match_ids(item)


@settings(max_examples=300, deadline=None)
@given(MATCHY_TEXT, MATCHY_TEXT)
def test_mentions_are_consistent(title: str, summary: str) -> None:
    item = MatchItem(title=title, summary=summary)
    mentions = MATCHER.match(item)
    members, campaigns = MATCHER.match_ids(item)
    assert tuple(m.target_id for m in mentions if m.kind == "member") == members
    assert tuple(m.target_id for m in mentions if m.kind == "campaign") == campaigns
    assert [(m.kind, m.target_id) for m in mentions] == sorted((m.kind, m.target_id) for m in mentions)
    for m in mentions:
        assert m.field in ("title", "summary")
        assert 0 <= m.start < m.end <= len(m.snippet)
        highlighted = normalize_text(m.snippet[m.start : m.end])
        assert highlighted, m
        if m.term == TITLE_SURNAME:
            # a rule, not a configured term: the highlight is a title, then the surname
            assert highlighted.split(" ")[0] in TITLE_FIRST_WORDS, m
            assert highlighted.endswith(surname_of(NAMES[m.target_id])), m
        elif m.kind == "member" or m.term != MATCHER_QUERY:
            # the highlight is the hit itself: it starts with the term's first word
            assert highlighted.startswith(normalize_text(m.term).split(" ")[0]), m


@given(MATCHY_TEXT)
def test_match_does_not_depend_on_surrounding_fields(text: str) -> None:
    # a field's matches are the same whether or not other fields are present, for
    # members without context rules
    alone = {m.target_id for m in MATCHER.match(MatchItem(summary=text)) if m.target_id == "kendra-brooks"}
    with_title = {
        m.target_id
        for m in MATCHER.match(MatchItem(title="nothing here", summary=text))
        if m.target_id == "kendra-brooks"
    }
    assert alone == with_title


FIELD_TEXT = st.text() | MATCHY_TEXT | st.text(alphabet=st.characters(max_codepoint=127))


@given(FIELD_TEXT, FIELD_TEXT, FIELD_TEXT, FIELD_TEXT)
def test_scan_text_is_normalize_text_per_field(a: str, b: str, c: str, d: str) -> None:
    # The matcher's fast path (bytes for ASCII, one pass over joined fields) must agree
    # with normalize_text, which is what terms go through.
    from tracker.match.text import normalise_for_scan, unescape

    fields = [f.replace("\x00", " ") for f in (a, b, c, d)]
    raw = unescape("\x00".join(fields))
    for fold in (True, False):
        text, skeleton = normalise_for_scan(raw, fold_case=fold)
        expected = "\x00".join(normalize_text(f, fold_case=fold) for f in fields)
        if "&" not in text:  # NFKC can re-form an entity ("＆amp;"); only normalize_text loops
            assert text == expected
        assert len(skeleton) == len(text) + 2


@given(FIELD_TEXT)
def test_offset_map_points_each_normalised_char_at_its_source(text: str) -> None:
    from tracker.match.text import FOLD, OffsetMap, display_text

    display = display_text(text.replace("\x00", " "))
    mapping = OffsetMap(display, FOLD)
    assert mapping.text == normalize_text(display) or "&" in mapping.text
    positions = [mapping.display_pos(j) for j in range(len(mapping.text))]
    assert positions == sorted(positions)
    for j, i in enumerate(positions):
        assert mapping.text[j] in FOLD[ord(display[i])], (j, i)


@given(FIELD_TEXT)
def test_offset_map_with_case_kept_points_at_the_source(text: str) -> None:
    # match_case snippets map through KEEP_CASE (ASCII text takes a bytes fast path)
    from tracker.match.text import KEEP_CASE, OffsetMap, display_text

    display = display_text(text.replace("\x00", " "))
    mapping = OffsetMap(display, KEEP_CASE)
    assert mapping.text == normalize_text(display, fold_case=False) or "&" in mapping.text
    positions = [mapping.display_pos(j) for j in range(len(mapping.text))]
    assert positions == sorted(positions)
    for j, i in enumerate(positions):
        assert mapping.text[j] in KEEP_CASE[ord(display[i])], (j, i)


@given(FIELD_TEXT, FIELD_TEXT)
def test_capitals_view_lines_up_with_the_folded_text(a: str, b: str) -> None:
    # title+surname reads capitals at positions found in the folded text
    from tracker.match.text import capitals_view, normalise_for_scan, unescape

    raw = unescape("\x00".join(f.replace("\x00", " ") for f in (a, b)))
    folded, _ = normalise_for_scan(raw, fold_case=True)
    view = capitals_view(raw)
    assert len(view) == len(folded)
    for v, f in zip(view, folded, strict=True):
        assert v == f or v.lower() == f or v.casefold() == f, (v, f)
        assert (v in " \x00") == (f in " \x00")

"""Clip search that forgives: the query and every clip's text normalised as the matcher normalises
them (case, accents, curly apostrophes, dashes), and an index on the normalised text.

clip_search holds one row per clip: its searchable fields (headline, title, blurb, summary,
outlet, article text) normalised and joined. Mapper events on ClipRow keep it in step with every
insert and update the ORM makes; bulk inserts call index_clips; deletes cascade. The index is
the database's own: an FTS5 table with the trigram tokenizer on SQLite (external content, fed
by triggers on clip_search), a pg_trgm GIN index on PostgreSQL. Both find substrings, so a
search for `rour` finds O’Rourke. A word of one or two letters or digits (`NY`, `AI`) is found as
a whole word: as a piece of a word it is in nearly every clip ("any", "said"). Each clip's text
ends with a line of its short words, each between spaces (` ny `), which both indexes look up
like any other string of three or more characters (search_terms). What is shorter still and not
a letter or digit (`%`, `&`) is tested on the rows found (or, alone, counted by reading the
table: index_hits).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    event,
    exists,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql.elements import Label
from sqlmodel import col

from tracker.match.text import normalize_text
from tracker.store.tables import ClipRow, ClipSearchRow

# What a search looks in, staff's text first. A clip's own title and summary stay searchable after an edit.
SEARCH_FIELDS = ("headline", "title", "blurb", "summary", "outlet_display", "outlet", "content", "article")
MIN_INDEXED_CHARS = 3  # a trigram index looks up words of at least this many characters
# A search's total is counted up to here: past it the desk says "1,000+". A search with more than
# this many hits is also run the other way round (see search_condition), since counting and
# sorting every hit of a common word took seconds at a million clips.
COUNT_CAP = 1_000
FTS_TABLE = "clip_search_fts"
PG_INDEX = "ix_clip_search_body_trgm"
# Objects Alembic's autogenerate must not compare with the models: the FTS5 table, its shadow
# tables, and the PostgreSQL index (it needs an operator class the models cannot name portably).
UNMODELLED = frozenset({FTS_TABLE, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")),
                        PG_INDEX})



def include_object(_obj: object, name: str | None, _type: str, _reflected: bool, _compare_to: object) -> bool:
    """Alembic's include_object hook (migrations/env.py): autogenerate compares the models only."""
    return name not in UNMODELLED


_UPSERT = text(
    "INSERT INTO clip_search (clip_id, body) VALUES (:clip_id, :body) "
    "ON CONFLICT (clip_id) DO UPDATE SET body = excluded.body"
)
_fts = table(FTS_TABLE, column("rowid"), column("body"))


def search_body(values: Iterable[str | None]) -> str:
    """The normalised text a search looks in. Fields are kept on separate lines: a query is one
    line, so no phrase matches across the end of the headline and the start of the summary. The
    last line lists the text's short words (short_words_line)."""
    body = "\n".join(n for n in (normalize_text(v) for v in values if v) if n)
    short = short_words_line(body)
    return f"{body}\n{short}" if short else body


def is_short_word(word: str) -> bool:
    """A query word searched as a whole word: one or two letters or digits. Normalised text has
    lost its accents, so ASCII covers the Latin alphabet; two characters of a script written
    without spaces (東京) stay a substring, as they are rarely a word of their own there."""
    return len(word) < MIN_INDEXED_CHARS and word.isascii() and word.isalnum()


# One or two ASCII letters or digits between characters that are not: another script's letters
# count as a boundary, as a Latin abbreviation in Chinese text touches them (`AI技术`).
_SHORT_WORD = re.compile(r"(?<![a-z0-9])[a-z0-9]{1,2}(?![a-z0-9])")
# ASCII text (most clips) is split at what is not a letter or digit instead: 3× faster than the
# pattern on an article (70 against 230 µs for 6,000 characters), the same words.
_ASCII_NON_WORD = str.maketrans({c: " " for c in range(128) if not chr(c).isalnum()})


def short_words_line(body: str) -> str:
    """Every short word of normalised text (`o'rourke` holds `o`), each between spaces, separated
    by tabs. A query word has no tab and a phrase no two spaces together, so only a short word's
    search term (` ny `) can match in this line, and the prose's own ` ny ` is a whole word too."""
    if body.isascii():
        found = {w for w in set(body.translate(_ASCII_NON_WORD).split()) if len(w) < MIN_INDEXED_CHARS}
    else:
        found = set(_SHORT_WORD.findall(body))
    return "\t".join(f" {w} " for w in sorted(found))


def _row_body(row: Any) -> str:
    return search_body(getattr(row, f) for f in SEARCH_FIELDS)


# Words past this many are ignored: hundreds of short words built an SQL expression too deep for SQLite.
MAX_QUERY_WORDS = 32
# A quoted phrase, else a run of non-space characters.
_QUERY_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
# Punctuation a word may be typed with that its text need not have: `Brooks,`, `(council)`, `vote?`.
_EDGE_PUNCTUATION = "\"'()[]{}<>,.;:!?*"
# Beyond ASCII, any opening, closing, quoting or other punctuation (`¿Brooks?`, `「東京」`, `東京。`);
# ASCII keeps the list above, so `%`, `#`, `@` and `&` stay words of their own.
_EDGE_CATEGORIES = frozenset({"Ps", "Pe", "Pi", "Pf", "Po"})
# Lone surrogates: bytes a terminal sent in another encoding than the locale's. No database takes them.
_UNDECODABLE = re.compile("[\ud800-\udfff]")


def _is_edge_punctuation(ch: str) -> bool:
    return ch in _EDGE_PUNCTUATION or (not ch.isascii() and unicodedata.category(ch) in _EDGE_CATEGORIES)


def _strip_punctuation(token: str) -> str:
    start, end = 0, len(token)
    while start < end and _is_edge_punctuation(token[start]):
        start += 1
    while end > start and _is_edge_punctuation(token[end - 1]):
        end -= 1
    return token[start:end]


# A dash between two words of a query (`covid-19`, `wi-fi`), marked before normalisation makes it a
# space, so its parts are known: a private-use character, which normalisation keeps.
_JOINING_DASH = re.compile(r"(?<=\w)[-\u2010-\u2015\u2212](?=\w)")
_JOINED = "\ue000"


def _query_tokens(query: str) -> list[tuple[str, bool]]:
    """(word, typed on its own) for each word or quoted phrase of query: the parts of a hyphenated
    word are not on their own (the `19` of `covid-19` is no whole word: `COVID19` has it too)."""
    marked = _JOINING_DASH.sub(_JOINED, _UNDECODABLE.sub("\ufffd", query))
    tokens: list[tuple[str, bool]] = []
    for phrase, word in _QUERY_TOKEN.findall(normalize_text(marked)):
        if phrase:
            token = _strip_punctuation(" ".join(phrase.replace(_JOINED, " ").split()))
            tokens += [(token, True)] if token else []
        else:
            parts = [p for p in (_strip_punctuation(w) for w in word.split(_JOINED)) if p]
            tokens += [(p, len(parts) == 1) for p in parts]
    return tokens


def query_words(query: str) -> list[str]:
    """What every hit must contain, normalised like the clips' text: each word, or each quoted
    phrase (`"rent control"`: the words together), without the punctuation around it. A character
    that is not text (a lone surrogate) becomes U+FFFD, as a mis-decoded feed's does."""
    return list(dict.fromkeys(w for w, _ in _query_tokens(query)))[:MAX_QUERY_WORDS]


def search_terms(query: str) -> list[str]:
    """What the SQL looks for, word by word: query_words, a short word typed on its own between
    spaces (` ny `), so found whole and by the index (three characters or more: a trigram)."""
    terms = (f" {w} " if alone and is_short_word(w) else w for w, alone in _query_tokens(query))
    return list(dict.fromkeys(terms))[:MAX_QUERY_WORDS]


def looked_up(query: str) -> bool:
    """Whether the index looks up a word of query (else its hits are found by reading every clip)."""
    return any(len(t) >= MIN_INDEXED_CHARS for t in search_terms(query))


def like_pattern(word: str) -> str:
    """A LIKE pattern (escape character `\\`) for text containing `word`, its `%` and `_` taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(words: Iterable[str]) -> list[ColumnElement[bool]]:
    """clip_search.body holds each word (a substring: LIKE, its metacharacters escaped)."""
    return [col(ClipSearchRow.body).like(like_pattern(w), escape="\\") for w in words]


def _fts_match(words: Iterable[str]) -> ColumnElement[bool]:
    """FTS5's MATCH of quoted strings: each one a substring for the trigram tokenizer."""
    return _fts.c.body.op("MATCH")(" AND ".join('"' + w.replace('"', '""') + '"' for w in words))


def _having_words(sqlite: bool, words: Sequence[str], *columns: Any) -> Select[Any]:
    """SELECT columns FROM clip_search rows having every word, looked up in the index: on SQLite
    FTS5 finds the words long enough for it (a join, not IN: its hits lead, one by one in rowid
    order, so a LIMIT stops it early) and the short ones are tested on the rows found; PostgreSQL's
    GIN index answers LIKE itself. With no word long enough, every word is tested row by row."""
    long_words = [w for w in words if len(w) >= MIN_INDEXED_CHARS]
    found = select(*columns).select_from(ClipSearchRow)
    if sqlite and long_words:
        found = found.join(_fts, _fts.c.rowid == col(ClipSearchRow.id)).where(_fts_match(long_words))
        words = [w for w in words if w not in long_words]
    return found.where(*_contains(words))


ClipColumn = ColumnElement[str] | Mapped[str]
StoryColumn = ColumnElement[str | None] | Mapped[str | None]


def text_test(query: str, clip_id: ClipColumn, story_id: StoryColumn | None = None) -> ColumnElement[bool]:
    """True where the clip `clip_id` names has every word of query: one lookup of its text by id.
    A scalar subquery, which PostgreSQL runs row by row (an EXISTS it would turn into a join
    against every hit of a common word, and read all of them to test 10,000 clips). With the
    clip's `story_id`, true where any copy of its story has them (_story_has), the clip's own
    text when it is in no story yet."""
    words = search_terms(query)
    own = (select(literal(1)).where(col(ClipSearchRow.clip_id) == clip_id, *_contains(words))
           .limit(1).scalar_subquery()).is_not(None)
    if story_id is None:
        return own
    return or_(_story_has(words, story_id), and_(story_id.is_(None), own))


def among_hits(dialect: str, query: str, clip_id: ClipColumn, story_id: StoryColumn | None = None) -> ColumnElement[bool]:
    """True where the clip `clip_id` names is among the index's hits for query (with `story_id`,
    where its story is, or it is a hit in no story): every hit read once from the index and looked
    up, where text_test reads each clip's text. For a window of more clips than the search has hits."""
    sqlite = dialect == "sqlite"
    hits = _having_words(sqlite, search_terms(query), col(ClipSearchRow.clip_id), col(ClipSearchRow.story_id)).cte("hits")
    if not sqlite:
        hits = hits.prefix_with("MATERIALIZED")  # gathered once, for both lookups
    in_hits = clip_id.in_(select(hits.c.clip_id))
    if story_id is None:
        return in_hits
    return or_(story_id.in_(select(hits.c.story_id)), and_(story_id.is_(None), in_hits))


def _story_has(words: Sequence[str], story_id: StoryColumn) -> ColumnElement[bool]:
    """Some copy of the story (the clip itself included) has every word: the story's rows in
    clip_search by their story_id (migration 0013), in one index lookup, each one's text tested.
    A scalar subquery, for the reason text_test gives."""
    found = (select(literal(1)).where(col(ClipSearchRow.story_id) == story_id, *_contains(words))
             .limit(1).scalar_subquery())
    return found.is_not(None)


def search_condition(dialect: str, query: str, *, broad: bool = False, by_story: bool = False) -> ColumnElement[bool] | None:
    """A condition on clip.id: every word of query occurs in the clip's normalised text (as a
    substring; a short word as a word: search_terms). None when the query has no words. With
    by_story, for a list of one card per story (its primary, or a clip in no story), a clip also
    matches when another copy of its story has every word: the card names the other outlets, and
    a word typed from it must find the story.

    A narrow search (broad=False) asks the index for its hits, and the database sorts them. A
    broad one (hits thick among the newest clips: index_hits, Store.search_sort_cost) is a
    correlated test of each clip's text instead: walking the newest-first index and testing clip
    after clip finds a page of a common word's hits at once, where fetching and sorting all of them
    took seconds at a million clips (bench/README.md)."""
    words = search_terms(query)
    if not words:
        return None
    if broad:
        if dialect == "postgresql" or by_story:
            # Clip by clip: on PostgreSQL always (believing a word rare, as its estimate of a LIKE is a
            # guess, the planner turned an EXISTS into a join against all 25,000 hits of a city); by
            # story on SQLite too, one lookup of the story's rows per clip.
            return text_test(query, col(ClipRow.id), col(ClipRow.story_id) if by_story else None)
        return exists().where(col(ClipSearchRow.clip_id) == col(ClipRow.id), *_contains(words))
    # A join (not IN) on SQLite: a fifth faster at 2,700 hits.
    sqlite = dialect == "sqlite"
    if not sqlite and any(len(w) >= MIN_INDEXED_CHARS for w in words):
        # Found first, then sorted: left to itself the planner walked the newest clips for the few
        # thousand hits of a surname with a common word (0.23 s at a million clips, 0.05 s this way).
        materialized_hits = _having_words(sqlite, words, col(ClipSearchRow.clip_id), col(ClipSearchRow.story_id)
                                          ).cte("search_hits").prefix_with("MATERIALIZED")
        hit_ids, hit_stories = select(materialized_hits.c.clip_id), select(materialized_hits.c.story_id)
    else:
        materialized_hits = None
        hit_ids = _having_words(sqlite, words, col(ClipSearchRow.clip_id))
        hit_stories = _having_words(sqlite, words, col(ClipSearchRow.story_id))
    if not by_story:
        return col(ClipRow.id).in_(hit_ids)
    # By story: the clips of the hits' stories, by story_id's index, and the hits in no story; still no scan.
    if materialized_hits is None:
        return or_(col(ClipRow.story_id).in_(hit_stories), and_(col(ClipRow.story_id).is_(None), col(ClipRow.id).in_(hit_ids)))
    # On PostgreSQL one IN of ids, not that OR: expecting few hits, it tested the OR on every clip in
    # sort order (0.86 s at a million clips for 2,800 hits). On SQLite the OR is a third faster.
    copy = aliased(ClipRow)
    in_their_stories = select(col(copy.id)).where(col(copy.story_id).in_(hit_stories))
    return col(ClipRow.id).in_(in_their_stories.union_all(
        select(materialized_hits.c.clip_id).where(materialized_hits.c.story_id.is_(None))))


@dataclass(frozen=True)
class IndexHits:
    """What the index says of a search before it runs: how many clips have every word, counted up
    to a limit; past it, how many it likely finds in all (see estimate_hits) and how many hits lie
    among the most recently stored rows (what a walk through the newest clips meets)."""

    counted: int
    estimated: int
    recent_hits: int = 0
    recent_rows: int = 0
    rows: int = 0  # about how many rows the table has (0: not known)

    def walk_reads(self, page: int) -> int:
        """About how many of the newest clips a walk tests to fill a page: as many as hold `page`
        hits at the density of hits among the most recently stored rows."""
        return round(page * self.recent_rows / max(self.recent_hits, 1))

    def foretold(self) -> int:
        """How many hits in all, the larger of two guesses: the count's, pro rata to how far it
        read, which a word only in the newest clips fools; and the newest rows' density of hits
        over every row, which a word of long ago fools."""
        if not self.recent_rows:
            return self.estimated
        return max(self.estimated, round(self.recent_hits * self.rows / self.recent_rows))


def estimate_hits(counted: int, limit: int, reached: float | None, first: float | None, last: float | None) -> int:
    """How many clips a search finds in all, from its count that stopped at `limit`. Both databases
    hand hits over in the order their rows lie (FTS5 by rowid; PostgreSQL's scan page by page from
    the first), so a count that reached position `reached` of `first`…`last` foretells the rest pro
    rata, if hits are spread evenly: a word only in the newest clips is foretold far too few (the
    recent count in IndexHits tells that case). Exact when the count did not reach the limit."""
    if counted < limit or reached is None or first is None or last is None or last <= first:
        return counted
    return max(counted, round(counted * (last - first + 1) / (max(reached, first) - first + 1)))


# How many of the most recently stored rows IndexHits counts hits among.
RECENT_ROWS = 5_000
# PostgreSQL's planner may read the table in order for a count up to a limit, expecting its hits
# evenly spread; a word in only the newest clips is then read for through all of them (this
# week's news: 0.5-0.7 s at a million clips, against 5 ms by the index). Through the index, a
# common word is slow instead (every one of its entries read: two common words 40 -> 120 ms). Which
# word is common is read off the oldest PROBE_ROWS rows (~2 ms), where a scan would begin: the
# planner's estimates cannot tell, as its statistics leave out texts over 1 kB, most articles'.
PROBE_ROWS = 1_000
SCAN_SHARE = 0.10


def count_by_index(hits_per_word: Sequence[int], rows_read: int) -> bool:
    """Whether index_hits' count on PostgreSQL must use the index: no word is in SCAN_SHARE of the
    rows read (word by word, since the index reads every word's entries)."""
    return rows_read > 0 and all(hits < rows_read * SCAN_SHARE for hits in hits_per_word)


def index_hits(connection: Connection, query: str, *, limit: int, recent_rows: int = RECENT_ROWS) -> IndexHits | None:
    """How many clips have every word of the query, counting up to `limit` (the database stops
    there); past it, an estimate of them all and the hits among the last `recent_rows` rows stored.
    The index finds the words it can look up (short words too: search_terms); a lone character
    that is not a letter or digit (`%`, `&`) is tested on what it found. With nothing to look up,
    the same count reads the table in storage order: a character in most clips reaches the limit
    in the first rows read, one in none reads every row once (and list_clips then looks for no
    page). None when the query has no words."""
    words = search_terms(query)
    if not words:
        return None
    long_words = [w for w in words if len(w) >= MIN_INDEXED_CHARS]
    sqlite = connection.dialect.name == "sqlite"
    # Where each hit lies: its rowid on SQLite, its page on PostgreSQL. A scan that joins another one
    # under way would start mid-table and read the pages out of order, so this one starts at the first.
    key = col(ClipSearchRow.id)
    if not sqlite:
        connection.exec_driver_sql("SET LOCAL synchronize_seqscans = off")
    position: Label[Any] = key.label("at") if sqlite else literal_column("(clip_search.ctid::text::point)[0]").label("at")
    seqscan_was = None
    if not sqlite and long_words:
        oldest = select(col(ClipSearchRow.body).label("body")).limit(PROBE_ROWS).subquery()
        rows_read, *hits_per_word = connection.execute(select(func.count(), *(
            func.count().filter(oldest.c.body.like(like_pattern(w), escape="\\")) for w in long_words))).one()
        if count_by_index(hits_per_word, rows_read):
            seqscan_was = connection.exec_driver_sql(
                "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)").scalar()
    hits = _having_words(sqlite, words, position).limit(limit).subquery()
    counted, reached = connection.execute(select(func.count(), func.max(hits.c.at))).one()
    if seqscan_was is not None:  # for this count only: the page and the totals after it are planned as ever
        connection.execute(text("SELECT set_config('enable_seqscan', :was, true)"), {"was": seqscan_was})
    if counted < limit:
        return IndexHits(int(counted), int(counted))
    # Two scalar subqueries: SQLite reads min() or max() alone off the key, both together by a scan.
    first_id, last_id = connection.execute(select(select(func.min(col(ClipSearchRow.id))).scalar_subquery(),
                                                  select(func.max(col(ClipSearchRow.id))).scalar_subquery())).one()
    if sqlite:
        first, last = first_id, last_id
        table_rows = last_id - first_id + 1  # rowids are dense but for deleted clips
    else:
        first, last = 0, connection.exec_driver_sql(
            "SELECT pg_relation_size('clip_search') / current_setting('block_size')::int - 1").scalar()
        table_rows = int(connection.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass('clip_search')").scalar() or 0)
        if table_rows <= 0:  # never analyzed (-1), as just after a restore: counted, until autovacuum has
            table_rows = int(connection.execute(select(func.count()).select_from(ClipSearchRow)).scalar_one())
    # The id just before the last `recent_rows` rows. SQLite's rowids are dense but for deleted
    # clips; on PostgreSQL every upsert of a clip's text takes a value of the sequence, used or
    # not, so there it is read off the key (5,000 entries of the primary key, a few ms).
    since = (last_id - recent_rows if sqlite else
             connection.execute(select(key).order_by(key.desc()).offset(recent_rows).limit(1)).scalar())
    if since is None or since < first_id:  # fewer rows than that: all of them
        since = first_id - 1
        recent_rows = int(connection.execute(select(func.count()).select_from(ClipSearchRow)).scalar_one())
    # On SQLite the rowid bound is FTS5's own, so it reads only the end of each word's list.
    recent = _having_words(sqlite, words, func.count()).where((_fts.c.rowid if sqlite and long_words else key) > since)
    return IndexHits(int(counted), estimate_hits(int(counted), limit, reached, first, last),
                     recent_hits=int(connection.execute(recent).scalar_one()), recent_rows=recent_rows,
                     rows=max(table_rows, recent_rows))


# ------------------------------------------------------------------ keeping it in step


def _index_one(connection: Connection, row: ClipRow) -> None:
    connection.execute(_UPSERT, {"clip_id": row.id, "body": _row_body(row)})


@event.listens_for(ClipRow, "after_insert")
def _after_insert(_mapper: Any, connection: Connection, row: ClipRow) -> None:
    _index_one(connection, row)


@event.listens_for(ClipRow, "after_update")
def _after_update(_mapper: Any, connection: Connection, row: ClipRow) -> None:
    state = inspect(row)
    if any(state.attrs[f].history.has_changes() for f in SEARCH_FIELDS):
        # Read back, not the session's copy: fields it loaded before another writer committed (a staff
        # headline while ingest refreshed the title) are stale there, and the text would stay so.
        index_clips(connection, [row.id])


def index_clips(connection: Connection, clip_ids: Sequence[str] | None = None, *, batch: int = 2000) -> int:
    """(Re)build the search text of these clips (all when None), in batches: after bulk inserts
    that bypass the ORM, and to backfill. Returns how many clips were indexed."""
    fields = [col(getattr(ClipRow, f)) for f in SEARCH_FIELDS]
    done = 0
    if clip_ids is not None:
        ids = list(clip_ids)
        for i in range(0, len(ids), batch):
            rows = connection.execute(select(col(ClipRow.id), *fields).where(col(ClipRow.id).in_(ids[i:i + batch]))).all()
            done += _upsert(connection, rows)
        return done
    last = ""
    while True:
        rows = connection.execute(
            select(col(ClipRow.id), *fields).where(col(ClipRow.id) > last).order_by(col(ClipRow.id)).limit(batch)
        ).all()
        if not rows:
            return done
        done += _upsert(connection, rows)
        last = rows[-1][0]


def _upsert(connection: Connection, rows: Sequence[Any]) -> int:
    if rows:
        connection.execute(_UPSERT, [{"clip_id": r[0], "body": search_body(r[1:])} for r in rows])
    return len(rows)


# ------------------------------------------------------------------ the index itself (migration 0008)


def create_search_index(connection: Connection) -> None:
    """The database's index over clip_search.body (the table itself must exist)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, content='clip_search', "
            "content_rowid='id', tokenize='trigram')"
        )
        # External content: FTS5 keeps no copy of the text, so these triggers tell it what changed.
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS clip_search_ai AFTER INSERT ON clip_search BEGIN "
            f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.id, new.body); END"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS clip_search_ad AFTER DELETE ON clip_search BEGIN "
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.id, old.body); END"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS clip_search_au AFTER UPDATE OF body ON clip_search BEGIN "
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body) VALUES ('delete', old.id, old.body); "
            f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.id, new.body); END"
        )
        connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    elif connection.dialect.name == "postgresql":
        try:
            with connection.begin_nested():
                schema = pg_trgm_schema(connection)
                connection.exec_driver_sql(
                    f'CREATE INDEX IF NOT EXISTS {PG_INDEX} ON clip_search USING gin (body "{schema}".gin_trgm_ops)'
                )
        except DBAPIError as exc:
            # A role that may not install pg_trgm: search still works, by scanning; say how to speed it up.
            _warn_unindexed(exc)


def _warn_unindexed(exc: DBAPIError) -> None:
    warnings.warn(f"search index not created ({str(exc.orig or exc).strip().splitlines()[0]}): searches will "
                  "scan every clip until it is; once an administrator has run CREATE EXTENSION pg_trgm in this "
                  "database, media-tracker creates the index the next time it opens the database", stacklevel=3)


def pg_trgm_schema(connection: Connection) -> str:
    """Where pg_trgm lives, installing it (in public) when it is not there yet. The index names its
    operator class with that schema, so a search_path without it (one schema per tenant) still works."""
    found = _pg_trgm_found(connection)
    if found is None:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        return "public"
    return found


def _pg_trgm_found(connection: Connection) -> str | None:
    found = connection.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    return None if found is None else str(found).strip('"')


# The index's state: NULL when missing, false when a build was cut short (or is under way), and
# whether pg_trgm is installed. Catalog reads only, so the check on every open takes no lock.
_PG_INDEX_STATE = (
    f"SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('{PG_INDEX}')), "
    "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AND to_regclass('clip_search') IS NOT NULL"
)
# One builder per schema (an advisory lock's two keys: ours, the schema's); others go on without it.
_PG_BUILD_LOCK = "734127002, hashtext(current_schema())"


def restore_search_index(engine: Engine) -> None:
    """PostgreSQL: build the search index when pg_trgm is installed and the index is not there: a
    role that could not install pg_trgm at migration 0008 got a scan instead, and migrations never
    run again once the database is at the head. Built CONCURRENTLY, so ingest's writes go on; a
    build cut short leaves an invalid index, dropped and built again here."""
    with engine.connect() as connection:
        valid, possible = connection.exec_driver_sql(_PG_INDEX_STATE).one()
    if valid or not possible:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if not connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({_PG_BUILD_LOCK})").scalar():
            return  # another process is building it
        try:
            valid, possible = connection.exec_driver_sql(_PG_INDEX_STATE).one()
            if valid is False:
                connection.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {PG_INDEX}")
            if not valid and possible:
                schema = _pg_trgm_found(connection)
                connection.exec_driver_sql(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {PG_INDEX} ON clip_search '
                                           f'USING gin (body "{schema}".gin_trgm_ops)')
        except DBAPIError as exc:  # a role that may not create it: searches scan, as before
            _warn_unindexed(exc)
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_BUILD_LOCK})")


# ------------------------------------------------------------------ clip_search.story_id (migration 0013)

# The triggers own clip_search.story_id: a row takes its clip's story when it is written or moved to
# another clip (rekey), and follows clip.story_id whichever way that changes (placing, a staff
# split or merge, maintenance; an ORM flush or a bulk UPDATE alike).
_TAKE_CLIP_STORY = "UPDATE clip_search SET story_id = (SELECT story_id FROM clip WHERE id = new.clip_id) WHERE id = new.id"
# Only a story that changed rewrites the search row: on PostgreSQL every rewrite is a new row version
# and new trigram entries for the whole text (story_id is indexed, so never a HOT update).
_SQLITE_STORY_TRIGGERS = {  # name: when, then what
    "clip_search_story_ai": f"AFTER INSERT ON clip_search BEGIN {_TAKE_CLIP_STORY}; END",
    "clip_search_story_au": f"AFTER UPDATE OF clip_id ON clip_search BEGIN {_TAKE_CLIP_STORY}; END",
    "clip_story_au": "AFTER UPDATE OF story_id ON clip WHEN old.story_id IS NOT new.story_id BEGIN "
                     "UPDATE clip_search SET story_id = new.story_id WHERE clip_id IN (old.id, new.id); END",
}
# PostgreSQL: functions pinned to the schema they were made in (one schema per tenant).
_PG_STORY_FUNCTIONS = {
    "clip_search_story_of_clip": "BEGIN NEW.story_id := (SELECT story_id FROM clip WHERE id = NEW.clip_id); "
                                 "RETURN NEW; END",
    "clip_story_to_search": "BEGIN UPDATE clip_search SET story_id = NEW.story_id WHERE clip_id IN (OLD.id, NEW.id); "
                            "RETURN NULL; END",
}
_PG_STORY_TRIGGERS = {  # name: (table, when, function)
    "clip_search_story_bi": ("clip_search", "BEFORE INSERT OR UPDATE OF clip_id", "clip_search_story_of_clip"),
    "clip_story_au": ("clip", "AFTER UPDATE OF story_id", "clip_story_to_search"),
}
_PG_STORY_CONDITIONS = {"clip_story_au": "WHEN (OLD.story_id IS DISTINCT FROM NEW.story_id)"}


def create_story_triggers(connection: Connection) -> None:
    """The triggers that keep clip_search.story_id equal to clip.story_id (migration 0013)."""
    if connection.dialect.name == "sqlite":
        for name, definition in _SQLITE_STORY_TRIGGERS.items():
            connection.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {name} {definition}")
    elif connection.dialect.name == "postgresql":
        for name, body in _PG_STORY_FUNCTIONS.items():
            connection.exec_driver_sql(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                                       f"SET search_path FROM CURRENT AS $$ {body} $$")
        for name, (table_name, when, function) in _PG_STORY_TRIGGERS.items():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table_name}")
            connection.exec_driver_sql(f"CREATE TRIGGER {name} {when} ON {table_name} FOR EACH ROW "
                                       f"{_PG_STORY_CONDITIONS.get(name, '')} EXECUTE FUNCTION {function}()")


def drop_story_triggers(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for name in _SQLITE_STORY_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    elif connection.dialect.name == "postgresql":
        for name, (table_name, _when, _function) in _PG_STORY_TRIGGERS.items():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table_name}")
        for name in _PG_STORY_FUNCTIONS:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def drop_search_index(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for trigger in ("clip_search_ai", "clip_search_ad", "clip_search_au"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")

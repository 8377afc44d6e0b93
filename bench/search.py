"""Search at scale: the indexed, normalised search (issue #15) against the old LIKE scan, same run.

Bulk-seeds N clips (default 1,000,000) on SQLite and PostgreSQL, oldest first and indexed in
that order as ingest stores them: headlines and summaries from
a word list (a fifth of it short words: `a`, `of`, `in`) with member names (a few hundred with a
curly apostrophe, O’Rourke-style, some hyphenated double surnames), a city in every headline and
a state after one in four (`in Albany, NY`), 3,000 outlets, article text on one clip in ten, and one clip in
eight a copy of a recent story (the review queue searches one card per story). Then builds the
search index as migration 0008 does (index_clips: normalise every clip, bulk upsert), runs
ANALYZE, and times what the review queue sends for a search: the first page of 15 plus the
total, which stops counting at 1,000 ("1,000+"; median of 7 warm runs). The baseline is the query the store sent before, a
`lower(title/summary/headline) LIKE '%…%'` scan, on the same database in the same run.

    python bench/search.py                 # 1,000,000 clips, both databases
    python bench/search.py --size 100000 --db sqlite
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import and_, func, insert, or_, select, text  # noqa: E402
from sqlmodel import col  # noqa: E402

from bench.scenario import _CITIES, _FIRST, _LAST, _STATES, _WORDS  # noqa: E402
from bench.stores import bench_store  # noqa: E402
from tracker.models import ClipFilter, ClipPage, ClipStatus  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.store.search import index_clips  # noqa: E402
from tracker.store.tables import ClipRow  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CHUNK = 20_000
PAGE = 15  # the review queue's page (dashboard.data.PAGE_SIZE)
T = TypeVar("T")


def _rows(n: int, seed: int = 15) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    names = [f"{f} {last}" for f in _FIRST for last in _LAST]
    span = timedelta(days=3 * 365).total_seconds()

    def sentence(words: int) -> str:
        return " ".join(rng.choice(_PROSE) for _ in range(words))

    # Oldest first, as ingest stores clips: where a hit lies in the table follows its date, which
    # the search's plan reads (a word of this week lies at the end).
    ages = sorted((rng.random() ** 1.5 for _ in range(n)), reverse=True)
    recent: list[tuple[str, str, str]] = []  # the last stories stored: (story id, title, name), for copies
    for i, age in enumerate(ages):
        seen = NOW - timedelta(seconds=age * span)
        name = rng.choice(names)
        roll = rng.random()
        if roll < 0.0003:
            name = "Nicholas O’Rourke"  # ~300 clips at 1M: the apostrophe the issue names
        elif roll < 0.0006:
            name = "Amara Okafor-Reyes"
        title = f"{name} {sentence(6)} in {rng.choice(_CITIES)}"
        if rng.random() < 0.25:  # a dateline's state: `in Albany, NY`
            title = f"{title}, {rng.choice(_STATES)}"
        if age < 0.005 and rng.random() < 0.5:  # this week's news: half the clips of the last 5 days
            title = f"{title}: the walkout"
        status = ClipStatus.NEW.value if age < 0.01 else rng.choice(("approved", "rejected", "rejected"))
        clip_id = uuid.UUID(int=rng.getrandbits(128)).hex
        url = f"https://news{rng.randint(1, 3000)}.example.com/{clip_id[:12]}"
        # Syndication: one clip in eight is a copy of a story stored shortly before (same headline,
        # another outlet, its own summary); the rest start a story of their own, as placing does
        # (a story's id is its first clip's). The queue shows primaries only and finds a story by any copy.
        if recent and rng.random() < 1 / 8:
            story_id, title, name = rng.choice(recent)
            primary = False
        else:
            story_id, primary = clip_id, True
            recent.append((story_id, title, name))
            del recent[:-200]
        yield {
            "id": clip_id, "canonical_url": url, "url": url, "title": title[0].upper() + title[1:],
            "story_id": story_id, "story_primary": primary,
            "summary": f"{sentence(18)}, {name} said.", "content": sentence(90) if i % 10 == 0 else "",
            "author": "", "published_at": seen - timedelta(minutes=rng.randint(0, 600)), "published_raw": "",
            "image_url": None, "outlet": f"Outlet {rng.randint(1, 3000)}", "first_seen_at": seen,
            "updated_at": seen, "status": status, "featured": False, "position": None, "headline": None,
            "blurb": None, "image_override_url": None, "image_credit": None, "image_alt": None,
            "outlet_display": None, "tags": [], "reviewed_by": None, "reviewed_at": None, "manual": False,
            "version": 1,
        }


# Prose has short words (`a`, `of`, `in`: about a fifth of these sentences' words, where English
# has more), which searches find whole and every clip's text lists (tracker.store.search.search_body).
_PROSE = (*_WORDS, *("a", "of", "to", "in", "on", "at", "by", "is", "as", "it") * 2)


def seed(store: Store, n: int) -> dict[str, float]:
    """Bulk-insert n clips (one executemany per 20,000), oldest first, then index them in that order."""
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    stored: list[str] = []  # in the order stored, to index them in it, as the store does clip by clip
    for row in _rows(n):
        chunk.append(row)
        stored.append(row["id"])
        if len(chunk) >= CHUNK:
            with store.engine.begin() as conn:
                conn.execute(insert(ClipRow), chunk)
            chunk.clear()
    if chunk:
        with store.engine.begin() as conn:
            conn.execute(insert(ClipRow), chunk)
    inserted = time.perf_counter()
    with store.engine.begin() as conn:
        index_clips(conn, stored, batch=5000)
    indexed = time.perf_counter()
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return {"insert_s": round(inserted - started, 1), "index_s": round(indexed - inserted, 1)}


def old_like(store: Store, query: str, status: ClipStatus | None) -> Callable[[], tuple[object, int]]:
    """The store's search before issue #15: lower(...) LIKE over three columns, page 1 and the total."""
    needle = query.lower().replace("\\", "").replace("%", "").replace("_", " ")
    pattern = f"%{needle}%"
    conditions = [or_(func.lower(ClipRow.title).like(pattern), func.lower(ClipRow.summary).like(pattern),
                      func.lower(func.coalesce(ClipRow.headline, "")).like(pattern))]
    if status is not None:
        conditions.append(col(ClipRow.status) == status.value)
    sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)

    def run() -> tuple[object, int]:
        with store.engine.connect() as conn:
            rows = conn.execute(select(col(ClipRow.id)).where(and_(*conditions))
                                .order_by(sort_at.desc(), col(ClipRow.id).desc()).limit(PAGE + 1)).all()
            total = conn.execute(select(func.count()).select_from(ClipRow).where(and_(*conditions))).scalar_one()
        return rows, int(total)

    return run


def new_search(store: Store, query: str, status: ClipStatus | None, by_story: bool = False) -> Callable[[], ClipPage]:
    f = ClipFilter(text=query, status=status, primary_only=by_story)
    return lambda: store.list_clips(f, limit=PAGE, with_total=True)


def median_ms(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    result = fn()  # warm: the dashboard's steady state
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1), result


# (label, query, status, one card per story as the review queue asks: a story found by any copy)
SEARCHES: list[tuple[str, str, ClipStatus | None, bool]] = [
    ("a name, straight apostrophe (clips have ’)", "O'Rourke", None, False),
    ("a hyphenated name typed with a space", "Okafor Reyes", None, False),
    ("a member's full name", f"{_FIRST[0]} {_LAST[0]}", None, False),
    ("a name within the review queue (status=new)", f"{_FIRST[0]} {_LAST[0]}", ClipStatus.NEW, False),
    ("a surname and a common word (~2,700 hits)", f"{_LAST[0]} {_WORDS[26]}", None, False),
    ("a city (about 1 clip in 40)", _CITIES[0], None, False),
    ("two common words (tens of thousands of hits)", f"{_WORDS[2]} {_WORDS[6]}", None, False),
    ("a two-letter word no clip has (`zq`)", "zq", None, False),
    ("a two-letter word in every clip (`in`)", "in", None, False),
    ("the city within the review queue (status=new)", _CITIES[0], ClipStatus.NEW, False),
    ("two common words within the review queue", f"{_WORDS[2]} {_WORDS[6]}", ClipStatus.NEW, False),
    ("a two-letter word and the city", f"ny {_CITIES[0]}", None, False),
    ("this week's word (only in the newest clips)", "walkout", None, False),
    ("the queue: a member's full name (New, one card per story)", f"{_FIRST[0]} {_LAST[0]}", ClipStatus.NEW, True),
    ("the queue: a surname and a common word", f"{_LAST[0]} {_WORDS[26]}", ClipStatus.NEW, True),
    ("the queue: a city", _CITIES[0], ClipStatus.NEW, True),
    ("the queue: two common words", f"{_WORDS[2]} {_WORDS[6]}", ClipStatus.NEW, True),
    ("the queue: this week's word", "walkout", ClipStatus.NEW, True),
    ("the queue: a two-letter word in every clip (`in`)", "in", ClipStatus.NEW, True),
    ("the queue: a state (`NY`, about 1 clip in 110)", "ny", ClipStatus.NEW, True),
    ("the queue: a two-letter word no clip has (`zq`)", "zq", ClipStatus.NEW, True),
    ("all statuses, one card per story: a surname and a common word", f"{_LAST[0]} {_WORDS[26]}", None, True),
    ("all statuses, one card per story: a city", _CITIES[0], None, True),
]


def measure(store: Store, repeat: int, like_repeat: int) -> list[dict[str, Any]]:
    out = []
    for label, query, status, by_story in SEARCHES:
        new_ms, page = median_ms(new_search(store, query, status, by_story), repeat)
        old_ms: float | None = None
        old_total: int | None = None
        if like_repeat and not by_story:  # 0: the index alone (each LIKE scan reads the whole table, seconds at 1M)
            old_ms, (_old_rows, old_total) = median_ms(old_like(store, query, status), like_repeat)
        out.append({"search": label, "query": query, "indexed_ms": new_ms, "like_ms": old_ms,
                    "indexed_total": page.total, "indexed_total_capped": page.total_capped, "like_total": old_total})
        shown = f"{page.total or 0:,}{'+' if page.total_capped else ''}"
        like = f"LIKE {old_ms:>8.1f} ms ({old_total:>7,} hits)" if old_ms is not None and old_total is not None else ""
        print(f"  {label:<48} indexed {new_ms:>8.1f} ms ({shown:>7} hits)   {like}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--keep", type=Path, help="SQLite file to build once (when empty) and reuse on later runs")
    parser.add_argument("--pg-schema", help="PostgreSQL schema to build once (when empty) and keep for later runs")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each indexed search (median)")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the kept databases, measure nothing")
    parser.add_argument("--like-repeat", type=int, default=3,
                        help="timed runs of each LIKE baseline (median; seconds each at 1M; 0: none)")
    parser.add_argument("--out", type=Path, default=RESULTS / "search.json",
                        help="results file (one per database when the two run at once)")
    args = parser.parse_args()
    results: dict[str, Any] = {"size": args.size, "page": PAGE, "repeat": args.repeat,
                               "like_repeat": args.like_repeat, "databases": {}}
    for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        with bench_store(kind, keep_file=args.keep, keep_schema=args.pg_schema, prefix="search") as store:
            with store.engine.connect() as conn:
                clips = conn.execute(text("SELECT count(*) FROM clip")).scalar_one()
            build = {} if clips else seed(store, args.size)  # a kept database is measured as it is
            with store.engine.connect() as conn:
                clips = conn.execute(text("SELECT count(*) FROM clip")).scalar_one()
            print(f"{kind}: {clips:,} clips {build}", flush=True)
            if args.build_only:
                continue
            results["databases"][kind] = {"clips": clips, "build": build,
                                          "searches": measure(store, args.repeat, args.like_repeat)}
            args.out.parent.mkdir(exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

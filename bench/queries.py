"""Dashboard queries on 10k / 100k / 1M clips, on SQLite and PostgreSQL, with query-plan checks.

Seeds the clip, mention and clip_source tables with bulk inserts (years of realistic
coverage: 1,500 members, 40 campaigns, most old clips already reviewed), then times the
Store calls the dashboard makes and EXPLAINs the exact SQL they send (captured from the
engine), flagging full scans of `clip` and sorts of the whole table.

    python bench/queries.py                       # 10k and 100k on both databases
    python bench/queries.py --sizes 10000 100000 1000000
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
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, text  # noqa: E402

from bench.scenario import make_registry  # noqa: E402
from bench.stores import bench_store  # noqa: E402
from tracker.models import ClipFilter, ClipStatus  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.store.tables import ClipRow, ClipSourceRow, MentionRow  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _rows(n: int, seed: int = 3) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]]:
    rng = random.Random(seed)
    reg = make_registry(1500, 40, seed)
    members = [m.id for m in reg.members]
    campaigns = [c.id for c in reg.campaigns]
    span = timedelta(days=3 * 365).total_seconds()
    for i in range(n):
        age = rng.random() ** 1.5  # more clips recently than years ago
        seen = NOW - timedelta(seconds=age * span)
        published = None if rng.random() < 0.03 else seen - timedelta(minutes=rng.randint(0, 600))
        # Old clips have been reviewed; the review queue is the recent ones.
        status = ClipStatus.NEW.value if age < 0.01 else rng.choice(("approved", "rejected", "rejected"))
        clip_id = uuid.UUID(int=rng.getrandbits(128)).hex
        url = f"https://news{rng.randint(1, 3000)}.example.com/{clip_id[:12]}"
        clip: dict[str, Any] = {
            "id": clip_id, "canonical_url": url, "url": url, "title": f"Council weighs plan {i} for the budget",
            "summary": "Residents packed the chamber as the committee discussed funding for repairs.",
            "content": "", "author": "", "published_at": published, "published_raw": "", "image_url": None,
            "outlet": f"Outlet {rng.randint(1, 3000)}", "first_seen_at": seen, "updated_at": seen,
            "status": status, "featured": status == "approved" and rng.random() < 0.01, "position": None,
            "headline": None, "blurb": None, "image_override_url": None, "image_credit": None,
            "image_alt": None, "outlet_display": None, "tags": [], "reviewed_by": None, "reviewed_at": None,
            "manual": False,
        }
        targets = {("member", members[min(int(rng.paretovariate(1.2)) - 1, len(members) - 1)])}
        if rng.random() < 0.3:
            targets.add(("campaign", rng.choice(campaigns)))
        mentions = [
            {"clip_id": clip_id, "kind": k, "target_id": t, "term": t, "field": "summary", "snippet": "…",
             "hit_start": 0, "hit_end": 5, "manual": False}
            for k, t in targets
        ]
        source = {"clip_id": clip_id, "feed_id": f"feed-{rng.randint(1, 3000)}", "guid": url, "first_seen_at": seen}
        yield clip, mentions, source


def seed(store: Store, n: int) -> float:
    """Bulk-insert n clips in chunks (one executemany per table per chunk); returns seconds."""
    started = time.perf_counter()
    chunk: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(insert(ClipRow), [c for c, _, _ in chunk])
            conn.execute(insert(MentionRow), [m for _, ms, _ in chunk for m in ms])
            conn.execute(insert(ClipSourceRow), [s for _, _, s in chunk])
        chunk.clear()

    for row in _rows(n):
        chunk.append(row)
        if len(chunk) >= 20_000:
            flush()
    if chunk:
        flush()
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # both databases plan from statistics; give them fresh ones
    return time.perf_counter() - started


@contextmanager
def captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)


def explain(store: Store, statement: str, parameters: Any) -> dict[str, Any]:
    sqlite = store.dialect == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    plan = "\n".join(str(r[-1]) for r in rows)
    if sqlite:
        full_scan = any(line.strip().startswith(("SCAN clip", "SCAN clip_1")) and "INDEX" not in line
                        for line in plan.splitlines())
        sort = "TEMP B-TREE FOR ORDER BY" in plan
    else:
        full_scan = "Seq Scan on clip " in plan + " "
        sort = any(line.strip().startswith(("Sort ", "->  Sort ")) for line in plan.splitlines())
    return {"plan": plan, "full_scan_of_clip": full_scan, "sorts_rows": sort}


def _queries(store: Store) -> dict[str, Callable[[], object]]:
    popular = "member"  # the most mentioned member (filled in below)
    with store.engine.connect() as conn:
        popular = conn.execute(text(
            "SELECT target_id FROM mention WHERE kind = 'member' GROUP BY target_id ORDER BY COUNT(*) DESC LIMIT 1"
        )).scalar_one()
        rare = conn.execute(text(
            "SELECT target_id FROM mention WHERE kind = 'member' GROUP BY target_id ORDER BY COUNT(*) ASC LIMIT 1"
        )).scalar_one()
        campaign = conn.execute(text("SELECT target_id FROM mention WHERE kind = 'campaign' LIMIT 1")).scalar_one()

    cursor = None  # the cursor of page 20, found once: keyset pagination makes page 20 cost what page 1 does
    for _ in range(19):
        cursor = store.list_clips(limit=50, cursor=cursor).next_cursor

    def page_20() -> object:
        return store.list_clips(limit=50, cursor=cursor)

    return {
        "review queue (status=new, page 1)": lambda: store.list_clips(ClipFilter(status=ClipStatus.NEW), limit=50),
        "all clips, newest first (page 1)": lambda: store.list_clips(limit=50),
        "all clips, page 20 (keyset)": page_20,
        "approved clips (page 1)": lambda: store.list_clips(ClipFilter(status=ClipStatus.APPROVED), limit=50),
        "popular member's clips (page 1)": lambda: store.list_clips(ClipFilter(member=popular), limit=50),
        "rare member's clips (page 1)": lambda: store.list_clips(ClipFilter(member=rare), limit=50),
        "campaign's clips (page 1)": lambda: store.list_clips(ClipFilter(campaign=campaign), limit=50),
        "review queue count": lambda: store.count_clips(ClipFilter(status=ClipStatus.NEW)),
        "published list (website order)": lambda: store.list_published(50),
        "text search (LIKE, page 1)": lambda: store.list_clips(ClipFilter(text="budget plan 4"), limit=50),
    }


def measure(store: Store, repeat: int = 5) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fn in _queries(store).items():
        fn()  # warm the cache: the dashboard's steady state
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        with captured(store) as statements:
            fn()
        main = next((st for st in statements if "FROM clip" in st[0] and "mention.id" not in st[0]), statements[0])
        out[name] = {"median_ms": round(statistics.median(times), 2), **explain(store, *main)}
    return out


def markdown(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for db, by_size in doc["results"].items():
        sizes = list(by_size)
        lines += [f"**{db}** — median ms of 5 warm runs (⚠ = the plan scans the whole clip table; ↕ = it sorts the matching rows)", "",
                  "| query | " + " | ".join(f"{int(s):,} clips" for s in sizes) + " |",
                  "|---|" + "---:|" * len(sizes)]
        names = list(by_size[sizes[0]]["queries"])
        for name in names:
            cells = []
            for s in sizes:
                q = by_size[s]["queries"][name]
                flag = " ⚠" if q["full_scan_of_clip"] else (" ↕" if q["sorts_rows"] else "")
                cells.append(f"{q['median_ms']:.1f}{flag}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| (seeding, s) | " + " | ".join(f"{by_size[s]['seed_s']:.0f}" for s in sizes) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--out", type=Path, default=RESULTS / "queries.json")
    args = ap.parse_args()
    results: dict[str, dict[str, Any]] = {}
    for db in args.db:
        results[db] = {}
        for size in args.sizes:
            with bench_store(db, prefix="queries") as store:
                seeded = seed(store, size)
                print(f"{db} {size:,} clips seeded in {seeded:.1f}s", flush=True)
                queries = measure(store)
                for name, q in queries.items():
                    flag = " SCAN" if q["full_scan_of_clip"] else ""
                    flag += " SORT" if q["sorts_rows"] else ""
                    print(f"  {name:<36} {q['median_ms']:9.2f} ms{flag}", flush=True)
                results[db][str(size)] = {"seed_s": round(seeded, 1), "queries": queries}
    doc = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(doc))
    print(markdown(doc))


if __name__ == "__main__":
    main()

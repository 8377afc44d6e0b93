"""Ingest benchmark: media-tracker against `reader` on the same local feeds.

One run of this script serves the scenario on 127.0.0.1 and measures, each in its
own subprocess (so CPU time and peak memory belong to that system alone):

  reader        reader.make_reader(db), add_feed × N, update_feeds(workers=W)   [lower bound:
  reader-repoll update_feeds again, nothing changed                               no matching]
  first         tracker first poll (fetch, parse, match 1,500 members + 40 campaigns, store)
  repoll        tracker re-poll, nothing changed (conditional GET → 304, no parsing)
  nomatch       tracker first poll with an empty registry (what matching costs)
  threads       tracker first poll parsing in the fetch threads (no process pool)
  changed       tracker re-poll after 10% of the feeds published five new stories

    python bench/ingest.py --quick          # 300 feeds, < 2 minutes
    python bench/ingest.py --feeds 1000     # the full run; writes bench/results/ingest.json
    python bench/ingest.py --growth         # N = 100, 1,000, 5,000 → results/growth.json + growth.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.feedserver import serving  # noqa: E402
from bench.scenario import Scenario  # noqa: E402
from tracker.models import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results"


# ------------------------------------------------------------------ measuring, inside a child


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    kids = [int(c) for c in fh.read().split()]
                out += kids
                stack += kids
        except OSError:
            pass
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared with the forkserver (copy-on-write) counted once, not per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeMemory(threading.Thread):
    """Samples the summed PSS of a process and its descendants (the parse pool) every 20 ms.

    It runs in the orchestrating process, not in the one measured: reading /proc 50 times a
    second inside a system whose re-poll is bound by one GIL would slow what it measures."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in [self.pid, *_descendants(self.pid)]))


def _cpu_s() -> float:
    """CPU of this process, its reaped children, and live descendants with what they reaped.

    The parse pool's workers are children of the multiprocessing forkserver, not of this
    process, so RUSAGE_CHILDREN never sees them; the forkserver's cutime/cstime does.
    """
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick  # utime stime cutime cstime
    return total


def _measure(fn: Any) -> dict[str, Any]:
    cpu0, t0 = _cpu_s(), time.perf_counter()
    detail = fn()
    wall = time.perf_counter() - t0
    time.sleep(0.3)  # let the forkserver reap the pool's workers so their CPU shows in its cutime
    cpu = _cpu_s() - cpu0
    return {
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        # ru_maxrss (KiB on Linux): the main process alone, exact.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **detail,
    }


def child_tracker(kind: str, base_url: str, feeds: int, db: str, workers: int) -> dict[str, Any]:
    from tracker.ingest import Ingestor, run_locked_cycle
    from tracker.store import Store

    store = Store(db)  # schema creation is not part of a poll
    sc = Scenario(feeds=feeds)
    config = sc.config(base_url, workers=workers, with_registry=kind != "nomatch")

    def run() -> dict[str, Any]:
        ingestor = Ingestor(config, store, parse_processes=0 if kind == "threads" else None)
        report = run_locked_cycle(config, store, ingestor=ingestor)
        assert report is not None
        return {
            "feeds_ok": report.feeds_ok, "feeds_failed": report.feeds_failed, "items_seen": report.items_seen,
            "new_clips": report.new_clips, "not_modified": sum(1 for f in report.feeds if f.not_modified),
            "parse_processes": ingestor.parse_processes if len(config.feeds) >= ingestor.pool_min_feeds else 0,
            "errors": sorted({f.error for f in report.feeds if f.error})[:3],
            "match_cpu_s": round(report.match_cpu_s, 3),
        }

    try:
        return _measure(run)
    finally:
        store.close()


def child_reader(kind: str, base_url: str, feeds: int, db: str, workers: int) -> dict[str, Any]:
    from reader import make_reader

    sc = Scenario(feeds=feeds)
    reader = make_reader(db)
    added = 0.0
    if kind == "reader":
        t0 = time.perf_counter()
        for f in sc.feed_configs(base_url):
            reader.add_feed(f.url, exist_ok=True)
        added = time.perf_counter() - t0

    def run() -> dict[str, Any]:
        errors: list[str] = []
        for result in reader.update_feeds_iter(workers=workers, scheduled=False):
            if result.error is not None:
                errors.append(f"{type(result.error).__name__}: {result.error}")
        counts = reader.get_entry_counts()
        return {"entries_total": counts.total, "feeds_failed": len(errors), "add_feeds_s": round(added, 3),
                "errors": sorted(set(errors))[:3]}

    try:
        return _measure(run)
    finally:
        reader.close()


# ------------------------------------------------------------------ orchestration, in the parent


def _child(kind: str, base_url: str, feeds: int, db: str, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--base-url", base_url,
           "--feeds", str(feeds), "--db", db, "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    memory = _TreeMemory(proc.pid)
    memory.start()
    out, err = proc.communicate()
    memory.done.set()
    memory.join()
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_tree_mb"] = round(max(memory.peak_kb, 1) / 1024, 1)
    return result


def run_suite(feeds: int, workers: int, latency_ms: float, kinds: list[str], *, log: bool = True) -> dict[str, Any]:
    sc = Scenario(feeds=feeds)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp, \
            serving(sc, latency_s=latency_ms / 1000) as server:
        dbs = {k: f"sqlite:///{tmp}/{k}.db" for k in ("first", "nomatch", "threads")}
        reader_db = f"{tmp}/reader.sqlite"
        plan: list[tuple[str, str]] = [
            ("reader", reader_db), ("reader-repoll", reader_db), ("first", dbs["first"]),
            ("repoll", dbs["first"]), ("nomatch", dbs["nomatch"]), ("threads", dbs["threads"]),
            ("changed", dbs["first"]),
        ]
        for kind, db in plan:
            if kind not in kinds:
                continue
            if kind == "changed":
                server.change(0.10)
            server.reset_stats()
            results[kind] = _child(kind, server.base_url, feeds, db, workers)
            results[kind]["server"] = {"full": server.stats.full, "not_modified": server.stats.not_modified}
            if log:
                r = results[kind]
                print(f"  {kind:<14} wall {r['wall_s']:7.2f} s  cpu {r['cpu_s']:7.2f} s  "
                      f"rss {r['peak_tree_mb']:6.1f} MB  ({r['server']['full']} full, "
                      f"{r['server']['not_modified']} 304)", flush=True)
    return results


def ratios(results: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}

    def ratio(key: str, a: str, b: str, field: str) -> None:
        if a in results and b in results and results[b][field]:
            out[key] = round(results[a][field] / results[b][field], 3)

    ratio("first_vs_reader_wall", "first", "reader", "wall_s")
    ratio("first_vs_reader_cpu", "first", "reader", "cpu_s")
    ratio("first_vs_reader_rss", "first", "reader", "peak_tree_mb")
    ratio("repoll_vs_reader_repoll_wall", "repoll", "reader-repoll", "wall_s")
    ratio("repoll_vs_first_wall", "repoll", "first", "wall_s")
    ratio("changed_vs_first_wall", "changed", "first", "wall_s")
    ratio("threads_vs_first_wall", "threads", "first", "wall_s")
    if "first" in results and "nomatch" in results:
        out["matching_overhead_wall"] = round(results["first"]["wall_s"] / results["nomatch"]["wall_s"] - 1, 3)
        out["matching_overhead_cpu"] = round(results["first"]["cpu_s"] / results["nomatch"]["cpu_s"] - 1, 3)
    if "first" in results and results["first"].get("match_cpu_s") is not None and results["first"]["cpu_s"]:
        # Measured directly: CPU inside Matcher.match during the first poll, over the poll's CPU.
        # (first vs nomatch above also counts storing the ~2% of items that become clips.)
        out["matching_share_of_first_cpu"] = round(results["first"]["match_cpu_s"] / results["first"]["cpu_s"], 3)
    return out


_LABELS = {
    "reader": "reader `update_feeds` (first)", "reader-repoll": "reader `update_feeds` (nothing changed)",
    "first": "tracker first poll", "repoll": "tracker re-poll, nothing changed",
    "changed": "tracker re-poll, 10% changed", "nomatch": "tracker first poll, no registry (no matching)",
    "threads": "tracker first poll, parsing in threads (no process pool)",
}


def markdown(doc: dict[str, Any]) -> str:
    res, rat = doc["results"], doc["ratios"]
    lines = [
        f"{doc['feeds']:,} feeds × 30 items, {doc['latency_ms']:g} ms latency per response, "
        f"{doc['workers']} workers, {doc['machine']}.",
        "",
        "| run | wall s | CPU s | peak memory MB (PSS, process tree) | main process peak RSS MB | HTTP 200 / 304 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, label in _LABELS.items():
        if kind in res:
            r = res[kind]
            lines.append(f"| {label} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_tree_mb']:.0f} | "
                         f"{r['peak_rss_mb']:.0f} | {r['server']['full']} / {r['server']['not_modified']} |")
    lines.append("")
    for key, value in rat.items():
        lines.append(f"- `{key}`: {value:.3f}")
    return "\n".join(lines) + "\n"


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=Settings().workers, help="fetch threads, for both systems")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--quick", action="store_true", help="300 feeds; finishes in under two minutes")
    ap.add_argument("--growth", action="store_true", help="N = 100, 1,000, 5,000; writes growth.json/png")
    ap.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/ingest.json)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        fn = child_reader if args.child.startswith("reader") else child_tracker
        print(json.dumps(fn(args.child, args.base_url, args.feeds, args.db, args.workers)))
        return
    if args.growth:
        from bench.growth import run_growth

        run_growth(workers=args.workers, latency_ms=args.latency_ms)
        return

    feeds = 300 if args.quick else args.feeds
    print(f"ingest benchmark: {feeds} feeds, {args.workers} workers, {args.latency_ms:g} ms latency", flush=True)
    started = time.perf_counter()
    results = run_suite(feeds, args.workers, args.latency_ms, list(_LABELS))
    doc = {"feeds": feeds, "workers": args.workers, "latency_ms": args.latency_ms, "machine": machine(),
           "results": results, "ratios": ratios(results), "total_s": round(time.perf_counter() - started, 1)}
    out = args.out or RESULTS / ("ingest-quick.json" if args.quick else "ingest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(doc))
    print()
    print(markdown(doc))
    shown = out.relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out  # --out may lie elsewhere
    print(f"written {shown} in {doc['total_s']} s")


if __name__ == "__main__":
    main()

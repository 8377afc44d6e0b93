"""Multi-worker benchmark: 1, 2 and 4 `tracker ingest --worker` processes sharing one cycle on PostgreSQL.

Each run gets a fresh PostgreSQL schema and the scenario's feeds (first poll: every
feed is new). The real CLI is started k times at once; wall time is from the spawn to
the last exit (process start-up included), CPU is each process's rusage. The feed
server counts requests per feed, so the run also proves no feed was fetched twice.
For reference, one plain `tracker ingest` (single process, parse pool on both cores).

    python bench/workers.py                 # 1,000 feeds; writes bench/results/workers.json
    python bench/workers.py --feeds 300 --counts 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.feedserver import serving  # noqa: E402
from bench.ingest import machine  # noqa: E402
from bench.scenario import Scenario, write_config  # noqa: E402
from bench.stores import drop_pg_schema, temporary_pg_schema  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def run(config: Path, count: int, worker: bool) -> dict[str, Any]:
    schema, url = temporary_pg_schema("bench_w")
    try:
        from tracker.store import Store

        Store(url).close()  # schema migrated before the clock starts, as in a deployment
        cmd = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--db", url, "ingest", "-q"]
        if worker:
            cmd.append("--worker")
        started = time.perf_counter()
        procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(count)]
        cpu, peak_mb, outputs = 0.0, 0.0, []
        for p in procs:
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            assert p.stdout is not None and p.stderr is not None
            out, err = p.stdout.read().decode(), p.stderr.read().decode()
            if p.returncode != 0:
                raise SystemExit(f"worker failed:\n{err[-2000:]}")
            outputs.append(out.strip().splitlines()[-1] if out.strip() else err.strip()[-200:])
            cpu += usage.ru_utime + usage.ru_stime
            peak_mb = max(peak_mb, usage.ru_maxrss / 1024)
        wall = time.perf_counter() - started
        return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb_per_process": round(peak_mb, 1),
                "outputs": outputs}
    finally:
        drop_pg_schema(schema)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "workers.json")
    args = ap.parse_args()
    sc = Scenario(feeds=args.feeds)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tracker-workers-") as tmp, \
            serving(sc, latency_s=args.latency_ms / 1000, count_paths=True) as server:
        config = write_config(sc, server.base_url, Path(tmp))
        plan = [("single process (no --worker)", 1, False)] + [(f"{k} × --worker", k, True) for k in args.counts]
        for label, count, worker in plan:
            server.reset_stats()
            r = run(config, count, worker)
            hits = server.stats.per_path
            r["requests"] = sum(hits.values())
            r["feeds_fetched_twice"] = sum(1 for v in hits.values() if v > 1)
            r["feeds_never_fetched"] = args.feeds - len(hits)
            results[label] = r
            print(f"{label:<30} wall {r['wall_s']:6.2f} s  cpu {r['cpu_s']:6.2f} s  "
                  f"rss/process {r['peak_rss_mb_per_process']:5.0f} MB  requests {r['requests']} "
                  f"(twice: {r['feeds_fetched_twice']}, never: {r['feeds_never_fetched']})", flush=True)
    doc = {"feeds": args.feeds, "latency_ms": args.latency_ms, "machine": machine(), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    lines = [f"{args.feeds:,} feeds, first poll, PostgreSQL 127.0.0.1, {args.latency_ms:g} ms latency, {machine()}.", "",
             "| run | wall s | CPU s (all processes) | peak RSS per process MB | requests | fetched twice |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, r in results.items():
        lines.append(f"| {label} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb_per_process']:.0f} | "
                     f"{r['requests']} | {r['feeds_fetched_twice']} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

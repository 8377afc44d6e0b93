"""Soak benchmark: does the real `tracker schedule` process grow, cycle after cycle?

    .venv/bin/python bench/soak.py                 # 60 cycles of 200 feeds, 10% changing each cycle
    .venv/bin/python bench/soak.py --quick         # 20 cycles
    .venv/bin/python bench/soak.py --label base --pythonpath /tmp/base --commit d58efb8   # another checkout
    .venv/bin/python bench/soak.py --change 0 --label new-idle   # nothing changes: every feed answers 304

The scenario's feeds (bench/scenario.py: 200 feeds of 30 items, 1,500 members, 40 campaigns)
are served on 127.0.0.1 by bench/feedserver.py, and `python -m tracker.cli schedule --every S
--max-runs N` runs them in a subprocess on a fresh SQLite database. Each time the scheduler
logs a finished run, this process reads the child's resident memory from /proc/PID/status
(VmRSS: from outside, so measuring costs the child nothing) and publishes new stories on
--change of the feeds for the next cycle. At 200 feeds every changed cycle starts the parse
pool, so the matcher is sent to two worker processes per cycle, as in production.

Reported: RSS per cycle, and the least-squares slope (KB per cycle) after --warmup cycles,
with the residuals' standard deviation as the noise. Results go to bench/results/soak.json,
one entry per --label.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
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
from bench.scenario import Scenario, write_config  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
RUN_LINE = re.compile(r"tracker\.scheduler: run \d+: (\w+) in ([\d.]+)s")


def vm_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def slope(ys: list[float]) -> tuple[float, float]:
    """Least-squares slope of ys against 0, 1, 2… and the standard deviation of the residuals."""
    n = len(ys)
    if n < 2:
        return 0.0, 0.0
    mx, my = (n - 1) / 2, statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in range(n))
    b = sum((x - mx) * (y - my) for x, y in zip(range(n), ys, strict=True)) / sxx
    residuals = [y - (my + b * (x - mx)) for x, y in zip(range(n), ys, strict=True)]
    return b, statistics.pstdev(residuals)


def soak(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    scenario = Scenario(feeds=args.feeds)
    with serving(scenario, latency_s=args.latency_ms / 1000) as server:
        config = write_config(scenario, server.base_url, workdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(PYTHONPATH=args.pythonpath, PYTHONUNBUFFERED="1")
        cmd = [args.python, "-m", "tracker.cli", "--config", str(config), "--db", f"sqlite:///{workdir / 'soak.db'}",
               "schedule", "--every", str(args.every), "--max-runs", str(args.cycles)]
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        peak = [0]

        def sample_peak() -> None:  # between cycle ends too, for the peak
            while proc.poll() is None:
                peak[0] = max(peak[0], vm_rss_kb(proc.pid) or 0)
                time.sleep(0.1)

        threading.Thread(target=sample_peak, daemon=True).start()
        cycles: list[dict[str, Any]] = []
        rss: list[int] = []  # after each cycle, KB
        assert proc.stderr is not None
        for line in proc.stderr:
            m = RUN_LINE.search(line)
            if m is None:
                if " ERROR " in line or "Traceback" in line:
                    print(line.rstrip(), file=sys.stderr)
                continue
            now_kb = vm_rss_kb(proc.pid)
            changed = server.change(args.change, seed=len(cycles)) if args.change else []
            cycles.append({"cycle": len(cycles) + 1, "outcome": m.group(1), "took_s": float(m.group(2)), "rss_kb": now_kb,
                           "at_s": round(time.monotonic() - started, 2), "changed_next": len(changed)})
            if now_kb is not None:
                rss.append(now_kb)
            if args.verbose:
                print(f"cycle {len(cycles):3d}: {m.group(1):8s} RSS {now_kb} KB", flush=True)
        code = proc.wait()
    after = rss[args.warmup:]
    kb_per_cycle, noise = slope([float(v) for v in after])
    return {
        "exit_code": code, "cycles": len(cycles), "feeds": args.feeds, "change": args.change, "every_s": args.every,
        "warmup": args.warmup, "rss_first_kb": rss[0] if rss else None, "rss_after_warmup_kb": after[0] if after else None,
        "rss_last_kb": rss[-1] if rss else None, "peak_rss_kb": peak[0],
        "slope_kb_per_cycle": round(kb_per_cycle, 1), "residual_sd_kb": round(noise, 1),
        "growth_after_warmup_kb": (after[-1] - after[0]) if after else None,
        "median_cycle_s": round(statistics.median(c["took_s"] for c in cycles[args.warmup:]), 2) if cycles else None,
        "outcomes": {o: sum(1 for c in cycles if c["outcome"] == o) for o in {c["outcome"] for c in cycles}},
        "per_cycle": cycles,
    }


def _commit(pythonpath: str) -> str:
    done = subprocess.run(["git", "-C", pythonpath, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="20 cycles")
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--change", type=float, default=0.1, help="share of feeds with new stories each cycle")
    ap.add_argument("--every", type=float, default=3.0, help="seconds between ticks (tracker schedule --every)")
    ap.add_argument("--warmup", type=int, default=None, help="cycles left out of the slope (default: a sixth, ≥ 4)")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--pythonpath", default=str(ROOT), help="checkout whose tracker is run (default: this one)")
    ap.add_argument("--label", default="new")
    ap.add_argument("--commit", default=None, help="the commit --pythonpath holds, when it is not a git checkout")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the database and config here")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.cycles = 20
    if args.warmup is None:
        args.warmup = max(4, args.cycles // 6)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = soak(args, workdir)
    result.update(
        label=args.label, commit=args.commit or _commit(args.pythonpath), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
                f"{len(os.sched_getaffinity(0))} cores",
    )
    runs: dict[str, Any] = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    runs[args.label] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    mb = 1024
    print(
        f"{args.label} ({result['commit']}): {result['cycles']} cycles, exit {result['exit_code']}, "
        f"outcomes {result['outcomes']}; RSS {result['rss_first_kb'] / mb:.1f} MB after cycle 1, "
        f"{result['rss_after_warmup_kb'] / mb:.1f} MB after warm-up ({args.warmup}), "
        f"{result['rss_last_kb'] / mb:.1f} MB at the end, peak {result['peak_rss_kb'] / mb:.1f} MB; "
        f"slope after warm-up {result['slope_kb_per_cycle']:+.1f} KB/cycle "
        f"(residual sd {result['residual_sd_kb']:.0f} KB); median cycle {result['median_cycle_s']} s"
    )


if __name__ == "__main__":
    main()

"""Growth: the ingest benchmark at N = 100, 1,000 and 5,000 feeds, and a plot of time and memory vs N.

    python bench/ingest.py --growth        # → bench/results/growth.json, bench/growth.png
    python bench/growth.py --plot-only     # redraw the plot from growth.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest import RESULTS, machine, ratios, run_suite  # noqa: E402
from bench.scenario import DEFAULT_WORKERS  # noqa: E402

SIZES = (100, 1000, 5000)
KINDS = ["reader", "reader-repoll", "first", "repoll", "changed"]
PLOT = ROOT / "bench" / "growth.png"


def run_growth(*, workers: int = DEFAULT_WORKERS, latency_ms: float = 50.0, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    doc: dict[str, Any] = {"workers": workers, "latency_ms": latency_ms, "machine": machine(), "sizes": {}}
    for n in sizes:
        print(f"N = {n:,}", flush=True)
        results = run_suite(n, workers, latency_ms, KINDS)
        doc["sizes"][str(n)] = {"results": results, "ratios": ratios(results)}
        (RESULTS / "growth.json").write_text(json.dumps(doc, indent=2) + "\n")  # keep partial results
    plot(doc)
    print(markdown(doc))
    return doc


def markdown(doc: dict[str, Any]) -> str:
    lines = ["| feeds | tracker first poll s | reader first s | ratio | tracker re-poll s | reader re-poll s | "
             "tracker 10% changed s | tracker peak MB | reader peak MB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, entry in doc["sizes"].items():
        r = entry["results"]
        lines.append(
            f"| {int(n):,} | {r['first']['wall_s']:.2f} | {r['reader']['wall_s']:.2f} | "
            f"{entry['ratios'].get('first_vs_reader_wall', float('nan')):.2f} | {r['repoll']['wall_s']:.2f} | "
            f"{r['reader-repoll']['wall_s']:.2f} | {r['changed']['wall_s']:.2f} | "
            f"{r['first']['peak_tree_mb']:.0f} | {r['reader']['peak_tree_mb']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(doc: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [int(n) for n in doc["sizes"]]
    res = [doc["sizes"][str(n)]["results"] for n in ns]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [("first", "tracker first poll", "C0", "-"), ("reader", "reader update_feeds", "C3", "-"),
              ("repoll", "tracker re-poll (304s)", "C0", "--"), ("reader-repoll", "reader re-poll", "C3", "--"),
              ("changed", "tracker re-poll, 10% changed", "C2", ":")]
    for key, label, color, style in series:
        ax_t.plot(ns, [r[key]["wall_s"] for r in res], style, color=color, marker="o", label=label)
    ax_t.set(xscale="log", yscale="log", xlabel="feeds", ylabel="wall time (s)", title="Ingest time vs feeds")
    ax_t.grid(True, which="both", alpha=0.3)
    ax_t.legend(fontsize=8)
    for key, label, color in (("first", "tracker (main + parse pool, PSS)", "C0"), ("reader", "reader", "C3")):
        ax_m.plot(ns, [r[key]["peak_tree_mb"] for r in res], color=color, marker="o", label=label)
    ax_m.axhline(300, color="grey", linestyle=":", label="300 MB target")
    ax_m.set(xscale="log", xlabel="feeds", ylabel="peak memory (MB)", title="Peak memory vs feeds (first poll)")
    ax_m.grid(True, which="both", alpha=0.3)
    ax_m.legend(fontsize=8)
    fig.suptitle(f"{doc['workers']} workers, {doc['latency_ms']:g} ms per response, {doc['machine']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    print(f"written {PLOT.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = ap.parse_args()
    if args.plot_only:
        doc = json.loads((RESULTS / "growth.json").read_text())
        plot(doc)
        print(markdown(doc))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    run_growth(sizes=tuple(args.sizes))


if __name__ == "__main__":
    main()

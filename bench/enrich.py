"""Article step benchmark: one cycle over 200 generated search feeds, with and without reading articles.

Local servers only. 200 members give 200 search feeds (settings.searches, one template); each feed
has 10 items, 2 naming the member in their title, 8 naming nobody there. Every item links an article
on one of 20 "publishers" (127.0.0.2 … 127.0.0.21, a server each, so per-host politeness applies as it
would on the internet); every article answer waits `--latency` (50 ms) before it is sent. Half the
unmatched items' articles name the member in paragraph six, the other half name nobody.

Runs, each a fresh SQLite database, in this one process, interleaved over --repeat rounds (medians;
ratios are against `baseline` of the same run):

  baseline   the cycle with settings.enrich_per_cycle: 0 (no article is read)
  default    the default budget (100 articles a cycle; the rest wait for the next)
  all        a budget larger than the queue: every article of the cycle read (2,000)

    python bench/enrich.py            # writes bench/results/enrich.json
    python bench/enrich.py --quick    # 50 feeds
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tracker.config import parse_config  # noqa: E402
from tracker.ingest import Ingestor  # noqa: E402
from tracker.models import Settings  # noqa: E402
from tracker.store import Store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HOSTS = [f"127.0.0.{i}" for i in range(2, 22)]
ITEMS = 10
MATCHED = 2
FILLER = ("Residents and officials spent the evening on rents, repairs and the budget for the coming year, "
          "and the committee promised a second hearing before the vote. ")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def _handler(latency_s: float, names: list[str], publishers: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/search":
                body, kind = self._search(parse_qs(parts.query).get("q", [""])[0]), "application/rss+xml"
            elif parts.path.startswith("/a/"):
                time.sleep(latency_s)
                _, _, member, item = parts.path.split("/")
                body, kind = self._article(int(member), int(item)), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _search(self, query: str) -> bytes:
            m = next((i for i, name in enumerate(names) if name in query), 0)
            items = []
            for i in range(ITEMS):
                title = f"{names[m]} speaks on item {i}" if i < MATCHED else f"City hall story {m}-{i}"
                link = f"{publishers[(m * ITEMS + i) % len(publishers)]}/a/{m}/{i}"
                items.append(f"<item><title>{title}</title><link>{link}</link><description>{title}</description>"
                             f"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>")
            return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Search</title>{"".join(items)}'
                    "</channel></rss>").encode()

        def _article(self, m: int, i: int) -> bytes:
            paras = [FILLER * 3 for _ in range(7)]
            if i < MATCHED or i % 2 == 0:
                paras[5] = f"Councilmember {names[m]} said the plan would keep families housed. " + FILLER
            return (f"<!doctype html><html><head><title>Story {m}-{i}</title>"
                    f'<meta property="og:site_name" content="Publisher {i}"></head><body><nav>Home | News</nav>'
                    f"<article><h1>Story {m}-{i}</h1>{''.join(f'<p>{p}</p>' for p in paras)}</article>"
                    "</body></html>").encode()

    return Handler


@contextmanager
def serving(latency_s: float, names: list[str]) -> Iterator[tuple[str, list[str]]]:
    publishers: list[str] = []  # filled once the servers are bound: the handler reads it per request
    handler = _handler(latency_s, names, publishers)
    servers = [_Server((host, 0), handler) for host in ["127.0.0.1", *HOSTS]]
    publishers.extend(f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers[1:])
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield f"http://127.0.0.1:{servers[0].server_address[1]}", publishers
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def run(feeds: int, latency_s: float, budget: int, base: str, names: list[str], folder: Path, label: str) -> dict[str, Any]:
    data = {
        "settings": {"allow_private_hosts": True, "enrich_per_cycle": budget, "timeout_s": 10},
        "searches": [{"template": f"{base}/search?q={{query}}", "for": ["members"]}],
        "members": [{"id": f"m{i}", "name": names[i]} for i in range(feeds)],
    }
    config = parse_config(data, str(folder / "feeds.yml"), folder)
    store = Store(f"sqlite:///{folder / f'{label}.db'}")
    started = time.perf_counter()
    report = Ingestor(config, store).run_cycle()
    seconds = time.perf_counter() - started
    articles = report.articles
    status = store.enrich_queue_status()
    clips = store.count_clips()
    store.close()
    return {"label": label, "budget": budget, "seconds": round(seconds, 2), "feeds": len(report.feeds),
            "items": report.items_seen, "clips": clips,
            "articles_read": articles.attempted if articles else 0,
            "found_only_in_article": articles.new_clips if articles else 0,
            "dropped": articles.dropped if articles else 0, "waiting_after": status.waiting}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each run once per round (medians reported)")
    args = parser.parse_args()
    feeds = 50 if args.quick else args.feeds
    names = [f"Avery Q{i:03d} Lindqvist" for i in range(feeds)]
    configs = (("baseline", 0), ("default", Settings().enrich_per_cycle), ("all", feeds * ITEMS))
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in configs}
    with serving(args.latency, names) as (base, _), tempfile.TemporaryDirectory() as tmp:
        run(feeds, args.latency, 0, base, names, Path(tmp), "warm-up")  # imports, first connections
        # Interleaved rounds on a shared machine: each configuration sees the same background load.
        for n in range(1 if args.quick else args.repeat):
            for label, budget in configs:
                result = run(feeds, args.latency, budget, base, names, Path(tmp), f"{label}-{n}")
                rounds[label].append(result)
                print(json.dumps(result))
    runs = []
    for label, _ in configs:
        results = sorted(rounds[label], key=lambda r: r["seconds"])
        median = dict(results[len(results) // 2])
        median.update(label=label, all_seconds=[r["seconds"] for r in rounds[label]])
        runs.append(median)
    baseline = runs[0]["seconds"]
    for r in runs:
        r["ratio_to_baseline"] = round(r["seconds"] / baseline, 2)
    out = {"feeds": feeds, "items_per_feed": ITEMS, "latency_s": args.latency, "publishers": len(HOSTS),
           "python": platform.python_version(), "runs": runs}
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "enrich.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    for r in runs:
        print(f"{r['label']:<9} budget {r['budget']:>5}: {r['seconds']:6.2f} s  x{r['ratio_to_baseline']:<5} "
              f"articles {r['articles_read']:>5}  clips {r['clips']:>5}  waiting {r['waiting_after']}")


if __name__ == "__main__":
    main()

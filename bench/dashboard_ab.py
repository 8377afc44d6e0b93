"""Which part of the review queue costs its first load: two or more checkouts, measured interleaved.

    .venv/bin/python bench/dashboard_ab.py [--rounds 10] [--db-dir DIR] ROOT [ROOT ...]

Each ROOT is a copy of the project (e.g. `git archive HEAD | tar -x -C /tmp/a`, then edited to drop
one part of the page). One `streamlit run` per ROOT, in demo mode on the same database (DIR/demo.db,
seeded with 100,000 clips when missing, as bench/dashboard_browser.py does), and one returning
browser context each (`--fresh`: a new one for every load); the loads then alternate between them, so that a slower minute of this shared
machine falls on every variant alike. Prints, per ROOT, the median of the page's own time to the
first frame showing *Older →* (see dashboard_browser.VISIBLE_AT_SCRIPT) and of the browser's main-thread
and JavaScript time (CDP `Performance.getMetrics`), after two untimed rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.dashboard_browser import VISIBLE_AT_SCRIPT  # noqa: E402
from tests import test_browser  # noqa: E402
from tracker.clock import system_clock  # noqa: E402
from tracker.demo import demo_config_data, seed_store  # noqa: E402
from tracker.store import Store  # noqa: E402

WARM_UP_ROUNDS = 2


def _one_load(context: object, url: str) -> tuple[float, float, float]:
    """(seconds to Older → drawn, main-thread busy seconds, JavaScript seconds) of one new tab."""
    page = context.new_page()  # type: ignore[attr-defined]
    try:
        cdp = context.new_cdp_session(page)  # type: ignore[attr-defined]
        cdp.send("Performance.enable")
        page.goto(url)
        page.get_by_role("button", name="Older →").wait_for(state="visible", timeout=120_000)
        page.wait_for_function("window.__olderVisibleAt !== null", timeout=10_000)
        drawn = float(page.evaluate("window.__olderVisibleAt")) / 1000
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return drawn, float(metrics["TaskDuration"]), float(metrics["ScriptDuration"])
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--db-dir", help="reuse DIR/demo.db (seeded when missing)")
    parser.add_argument("--fresh", action="store_true",
                        help="each load in a new browser context (nothing cached), not a returning one")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        folder = Path(args.db_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "feeds.yml"
        config.write_text(yaml.safe_dump(demo_config_data(), sort_keys=False), encoding="utf-8")
        if not (folder / "demo.db").exists():
            store = Store(f"sqlite:///{folder / 'demo.db'}")
            seed_store(store, 100_000, now=system_clock())
            store.close()
        urls = []
        for n, root in enumerate(args.roots):
            test_browser.APP, test_browser.ROOT = root / "dashboard" / "app.py", root
            env = dict(os.environ, TRACKER_DATABASE_URL=f"sqlite:///{folder / 'demo.db'}", TRACKER_CONFIG=str(config),
                       TRACKER_DEMO="1", TRACKER_USERS_FILE=str(Path(tmp) / "users.json"), PYTHONPATH=str(root),
                       _LOG=str(Path(tmp) / f"streamlit-{n}.log"))
            urls.append(servers.enter_context(test_browser.streamlit_server(env)))
        samples: list[list[tuple[float, float, float]]] = [[] for _ in args.roots]
        with sync_playwright() as p:
            browser = test_browser._launch(p)
            try:
                contexts = []
                for _ in args.roots:
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
                    context.add_init_script(VISIBLE_AT_SCRIPT)
                    contexts.append(context)
                for n in range(WARM_UP_ROUNDS + args.rounds):
                    for k, (context, url) in enumerate(zip(contexts, urls, strict=True)):
                        if args.fresh:
                            context.close()  # type: ignore[attr-defined]
                            context = contexts[k] = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
                            context.add_init_script(VISIBLE_AT_SCRIPT)
                        load = _one_load(context, url)
                        if n >= WARM_UP_ROUNDS:
                            samples[k].append(load)
            finally:
                browser.close()  # type: ignore[attr-defined]
    for root, loads in zip(args.roots, samples, strict=True):
        drawn, busy, script = (statistics.median(x) for x in zip(*loads, strict=True))
        print(f"{root!s:40s} drawn {drawn:.2f} s   main thread {busy:.2f} s   JavaScript {script:.2f} s")


if __name__ == "__main__":
    main()

"""Stories: the cost of placing a cycle's new clips with 100,000 clips in the window, and of the
one-off build that places every clip of an existing database.

A synthetic window (SQLite, bulk-inserted like bench/queries.py): wire stories of ~90 words drawn
from a 6,000-word vocabulary, each run by 1–20 outlets with edited headlines, a local paragraph
on half the copies and a summary cut short on a quarter; 2,000 members with Zipf-like coverage
(the busiest has a few thousand clips in the window); dates over the 14-day window.

    python bench/stories.py                  # 100,000 clips, 100 new per cycle, 5 cycles
    python bench/stories.py --clips 20000    # quicker
    python bench/stories.py --per-target 0   # candidates uncapped (the design before the cap)

Measured in one process, one after the other:
  build     `place_new_clips` over the whole database (the first cycle after upgrading)
  store     the cycle's other database work for its new clips: `store_entries`, 20 feeds of 5
  stories   the stories step for those clips (`place_new_clips`), and its peak memory growth
Figures go to bench/results/stories.json (another --per-target: stories-per-target-N.json);
bench/README.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tracker.models import ClipStatus, ClipView, MatchedEntry, Mention, ParsedEntry  # noqa: E402
from tracker.normalize import canonical_url, clip_id_for  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.syndication import CANDIDATES_PER_TARGET, place_new_clips  # noqa: E402

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RESULTS = ROOT / "bench" / "results"


class World:
    def __init__(self, seed: int = 13) -> None:
        self.rng = random.Random(seed)
        consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
        words: set[str] = set()
        while len(words) < 6000:
            words.add("".join(self.rng.choice(consonants) + self.rng.choice(vowels) for _ in range(self.rng.randint(2, 4))))
        self.vocab = sorted(words)
        self.members = [f"m{i}" for i in range(2000)]
        self.weights = [1 / (i + 1) ** 0.8 for i in range(len(self.members))]
        self.outlets = [f"outlet{i}.com" for i in range(3000)]
        self.n = 0

    def words(self, k: int) -> list[str]:
        return self.rng.choices(self.vocab, k=k)

    def story(self) -> tuple[str, list[str], list[str]]:
        return self.rng.choices(self.members, self.weights)[0], self.words(10), self.words(90)

    def copy(self, story: tuple[str, list[str], list[str]], at: datetime) -> ClipView:
        member, headline, body = story
        headline = list(headline)
        for _ in range(3):  # an edited headline
            headline[self.rng.randrange(len(headline))] = self.rng.choice(self.vocab)
        text = list(body)
        roll = self.rng.random()
        if roll < 0.5:
            text += self.words(30)  # a local paragraph
        elif roll < 0.75:
            text = text[:40]  # a feed summary cut short
        self.n += 1
        outlet = self.rng.choice(self.outlets)
        url = f"https://www.{outlet}/news/{self.n}"
        mention = Mention(kind="member", target_id=member, term=member, field="summary", snippet="")
        return ClipView(id=clip_id_for(canonical_url(url)), url=url, canonical_url=canonical_url(url),
                        title=" ".join(headline), summary=" ".join(text), outlet=outlet, published_at=at,
                        first_seen_at=at, status=ClipStatus.NEW, image_url=None, mentions=(mention,),
                        feed_ids=(outlet,))

    def copies(self, story: tuple[str, list[str], list[str]], start: datetime, k: int) -> list[ClipView]:
        return [self.copy(story, start + timedelta(hours=self.rng.random() * 48)) for _ in range(k)]


def seed(store: Store, world: World, total: int) -> dict[str, int]:
    clips: list[ClipView] = []
    stories = 0
    while len(clips) < total:
        k = world.rng.choice([1, 1, 1, 1, 2, 2, 3, 5, 10, 20])
        start = NOW - timedelta(days=14) + timedelta(seconds=world.rng.random() * 12 * 86400)
        clips += world.copies(world.story(), start, k)
        stories += 1
    clips = clips[:total]
    for i in range(0, len(clips), 5000):
        store.insert_seed_clips(clips[i : i + 5000])
    return {"clips": len(clips), "stories": stories}


def maxrss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux counts the parent's image at fork into a child's ru_maxrss.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cycle(store: Store, world: World, new: int, at: datetime, per_target: int | None) -> tuple[float, float, int]:
    """One cycle's new clips (half copies of a recent story, half new stories): store, then stories."""
    items: list[ClipView] = []
    while len(items) < new:
        items += world.copies(world.story(), at - timedelta(hours=2), world.rng.choice([1, 2, 5]))
    items = items[:new]
    entries = [
        MatchedEntry(ParsedEntry(title=c.title, link=c.url, guid=c.url, summary=c.summary, content="",
                                 published_at=c.published_at, source_outlet=c.outlet),
                     c.canonical_url, c.id, c.mentions)
        for c in items
    ]
    started = time.perf_counter()
    for f in range(20):
        store.store_entries(f"feed{f}", entries[f::20], at)
    stored_s = time.perf_counter() - started
    report = place_new_clips(store, None, at, per_target=per_target)
    return stored_s, report.seconds, report.joined


def measure(db: str, new: int, cycles: int, per_target: int | None) -> dict[str, object]:
    """In a fresh process, so its peak RSS is the stories step's, not the seeding's."""
    world = World(seed=99)
    store = Store(db)
    rss0 = maxrss_mb()
    build = place_new_clips(store, None, NOW, limit=10**9, per_target=per_target)
    build_rss = maxrss_mb() - rss0
    print(f"one-off build: {build.placed:,} placed, {build.stories_new:,} stories, {build.seconds:.1f}s "
          f"({build.seconds / max(1, build.placed) * 1000:.2f} ms/clip), peak RSS +{build_rss:.0f} MB", flush=True)
    rows = []
    for i in range(cycles):
        rss = maxrss_mb()
        stored_s, stories_s, joined = cycle(store, world, new, NOW + timedelta(hours=i + 1), per_target)
        rows.append({"store_s": round(stored_s, 3), "stories_s": round(stories_s, 3), "joined": joined,
                     "peak_rss_growth_mb": round(maxrss_mb() - rss, 1)})
        print(f"cycle {i + 1}: store {stored_s:.2f}s, stories {stories_s:.2f}s ({joined} joined a story)", flush=True)
    store.close()
    return {"build_s": round(build.seconds, 2), "build_placed": build.placed, "build_stories": build.stories_new,
            "process_rss_before_mb": round(rss0, 1), "build_peak_rss_growth_mb": round(build_rss, 1), "cycles": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--per-target", type=int, default=CANDIDATES_PER_TARGET,
                        help="candidates per member (0: all of the window's)")
    parser.add_argument("--measure", metavar="DB", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.new, args.cycles, args.per_target or None)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/stories.db"
        store = Store(db)
        t0 = time.perf_counter()
        seeded = seed(store, World(), args.clips)
        store.close()
        print(f"seeded {seeded['clips']:,} clips ({seeded['stories']:,} stories) in {time.perf_counter() - t0:.1f}s",
              flush=True)
        child = subprocess.run([sys.executable, "-u", __file__, "--measure", db, "--new", str(args.new),
                                "--cycles", str(args.cycles), "--per-target", str(args.per_target)], capture_output=True, text=True, check=True)
        lines = child.stdout.strip().splitlines()
        print("\n".join(lines[:-1]))
        measured = json.loads(lines[-1])
    rows = measured["cycles"]
    med_store = statistics.median(r["store_s"] for r in rows)
    med_stories = statistics.median(r["stories_s"] for r in rows)
    result = {
        "date": NOW.date().isoformat(), "python": sys.version.split()[0], "clips": seeded["clips"],
        "stories_seeded": seeded["stories"], "new_per_cycle": args.new,
        "per_target": args.per_target or None, **measured,
        "cycle_store_s_median": round(med_store, 3), "cycle_stories_s_median": round(med_stories, 3),
        "stories_over_store": round(med_stories / med_store, 2) if med_store else None,
    }
    print(f"median per cycle: store {med_store:.2f}s, stories {med_stories:.2f}s "
          f"({result['stories_over_store']}x the store step)")
    RESULTS.mkdir(exist_ok=True)
    name = "stories.json" if args.per_target == CANDIDATES_PER_TARGET else f"stories-per-target-{args.per_target}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

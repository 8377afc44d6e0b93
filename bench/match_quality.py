"""Matching quality on real published text: precision and recall, before and after issue #14.

    python bench/match_quality.py             # corpus at ../shared/corpus, or TRACKER_CORPUS
    python bench/match_quality.py --misses    # also list every miss and false positive
    python bench/match_quality.py --ids       # the ids the configured matcher finds, as JSON

The passages are third-party text, so this repository holds none of it: labels.yml says
where each passage is in the shared corpus (a file, a feed entry by its headline, a field,
its first and last words after the tracker's own text extraction) and what a press clipper
would tag in it; feeds.yml (both in bench/quality/) is the roster. Each item matched is the
headline plus the passage. Three matchers run over the same items:

    before          keywords as written, no title+surname: the matcher before issue #14
                    (bill keywords become quoted query phrases, which match as written)
    bill spellings  with bill-number spellings, without title+surname
    now             as configured (surname_mentions on)

Scores count (passage, member or campaign) pairs: a true positive is a labelled mention the
matcher found. Writes bench/results/match_quality.json. Not a test, though
tests/test_match_quality.py holds its results to the labels.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.config import parse_config  # noqa: E402
from tracker.enrich import extract_page_meta  # noqa: E402
from tracker.match import Matcher, compile_matcher  # noqa: E402
from tracker.models import CampaignConfig, Config, MatchItem  # noqa: E402
from tracker.parse import parse_feed  # noqa: E402

QUALITY = Path(__file__).resolve().parent / "quality"
LABELS = QUALITY / "labels.yml"
ROSTER = QUALITY / "feeds.yml"


def corpus_root() -> Path:
    """Where the shared corpus is: TRACKER_CORPUS, else ../shared/corpus beside the checkout."""
    return Path(os.environ.get("TRACKER_CORPUS", str(ROOT.parent / "shared" / "corpus")))


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    item: MatchItem
    expected: frozenset[str]  # "member:id" / "campaign:id"
    shape: str
    note: str


class LabelError(ValueError):
    """A label no longer points at its passage (the corpus or the extraction changed)."""


def _fields_of(root: Path, source: str, entry: str | None) -> dict[str, str]:
    body = (root / source).read_bytes()
    if source.startswith("pages/"):
        meta = extract_page_meta(body, "https://example.com/" + Path(source).stem)
        return {"title": meta.title, "summary": meta.description, "content": meta.text}
    feed = parse_feed(body, url="https://example.com/" + Path(source).stem)
    for e in feed.entries:
        if entry is not None and e.title.startswith(entry):
            return {"title": e.title, "summary": e.summary, "content": e.content}
    raise LabelError(f"{source}: no entry titled {entry!r}…")


def load_passages(root: Path, labels: Path = LABELS) -> list[Passage]:
    """Every labelled passage, cut out of the corpus; LabelError if one cannot be found."""
    data = yaml.safe_load(labels.read_text(encoding="utf-8"))
    cache: dict[tuple[str, str | None], dict[str, str]] = {}
    passages = []
    for row in data["passages"]:
        key = (row["source"], row.get("entry"))
        if key not in cache:
            cache[key] = _fields_of(root, *key)
        fields = cache[key]
        text = fields[row["field"]]
        start = text.find(row["starts"])
        end = text.find(row["ends"], start) if start >= 0 else -1
        if start < 0 or end < 0:
            raise LabelError(f"{row['id']}: passage not found in {row['source']} {row['field']}")
        passage = text[start : end + len(row["ends"])]
        if len(passage) > 1200:
            raise LabelError(f"{row['id']}: {len(passage)} characters is more than a passage")
        item = MatchItem(title=passage) if row["field"] == "title" else MatchItem(title=fields["title"], summary=passage)
        expected = {f"member:{m}" for m in row.get("members") or ()}
        expected |= {f"campaign:{c}" for c in row.get("campaigns") or ()}
        passages.append(Passage(row["id"], row["source"], item, frozenset(expected), row.get("shape", ""), row.get("note", "")))
    return passages


def load_roster(path: Path = ROSTER) -> Config:
    return parse_config(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def _as_written(campaign: CampaignConfig) -> CampaignConfig:
    """The campaign as the matcher before issue #14 saw it: a bill-number keyword matched
    only as written, which a quoted query phrase still does."""
    from tracker.match.compile import bill_number_spellings  # here: --ids runs on older code too

    bills = [k for k in campaign.keywords if bill_number_spellings(k.text, match_case=k.match_case)]
    if not bills:
        return campaign
    if any(k.match_case for k in bills):
        raise ValueError(f"{campaign.id}: a match_case bill keyword has no query equivalent")
    phrases = [f'"{k.text}"' for k in bills] + ([f"({campaign.query})"] if campaign.query else [])
    return replace(
        campaign, keywords=tuple(k for k in campaign.keywords if k not in bills), query=" OR ".join(phrases)
    )


def matchers(config: Config) -> dict[str, Matcher]:
    no_surnames = [replace(m, surname_mentions=False) for m in config.members]
    return {
        "before": compile_matcher(no_surnames, [_as_written(c) for c in config.campaigns]),
        "bill spellings": compile_matcher(no_surnames, config.campaigns),
        "now": compile_matcher(config.members, config.campaigns),
    }


def found_by(matcher: Matcher, item: MatchItem) -> frozenset[str]:
    members, campaigns = matcher.match_ids(item)
    return frozenset([f"member:{m}" for m in members] + [f"campaign:{c}" for c in campaigns])


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(results: Iterable[tuple[frozenset[str], frozenset[str]]]) -> Score:
    tp = fp = fn = 0
    for expected, found in results:
        tp += len(expected & found)
        fp += len(found - expected)
        fn += len(expected - found)
    return Score(tp, fp, fn)


def evaluate(passages: Sequence[Passage], config: Config) -> dict[str, dict[str, frozenset[str]]]:
    """matcher name -> passage id -> what it found."""
    return {
        name: {p.id: found_by(m, p.item) for p in passages} for name, m in matchers(config).items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", action="store_true", help="list every miss and false positive")
    parser.add_argument("--ids", action="store_true", help="print what the configured matcher finds, as JSON")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "match_quality.json"))
    args = parser.parse_args(argv)

    root = corpus_root()
    if not root.is_dir():
        print(f"corpus not found at {root}; set TRACKER_CORPUS", file=sys.stderr)
        return 2
    passages = load_passages(root)
    config = load_roster()
    if args.ids:
        plain = compile_matcher(config.members, config.campaigns)
        print(json.dumps({p.id: sorted(found_by(plain, p.item)) for p in passages}, indent=1))
        return 0

    runs = evaluate(passages, config)
    expected = {p.id: p.expected for p in passages}
    scores = {name: score((expected[pid], f) for pid, f in found.items()) for name, found in runs.items()}
    labelled = sum(len(p.expected) for p in passages)
    print(f"{len(passages)} passages from {len({p.source for p in passages})} corpus files, "
          f"{labelled} labelled mentions ({sum(1 for p in passages if not p.expected)} passages with none)")
    print(f"{'matcher':<16} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}")
    for name, s in scores.items():
        print(f"{name:<16} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.precision:>10.3f} {s.recall:>8.3f}")

    before, now = runs["before"], runs["now"]
    changed = [p for p in passages if before[p.id] != now[p.id]]
    print(f"\nchanged by issue #14 ({len(changed)} passages):")
    for p in changed:
        gained = sorted(now[p.id] - before[p.id])
        lost = sorted(before[p.id] - now[p.id])
        verdict = ", ".join(f"+{t} ({'right' if t in p.expected else 'WRONG'})" for t in gained)
        verdict += "".join(f", -{t} ({'WRONG' if t in p.expected else 'right'})" for t in lost)
        print(f"  {p.id:<24} {verdict}  [{p.shape}]")
    if args.misses:
        print("\nstill missed / false positives (now):")
        for p in passages:
            missed, extra = sorted(p.expected - now[p.id]), sorted(now[p.id] - p.expected)
            if missed or extra:
                print(f"  {p.id:<24} missed {missed} extra {extra}  [{p.shape}] {p.note}")

    result: dict[str, Any] = {
        "passages": len(passages),
        "labelled_mentions": labelled,
        "scores": {n: {"tp": s.tp, "fp": s.fp, "fn": s.fn, "precision": round(s.precision, 4),
                       "recall": round(s.recall, 4)} for n, s in scores.items()},
        "changed": {p.id: {"gained": sorted(now[p.id] - before[p.id]), "lost": sorted(before[p.id] - now[p.id])}
                    for p in changed},
        "missed_now": {p.id: sorted(p.expected - now[p.id]) for p in passages if p.expected - now[p.id]},
        "false_positives_now": {p.id: sorted(now[p.id] - p.expected) for p in passages if now[p.id] - p.expected},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

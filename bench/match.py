"""Benchmark the matcher against a naive one-regex-per-term baseline.

    python bench/match.py            # 2,000 members, 50 campaigns, 20,000 items
    python bench/match.py --quick    # a smaller run for a quick check

Both sides see the same synthetic roster and news-like items (about 2% mention a member),
and the baseline gets the same normalisation first, so the ratio measures the search
strategy, not the text clean-up. Prints a table; writes bench/results/match.json.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.match import compile_matcher, normalize_text
from tracker.models import CampaignConfig, MatchItem, MemberConfig, Term
from tracker.query import parse_query, positive_literals

TARGETS = {"items_per_s": 50_000, "ratio": 100, "compile_s": 1.0}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy "
    "Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma Larry "
    "Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine "
    "Kendra José María Nguyen Aisha Darnell Lakisha Jamal Ximena Siobhan Zoë Björn Chloé "
    "Rashida Ilhan Ayanna Alexandria Summer Delia Tavon Quiana Imani Jabari Marisol Yesenia"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Brooks O'Rourke Ocasio-Cortez Tlaib Pressley Omar Núñez Peña Gómez Ibáñez Müller "
    "Washington Jefferson Okafor Adeyemi Chen Wang Patel Shah Kim Park Cohen Goldberg Murphy "
    "O'Brien McCarthy Sullivan Kowalski Nowak Novak Jensen Larsen Rossi Russo Esposito "
    "Bianchi Romano Costa Silva Santos Oliveira Pereira Ferreira Alves Ribeiro Carvalho "
    "Gutierrez Castillo Morales Ortiz Ramos Ruiz Alvarez Mendoza Vasquez Castro Jimenez"
)
PLACES = _words(
    "Philadelphia Pittsburgh Chicago Detroit Milwaukee Atlanta Houston Phoenix Denver Seattle "
    "Portland Boston Baltimore Newark Oakland Tucson Albuquerque Durham Richmond Columbus "
    "Cleveland Minneapolis Madison Austin Dallas Memphis Nashville Louisville Omaha Boise"
)
STATES = _words("PA IL MI WI GA TX AZ CO WA OR MA MD NJ CA NM NC VA OH MN TN KY NE ID")
TITLES = ("Councilmember", "Council Member", "Rep.", "Sen.", "Mayor", "Commissioner", "Alder")
POLICY = (
    "rent control", "good cause eviction", "paid sick leave", "minimum wage", "public bank",
    "green new deal", "universal school meals", "right to counsel", "tenant union",
    "participatory budgeting", "fare free transit", "medical debt relief", "baby bonds",
    "guaranteed income", "community land trust", "police accountability", "climate resilience",
    "housing first", "child tax credit", "worker cooperative", "municipal broadband",
    "clean slate", "heat protection", "overdose prevention", "reproductive freedom",
)
WORDS = _words(
    "the a of and to in on for with at by from council city state budget vote meeting plan "
    "residents officials said would could new public school housing workers district "
    "committee hearing proposal funding program community report week year last million "
    "police transit water tax bill law court judge board members local county federal "
    "opposed supported announced approved rejected delayed amended debated questioned "
    "neighborhood families business owners advocates groups union leaders staff department "
    "policy election campaign voters turnout results mayor governor senator representative"
)


@dataclass(frozen=True)
class Scenario:
    members: list[MemberConfig]
    campaigns: list[CampaignConfig]
    items: list[MatchItem]
    mentioning: int  # items generated to mention a member


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def build_roster(rng: random.Random, n_members: int) -> list[MemberConfig]:
    members: list[MemberConfig] = []
    seen: set[str] = set()
    while len(members) < n_members:
        name = person(rng)
        if name in seen:
            # a roster this size runs out of two-word names: add a distinct middle name
            name = f"{name.split()[0]} {rng.choice(FIRST)} {name.split()[1]}"
            if name in seen:
                continue
        seen.add(name)
        last = name.split()[-1]
        place = rng.choice(PLACES)
        roll = rng.random()
        aliases: tuple[str, ...] = ()
        if roll < 0.3:
            aliases = (f"{rng.choice(TITLES)} {last}",)
        elif roll < 0.4:
            aliases = (f"{rng.choice(TITLES)} {name}", f"{name.split()[0][0]}. {last}")
        require = (Term(place), Term(rng.choice(STATES), match_case=True)) if rng.random() < 0.25 else ()
        exclude = (Term("football"),) if rng.random() < 0.02 else ()
        members.append(
            MemberConfig(
                id=f"m{len(members):04d}",
                name=name,
                aliases=aliases,
                jurisdiction=place,
                require_any=require,
                exclude=exclude,
            )
        )
    return members


def build_campaigns(rng: random.Random, n_campaigns: int) -> list[CampaignConfig]:
    campaigns = []
    for i in range(n_campaigns):
        phrase = POLICY[i % len(POLICY)]
        keywords = [Term(phrase), Term(f"HB {1000 + i}")]
        if i % 10 == 0:
            keywords.append(Term(f"{phrase.split()[0].upper()} Act", match_case=True))
        query = None
        if i % 5 == 0:
            # the shape staff write: the phrase loosely, plus a policy word, minus a false friend
            *head, last = phrase.split()
            stem = last[: max(4, len(last) - 2)]
            query = f'"{" ".join(head)}" NEAR/3 {stem}* (bill OR ordinance OR vote*) NOT "{phrase} repeal"'
        exclude = (Term("video game"),) if i % 12 == 0 else ()
        campaigns.append(
            CampaignConfig(
                id=f"c{i:02d}", name=phrase.title(), keywords=tuple(keywords), query=query, exclude=exclude
            )
        )
    return campaigns


def sentence(rng: random.Random, n: int, roster: set[str]) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.5:  # people who are not members, drawn from the same name pools
        other = person(rng)
        while other in roster:
            other = person(rng)
        words.insert(rng.randrange(len(words)), other)
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(PLACES))
    return " ".join(words).capitalize() + "."


def build_items(
    rng: random.Random, n_items: int, members: Sequence[MemberConfig], campaigns: Sequence[CampaignConfig]
) -> tuple[list[MatchItem], int]:
    items = []
    mentioning = 0
    roster = {m.name for m in members} | {a for m in members for a in m.aliases}
    for _ in range(n_items):
        title = sentence(rng, rng.randint(6, 11), roster).rstrip(".")
        summary = " ".join(sentence(rng, rng.randint(8, 16), roster) for _ in range(rng.randint(3, 5)))
        roll = rng.random()
        if roll < 0.02:
            mentioning += 1
            m = rng.choice(members)
            first, *_, last = m.name.split()
            mention = rng.choice(
                [m.name, m.name.upper(), f"{first} {rng.choice('ABCDEFGH')}. {last}", f"{m.name}’s", *m.aliases]
            )
            context = m.jurisdiction if m.require_any else rng.choice(PLACES)
            summary = f"{summary} {mention} of {context} said on Tuesday."
        elif roll < 0.035:
            c = rng.choice(campaigns)
            summary = f"{summary} Supporters of {c.keywords[0].text} rallied&nbsp;&mdash; again."
        elif roll < 0.04:
            *head, last = rng.choice(POLICY).split()
            summary = f"{summary} The {last} bill, {' '.join(head).title()} advocates said, passed a vote."
        items.append(MatchItem(title=title, summary=summary))
    return items, mentioning


def build(n_members: int, n_campaigns: int, n_items: int, seed: int = 7) -> Scenario:
    rng = random.Random(seed)
    members = build_roster(rng, n_members)
    campaigns = build_campaigns(rng, n_campaigns)
    items, mentioning = build_items(rng, n_items, members, campaigns)
    return Scenario(members, campaigns, items, mentioning)


# ------------------------------------------------------------------ the naive baseline


class NaiveMatcher:
    """One compiled regex per term, searched in turn; same normalisation as the real one.

    Queries are approximated by their positive literals (enough to cost what a regex
    approach would cost, not meant to be exact).
    """

    def __init__(self, members: Sequence[MemberConfig], campaigns: Sequence[CampaignConfig]) -> None:
        def rx(term: Term | str, prefix: bool = False) -> re.Pattern[str]:
            text = term if isinstance(term, str) else term.text
            fold = not (isinstance(term, Term) and term.match_case)
            tail = r"" if prefix else r"(?!\w)"
            return re.compile(r"(?<!\w)" + re.escape(normalize_text(text, fold_case=fold)) + tail)

        def name_rx(name: str) -> re.Pattern[str]:
            # the middle-initial rule, the regex way: "first( X.?)? rest"
            first, _, rest = normalize_text(name).partition(" ")
            body = re.escape(first) + (r"(?: [^\W\d_]\.?)? " + re.escape(rest) if rest else "")
            return re.compile(r"(?<!\w)" + body + r"(?!\w)")

        self.members = [
            (
                m.id,
                [name_rx(m.name)] + [rx(t) for t in m.aliases],
                [(rx(t), t.match_case) for t in m.require_any],
                [(rx(t), t.match_case) for t in m.exclude],
            )
            for m in members
        ]
        self.campaigns = []
        for c in campaigns:
            keys = [(rx(t), t.match_case) for t in c.keywords]
            if c.query:
                keys += [(rx(lit.text, lit.prefix), False) for lit in positive_literals(parse_query(c.query))]
            self.campaigns.append(
                (c.id, keys, [(rx(t), t.match_case) for t in c.require_any], [(rx(t), t.match_case) for t in c.exclude])
            )

    def match_ids(self, item: MatchItem) -> tuple[tuple[str, ...], tuple[str, ...]]:
        raw = "\n".join((item.title, item.summary, item.content, item.article))
        folded = normalize_text(raw)
        kept = normalize_text(raw, fold_case=False)

        def found(pairs: list[tuple[re.Pattern[str], bool]]) -> bool:
            return any(p.search(kept if cased else folded) for p, cased in pairs)

        members = tuple(
            mid
            for mid, names, req, exc in self.members
            if any(p.search(folded) for p in names) and (not req or found(req)) and not found(exc)
        )
        campaigns = tuple(
            cid for cid, keys, req, exc in self.campaigns if found(keys) and (not req or found(req)) and not found(exc)
        )
        return members, campaigns


# ------------------------------------------------------------------ running


# CPU time of this process, not wall time: on a shared machine the wall clock mostly
# measures the other processes. Best of `repeat` passes for the same reason.
clock = time.process_time


def rate(items: Sequence[MatchItem], call: Callable[[MatchItem], object], repeat: int = 1) -> tuple[float, float]:
    """(items/s, seconds) of the fastest of `repeat` passes."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        for item in items:
            call(item)
        best = min(best, clock() - start)
    return len(items) / best, best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 members, 20 campaigns, 4,000 items")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "match.json"))
    args = parser.parse_args(argv)

    if args.quick:
        n_members, n_campaigns, n_items, n_baseline = 500, 20, 4_000, 200
    else:
        n_members, n_campaigns, n_items, n_baseline = 2_000, 50, 20_000, 500

    scenario = build(n_members, n_campaigns, n_items)
    t0 = clock()
    matcher = compile_matcher(scenario.members, scenario.campaigns)
    compile_s = clock() - t0

    # warm-up: fills the lazy character tables, as a long-running ingester would have
    for item in scenario.items[:200]:
        matcher.match(item)
    match_rate, match_s = rate(scenario.items, matcher.match, repeat=3)
    ids_rate, _ = rate(scenario.items, matcher.match_ids, repeat=3)
    matched = sum(1 for item in scenario.items if matcher.match_ids(item)[0])
    matched_campaigns = sum(1 for item in scenario.items if matcher.match_ids(item)[1])

    # article-length items (about 3,000 characters of content), as after enrichment
    long_items = [
        MatchItem(
            title=item.title,
            summary=item.summary,
            content=" ".join(other.summary for other in scenario.items[i + 1 : i + 8]),
        )
        for i, item in enumerate(scenario.items[: n_items // 10])
    ]
    long_chars = sum(len(i.title) + len(i.summary) + len(i.content) for i in long_items) / len(long_items)
    long_rate, _ = rate(long_items, matcher.match, repeat=3)

    naive = NaiveMatcher(scenario.members, scenario.campaigns)
    # the baseline is ~1,000x slower: time it on a slice of the same items
    subset = scenario.items[:n_baseline]
    naive_rate, _ = rate(subset, naive.match_ids)
    agree = sum(1 for item in subset if naive.match_ids(item)[0] == matcher.match_ids(item)[0])

    ratio = match_rate / naive_rate
    result = {
        "scenario": {
            "members": n_members,
            "campaigns": n_campaigns,
            "items": n_items,
            "items_generated_with_member_mention": scenario.mentioning,
            "avg_item_chars": round(sum(len(i.title) + len(i.summary) for i in scenario.items) / n_items),
            "patterns_in_automaton": matcher.pattern_count,
        },
        "matcher": {
            "compile_s": round(compile_s, 4),
            "items_per_s_match": round(match_rate),
            "items_per_s_match_ids": round(ids_rate),
            "seconds_for_all_items": round(match_s, 3),
            "timing": "process CPU time, best of 3 passes over all items, after a 200-item warm-up",
            "items_per_s_match_article_length": round(long_rate),
            "article_length_avg_chars": round(long_chars),
            "items_with_member_match": matched,
            "items_with_campaign_match": matched_campaigns,
        },
        "baseline": {
            "items_timed": len(subset),
            "items_per_s": round(naive_rate, 1),
            "member_sets_equal_to_matcher": f"{agree}/{len(subset)}",
        },
        "ratio_vs_baseline": round(ratio, 1),
        "targets": TARGETS,
        "meets_targets": {
            "items_per_s": match_rate >= TARGETS["items_per_s"],
            "ratio": ratio >= TARGETS["ratio"],
            "compile_s": compile_s < TARGETS["compile_s"],
        },
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "machine": platform.machine(),
        "quick": args.quick,
    }

    rows = [
        ("members / campaigns / items", f"{n_members:,} / {n_campaigns} / {n_items:,}"),
        ("items mentioning a member (generated / matched)", f"{scenario.mentioning} / {matched}"),
        ("compile_matcher", f"{compile_s * 1000:,.0f} ms"),
        ("matcher.match", f"{match_rate:,.0f} items/s"),
        ("matcher.match_ids", f"{ids_rate:,.0f} items/s"),
        (f"matcher.match, ~{long_chars:,.0f}-char items", f"{long_rate:,.0f} items/s"),
        (f"naive regex baseline ({len(subset)} items)", f"{naive_rate:,.0f} items/s"),
        ("speed-up vs baseline", f"{ratio:,.0f}x"),
        ("baseline agrees on member ids", f"{agree}/{len(subset)} items"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 20}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for key, ok in result["meets_targets"].items():  # type: ignore[attr-defined]
        print(f"target {key}: {'met' if ok else 'MISSED'}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CLI start-up benchmark: whole `tracker` processes, each also as a ratio to `python -c "import click"`.

    .venv/bin/python bench/cli.py [--repeat 10 | --quick] [--label new]
    .venv/bin/python bench/cli.py --label base --pythonpath /tmp/base-cli   # another checkout, same venv

Times, as the median of --repeat runs (5 with --quick), each in a fresh process:
  * click: `python -c "import click"`, the floor any click CLI pays, measured in the same run;
  * help: `tracker --help`;
  * status_empty / status_100k: `tracker status` on a migrated empty SQLite database and on one
    holding 100,000 demo clips (`tracker demo seed --clips 100000`, seeded once and kept in --workdir);
  * config_2000: a process that runs load_config on a generated 2,000-member feeds.yml;
and, inside one process, config_2000_in_process: load_config of that file after a first load
(config_2000_yaml: PyYAML's share of it, yaml.load with CSafeLoader on the same text).
Runs are interleaved (every measure once per round), so a burst of load from elsewhere spreads
over all of them. `tracker` is run as its console script does: `from tracker.cli import main; main()`.
Targets from issue 11: help within 3x of bare click; status under 0.4 s on a quiet machine; a
2,000-member config loaded in under 0.15 s. Results go to bench/results/cli.json (one entry per
--label) and the "## CLI start-up" section of bench/README.md shows every label side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cli.json"
README = ROOT / "bench" / "README.md"
SEEDED_CLIPS = 100_000
CONFIG_MEMBERS = 2_000
MAIN = "from tracker.cli import main; main()"
IN_PROCESS = """
import gc, statistics, sys, time
import yaml
from tracker.config import load_config

def median_s(step):
    step()
    times = []
    for _ in range(int(sys.argv[2])):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)

def yaml_alone():
    gc.disable()  # as load_config does since it pauses the GC
    try:
        yaml.load(text, Loader=yaml.CSafeLoader)
    finally:
        gc.enable()

text = open(sys.argv[1], encoding="utf-8").read()
print(median_s(lambda: load_config(sys.argv[1])), median_s(yaml_alone))
"""
STATUS_PHASES = """
import io, sys, time
started = time.perf_counter()
import tracker.cli
cli_at = time.perf_counter()
import tracker.health, tracker.store
imported_at = time.perf_counter()
store = tracker.store.Store(sys.argv[1])
opened_at = time.perf_counter()
from tracker.clock import system_clock
tracker.health.render_health_table(tracker.health.health_report(store, system_clock(), runs=5), io.StringIO())
done_at = time.perf_counter()
print(cli_at - started, imported_at - cli_at, opened_at - imported_at, done_at - opened_at)
"""
PHASES = ("status_import_cli", "status_import_store", "status_open_store", "status_report")
TARGETS = {"help_ratio": 3.0, "status_empty": 0.4, "status_100k": 0.4, "config_2000_in_process": 0.15}


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words("Kendra Nicholas Renata Marisol Darnell Aisha Tobias Priya Ximena Jabari Siobhan Mateo Imani "
               "Gustavo Zoë Björn Chloé Rashida Ilhan Ayanna Delia Tavon Quiana Yesenia Lakshmi Kofi")
LAST = _words("Brooks O'Rourke Okafor Núñez Peña Gómez Müller Adeyemi Chen Patel Kowalski Rossi Silva "
              "Castillo Morales Ortiz Ramirez Washington Jefferson Nakamura Lindqvist Delacroix Okonkwo")
PLACES = _words("Philadelphia Pittsburgh Chicago Detroit Milwaukee Atlanta Houston Denver Seattle Boston")
STATES = _words("PA IL MI WI GA TX CO WA MA MD NJ")
TITLES = ("Councilmember", "Rep.", "Sen.", "Mayor", "Commissioner", "Alder")
POLICY = ("rent control", "good cause eviction", "paid sick leave", "minimum wage", "public bank",
          "green new deal", "universal school meals", "right to counsel", "fare free transit", "baby bonds")


def config_data(members: int, seed: int = 11) -> dict[str, object]:
    """A feeds.yml of the shape a large network writes: members with aliases and context rules,
    campaigns with keywords and queries, feeds, one news search."""
    rng = random.Random(seed)
    roster = []
    for i in range(members):
        first, last, place = rng.choice(FIRST), rng.choice(LAST), rng.choice(PLACES)
        member: dict[str, object] = {"id": f"m{i:04d}", "name": f"{first} {rng.choice(FIRST)} {last}",
                                     "title": rng.choice(TITLES), "jurisdiction": place,
                                     "state": rng.choice(STATES), "tags": ["council"]}
        if rng.random() < 0.4:
            member["aliases"] = [f"{rng.choice(TITLES)} {last}", f"{first[0]}. {last}"]
        if rng.random() < 0.25:
            member["require_any"] = [place, {"text": rng.choice(STATES), "match_case": True}]
        roster.append(member)
    campaigns = []
    for i in range(50):
        phrase = POLICY[i % len(POLICY)]
        campaign: dict[str, object] = {"id": f"c{i:02d}", "name": f"{phrase.title()} {i}",
                                       "keywords": [phrase, {"text": f"HB {1000 + i}", "match_case": True}]}
        if i % 5 == 0:
            campaign["query"] = f'"{phrase}" NEAR/3 (bill OR ordinance OR vote*) NOT repeal'
        campaigns.append(campaign)
    return {
        "settings": {"poll": "0 * * * *", "timeout_s": 20, "exports": [{"format": "json", "path": "out/news.json"}]},
        "feeds": [{"url": f"https://news{i}.example.com/rss", "name": f"News {i}", "tags": ["local"]}
                  for i in range(200)],
        "searches": [{"template": "https://news.example.com/rss/search?q={query}&hl=en-US"}],
        "members": roster,
        "campaigns": campaigns,
    }


class Runner:
    """Runs one checkout's `tracker` (--python, --pythonpath) in --workdir with no TRACKER_* settings."""

    def __init__(self, python: str, pythonpath: str, workdir: Path) -> None:
        self.python, self.workdir = python, workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        self.env["PYTHONPATH"] = pythonpath

    def run(self, *args: str) -> str:
        done = subprocess.run([self.python, *args], cwd=self.workdir, env=self.env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def timed(self, *args: str) -> float:
        started = time.perf_counter()
        self.run(*args)
        return time.perf_counter() - started


def prepare(runner: Runner, workdir: Path) -> dict[str, list[str]]:
    """The databases and the config, made once per workdir; returns each measure's arguments."""
    empty, seeded, config = workdir / "empty.db", workdir / f"seeded-{SEEDED_CLIPS}.db", workdir / "feeds-2000.yml"
    if not config.exists():
        config.write_text(yaml.safe_dump(config_data(CONFIG_MEMBERS), sort_keys=False, allow_unicode=True),
                          encoding="utf-8")
    if not empty.exists():
        runner.run("-c", MAIN, "--db", f"sqlite:///{empty}", "status")  # creates and migrates it
    if not (workdir / f"{seeded.name}.done").exists():
        seeded.unlink(missing_ok=True)
        started = time.perf_counter()
        runner.run("-c", MAIN, "--db", f"sqlite:///{seeded}", "demo", "seed", "--clips", str(SEEDED_CLIPS))
        (workdir / f"{seeded.name}.done").touch()
        print(f"seeded {SEEDED_CLIPS:,} clips in {time.perf_counter() - started:.0f} s", flush=True)
    return {
        "click": ["-c", "import click"],
        "help": ["-c", MAIN, "--help"],
        "status_empty": ["-c", MAIN, "--db", f"sqlite:///{empty}", "status"],
        "status_100k": ["-c", MAIN, "--db", f"sqlite:///{seeded}", "status"],
        "config_2000": ["-c", f"from tracker.config import load_config; load_config({str(config)!r})"],
    }


def measure(runner: Runner, measures: dict[str, list[str]], config: Path, repeat: int) -> dict[str, list[float]]:
    for args in measures.values():
        runner.run(*args)  # warm the page cache and any .pyc files before timing
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(repeat):
        for name, args in measures.items():
            samples[name].append(runner.timed(*args))
    whole, yaml_alone = runner.run("-c", IN_PROCESS, str(config), str(repeat)).split()
    samples["config_2000_in_process"], samples["config_2000_yaml"] = [float(whole)], [float(yaml_alone)]
    samples.update({phase: [] for phase in PHASES})
    for _ in range(repeat):  # where `tracker status` (100k clips) spends its time, each phase in a fresh process
        seconds = runner.run("-c", STATUS_PHASES, measures["status_100k"][3]).split()  # its --db URL
        for phase, value in zip(PHASES, seconds, strict=True):
            samples[phase].append(float(value))
    return samples


def summarise(samples: dict[str, list[float]]) -> dict[str, float]:
    medians = {name: statistics.median(values) for name, values in samples.items()}
    summary = {name: round(value, 4) for name, value in medians.items()}
    for name in ("help", "status_empty", "status_100k", "config_2000"):
        summary[f"{name}_ratio"] = round(medians[name] / medians["click"], 2)
    return summary


ROWS = (
    ("click", "`python -c \"import click\"` (the floor)", None),
    ("help", "`tracker --help`", "help_ratio"),
    ("status_empty", "`tracker status`, empty SQLite database", "status_empty"),
    ("status_100k", f"`tracker status`, {SEEDED_CLIPS:,} clips", "status_100k"),
    ("config_2000", f"load a {CONFIG_MEMBERS:,}-member feeds.yml, whole process", None),
    ("config_2000_in_process", f"load a {CONFIG_MEMBERS:,}-member feeds.yml, in process", "config_2000_in_process"),
    ("config_2000_yaml", "… of which PyYAML alone (`yaml.load`, CSafeLoader)", None),
    ("status_import_cli", "`status` in process: import tracker.cli", None),
    ("status_import_store", "… then import tracker.store, tracker.health (SQLAlchemy, SQLModel, rich)", None),
    ("status_open_store", "… then `Store(url)` (engine, Alembic migration check)", None),
    ("status_report", "… then the health report, rendered", None),
)


def _cell(run: dict[str, object], name: str) -> str:
    summary: dict[str, float] = run["summary"]  # type: ignore[assignment]
    ms = f"{summary[name] * 1000:.0f} ms"
    ratio = summary.get(f"{name}_ratio")
    return f"{ms} ({ratio:.1f}×)" if ratio is not None else ms


def _target(name: str | None, run: dict[str, object]) -> str:
    """The issue's target for this measure, and whether run meets it."""
    if name is None:
        return "—"
    summary: dict[str, float] = run["summary"]  # type: ignore[assignment]
    limit = TARGETS[name]
    met = "✅" if summary[name] < limit else "❌"
    return f"< {limit:.0f}× click {met}" if name.endswith("_ratio") else f"< {limit * 1000:.0f} ms {met}"


def readme_section(runs: dict[str, dict[str, object]], current: str) -> str:
    labels = sorted(runs, key=lambda label: (label != "base", label))  # before, then after
    header = " | ".join(f"{label} ({runs[label]['commit']})" for label in labels)
    rows = "\n".join(
        f"| {title} | " + " | ".join(_cell(runs[label], name) for label in labels)
        + f" | {_target(target, runs[current])} |"
        for name, title, target in ROWS
    )
    runs_text = "; ".join(f"{label} {runs[label]['run_at']} UTC, median of {runs[label]['repeat']}" for label in labels)
    return f"""## CLI start-up

`python bench/cli.py` times whole `tracker` processes (start-up counts: it is what a cron job or a
person at a terminal waits for), each as the median of several runs and as a ratio (×) to
`python -c "import click"` measured in the same run. `tracker status` runs on a migrated empty SQLite
database and on one seeded with `tracker demo seed --clips {SEEDED_CLIPS}`; the config is a generated
feeds.yml of {CONFIG_MEMBERS:,} members (40% with aliases, 25% with `require_any`), 50 campaigns, 200
feeds and a news search. The in-process figure is `load_config` alone, after a first load. `base` is
the same script run with `--pythonpath` on a checkout of the commit named. Runs: {runs_text}.
Machine: {runs[current]['machine']}.

| measure | {header} | target ({current}) |
|---|{'---|' * (len(labels) + 1)}
{rows}

The last four rows split `status` (100,000 clips) into phases, timed inside fresh processes: what is
left for `tracker status` to gain is in `tracker/store` (importing SQLAlchemy and SQLModel, and
`Store()` importing Alembic to check migrations on every start; issue 11 asks for that check to be
one query when the schema is current). A config load is PyYAML (libyaml's parser through
`yaml.CSafeLoader`, then PyYAML's constructor, which is Python) and then tracker's validation; the
whole-process figure adds interpreter start-up and importing PyYAML and APScheduler (to check
`settings.poll`). "PyYAML alone" uses CSafeLoader in every column, so it is the floor under the
0.15 s target on this machine; base's `load_config` used the pure-Python SafeLoader.
"""


def write_readme(runs: dict[str, dict[str, object]], current: str) -> None:
    section = readme_section(runs, current)
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(r"^## CLI start-up\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _m: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n\n" + section
    README.write_text(text, encoding="utf-8")


def _commit(pythonpath: str) -> str:
    done = subprocess.run(["git", "-C", pythonpath, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="5 runs of each measure")
    parser.add_argument("--python", default=sys.executable, help="interpreter to run (default: this one)")
    parser.add_argument("--pythonpath", default=str(ROOT), help="checkout whose tracker is run (default: this one)")
    parser.add_argument("--label", default="new", help="name of this run in cli.json and the README table")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "media-tracker-bench-cli",
                        help="keeps the seeded database and the config between runs")
    parser.add_argument("--machine", default=None, help="how to describe the machine in the README")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    repeat = 5 if args.quick else args.repeat

    args.workdir.mkdir(parents=True, exist_ok=True)
    runner = Runner(args.python, args.pythonpath, args.workdir)
    measures = prepare(runner, args.workdir)
    samples = measure(runner, measures, args.workdir / "feeds-2000.yml", repeat)
    run: dict[str, object] = {
        "commit": _commit(args.pythonpath),
        "repeat": repeat,
        "summary": summarise(samples),
        "samples_s": {k: [round(x, 4) for x in v] for k, v in samples.items()},
        "run_at": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": args.machine or f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
                                   f"{os.cpu_count()} CPUs",
    }
    runs: dict[str, dict[str, object]] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    runs[args.label] = run
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(runs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not args.no_readme:
        write_readme(runs, args.label)
    for name, value in run["summary"].items():  # type: ignore[attr-defined]
        print(f"{name:24} {value:8.3f}" + ("×" if name.endswith("ratio") else " s"))


if __name__ == "__main__":
    main()

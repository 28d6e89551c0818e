"""`newsbot match` with 10,000 rules on 1,100 real articles, against a baseline tree in the same run.

    .venv/bin/python bench/match_cli.py                         # baseline /work/wt/base (184c152)
    .venv/bin/python bench/match_cli.py --runs 3 --baseline PATH

Articles: the first 1,100 items with a one-line title of the news snapshot
(../shared/corpus/feeds/news_snapshot_2026-02-17), parsed by the bot's feed parser and written as text files
(title, then body), as `newsbot match FILE...` reads them. Two rule books of 10,000 rule files each:
- generated: bench/pipeline.py's rule files (bench/match.py's generator, with its entity files);
- dense: the 1,000 words most articles share as one-word rules, 1,000 pairs of them (AND or NEAR/15), and
  8,000 two-word phrases taken from the articles themselves, so an article matches dozens of rules.

Each tree runs `python -m bot match -c CONFIG [--json] FILE...` in a fresh process, once with one article
(start-up: imports, loading and compiling the rules) and once with all of them, --runs times in turn; the rate
beyond start-up is 1,099 articles over the difference of the fastest runs (the least disturbed by other work on
the machine), in wall time and in the process's CPU time. Both trees' JSON output on all articles must be
identical.
A worker of this tree also times, in one process, matching every article against the time of writing its JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.match import FEEDS, NOT_TOPICS, STOPWORDS  # noqa: E402

BASELINE = Path("/work/wt/base")
ARTICLES = 1_100
RULES = 10_000
SEED = 20261207


def write_articles(folder: Path) -> list[Path]:
    from bot.parse.feed import parse_feed

    folder.mkdir(parents=True)
    written: list[Path] = []
    for feed in sorted(FEEDS.glob("*.xml")):
        for entry in parse_feed(feed.read_bytes(), feed_url=feed.as_uri(), name=feed.stem).entries:
            if len(written) < ARTICLES and entry.title.strip() and "\n" not in entry.title:
                path = folder / f"article-{len(written):04}.txt"
                path.write_text(f"{entry.title}\n{entry.body}\n", encoding="utf-8")
                written.append(path)
    return written


def write_dense_rules(folder: Path, articles: list[Path]) -> None:
    """Rules most articles match dozens of: common words alone and in pairs, and the articles' own phrases."""
    from bot.match.text import analyze

    docs = [analyze(path.read_text(encoding="utf-8")).words for path in articles]
    shared = collections.Counter(
        w for words in docs for w in set(words) if len(w) > 3 and w not in NOT_TOPICS and not w.isdigit()
    )
    common = sorted(shared, key=lambda word: (-shared[word], word))[:1000]  # ties by name: the same rules every run
    rng = random.Random(SEED)
    queries = list(common)
    for _ in range(1000):
        a, b = rng.sample(common, 2)
        queries.append(f"{a} {b}" if rng.random() < 0.5 else f"{a} NEAR/15 {b}")
    while len(queries) < RULES:
        words = rng.choice(docs)
        if len(words) < 6:
            continue
        i = rng.randrange(len(words) - 2)
        a, b = words[i], words[i + 1]
        if a not in STOPWORDS and b not in STOPWORDS and a.isalpha() and b.isalpha():
            queries.append(f'"{a} {b}"')
    folder.mkdir(parents=True)
    for n, query in enumerate(queries):
        rule = {"id": f"dense-{n}", "title": f"Dense {n}", "query": query}
        (folder / f"dense-{n}.yaml").write_text(yaml.safe_dump(rule), encoding="utf-8")


def run(tree: Path, config: Path, files: list[Path], as_json: bool) -> tuple[float, float, str]:
    """Wall and CPU seconds of one `newsbot match` process, and what it printed."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("NEWSBOT_CONFIG", None)
    command = [sys.executable, "-m", "bot", "match", "-c", str(config), *(["--json"] if as_json else [])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*command, *map(str, files)], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def in_process(rules: Path, articles: list[Path]) -> dict[str, float]:
    """In a worker of this tree: matching every article, then writing each one's matches as JSON lines."""
    import gc

    from bot.commands import _text_entry
    from bot.deliver.jsonl import json_line, match_record
    from bot.match.matcher import Matcher
    from bot.rulebook.load import load_ruleset

    matcher = Matcher(load_ruleset(rules))
    gc.freeze()
    entries = [(str(path), _text_entry(path)) for path in articles]
    started = time.process_time()
    found = [(name, entry, matcher.match(entry)) for name, entry in entries]
    matching = time.process_time() - started
    started = time.process_time()
    lines = [
        "".join(json_line({"file": name, **match_record(entry, m)}) for m in matches) for name, entry, matches in found
    ]
    writing = time.process_time() - started
    return {
        "matching": matching,
        "json": writing,
        "matches": sum(len(m) for _, _, m in found),
        "chars": sum(map(len, lines)),
    }


@dataclass(frozen=True)
class Rate:
    """Articles a second beyond start-up, in wall and CPU time, and the start-up itself."""

    wall: float
    cpu: float
    start_up: float


def measure(trees: dict[str, Path], config: Path, articles: list[Path], as_json: bool, runs: int) -> tuple[dict, str]:
    """Each tree's rate, the trees in turn; the output of the last run of this tree (the same as the baseline's)."""
    timed: dict[str, dict[str, list[float]]] = {name: collections.defaultdict(list) for name in trees}
    printed: dict[str, str] = {}
    for _ in range(runs):
        for name, tree in trees.items():
            wall_one, cpu_one, _ = run(tree, config, articles[:1], as_json)
            wall_all, cpu_all, printed[name] = run(tree, config, articles, as_json)
            for key, value in (("wall_one", wall_one), ("cpu_one", cpu_one), ("wall", wall_all), ("cpu", cpu_all)):
                timed[name][key].append(value)
    if as_json:
        assert printed["newsbot"] == printed["baseline"], "the JSON output differs between the trees"
    rates = {}
    beyond = len(articles) - 1
    for name in trees:
        med = {key: min(values) for key, values in timed[name].items()}
        rates[name] = Rate(
            beyond / (med["wall"] - med["wall_one"]), beyond / (med["cpu"] - med["cpu_one"]), med["wall_one"]
        )
    return rates, printed["newsbot"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="processes per figure and tree (default 3)")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help=f"baseline tree (default {BASELINE})")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        articles = sorted(Path(args.worker[1]).glob("*.txt"))
        print(json.dumps(in_process(Path(args.worker[0]), articles)))
        return
    from bench.pipeline import write_rules

    trees = {"newsbot": ROOT, "baseline": args.baseline}
    runs = max(1, args.runs)
    print(f"{ARTICLES:,} articles, {RULES:,} rules; the fastest of {runs} processes; baseline {args.baseline}")
    print()
    print(
        "| rules | output | matches/article | newsbot art/s wall | (CPU) | baseline art/s wall | (CPU) | "
        "speed-up (CPU) | start-up s newsbot / baseline |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    workers = {}
    with tempfile.TemporaryDirectory(prefix="newsbot-match-cli-") as tmp:
        folder = Path(tmp)
        articles = write_articles(folder / "articles")
        write_rules(folder / "generated", RULES)
        write_dense_rules(folder / "dense", articles)
        for book in ("generated", "dense"):
            config = folder / f"{book}.yaml"
            config.write_text(f"rules: {folder / book}\n", encoding="utf-8")
            matches = 0.0
            for as_json in (True, False):
                rates, printed = measure(trees, config, articles, as_json, runs)
                matches = printed.count("\n") / len(articles) if as_json else matches
                now, before = rates["newsbot"], rates["baseline"]
                print(
                    f"| {book} | {'--json' if as_json else 'text'} | {matches:.1f} | {now.wall:,.0f} | {now.cpu:,.0f} "
                    f"| {before.wall:,.0f} | {before.cpu:,.0f} | {now.cpu / before.cpu:.1f}x "
                    f"| {now.start_up:.2f} / {before.start_up:.2f} |",
                    flush=True,
                )
            worker = subprocess.run(
                [sys.executable, __file__, "--worker", str(folder / book), str(folder / "articles")],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            workers[book] = json.loads(worker.stdout)
    print()
    print("In one process (this tree, CPU): matching every article against writing its matches as JSON lines")
    print()
    print("| rules | matches | matching s | JSON s | JSON / matching |")
    print("|---|---:|---:|---:|---:|")
    for book, row in workers.items():
        share = row["json"] / row["matching"]
        print(f"| {book} | {row['matches']:,} | {row['matching']:.2f} | {row['json']:.2f} | {share:.2f} |")


if __name__ == "__main__":
    main()

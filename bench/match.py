"""Matcher benchmark: presearch against evaluating every rule, from 100 to 100,000 rules.

    .venv/bin/python bench/match.py                 # all sizes, about 5 minutes
    .venv/bin/python bench/match.py --sizes 100 1000

Rule sets are generated with a fixed seed from the news corpus's own vocabulary (so terms do
occur in articles): OR-groups NEAR OR-groups, phrases taken from real bigrams, @entity
references, NEAR/s, ONEAR, title: fields, trailing and inner wildcards, NOT clauses, and one rule
in 2,000 with only leading wildcards (*ization). Articles: every item of
../shared/corpus/feeds/news_snapshot_2026-02-17 (parsed with the bot's own feed parser), the two
seeds, and generated text up to 1,500 articles.

Each size runs in its own process pinned to one core, so peak memory (max RSS) belongs to that
size alone. Per size it prints: compile time (parse every query, compile, build the automaton),
articles/s with presearch, the share of rules evaluated per article, the baseline (every rule on
every article, on a sample of articles, checked to give identical matches) and the speed-up.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.match.document import Document  # noqa: E402
from bot.match.entities import Entity, Gazetteer  # noqa: E402
from bot.match.gc_pause import collector_paused  # noqa: E402
from bot.match.matcher import Matcher  # noqa: E402
from bot.match.query import parse_query  # noqa: E402
from bot.match.rules import Rule, RuleSet  # noqa: E402
from bot.match.text import analyze, fold, pattern_words  # noqa: E402
from bot.model import Entry  # noqa: E402
from bot.parse.feed import parse_feed  # noqa: E402

SEED = 20260217
SIZES = (100, 1_000, 10_000, 100_000)
ARTICLES = 1_500
FEEDS = ROOT.parent / "shared" / "corpus" / "feeds" / "news_snapshot_2026-02-17"
SEEDS = ROOT / "tests" / "fixtures" / "seeds"
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in into is "
    "it its just may more most new no not of on one or our out over said says she so some such than that the their "
    "them then there these they this those to two up was we were what when which while who will with would you "
    "after about also all any back before being between both first get got here last like made make many much now "
    "only other s t than through time told under us very way well where year years".split()
)
NOT_TOPICS = STOPWORDS | {"http", "https", "www", "html", "href"}
"""Words no analyst writes a rule about (link debris in feed summaries)."""
BASELINE_EVALUATIONS = 1_000_000
"""Rule evaluations the baseline may spend per size; it runs on as many articles as that allows."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What generated rules are made of, all drawn from the corpus itself."""

    terms: list[str]
    bigrams: list[tuple[str, str]]
    names: list[tuple[str, str]]


def corpus() -> list[Entry]:
    """News items, the seeds, and generated articles, ARTICLES in all, always the same ones."""
    entries: list[Entry] = []
    for path in sorted(FEEDS.glob("*.xml")):
        entries.extend(parse_feed(path.read_bytes(), feed_url=path.as_uri(), name=path.stem).entries)
    for path in sorted(SEEDS.glob("*.txt")):
        entries.append(Entry(feed_url="seeds", outlet="Seeds", url=path.name, title="", summary=path.read_text()))
    words = [w for e in entries for w in analyze(f"{e.title}. {e.body}").words]
    follows: dict[str, list[str]] = {}
    for a, b in itertools.pairwise(words):
        follows.setdefault(a, []).append(b)
    rng = random.Random(SEED)
    while len(entries) < ARTICLES:
        entries.append(_generated_article(rng, words, follows, len(entries)))
    return entries


def _generated_article(rng: random.Random, words: list[str], follows: dict[str, list[str]], n: int) -> Entry:
    """A bigram-chain article: news words in news order, in sentences, 60 to 400 words long."""
    sentences = []
    word = rng.choice(words)
    for _ in range(rng.randint(4, 25)):
        sentence = []
        for _ in range(rng.randint(8, 20)):
            sentence.append(word)
            word = rng.choice(follows.get(word) or words)
        sentences.append(" ".join(sentence).capitalize() + ".")
    title = " ".join(sentences[0].split()[:8]).capitalize()
    return Entry(feed_url="generated", outlet="Generated", url=f"gen:{n}", title=title, summary=" ".join(sentences[1:]))


def vocabulary(entries: list[Entry]) -> Vocabulary:
    """Topic words (frequent but not function words), real bigrams, and capitalised two-word names."""
    counts: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    names: Counter[tuple[str, str]] = Counter()
    for entry in entries[:1200]:
        for text in (entry.title, entry.body):
            field = analyze(text)
            starts, ends = field.offsets()
            counts.update(w for w in field.words if len(w) > 3 and w not in NOT_TOPICS and not w.isdigit())
            for i in range(len(field.words) - 1):
                a, b = field.words[i], field.words[i + 1]
                if a not in STOPWORDS and b not in STOPWORDS and len(a) > 2 and len(b) > 2:
                    pairs[(a, b)] += 1
                raw_a = text[starts[i] : ends[i]]
                raw_b = text[starts[i + 1] : ends[i + 1]]
                if raw_a.istitle() and raw_b.istitle() and a not in STOPWORDS and b not in STOPWORDS:
                    names[(raw_a, raw_b)] += 1
    return Vocabulary(
        terms=[w for w, _ in counts.most_common(8000)[300:]],
        bigrams=[p for p, c in pairs.most_common(3000) if c >= 2],
        names=[n for n, c in names.most_common(800) if c >= 2],
    )


def gazetteer(vocab: Vocabulary) -> Gazetteer:
    """One person/place entity per frequent capitalised name, its last word as the ambiguous form."""
    entities = {}
    for first, last in vocab.names:
        entity_id = f"{fold(first)}-{fold(last)}"
        entities[entity_id] = Entity(
            id=entity_id,
            type="person",
            display_name=f"{first} {last}",
            forms=(pattern_words(f"{first} {last}"),),
            ambiguous=(pattern_words(last),),
        )
    return Gazetteer(entities)


class RuleWriter:
    """Generates analyst-style queries from the vocabulary."""

    def __init__(self, rng: random.Random, vocab: Vocabulary, entity_ids: list[str]) -> None:
        self.rng = rng
        self.vocab = vocab
        self.entity_ids = entity_ids

    def term(self) -> str:
        word = self.rng.choice(self.vocab.terms)
        roll = self.rng.random()
        if roll < 0.15 and len(word) > 5:
            return word[: self.rng.randint(4, len(word) - 1)] + "*"
        if roll < 0.18 and len(word) > 5:
            i = self.rng.randint(3, len(word) - 2)
            return word[:i] + "?" + word[i + 1 :]
        return word

    def phrase(self) -> str:
        a, b = self.rng.choice(self.vocab.bigrams)
        return f'"{a} {b}"'

    def group(self, low: int = 1, high: int = 4) -> str:
        parts = [self.phrase() if self.rng.random() < 0.2 else self.term() for _ in range(self.rng.randint(low, high))]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def entity(self) -> str:
        return "@" + self.rng.choice(self.entity_ids)

    def query(self) -> str:
        r = self.rng
        kind = r.randrange(10)
        if kind == 0:
            return f"{self.group(2)} NEAR/{r.randint(3, 15)} {self.group(2)}"
        if kind == 1:
            return f"{self.phrase()} AND {self.group()} NOT {self.group(1, 2)}"
        if kind == 2:
            return f"{self.entity()} AND {self.group()}"
        if kind == 3:
            return f"{self.entity()} NEAR/s {self.group()}"
        if kind == 4:
            return f"title:{self.group()} {self.term()}"
        if kind == 5:
            return f"{self.term()} ONEAR/{r.randint(1, 5)} {self.term()}"
        if kind == 6:
            return f"{self.group(2)} {self.group(2)} NOT {self.group(1, 3)}"
        if kind == 7:
            return f"{self.entity()} {self.entity()}"
        if kind == 8:
            return f"({self.group(2)} NEAR/{r.randint(2, 8)} {self.term()}) OR {self.phrase()}"
        if r.random() < 0.005:
            return f"*{self.term()[-6:]} NEAR/3 *{self.term()[-5:]}"
        return f"{self.phrase()} OR ({self.term()} {self.term()})"


def rule_texts(size: int, vocab: Vocabulary, entities: Gazetteer) -> list[str]:
    writer = RuleWriter(random.Random(SEED + size), vocab, sorted(entities.entities))
    return [writer.query() for _ in range(size)]


def compile_rules(texts: list[str], entities: Gazetteer) -> tuple[RuleSet, Matcher]:
    """Parse and compile as `load_ruleset` + `Matcher` do (minus reading files), collector paused alike."""
    with collector_paused():
        rules = tuple(
            Rule(id=f"r{i}", title=f"rule {i}", query_text=q, query=parse_query(q)) for i, q in enumerate(texts)
        )
    ruleset = RuleSet(rules, entities)
    return ruleset, Matcher(ruleset)


def measure(size: int) -> dict[str, float]:
    """Everything for one rule-set size, in this (fresh, single-core) process."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    entries = corpus()
    vocab = vocabulary(entries)
    entities = gazetteer(vocab)
    texts = rule_texts(size, vocab, entities)

    started = time.perf_counter()
    ruleset, matcher = compile_rules(texts, entities)
    compile_seconds = time.perf_counter() - started
    assert matcher.presearcher is not None
    gc.freeze()  # what a long-running app does once its rules are loaded (see bot/match/gc_pause.py)

    evaluated = matched = 0
    started = time.perf_counter()
    results = []
    for entry in entries:
        doc = Document(entry)
        candidates = matcher.candidates(doc)
        evaluated += len(candidates)
        found = [m for rule in candidates if (m := rule.match(doc)) is not None]
        matched += len(found)
        results.append(found)
    presearch_seconds = time.perf_counter() - started

    baseline = Matcher(ruleset, presearch=False)
    sample = entries[:: max(1, len(entries) * size // BASELINE_EVALUATIONS)]
    step = entries.index(sample[1]) if len(sample) > 1 else 1
    started = time.perf_counter()
    slow = [baseline.match(entry) for entry in sample]
    baseline_seconds = time.perf_counter() - started
    assert slow == [results[i * step] for i in range(len(sample))], "presearch and baseline disagree"

    return {
        "rules": size,
        "articles": len(entries),
        "compile_s": compile_seconds,
        "articles_per_s": len(entries) / presearch_seconds,
        "evaluated_share": evaluated / (len(entries) * size),
        "matches_per_article": matched / len(entries),
        "baseline_articles": len(sample),
        "baseline_articles_per_s": len(sample) / baseline_seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker)))
        return
    if not FEEDS.is_dir():
        sys.exit(f"the news corpus is missing at {FEEDS}")
    started = time.perf_counter()
    header = (
        f"{'rules':>8} {'compile s':>10} {'articles/s':>11} {'evaluated':>10} {'matches/art':>12} "
        f"{'baseline art/s':>15} {'(sample)':>9} {'speed-up':>9} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        worker = subprocess.run(
            [sys.executable, __file__, "--worker", str(size)], check=True, capture_output=True, text=True
        )
        row = json.loads(worker.stdout)
        speed_up = row["articles_per_s"] / row["baseline_articles_per_s"]
        print(
            f"{size:>8,} {row['compile_s']:>10.2f} {row['articles_per_s']:>11,.0f} "
            f"{row['evaluated_share']:>9.3%} {row['matches_per_article']:>12.2f} "
            f"{row['baseline_articles_per_s']:>15,.1f} {row['baseline_articles']:>9,} "
            f"{speed_up:>8,.0f}x {row['peak_mb']:>8,.0f}",
            flush=True,
        )
    print(
        f"\n{row['articles']:,} articles; the baseline evaluates every rule on (sample) of them; "
        f"whole run {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()

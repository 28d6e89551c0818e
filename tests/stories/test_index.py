"""Story clustering: the seeds form one story, other events stay apart, the index restores and forgets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.stories import cluster, semeval_pairs
from bot.model import Entry
from bot.stories.features import StoryFeatures
from bot.stories.index import ClusterConfig, StoryIndex
from bot.stories.quality import bcubed, pairwise
from tests.conftest import SEEDS, corpus_path, missing
from tests.stories.articles import HOLDOUT_YAML, LabelledArticle, load_articles

SEED_STORY = "kallas-no-guarantee"
T0 = datetime(2024, 3, 14, tzinfo=UTC)


def _with_full_seeds(articles: list[LabelledArticle]) -> list[LabelledArticle]:
    """The fixture with the two seed excerpts replaced by the complete seed texts."""
    rewrite, menafn = (p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    title, _, body = rewrite.partition("\n")
    full = {"seed-000": (title, body), "seed-001": ("Estonian PM refuses to give assurances", menafn)}
    return [
        replace(a, entry=replace(a.entry, title=full[a.key][0], summary=full[a.key][1])) if a.key in full else a
        for a in articles
    ]


def test_seeds_form_one_story_that_other_events_do_not_join() -> None:
    articles = _with_full_seeds(load_articles())
    stories, _ = cluster(articles)
    seed_story = stories["seed-000"]
    assert stories["seed-001"] == seed_story
    joined = {a.story for a in articles if stories[a.key] == seed_story}
    assert joined == {SEED_STORY}
    assert {a.key for a in articles if a.story == SEED_STORY} == {
        a.key for a in articles if stories[a.key] == seed_story
    }


@pytest.mark.parametrize("path", [None, HOLDOUT_YAML], ids=["tuned", "held-out"])
def test_labelled_articles_meet_the_targets(path: Path | None) -> None:
    articles = load_articles(path) if path else load_articles()
    assert len(articles) >= (40 if path is None else 20)
    stories, copies = cluster(articles)
    copy_score = pairwise(copies, {a.key: a.copy for a in articles})
    assert copy_score.precision >= 0.95 and copy_score.recall >= 0.95
    assert bcubed(stories, {a.key: a.story for a in articles}).f1 >= 0.85


def test_copy_joins_the_story_of_its_original() -> None:
    index = StoryIndex()
    first, reprint = (a for a in load_articles() if a.copy == "reuters-taiwan")
    index.add(1, first.entry)
    assignment = index.add(2, reprint.entry)
    assert (assignment.story_id, assignment.copy_of, assignment.new_story) == (1, 1, False)


def test_restored_index_decides_like_the_original() -> None:
    """Restoring from the stored features (as bytes) and story ids gives an index that decides the next
    entry exactly as the live one does."""
    articles = load_articles()
    later = articles.pop(next(i for i, a in enumerate(articles) if a.key == "seed-000"))
    live = StoryIndex()
    filed = {i: live.add(i, a.entry) for i, a in enumerate(articles, start=1)}
    restored = StoryIndex()
    for i, article in enumerate(articles, start=1):
        story = live.story_of(i)
        assert story is not None and filed[i].features is not None
        features = StoryFeatures.from_bytes(filed[i].features.to_bytes())
        restored.restore(i, article.entry.url, features, article.entry.published or T0, story, closed=filed[i].closed)
    for story in {live.story_of(i) for i in filed}:
        assert story is not None and restored.members(story) == live.members(story)
    new_id = len(articles) + 1
    assert restored.add(new_id, later.entry) == live.add(new_id, later.entry)


def test_rollback_takes_back_entries_and_merges() -> None:
    """A failed store transaction: the batch's entries and merges leave memory as if never filed."""
    articles = load_articles()
    first, rest = articles[:30], articles[30:]
    index, reference = StoryIndex(), StoryIndex()
    for i, article in enumerate(first, start=1):
        index.add(i, article.entry)
        reference.add(i, article.entry)
    index.begin()
    for i, article in enumerate(rest, start=len(first) + 1):
        index.add(i, article.entry)
    index.rollback()
    assert len(index) == len(first)
    assert [index.story_of(i) for i in range(1, len(first) + 1)] == [
        reference.story_of(i) for i in range(1, len(first) + 1)
    ]
    for i, article in enumerate(rest, start=len(first) + 1):
        again, expected = index.add(i, article.entry), reference.add(i, article.entry)
        # What joined it is the same, up to the rounding of sums taken apart and rebuilt.
        assert replace(again, similarity=pytest.approx(expected.similarity), evidence=None) == replace(
            expected, evidence=None
        )
        assert (again.evidence is None) == (expected.evidence is None)
        if again.evidence is not None and expected.evidence is not None:
            assert again.evidence.names == expected.evidence.names
            assert again.evidence.words == pytest.approx(expected.evidence.words)


def test_the_same_event_told_again_after_the_window_opens_a_new_story() -> None:
    articles = {a.key: a.entry for a in load_articles()}
    index = StoryIndex(ClusterConfig(window=timedelta(hours=48)))
    index.add(1, articles["a-err"])
    late = articles["a-kyivindependent"]
    assert late.published is not None
    assert index.add(2, replace(late, published=late.published + timedelta(days=3))).new_story
    assert index.add(3, articles["a-ria"]).story_id == 1


def test_prune_forgets_entries_older_than_the_window() -> None:
    articles = load_articles()
    index = StoryIndex()
    for i, article in enumerate(articles, start=1):
        index.add(i, article.entry)
    newest = max(a.entry.published for a in articles if a.entry.published)
    dropped = index.prune(newest)
    assert dropped and all(index.story_of(i) is None for i in dropped)
    assert len(index) == len(articles) - len(dropped)
    kept = [i for i in range(1, len(articles) + 1) if i not in dropped]
    assert all(index.story_of(i) is not None for i in kept)


def test_shared_entities_bring_entries_closer_and_disjoint_ones_apart() -> None:
    now = datetime(2024, 3, 13, 12, tzinfo=UTC)
    a = Entry(feed_url="f", outlet="A", url="https://a.example/1", title="minister resigns over contract",
              summary="the minister resigned on wednesday after the contract affair.", published=now)
    b = replace(a, url="https://b.example/2", title="resignation after contract affair",
                summary="a cabinet member stepped down over the procurement contract.")

    def similarity(first: set[str], second: set[str]) -> float:
        index = StoryIndex()
        index.add(1, a, first)
        return index.add(2, b, second).similarity

    plain = similarity(set(), set())
    assert similarity({"hanno-pevkur", "estonia"}, {"hanno-pevkur", "estonia"}) > plain
    assert similarity({"estonia"}, {"latvia"}) < plain


def test_an_entry_cannot_be_added_twice() -> None:
    index = StoryIndex()
    entry = load_articles()[0].entry
    index.add(1, entry)
    with pytest.raises(ValueError, match="already"):
        index.add(1, entry)


def test_semeval_same_story_pairs_cluster_together() -> None:
    pairs = semeval_pairs()
    if not pairs:
        missing(f"no German/English development pairs under {corpus_path('pairs', 'semeval2022_task8')}")
    index = StoryIndex()
    entries = list(dict.fromkeys(e for pair in pairs for e in pair[:2]))
    story = {e.url: index.add(i, e, at=T0).story_id for i, e in enumerate(entries, start=1)}
    agree = sum((story[a.url] == story[b.url]) == together for a, b, together in pairs)
    assert agree >= len(pairs) // 2

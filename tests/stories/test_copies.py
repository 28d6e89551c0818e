"""Copies of one article: same canonical URL, same normalised body, or a near-duplicate lead."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model import Entry
from bot.stories.copies import CopyIndex, CopyReason
from bot.stories.features import StoryFeatures, body_digest, observe, weigh
from bot.stories.index import StoryIndex
from tests.conftest import SEEDS

MENAFN = (SEEDS / "001_b211070bd60f31df.txt").read_text(encoding="utf-8")
REWRITE = (SEEDS / "000_3955c0ba8186baac.txt").read_text(encoding="utf-8")
T0 = datetime(2024, 3, 14, 8, tzinfo=UTC)


def _features(text: str) -> StoryFeatures:
    return weigh(observe(Entry(feed_url="f", outlet="o", url="", title="", summary=text)), lambda _: 1.0, 48)


def _index_with(*texts: str) -> CopyIndex:
    index = CopyIndex()
    for key, text in enumerate(texts, start=1):
        index.add(key, f"https://site.example/{key}", _features(text))
    return index


def test_same_canonical_url_is_one_article() -> None:
    index = _index_with(MENAFN)
    match = index.find("https://site.example/1", _features("A different summary line."), [])
    assert match is not None and (match.original, match.reason) == (1, CopyReason.URL)


def test_body_equal_up_to_case_and_punctuation_is_one_article() -> None:
    index = _index_with("Kallas said: no promises!")
    match = index.find("https://b.example/2", _features("KALLAS SAID no promises"), [])
    assert match is not None and match.reason is CopyReason.BODY
    assert body_digest("Déjà vu, again.") == body_digest("deja VU again")


def test_reprint_with_boilerplate_is_a_copy() -> None:
    index = _index_with(MENAFN)
    reprint = MENAFN + "\n\nPrevious Article\nNext Article\nLeave a Comment\nCopyright Big News Network."
    match = index.find("https://bignewsnetwork.example/b", _features(reprint), [1])
    assert match is not None and match.original == 1 and match.reason is CopyReason.NEAR
    assert match.similarity > 0.95


def test_truncated_reprint_is_a_copy() -> None:
    index = _index_with(MENAFN)
    first_paragraphs = " ".join(MENAFN.split()[:120])
    match = index.find("https://aggregator.example/b", _features(first_paragraphs), [1])
    assert match is not None and match.original == 1


def test_rewrite_of_the_same_event_is_not_a_copy() -> None:
    index = _index_with(MENAFN)
    assert index.find("https://rewrite.example/b", _features(REWRITE), [1]) is None


def test_short_texts_are_matched_only_when_equal() -> None:
    index = _index_with("Estonia summons Russian envoy over GPS jamming")
    assert index.find("https://b.example/2", _features("Estonia summons Russian envoy over drone flights"), [1]) is None


def test_removed_article_is_no_longer_an_original() -> None:
    index = _index_with(MENAFN)
    index.remove(1)
    assert 1 not in index and len(index) == 0
    assert index.find("https://site.example/1", _features(MENAFN), [1]) is None
    index.add(2, "https://site.example/1", _features(MENAFN))
    assert index.find("https://other.example/c", _features(MENAFN), [2]) is not None


def test_the_story_index_finds_copies_among_its_candidates() -> None:
    """No candidate list from the caller: the index's term postings find the original."""
    index = StoryIndex()
    index.add(1, Entry(feed_url="f1", outlet="MENAFN", url="https://menafn.example/1", title="Estonian PM",
                       content=MENAFN, published=T0))
    for n in range(2, 40):  # other news in between
        index.add(n, Entry(feed_url="f3", outlet="Other", url=f"https://other.example/{n}", title=f"Market {n}",
                           summary=f"Shares rose {n} per cent as markets reopened in Asia.", published=T0))
    reprint = MENAFN + "\n\nPrevious Article\nNext Article"
    assignment = index.add(40, Entry(feed_url="f2", outlet="Big News", url="https://bignews.example/2",
                                     title="Estonian PM refuses assurances", content=reprint, published=T0))
    assert (assignment.copy_of, assignment.story_id) == (1, 1)
